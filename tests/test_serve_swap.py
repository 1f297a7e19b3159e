"""Load from a second process: no failed request, the prediction log holds exactly the
predictions served, a hot swap mid-load fails nothing, a graceful shutdown mid-load loses no
logged row; and the authenticated reload route."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import start_server
from serve_support import churn_records, make_workspace, reference_model


def _load(url: str, payloads: Path, stop: Path, out: Path, requests: int = 200_000,
          concurrency: int = 16) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fullcycle.serve.loadtest", url,
                             "--payloads", str(payloads), "--requests", str(requests),
                             "--concurrency", str(concurrency), "--until-file", str(stop),
                             "--out", str(out)], stdout=subprocess.DEVNULL)


def _wait_for(predicate, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def _served(url: str) -> int:
    try:
        text = httpx.get(url + "/metrics", timeout=5).text
    except httpx.HTTPError:
        return 0
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
               if line.startswith('fullcycle_requests_total{route="/predict",status="200"}'))


def test_load_hot_swap_and_graceful_shutdown(tmp_path: Path) -> None:
    from fullcycle.deploy.reference import register_reference
    from fullcycle.monitor.predlog import read_log

    ws = make_workspace(tmp_path / "ws")
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    os.environ.pop("FULLCYCLE_API_KEYS", None)
    server = start_server(ws, "--reload-seconds", "0.3", "--log-url", log_url)
    payloads = tmp_path / "payloads.json"
    records = churn_records(60)
    payloads.write_text(json.dumps(records[:40] + [records[40:45], records[45:60]]))
    try:
        # 1) load, and a new champion registered in the middle of it
        stop, out = tmp_path / "stop1", tmp_path / "load1.json"
        load = _load(server.url, payloads, stop, out)
        _wait_for(lambda: _served(server.url) > 300)
        register_reference(ws, reference_model("logistic"))  # version 2 -> champion
        _wait_for(lambda: httpx.get(server.url + "/ready").json()["model_version"] == "2")
        served_before = _served(server.url)
        _wait_for(lambda: _served(server.url) > served_before + 300)
        stop.touch()
        assert load.wait(120) == 0
        first = json.loads(out.read_text())
        assert first["errors"] == {} and first["ok"] > 600, first
        assert set(first["versions"]) == {"1", "2"}, first
        # 2) graceful shutdown in the middle of load
        stop, out = tmp_path / "stop2", tmp_path / "load2.json"
        load = _load(server.url, payloads, stop, out)
        _wait_for(lambda: _served(server.url) > first["ok"] + 300)
        server.stop()  # SIGTERM: in-flight requests finish, the log writer drains
        assert server.process.returncode in (0, -15)  # uvicorn re-raises SIGTERM after a clean exit
        stop.touch()
        assert load.wait(120) == 0
        second = json.loads(out.read_text())
    finally:
        server.stop()
    assert second["ok"] > 300 and set(second["statuses"]) == {"200"}, second
    log = read_log(log_url)
    assert len(log) == first["predictions"] + second["predictions"]
    assert set(log["model_version"]) == {"1", "2"}
    assert log["id"].is_unique


def test_admin_reload_swaps_to_the_new_champion(tmp_path: Path) -> None:
    from fullcycle.deploy.reference import register_reference

    ws = make_workspace(tmp_path / "ws", estimator="logistic")
    os.environ.pop("FULLCYCLE_API_KEYS", None)
    server = start_server(ws, "--log-url", f"sqlite:///{tmp_path / 'log.db'}")
    try:
        post = lambda: httpx.post(server.url + "/admin/reload", timeout=60)  # noqa: E731
        assert post().json() == {"changed": False, "version": "1", "follows": "champion"}
        register_reference(ws, reference_model("lightgbm"))
        answer = post().json()
        assert answer["changed"] is True and answer["previous"] == "1" and answer["version"] == "2"
        body = httpx.post(server.url + "/predict", json=churn_records(1), timeout=10).json()
        assert body["model_version"] == "2"
        spec = httpx.get(server.url + "/openapi.json").json()
        assert spec["info"]["version"] == "2"
    finally:
        server.stop()


@pytest.mark.parametrize("workers", [2])
def test_several_workers_share_the_log_metrics_and_reloads(tmp_path: Path, workers: int) -> None:
    """Each worker is its own process: the log, the /metrics totals and an /admin/reload must
    still be the server's, whichever worker answers."""
    from fullcycle.deploy.reference import register_reference
    from fullcycle.monitor.predlog import read_log

    ws = make_workspace(tmp_path / "ws", estimator="logistic")
    os.environ.pop("FULLCYCLE_API_KEYS", None)
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    server = start_server(ws, "--workers", str(workers), "--log-url", log_url)
    payloads = tmp_path / "payloads.json"
    payloads.write_text(json.dumps(churn_records(20)))
    out = tmp_path / "load.json"
    try:
        subprocess.run([sys.executable, "-m", "fullcycle.serve.loadtest", server.url,
                        "--payloads", str(payloads), "--requests", "400", "--concurrency", "8",
                        "--out", str(out)], check=True, stdout=subprocess.DEVNULL, timeout=120)
        # every scrape adds up both workers (snapshots are at most 0.5 s old)
        _wait_for(lambda: _served(server.url) == 400, timeout=10)
        assert {_served(server.url) for _ in range(6)} == {400}
        register_reference(ws, reference_model("lightgbm"))  # version 2 -> champion
        answer = httpx.post(server.url + "/admin/reload", timeout=60).json()
        assert answer["version"] == "2" and "others follow" in answer["workers"]
        time.sleep(2)  # the other worker sees the reload request within 0.5 s
        # fresh connections, so the kernel hands them to both workers
        versions = {httpx.post(server.url + "/predict", json=churn_records(1),
                               timeout=10).json()["model_version"] for _ in range(40)}
        assert versions == {"2"}
    finally:
        server.stop()
    result = json.loads(out.read_text())
    assert result["ok"] == 400 and result["errors"] == {}
    log = read_log(log_url)
    assert len(log) == result["predictions"] + 40 == 440
