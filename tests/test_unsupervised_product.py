"""Clusters and anomalies through the product, as a user runs them: `fullcycle train --task
cluster|anomaly`, `predict`, the registry, `package`, a real `fullcycle serve` answering
/predict over HTTP, `monitor` (a shifted file raises the kind's own alerts) and `retrain`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from conftest import cli, start_server


def customers(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(3, n, p=[0.5 - shift, 0.3, 0.2 + shift])
    return pd.DataFrame({
        "customer": [f"c{seed}-{i}" for i in range(n)],
        "income": np.array([20.0, 60.0, 120.0])[group] + rng.normal(0, 6, n),
        "visits": np.array([2.0, 10.0, 4.0])[group] + rng.normal(0, 1, n),
        "channel": np.where(group == 2, "shop", rng.choice(["web", "app"], n))})


@pytest.fixture(scope="module")
def cluster_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cluster")
    data, ws = root / "customers.csv", root / "ws"
    customers(300, seed=0).to_csv(data, index=False)
    run = cli("train", str(data), "--task", "cluster", "--n-clusters", "3",
              "--workspace", str(ws))
    assert run.returncode == 0, run.stdout + run.stderr
    return ws


@pytest.fixture(scope="module")
def anomaly_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("anomaly")
    data, ws = root / "payments.csv", root / "ws"
    payments().to_csv(data, index=False)
    run = cli("train", str(data), "--task", "anomaly", "--contamination", "0.02",
              "--workspace", str(ws))
    assert run.returncode == 0, run.stdout + run.stderr
    return ws


def payments() -> pd.DataFrame:
    frame = customers(300, seed=0)
    frame.loc[:3, "income"] = 900.0
    return frame


KINDS = {"cluster": ("cluster_ws", lambda: customers(40, seed=1),
                     ["cluster", "cluster_probability"]),
         "anomaly": ("anomaly_ws", lambda: payments().head(20), ["anomaly_score", "is_anomaly"])}


@pytest.mark.parametrize("kind", list(KINDS))
def test_batch_predict_and_package_agree(kind: str, request: pytest.FixtureRequest,
                                         tmp_path: Path) -> None:
    fixture, make, columns = KINDS[kind]
    ws = request.getfixturevalue(fixture)
    rows = make()
    src, out = tmp_path / "new.csv", tmp_path / "out.csv"
    rows.to_csv(src, index=False)
    run = cli("predict", "--workspace", str(ws), "--input", str(src), "--output", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    batch = pd.read_csv(out)
    assert list(batch.columns[-len(columns):]) == columns and len(batch) == len(rows)
    from fullcycle.model import read_card

    assert read_card(next((ws / "models").glob("*-latest"))).kind == kind
    run = cli("package", "champion", str(tmp_path / "deploy"), "--workspace", str(ws))
    assert run.returncode == 0, run.stdout + run.stderr
    from fullcycle.model import Model

    packaged = Model.load(tmp_path / "deploy" / "model").predict(rows)
    assert np.allclose(packaged[columns[0]].astype(float), batch[columns[0]].astype(float))


@pytest.mark.parametrize("kind", list(KINDS))
def test_served_over_http(kind: str, request: pytest.FixtureRequest) -> None:
    fixture, make, columns = KINDS[kind]
    ws = request.getfixturevalue(fixture)
    server = start_server(ws, "--workers", "1")
    try:
        records = json.loads(make().drop(columns="customer").head(3).to_json(orient="records"))
        answer = httpx.post(f"{server.url}/predict", json=records, timeout=60)
        assert answer.status_code == 200, answer.text
        text = json.dumps(answer.json())
        assert all(c in text for c in columns)
        bad = httpx.post(f"{server.url}/predict", json=[{"income": "lots"}], timeout=60)
        assert bad.status_code in (400, 422)
    finally:
        server.stop()


def monitor_then_retrain(ws: Path, data: Path) -> tuple[dict, str, str]:
    """`monitor` then `retrain` on the same file: (the monitoring report, monitor's output,
    retrain's output); retrain exits 0 (challenger promoted) or 1 (champion kept)."""
    run = cli("monitor", "--workspace", str(ws), "--input", str(data))
    report = json.loads((ws / "reports" / "monitoring.json").read_text())
    again = cli("retrain", "--workspace", str(ws), "--input", str(data))
    assert again.returncode in (0, 1), again.stdout + again.stderr
    return report, run.stdout + run.stderr, again.stdout + again.stderr


def test_cluster_monitoring_and_retraining(cluster_ws: Path, tmp_path: Path) -> None:
    shifted = tmp_path / "shifted.csv"
    customers(400, seed=2, shift=0.3).to_csv(shifted, index=False)
    report, said, retrained = monitor_then_retrain(cluster_ws, shifted)
    assert report["cluster_shares"]["total_variation"] > 0.1, said
    assert any(a.get("feature") == "cluster_shares" for a in report["alerts"])
    assert "silhouette" in retrained


def test_anomaly_monitoring_and_retraining(anomaly_ws: Path, tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    later = customers(200, seed=3)
    later.loc[:40, "income"] = 700.0  # a fifth of the rows far outside training
    later.to_csv(odd, index=False)
    report, said, retrained = monitor_then_retrain(anomaly_ws, odd)
    assert report["anomaly_rate"]["observed"] > 0.15, said
    assert any(a.get("feature") == "anomaly_rate" for a in report["alerts"])
    assert "flagged_share" in retrained or "anomaly_rate_gap" in retrained
