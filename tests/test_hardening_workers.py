"""SIGTERM with `fullcycle serve --workers 2` drains: every request sent before the signal,
including those in flight when it came, is answered in full (none is cut with a read error),
and every answered prediction is in the log. Real processes, real HTTP (issue 18)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import start_server
from serve_support import churn_records, shared_workspace

# Trains and serves real models: slow on a busy machine, never stuck.
pytestmark = pytest.mark.timeout(1200)

ROWS = 300  # per request: long enough that requests are in flight when the signal arrives


def test_sigterm_with_two_workers_drains_in_flight_requests(
        tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    server = start_server(shared_workspace(tmp_path_factory), "--workers", "2", "--log-url",
                          log_url, env={"FULLCYCLE_API_KEYS": ""}, timeout=180)
    body = churn_records(ROWS)
    outcomes: list[tuple[float, float, str, int]] = []  # (start, end, outcome, predictions)
    lock = threading.Lock()
    stop = threading.Event()
    signalled: list[float] = []

    def client() -> None:
        while not stop.is_set():
            start = time.monotonic()
            try:  # a new connection per request: no idle keep-alive connection to lose
                answer = httpx.post(server.url + "/predict", json=body,
                                    timeout=httpx.Timeout(120.0))
                outcome = "ok" if answer.status_code == 200 else f"http {answer.status_code}"
                count = len(answer.json()["predictions"]) if answer.status_code == 200 else 0
            except httpx.ConnectError:
                outcome, count = "refused", 0  # never sent: the client may retry elsewhere
            except httpx.HTTPError as exc:
                outcome, count = f"cut: {type(exc).__name__}", 0
            with lock:
                outcomes.append((start, time.monotonic(), outcome, count))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(6)]
    for thread in threads:
        thread.start()
    while True:  # wait until requests are flowing
        with lock:
            if sum(o == "ok" for _, _, o, _ in outcomes) >= 6:
                break
        time.sleep(0.05)
    stop.set()  # no new request after the signal: every request below was sent before it
    signalled.append(time.monotonic())
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=120) == 0
    for thread in threads:
        thread.join(timeout=120)
    # Every request sent before the signal, including those in flight when it came, is
    # answered in full; none is cut or refused.
    assert all(o == "ok" for _, _, o, _ in outcomes), [o for o in outcomes if o[2] != "ok"]
    assert any(start < signalled[0] < end for start, end, _, _ in outcomes), outcomes
    from fullcycle.monitor.predlog import read_log

    answered = sum(n for _, _, o, n in outcomes if o == "ok")
    assert len(read_log(log_url)) == answered
