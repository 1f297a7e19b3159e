"""`fullcycle predict`: streamed in chunks, id column kept, CSV and Parquet, every chunk checked
against the contract, results equal to Model.predict, no partial output on failure."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli
from serve_support import CHURN, shared_workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_workspace(tmp_path_factory)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    raw = pd.read_csv(CHURN, dtype=str, keep_default_na=False).drop(columns=["Churn"])
    big = pd.concat([raw] * 3, ignore_index=True)
    big["customerID"] = [f"c{i:05d}" for i in range(len(big))]
    return big


def _expected(workspace: Path, frame: pd.DataFrame) -> pd.DataFrame:
    from fullcycle.project import Project

    return Project.open(workspace).load_model("champion").predict(frame)


def test_csv_streamed_in_chunks_keeps_ids_and_matches_model(workspace: Path, rows: pd.DataFrame,
                                                             tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out" / "scored.csv"
    rows.to_csv(source, index=False)
    result = cli("predict", "--workspace", str(workspace), "--input", str(source), "--output",
                 str(out), "--id-column", "customerID", "--chunk-rows", "500")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"wrote {len(rows):,} predictions" in result.stdout
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["customerID", "prediction", "proba_No", "proba_Yes"]
    assert list(scored["customerID"]) == list(rows["customerID"])
    expected = _expected(workspace, rows)
    np.testing.assert_allclose(scored["proba_Yes"], expected["proba_Yes"], rtol=1e-9)
    assert list(scored["prediction"]) == list(expected["prediction"])


def test_parquet_in_parquet_out_and_unseen_categories_reported(workspace: Path,
                                                               rows: pd.DataFrame,
                                                               tmp_path: Path) -> None:
    source, out = tmp_path / "in.parquet", tmp_path / "scored.parquet"
    changed = rows.copy()
    changed.loc[10:14, "PaymentMethod"] = "Crypto"
    changed.to_parquet(source, index=False)
    result = cli("predict", "-w", str(workspace), "-i", str(source), "-o", str(out),
                 "--chunk-rows", "700")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PaymentMethod: 5 rows with a category not seen in training" in result.stdout
    scored = pd.read_parquet(out)
    assert len(scored) == len(rows) and "customerID" not in scored.columns
    expected = _expected(workspace, changed)
    np.testing.assert_allclose(scored["proba_Yes"], expected["proba_Yes"], rtol=1e-9)


def test_bad_value_names_row_and_column_and_leaves_no_output(workspace: Path,
                                                             rows: pd.DataFrame,
                                                             tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "scored.csv"
    broken = rows.copy()
    broken.loc[1233, "tenure"] = "twelve"
    broken.to_csv(source, index=False)
    result = cli("predict", "-w", str(workspace), "-i", str(source), "-o", str(out),
                 "--chunk-rows", "500")
    assert result.returncode == 2
    assert "row 1234, column 'tenure': 'twelve'" in result.stdout + result.stderr
    assert not out.exists() and not list(tmp_path.glob(".*partial"))
    rows.drop(columns=["Contract"]).to_csv(source, index=False)
    result = cli("predict", "-w", str(workspace), "-i", str(source), "-o", str(out))
    assert result.returncode == 2 and "missing column(s) the model needs: Contract" in \
        result.stdout + result.stderr


def test_read_ahead_keeps_order_passes_errors_and_stops_its_reader() -> None:
    import threading

    from fullcycle.scoring.batch import read_ahead

    def chunks(fail_at: int | None = None):
        for i in range(6):
            if i == fail_at:
                raise ValueError(f"bad chunk {i}")
            yield pd.DataFrame({"i": [i]})

    assert [int(c["i"][0]) for c in read_ahead(chunks())] == list(range(6))
    seen = []
    with pytest.raises(ValueError, match="bad chunk 3"):
        for chunk in read_ahead(chunks(fail_at=3)):
            seen.append(int(chunk["i"][0]))
    assert seen == [0, 1, 2]  # every chunk before the bad one was delivered
    stream = read_ahead(chunks())
    next(stream)
    stream.close()  # the consumer stops early (a scoring error): the reader thread ends
    assert not [t for t in threading.enumerate() if t.name == "fullcycle-batch-reader"]

    def slow_chunks():
        yield pd.DataFrame({"i": [0]})
        time.sleep(6)  # parsing a big chunk on a busy machine, longer than any join timeout
        yield pd.DataFrame({"i": [1]})

    stream = read_ahead(slow_chunks())
    next(stream)
    stream.close()  # stopped while the reader is mid-chunk: it is waited for, not abandoned
    assert not [t for t in threading.enumerate() if t.name == "fullcycle-batch-reader"]


def test_project_predict_applies_the_contract_like_the_cli(workspace: Path,
                                                           rows: pd.DataFrame) -> None:
    """The Python API scores through the same checks and path as `fullcycle predict`: same
    numbers as the pipeline on good rows, the input's index kept, a bad value refused."""
    from fullcycle import DataError
    from fullcycle.project import Project

    project = Project.open(workspace)
    frame = rows.iloc[:300].set_axis(range(1000, 1300))
    scored = project.predict(frame, id_column="customerID")
    assert list(scored.index) == list(frame.index)
    assert (scored["customerID"] == frame["customerID"]).all()
    expected = _expected(workspace, frame)
    assert (scored["prediction"].to_numpy() == expected["prediction"].to_numpy()).all()
    np.testing.assert_allclose(scored["proba_Yes"], expected["proba_Yes"], rtol=1e-9)
    bad = frame.copy()
    bad.loc[1100, "tenure"] = "ten"
    with pytest.raises(DataError, match=r"row 101, column 'tenure': 'ten'"):
        project.predict(bad)
