"""What the worker processes of one `fullcycle serve --workers N` share: a folder.

Each worker is its own process, with its own counters and its own model. Without this, `/metrics`
answered with the figures of whichever worker took the scrape, and `POST /admin/reload` swapped
the model in one worker while the others went on serving the old version.

- Metrics: every worker writes a snapshot of its counters and histograms to `metrics-<pid>.json`
  every `INTERVAL` seconds (atomically: temp file, then rename), and just before it answers
  `/metrics`. The worker answering a scrape adds up every snapshot. Snapshots of workers that
  died stay, so counters never go down (as in prometheus_client's multiprocess mode). Other
  workers' figures are at most `INTERVAL` old. Gauges (model in use, log queue) stay per worker.
- Reload: `/admin/reload` swaps its own worker, then bumps a generation number in `reload`; the
  other workers see the new number within `INTERVAL` and reload too.

The CLI creates the folder, passes it in FULLCYCLE_SERVE_SHARED, and removes it on exit.

Shutdown (`run_workers`): uvicorn's supervisor keeps its own copy of the listening socket open
while the workers drain, so the kernel went on completing connections into the accept backlog
that no worker would ever accept; they were reset when the supervisor exited (clients saw a
ReadError on requests sent after SIGTERM). `DrainingMultiprocess` closes the supervisor's copy
first: new connections are refused at once (a client can retry elsewhere) while every accepted
request finishes."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("fullcycle.serve")
SHARED_ENV = "FULLCYCLE_SERVE_SHARED"
INTERVAL = 0.5  # seconds between a worker's snapshots and reload checks


class WorkerShare:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.own = self.folder / f"metrics-{os.getpid()}.json"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- metrics ---------------------------------------------------------------------------------
    def publish(self, snapshot: dict[str, Any]) -> None:
        _write_atomic(self.own, json.dumps(snapshot))

    def snapshots(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.folder.glob("metrics-*.json")):
            try:
                out.append(json.loads(path.read_text()))
            except (OSError, ValueError):  # a worker gone mid-listing; its next write fixes it
                continue
        return out

    # --- reload ----------------------------------------------------------------------------------
    def generation(self) -> int:
        try:
            return int((self.folder / "reload").read_text() or 0)
        except (OSError, ValueError):
            return 0

    def request_reload(self) -> int:
        """Ask every worker to check its model source again; returns the new generation."""
        with open(self.folder / "reload.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two workers bumping at once still count twice
            number = self.generation() + 1
            _write_atomic(self.folder / "reload", str(number))
        return number

    # --- the background loop ---------------------------------------------------------------------
    def start(self, metrics: Any, holder: Any) -> None:
        seen = self.generation()

        def loop() -> None:
            nonlocal seen
            while not self._stop.wait(INTERVAL):
                try:
                    self.publish(metrics.snapshot())
                    now = self.generation()
                    if now != seen:
                        seen = now
                        holder.reload()
                except Exception as exc:  # noqa: BLE001 - keep serving; reload() counts failures
                    log.warning("worker %s: shared state step failed: %s", os.getpid(), exc)

        self.publish(metrics.snapshot())
        self._thread = threading.Thread(target=loop, name="fullcycle-worker-share", daemon=True)
        self._thread.start()

    def stop(self, metrics: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.publish(metrics.snapshot())  # the last requests of this worker still count


def run_workers(app: str, workers: int, **options: Any) -> None:
    """`uvicorn.run(app, factory=True, workers=N)` with a supervisor that drains on SIGTERM."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    class DrainingMultiprocess(Multiprocess):
        def terminate_all(self) -> None:
            for sock in self.sockets:  # stop listening before the workers drain
                try:
                    sock.close()
                except OSError:
                    pass
            super().terminate_all()

    config = uvicorn.Config(app, factory=True, workers=workers, **options)
    sock = config.bind_socket()
    try:
        DrainingMultiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass


def _write_atomic(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    temp.write_text(text)
    os.replace(temp, path)
