"""Round trip: a model trained through the CLI, applied to raw rows (numbers as text, blanks,
unseen categories, numeric category codes, dates after the training period), gives the same
predictions in batch (`fullcycle predict` on a file, `Model.predict` on a frame), in-process on
records, and over HTTP from `fullcycle serve`; `fullcycle features` explains each column."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from conftest import cli, start_server

CONFIG = """\
project: roundtrip
seed: 7
data:
  source: {source}
  target: churn
  roles: {{region_code: categorical}}
train:
  max_trials: 2
  families: [linear, lightgbm]
  ensemble: false
split:
  cv_folds: 3
evaluate:
  cv: false
  learning_curve: false
  bootstrap: 0
"""

RAW_ROWS = [
    {"age": " 42 ", "plan": "pro", "region_code": 101, "signup": "2031-02-03",
     "active": "yes", "spend": "12.5", "note": "called about the price twice"},
    {"age": "", "plan": "enterprise", "region_code": "999", "signup": "",
     "active": None, "spend": None, "note": ""},
    {"age": "NA", "plan": None, "region_code": 202.0, "signup": "2024-06-30T10:00:00",
     "active": "NO", "spend": " 80 ", "note": None},
]


def make_data(path: Path, n: int = 240) -> None:
    rng = np.random.default_rng(11)
    age = rng.integers(18, 80, n).astype(object)
    age[rng.random(n) < 0.1] = ""
    plan = rng.choice(["basic", "pro", "max"], n)
    region = rng.choice([101, 202, 303], n)
    signup = pd.date_range("2022-01-01", periods=n, freq="3D").strftime("%Y-%m-%d")
    active = rng.choice(["yes", "no"], n)
    spend = rng.gamma(2.0, 30.0, n).round(2)
    words = np.array(["price", "support", "happy", "slow", "cancel", "great"])
    note = [" ".join(rng.choice(words, 4)) for _ in range(n)]
    logit = (plan == "basic") * 1.2 - (active == "yes") * 1.0 + (spend < 40) * 0.8 - 0.5
    churn = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    frame = pd.DataFrame({"age": age, "plan": plan, "region_code": region, "signup": signup,
                          "active": active, "spend": spend, "note": note, "churn": churn})
    # A few blanks in every column: the serving contract accepts a blank only where training
    # had one (a column never missing in training is "required" at the HTTP and batch gates).
    for col in ("plan", "signup", "active", "spend", "note"):
        frame[col] = frame[col].astype(object)
        frame.loc[rng.random(n) < 0.05, col] = None
    frame.to_csv(path, index=False)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("features-rt")
    make_data(root / "train.csv")
    (root / "fullcycle.yaml").write_text(CONFIG.format(source=root / "train.csv"))
    ws = root / "ws"
    result = cli("train", "--config", str(root / "fullcycle.yaml"), "--workspace", str(ws))
    assert result.returncode == 0, result.stdout + result.stderr
    return ws


def test_same_predictions_in_batch_in_process_and_over_http(workspace: Path,
                                                           tmp_path: Path) -> None:
    from fullcycle.project import Project

    model = Project.open(workspace).load_model("champion")
    records = model.predict(RAW_ROWS)
    frame = model.predict(pd.DataFrame(RAW_ROWS))
    proba = [c for c in records.columns if c.startswith("proba_")]
    assert len(proba) == 2 and not records[proba].isna().any().any()
    np.testing.assert_allclose(frame[proba], records[proba], rtol=1e-9)

    pd.DataFrame(RAW_ROWS).to_csv(tmp_path / "rows.csv", index=False)
    result = cli("predict", "--input", str(tmp_path / "rows.csv"), "--output",
                 str(tmp_path / "out.csv"), "--workspace", str(workspace))
    assert result.returncode == 0, result.stdout + result.stderr
    batch = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(batch[proba].to_numpy(), records[proba].to_numpy(), rtol=1e-6)
    assert batch["prediction"].astype(str).tolist() == records["prediction"].astype(str).tolist()

    server = start_server(workspace)
    try:
        answer = httpx.post(f"{server.url}/predict", json=RAW_ROWS, timeout=30)
    finally:
        server.stop()
    assert answer.status_code == 200, answer.text
    served = answer.json()["predictions"]
    labels = model.problem.labels
    over_http = np.array([[row["probabilities"][c] for c in labels] for row in served])
    np.testing.assert_allclose(over_http, records[[f"proba_{c}" for c in labels]].to_numpy(),
                               rtol=1e-9)
    assert [row["prediction"] for row in served] == records["prediction"].tolist()


def test_features_command_explains_each_column(workspace: Path) -> None:
    result = cli("features", "--workspace", str(workspace))
    assert result.returncode == 0, result.stdout + result.stderr
    for column in ("age", "plan", "region_code", "signup", "active", "spend", "note"):
        assert column in result.stdout
    assert "impute" in result.stdout and "encoding" in result.stdout
