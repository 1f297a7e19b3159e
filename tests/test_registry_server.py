"""The registry against a real MLflow tracking server on a loopback port (the team setup), and
the MLflow UI on a workspace store, opened in headless Chromium."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from conftest import free_port, open_page

from fullcycle import Config, Project
from fullcycle.registry.store import seed_sqlite_store

DATA = Path(__file__).parent / "data" / "churn_small.csv"
MLFLOW = str(Path(sys.executable).with_name("mlflow"))


def config(project: str, seed: int, tracking_uri: str | None = None) -> Config:
    return Config.from_dict({
        "project": project, "seed": seed, "data": {"source": str(DATA), "target": "Churn"},
        "split": {"cv_folds": 2}, "train": {"max_trials": 1, "families": ["linear"],
                  "promote": "always"},
        "registry": {"tracking_uri": tracking_uri}})


def start_mlflow(args: list[str], timeout: float = 180) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    proc = subprocess.Popen([MLFLOW, *args, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow exited: {Path(log.name).read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"mlflow did not start in {timeout}s: {Path(log.name).read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow-server")
    db = f"sqlite:///{root / 'server.db'}"
    seed_sqlite_store(db, root / "artifacts")  # skips MLflow's slow migrations
    proc, url = start_mlflow(["server", "--backend-store-uri", db, "--artifacts-destination",
                              str(root / "artifacts"), "--workers", "1"])
    yield url
    stop(proc)


def test_log_register_alias_promote_rollback_and_load_through_a_server(
        mlflow_server: str, tmp_path: Path) -> None:
    import mlflow.pyfunc

    from fullcycle.registry.promotion import promote, rollback

    ws = tmp_path / "ws"
    for seed in (1, 2):
        report = Project(config("served", seed, mlflow_server), ws).train()
        assert report.version == str(seed)
    assert not (ws / "mlartifacts").exists(), "artifacts go to the server, not the workspace"
    registry = Project.open(ws).registry
    assert registry.tracking_uri == mlflow_server
    assert registry.aliases() == {"champion": "2"}
    promote(registry, "1", reason="server test")
    assert registry.alias_version("champion") == "1"
    rollback(registry)
    assert registry.alias_version("champion") == "2"
    promote(registry, "1", alias="challenger", reason="shadow")
    # a second machine: fresh workspace cache, same server
    other = tmp_path / "other"
    other_project = Project(config("served", 1, mlflow_server), other)
    assert other_project.load_model("challenger").version_label == "1"
    assert other_project.load_model("models:/served@champion").version_label == "2"
    assert len(list((other / ".cache").iterdir())) == 2
    rows = pd.read_csv(DATA, nrows=5).drop(columns=["Churn"])
    rows["TotalCharges"] = pd.to_numeric(rows["TotalCharges"], errors="coerce")
    rows = rows.astype({"tenure": "float64", "SeniorCitizen": "float64"})
    pyfunc = mlflow.pyfunc.load_model("models:/served@champion")
    assert list(pyfunc.predict(rows)["prediction"]) == list(
        other_project.load_model("champion").predict(rows)["prediction"])


@pytest.fixture(scope="module")
def ui_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("ui-ws")
    Project(config("uichurn", 1), ws).train()
    return ws


def test_mlflow_ui_lists_the_run_and_the_registered_model(ui_workspace: Path, browser: object,
                                                          artifacts_dir: Path) -> None:
    registry = Project.open(ui_workspace).registry
    run = registry.client.get_run(registry.model_version("1").run_id)
    proc, url = start_mlflow(["ui", "--backend-store-uri", registry.tracking_uri,
                              "--workers", "1"])
    try:
        page, _ = open_page(browser, f"{url}/#/models")
        page.get_by_text("uichurn", exact=True).first.wait_for(timeout=60_000)
        page.screenshot(path=str(artifacts_dir / "mlflow-ui-models.png"))
        page.goto(f"{url}/#/experiments/{run.info.experiment_id}/runs")
        page.get_by_text(run.info.run_name).first.wait_for(timeout=60_000)
        page.screenshot(path=str(artifacts_dir / "mlflow-ui-runs.png"))
    finally:
        stop(proc)
