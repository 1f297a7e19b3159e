"""The whole cycle through the real command line and a real HTTP server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd
from conftest import DATA, cli, start_server


def test_train_predict_serve_monitor(churn_workspace: Path, tmp_path: Path) -> None:
    ws = churn_workspace
    leaderboard = pd.read_csv(ws / "reports" / "leaderboard.csv")
    assert len(leaderboard) == 3 and leaderboard["rank"].tolist() == [1, 2, 3]
    metrics = json.loads((ws / "reports" / "metrics.json").read_text())
    assert metrics["problem"]["task"] == "binary" and metrics["test"]["roc_auc"] > 0.7

    out = tmp_path / "scored.csv"
    result = cli("predict", "--workspace", str(ws), "--input", str(DATA / "churn_small.csv"),
                 "--output", str(out))
    assert result.returncode == 0, result.stderr
    scored = pd.read_csv(out)
    assert list(scored.columns) == ["prediction", "proba_No", "proba_Yes"]
    assert len(scored) == 800 and scored["prediction"].isin(["Yes", "No"]).all()
    assert ((scored.proba_No + scored.proba_Yes - 1).abs() < 1e-9).all()

    raw = pd.read_csv(DATA / "churn_small.csv", dtype=str, keep_default_na=False)
    record = raw.drop(columns=["Churn"]).iloc[0].to_dict()
    server = start_server(ws)
    try:
        one = httpx.post(f"{server.url}/predict", json=record, timeout=30).json()
        many = httpx.post(f"{server.url}/predict", json=[record, record], timeout=30).json()
        bad = httpx.post(f"{server.url}/predict", content=b"not json", timeout=30)
    finally:
        server.stop()
    assert one["model_version"] == "1" and len(one["predictions"]) == 1
    row = one["predictions"][0]
    assert row["prediction"] == scored["prediction"][0]
    assert abs(row["probabilities"]["Yes"] - scored["proba_Yes"][0]) < 1e-9
    assert len({p["id"] for p in many["predictions"]}) == 2
    assert bad.status_code == 422 and "not valid JSON" in bad.text

    # A shifted copy drifts; a sample of the training data does not.
    shifted = raw.copy()
    shifted["MonthlyCharges"] = (shifted["MonthlyCharges"].astype(float) * 3).astype(str)
    shifted["Contract"] = "Two year"
    shifted.to_csv(tmp_path / "shifted.csv", index=False)
    drift = cli("monitor", "--workspace", str(ws), "--input", str(tmp_path / "shifted.csv"))
    assert drift.returncode != 0, drift.stdout
    report = json.loads((ws / "reports" / "monitoring.json").read_text())
    assert {"MonthlyCharges", "Contract"} <= set(report["drifted_features"])


def test_registered_champion_in_mlflow(churn_workspace: Path) -> None:
    from mlflow import MlflowClient

    store = f"sqlite:///{churn_workspace / 'mlflow.db'}"
    client = MlflowClient(store, registry_uri=store)  # other tests set a global registry URI
    version = client.get_model_version_by_alias("fullcycle", "champion")
    assert str(version.version) == "1" and "champion" in version.aliases
    assert len(version.tags["fullcycle.digest"]) == 64  # SHA-256 recorded at registration


def test_demo_runs_the_whole_cycle(tmp_path: Path) -> None:
    ws = tmp_path / "demo"
    result = cli("demo", "--workspace", str(ws), "--time-budget", "8", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("eda.html", "leaderboard.csv", "metrics.json", "evaluation.html",
                 "predictions.csv", "monitoring.json", "monitoring.html"):
        assert (ws / "reports" / name).is_file(), name
    assert "sample real-time prediction" in result.stdout
    assert '"model_version": "1"' in result.stdout
    assert "registered as champion" in result.stdout
    from fullcycle.monitor.predlog import read_log

    logged = read_log(f"sqlite:///{ws / 'predictions.db'}")  # the live request was logged
    assert len(logged) == 1 and logged["id"][0] in result.stdout


def test_run_from_example_config(tmp_path: Path) -> None:
    config = Path(__file__).parent.parent / "examples" / "house_prices.yaml"
    result = cli("run", str(config), "--data", str(DATA / "housing_small.csv"),
                 "--workspace", str(tmp_path / "ws"), "--time-budget", "6", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    scored = pd.read_csv(tmp_path / "ws" / "reports" / "predictions.csv")
    assert "prediction" in scored.columns and not any(c.startswith("proba_") for c in scored)
