"""MLflow as its users expect, on a real SQLite store: a parent run per training named after the
registered model, a nested run per candidate (family, hyperparameters, fold scores), a short
list of params, reports logged to the run they belong to, and a pyfunc model that takes what
`pd.read_csv` gives for the training file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import cli

from fullcycle import Config, Project

DATA = Path(__file__).parent / "data" / "churn_small.csv"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mlflow-runs")
    config = Config.from_dict({
        "project": "churnrun", "seed": 3,
        "data": {"source": str(DATA), "target": "Churn"},
        "split": {"cv_folds": 3}, "train": {"max_trials": 3, "families": ["linear", "lightgbm"]},
    })
    assert Project(config, root).train().version == "1"
    return root


def _client_and_run(ws: Path):
    registry = Project.open(ws).registry
    client = registry.client
    mv = client.get_model_version("churnrun", "1")
    return registry, client, client.get_run(mv.run_id)


def test_parent_run_is_named_after_the_registered_model(ws: Path) -> None:
    _, _, run = _client_and_run(ws)
    assert run.info.run_name == "churnrun v1"
    params = run.data.params
    assert len(params) < 30, sorted(params)  # not the whole flattened config
    assert params["config.seed"] == "3" and "config.serve.port" not in params
    assert params["final_model"] and params["best_model"]


def test_a_nested_run_per_candidate(ws: Path) -> None:
    registry, client, run = _client_and_run(ws)
    children = client.search_runs(
        [registry.experiment_id()],
        filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert len(children) == 3
    families = {c.data.params["family"] for c in children}
    assert families <= {"linear", "lightgbm"} and families
    for child in children:
        metrics = child.data.metrics
        folds = [metrics[k] for k in metrics if k.startswith("fold_")]
        assert len(folds) == 3 and "cv_roc_auc" in metrics
        assert abs(sum(folds) / 3 - metrics["cv_roc_auc"]) < 1e-9
        assert child.info.status == "FINISHED"
        assert child.data.tags["fullcycle.in_final_model"] in ("true", "false")
    assert any(c.data.tags["fullcycle.in_final_model"] == "true" for c in children)


def test_pyfunc_takes_what_read_csv_gives(ws: Path) -> None:
    import mlflow.pyfunc

    uri = f"sqlite:///{ws}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    pyfunc = mlflow.pyfunc.load_model("models:/churnrun@champion")
    rows = pd.read_csv(DATA).drop(columns=["Churn"])  # int64 tenure, TotalCharges as text
    assert rows["tenure"].dtype.kind == "i" and rows["TotalCharges"].dtype.kind in "OT"
    out = pyfunc.predict(rows)
    assert len(out) == len(rows) and set(out["prediction"]) <= {"No", "Yes"}
    own = Project.open(ws).load_model("champion").predict(rows)
    pd.testing.assert_frame_equal(out.reset_index(drop=True), own.reset_index(drop=True))


def test_reports_are_logged_to_the_run_of_their_version(ws: Path) -> None:
    result = cli("evaluate", "-w", str(ws), timeout=600)
    assert result.returncode in (0, 1), result.stderr
    result = cli("monitor", "-w", str(ws), "--input", str(DATA), timeout=600)
    assert result.returncode in (0, 1, 4, 5, 8, 9, 12, 13), result.stderr
    _, client, run = _client_and_run(ws)
    names = {a.path for folder in ("reports", "monitoring")
             for a in client.list_artifacts(run.info.run_id, folder)}
    assert {"reports/evaluation.html", "reports/evaluation.json",
            "monitoring/monitoring.html", "monitoring/monitoring.json"} <= names
