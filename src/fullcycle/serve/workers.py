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

import asyncio
import fcntl
import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors import multiprocess

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
                except Exception as exc:  # keep serving; reload() counts failures
                    log.warning("worker %s: shared state step failed: %s", os.getpid(), exc)

        self.publish(metrics.snapshot())
        self._thread = threading.Thread(target=loop, name="fullcycle-worker-share", daemon=True)
        self._thread.start()

    def stop(self, metrics: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.publish(metrics.snapshot())  # the last requests of this worker still count


DRAIN_GRACE = 1.0  # seconds a stopping worker keeps accepting what is already queued


class DrainingServer(uvicorn.Server):
    """A uvicorn Server whose shutdown first drains: the shared listening socket stops queueing
    new connections (listen backlog 0: new clients are refused or retry elsewhere), connections
    the kernel had already completed are accepted and their requests read for DRAIN_GRACE
    seconds, then uvicorn's own graceful shutdown finishes every request in flight. Without
    this, connections waiting in the accept queue, or accepted a moment before the signal with
    their request not yet read, were closed under the client (ReadError)."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            for listener in server.sockets:
                try:
                    with socket.socket(fileno=os.dup(listener.fileno())) as dup:
                        dup.listen(0)
                except OSError:
                    pass
        await asyncio.sleep(DRAIN_GRACE)
        await super().shutdown(sockets)


class DrainingProcess(multiprocess.Process):
    """A worker process of the supervisor that runs a `DrainingServer`."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = DrainingServer(config=self.config)
        return self._server


class DrainingMultiprocess(multiprocess.Multiprocess):
    """The supervisor: on SIGTERM it closes its own copy of the listening socket (it kept the
    kernel completing connections no worker would accept), then stops the workers."""

    def init_processes(self) -> None:
        multiprocess.Process = DrainingProcess  # type: ignore[misc]  # what the supervisor builds
        super().init_processes()

    def terminate_all(self) -> None:
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass
        super().terminate_all()


def run_workers(app: str, workers: int, **options: Any) -> None:
    """`uvicorn.run(app, factory=True, workers=N)` that drains on SIGTERM."""
    config = uvicorn.Config(app, factory=True, workers=workers, **options)
    sock = config.bind_socket()
    try:
        DrainingMultiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass


def run_one(app: Any, **options: Any) -> None:
    """`uvicorn.run(app)` (one process) that drains on SIGTERM like the workers do."""
    DrainingServer(uvicorn.Config(app, **options)).run()


def _write_atomic(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    temp.write_text(text)
    os.replace(temp, path)
