"""One data contract for `validate`, `predict`, the server and the Python API (issue 18).

A property test drives all of them with the same generated frames: whatever `validate` passes,
`predict` scores and the server's validator accepts; whatever `validate` refuses, `predict`
refuses with the same first problem (row, column, value, reason). The CLI items run the real
command line: non-finite numbers, blanks where training had none, --on-error skip, strict
missing, training on infinities, the column cap."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_support import CHURN, reference_model, shared_workspace

# Trains and serves real models: slow on a busy machine, never stuck.
pytestmark = pytest.mark.timeout(1200)

_MODEL: dict[str, Any] = {}


def _served() -> Any:
    if "served" not in _MODEL:
        from fullcycle.scoring.served import Served

        _MODEL["served"] = Served.prepare(reference_model(), serving_threads=False)
    return _MODEL["served"]


def _rows(n: int) -> pd.DataFrame:
    return pd.read_csv(CHURN, dtype=str, keep_default_na=False).drop(columns=["Churn"]).head(n)


NUMBER_VALUES = ["12", " 7.5 ", "1,000", "", "NaN", "inf", "-Infinity", "1e400", "-1e309",
                 "abc", "1e5", "0", None, float("nan"), float("inf"), 3, 1e308, "nan", "?"]
CATEGORY_VALUES = ["Male", "Female", "", "other", None, "NA", 1, 2.5, float("nan"), "\u00e9"]
BOOL_VALUES = [0, 1, "Yes", "No", "maybe", "", None, 2, "true", float("nan")]


@st.composite
def frames(draw: Any) -> pd.DataFrame:
    frame = _rows(4).astype(object)
    for column, pool in (("tenure", NUMBER_VALUES), ("MonthlyCharges", NUMBER_VALUES),
                         ("gender", CATEGORY_VALUES), ("SeniorCitizen", BOOL_VALUES)):
        frame[column] = [draw(st.sampled_from(pool)) for _ in range(len(frame))]
    return frame


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), strict=st.booleans())
def test_validate_predict_and_server_agree(frame: pd.DataFrame, strict: bool) -> None:
    from fullcycle.data.contract import check_frame, errors_only
    from fullcycle.errors import DataError
    from fullcycle.scoring.batch import score_frame
    from fullcycle.scoring.validation import RecordValidator, RequestInvalid

    served = _served()
    missing = "strict" if strict else "impute"
    served.validator = RecordValidator(served.model.schema, missing=missing)
    errors = errors_only(check_frame(frame, served.model.schema, missing=missing))
    try:
        scored, _ = score_frame(served, frame)
        refused = None
    except DataError as exc:
        refused = str(exc)
    if not errors:
        assert refused is None, refused
        assert len(scored) == len(frame) and scored["proba_Yes"].between(0, 1).all()
    else:
        assert refused is not None, errors
        first = errors[0].message.split("first: ", 1)[1].split("; row ")[0]
        assert first in refused, (first, refused)
    # the server's validator: the same verdict on the same values, record by record
    records = frame.to_dict("records")
    try:
        served.validator.records(records, 100)
        server_refused = False
    except RequestInvalid:
        server_refused = True
    assert server_refused == bool(errors)


def _ws(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, strict: bool = False) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(shared_workspace(tmp_path_factory), ws)
    if strict:
        text = (ws / "fullcycle.yaml").read_text().replace("missing: impute", "missing: strict")
        (ws / "fullcycle.yaml").write_text(text)
    return ws


def test_cli_nonfinite_values_name_row_column_value(tmp_path_factory: pytest.TempPathFactory,
                                                    tmp_path: Path) -> None:
    ws = shared_workspace(tmp_path_factory)
    rows = _rows(6)
    rows.loc[2, "tenure"] = "1e400"
    rows.loc[4, "MonthlyCharges"] = "inf"
    source = tmp_path / "bad.csv"
    rows.to_csv(source, index=False)
    predict = cli("predict", "-w", str(ws), "--input", str(source), "-o", str(tmp_path / "o.csv"))
    assert predict.returncode == 2, predict.stdout + predict.stderr
    # a CSV reader that parses numbers shows 1e400 as inf: the row and column are exact
    assert re.search(r"row 3, column 'tenure': '(1e400|inf)': expected a finite number",
                     predict.stderr), predict.stderr
    assert "internal error" not in predict.stderr and not (tmp_path / "o.csv").exists()
    validate = cli("validate", str(source), "-w", str(ws))
    assert validate.returncode == 1
    assert re.search(r"row 3, column 'tenure': '(1e400|inf)'", " ".join(validate.stdout.split()))
    skip = cli("predict", "-w", str(ws), "--input", str(source), "-o", str(tmp_path / "o.csv"),
               "--on-error", "skip", "--id-column", "customerID")
    assert skip.returncode == 0, skip.stderr
    scored = pd.read_csv(tmp_path / "o.csv")
    rejects = pd.read_csv(tmp_path / "o.rejects.csv")
    assert list(scored["customerID"]) == list(rows["customerID"].drop([2, 4]))
    assert list(rejects["row"]) == [3, 5]
    assert "expected a finite number" in rejects["reason"][0]


def test_blank_where_training_had_none(tmp_path_factory: pytest.TempPathFactory,
                                       tmp_path: Path) -> None:
    rows = _rows(60)
    rows.loc[::6, "tenure"] = ""
    rows.loc[3, "gender"] = " "
    source = tmp_path / "blanks.csv"
    rows.to_csv(source, index=False)
    ws = _ws(tmp_path_factory, tmp_path)
    validate = cli("validate", str(source), "-w", str(ws))
    assert validate.returncode == 0, validate.stdout
    assert "missing_imputed" in validate.stdout
    predict = cli("predict", "-w", str(ws), "--input", str(source), "-o", str(tmp_path / "o.csv"))
    assert predict.returncode == 0, predict.stderr
    assert len(pd.read_csv(tmp_path / "o.csv")) == 60
    assert "tenure: 10 missing value(s) filled" in " ".join(predict.stdout.split())
    monitor = cli("monitor", "-w", str(ws), "--input", str(source))  # the same blanks, counted
    report = json.loads((ws / "reports" / "monitoring.json").read_text())
    found = {c["feature"]: c["imputed"] for c in report["quality"]["columns"]}
    assert found["tenure"] == 10 and found["gender"] == 1, (monitor.stdout, found)
    assert monitor.returncode & 4
    strict = _ws(tmp_path_factory, tmp_path / "strict", strict=True)
    refused = cli("predict", "-w", str(strict), "--input", str(source),
                  "-o", str(tmp_path / "s.csv"))
    assert refused.returncode == 2
    assert "row 1, column 'tenure'" in refused.stderr and "strict" in refused.stderr
    assert cli("validate", str(source), "-w", str(strict)).returncode == 1


def test_train_on_infinities_is_a_clean_error(tmp_path: Path) -> None:
    frame = pd.read_csv(CHURN, dtype=str, keep_default_na=False)
    frame.loc[7, "MonthlyCharges"] = "1e400"
    frame.loc[9, "tenure"] = "inf"
    source = tmp_path / "inf.csv"
    frame.to_csv(source, index=False)
    result = cli("train", str(source), "--target", "Churn", "-w", str(tmp_path / "ws"),
                 "--max-trials", "1")
    assert result.returncode == 2, result.stderr
    assert "internal error" not in result.stderr
    assert "row 10, column 'tenure': 'inf'" in " ".join(result.stderr.split())


def test_column_cap_answers_fast_and_clearly(tmp_path: Path) -> None:
    columns = 12_000
    rng = np.random.default_rng(0)
    source = tmp_path / "wide.csv"
    header = ",".join(f"c{i}" for i in range(columns)) + ",y"
    lines = [header] + [",".join(map(str, rng.integers(0, 9, columns))) + f",{r % 2}"
                        for r in range(5)]
    source.write_text("\n".join(lines) + "\n")
    result = cli("train", str(source), "--target", "y", "-w", str(tmp_path / "ws"),
                 "--max-trials", "1")
    assert result.returncode == 2
    assert "12,001 columns" in result.stderr and "data.max_columns" in result.stderr
