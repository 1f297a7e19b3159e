"""The loop closed with real processes: a served churn model, traffic from a shifted copy with
its true labels posted as feedback, `fullcycle monitor` raising alerts (non-zero exit), the
dashboard in headless Chromium, then `fullcycle retrain` on the logged, labelled traffic
promoting a challenger that the running server swaps to."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import DATA, cli, start_server

KEY = "monitor-e2e-key-0123456789"
HEADERS = {"X-API-Key": KEY}


def shifted_churn() -> pd.DataFrame:
    """Covariate shift (charges up, a new contract type) and concept shift (churn flipped)."""
    frame = pd.read_csv(DATA / "churn_small.csv")
    rng = np.random.default_rng(0)
    frame["MonthlyCharges"] = frame["MonthlyCharges"] * 1.4 + 15
    frame.loc[rng.random(len(frame)) < 0.3, "Contract"] = "Three year"
    frame["Churn"] = np.where(frame["Churn"] == "Yes", "No", "Yes")
    return frame


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    ws = tmp_path_factory.mktemp("monitor-e2e")
    result = cli("train", str(DATA / "churn_small.csv"), "--target", "Churn", "--workspace",
                 str(ws), "--max-trials", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load((ws / "fullcycle.yaml").read_text())
    config["serve"]["reload_seconds"] = 0.5  # follow the champion alias
    (ws / "fullcycle.yaml").write_text(yaml.safe_dump(config))
    server = start_server(ws, env={"FULLCYCLE_API_KEYS": KEY})
    try:
        frame = shifted_churn()
        features = frame.drop(columns=["customerID", "Churn"])
        ids: list[str] = []
        with httpx.Client(base_url=server.url, headers=HEADERS, timeout=30) as client:
            for start in range(0, len(features), 200):
                chunk = features.iloc[start:start + 200]
                records = json.loads(chunk.to_json(orient="records"))
                answer = client.post("/predict", json=records)
                assert answer.status_code == 200, answer.text
                ids += [p["id"] for p in answer.json()["predictions"]]
            for pid, label in zip(ids, frame["Churn"], strict=True):
                sent = client.post("/feedback", json={"id": pid, "label": label})
                assert sent.status_code == 200, sent.text
        yield {"ws": ws, "server": server}
    finally:
        server.stop()


def test_dashboard_needs_the_key_and_shows_drift(served: dict, browser: object,
                                                 artifacts_dir: Path) -> None:
    url = served["server"].url
    assert httpx.get(f"{url}/dashboard", timeout=30).status_code == 401
    data = httpx.get(f"{url}/dashboard.json", headers=HEADERS, timeout=60).json()
    assert "MonthlyCharges" in data["monitoring"]["drifted_features"]
    # A context sends the key with every request, as a proxy in front of the dashboard would.
    context = browser.new_context(extra_http_headers=HEADERS,  # type: ignore[attr-defined]
                                  viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{url}/dashboard", wait_until="load")
        page.screenshot(path=str(artifacts_dir / "monitor-dashboard.png"), full_page=True)
        assert errors == []
        row = page.locator('#drift-table tr[data-feature="MonthlyCharges"]')
        assert "psi" in row.inner_text()
        assert page.locator("#model-card").inner_text().count("roc_auc") == 1
        assert "worse than at training" in page.locator("body").inner_text()  # perf alert
    finally:
        context.close()


def test_monitor_fires_alerts_on_the_log(served: dict) -> None:
    ws = served["ws"]
    result = cli("monitor", "--workspace", str(ws))
    assert result.returncode == 1 + 4 + 8, result.stdout + result.stderr  # drift+quality+perf
    report = json.loads((ws / "reports" / "monitoring.json").read_text())
    assert report["rows"] == 800 and report["source"].startswith("prediction log")
    assert {"MonthlyCharges", "Contract"} <= set(report["drifted_features"])
    assert report["performance"]["labelled"] == 800
    assert report["performance"]["overall_drop"] > 0.3  # churn flipped: AUC collapses
    html = (ws / "reports" / "monitoring.html").read_text()
    assert 'id="drift-table"' in html and "<svg" in html and "Three year" in html


def test_monitor_on_a_clean_file_exits_zero(served: dict) -> None:
    result = cli("monitor", "--workspace", str(served["ws"]), "--input",
                 str(DATA / "churn_small.csv"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no dataset drift" in result.stdout


def test_retrain_promotes_and_the_server_swaps(served: dict) -> None:
    ws, server = served["ws"], served["server"]
    result = cli("retrain", "--workspace", str(ws), "--max-trials", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PROMOTED" in result.stdout
    decision = json.loads((ws / "reports" / "retrain.json").read_text())
    assert decision["promoted"] and decision["champion"] == "2"
    evidence = decision["evidence"]
    assert evidence["challenger_score"] > evidence["champion_score"] + evidence["margin"]
    record = pd.read_csv(DATA / "churn_small.csv").drop(columns=["customerID", "Churn"]).iloc[0]
    deadline = time.monotonic() + 60
    version = None
    while time.monotonic() < deadline:
        answer = httpx.post(f"{server.url}/predict", headers=HEADERS, timeout=30,
                            json=json.loads(record.to_json()))
        version = answer.json()["model_version"]
        if version == "2":
            break
        time.sleep(0.5)
    assert version == "2"
    from fullcycle.project import Project

    registry = Project.open(ws).registry
    tags = registry.client.get_model_version(registry.model_name, "2").tags
    assert tags["retrain.decision"] == "promoted"
    assert json.loads(tags["retrain.evidence"])["holdout_rows"] == evidence["holdout_rows"]
