"""Swapping the served model for a new version without dropping a request.

`ModelHolder.current` is one `Served` bundle (scoring/served.py): a request reads it once and
uses it to the end, so a swap (one assignment, atomic in CPython) never mixes versions inside a
request and in-flight requests finish on the old model. A new version is loaded from the
holder's `ModelSource` (SHA-256 checked by the registry), compiled, checked on probe rows and on
its own input example, and only then swapped in. A failed check keeps the old model and is
counted."""

from __future__ import annotations

import logging
import threading
from typing import Any

from fullcycle.scoring.served import ModelSource, Served

log = logging.getLogger("fullcycle.serve")


class ModelHolder:
    """The current `Served` bundle, and the reload logic around it."""

    def __init__(self, source: ModelSource, served: Served, metrics: Any = None) -> None:
        self.source, self.current, self.metrics = source, served, metrics
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.last_error: str | None = None

    def reload(self, force: bool = False) -> dict[str, Any]:
        """Swap in the version the source points at now, if it differs (or `force`)."""
        with self._reload_lock:
            before = self.current.version
            target = self.source.latest()
            if not force and (target is None or target == before):
                return {"changed": False, "version": before, "follows": self.source.follows}
            try:
                served = Served.prepare(self.source.load(target), missing=self.source.missing)
            except Exception as exc:  # keep serving the old model
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error("model reload to %s failed, keeping %s: %s", target, before, exc)
                self._count("failed")
                raise
            self.current = served
            self.last_error = None
            self._count("swapped")
            log.warning("model swapped: %s -> %s (%s)", before, served.version, served.note)
            return {"changed": served.version != before, "previous": before,
                    "version": served.version, "follows": self.source.follows}

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.inc("fullcycle_model_reloads_total", outcome=outcome)

    def start_polling(self, seconds: float) -> None:
        if seconds <= 0 or self.source.follows is None or self._poller is not None:
            return

        def loop() -> None:
            while not self._stop.wait(seconds):
                try:
                    self.reload()
                except Exception:  # already logged and counted
                    pass

        self._poller = threading.Thread(target=loop, name="model-poller", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)
