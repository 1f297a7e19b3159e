"""The model being served, and swapping it for a new version without dropping a request.

`Served` bundles everything a request needs from one model version (model, validator, compiled
fast path). `ModelHolder.current` is one reference: a request reads it once and uses that bundle
to the end, so a swap (one assignment, atomic in CPython) never mixes versions inside a request
and in-flight requests finish on the old model.

A `ModelSource` says where versions come from. `RegistrySource` follows an alias (`champion`)
of the workspace registry: `latest()` asks which version the alias points at; a new version is
loaded (SHA-256 checked by the registry), compiled, checked on probe rows and on its own input
example, and only then swapped in. A failed check keeps the old model and is counted."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fullcycle.config import Config
from fullcycle.model import Model
from fullcycle.registry.open import load_model, open_registry
from fullcycle.scoring.fastpath import PredictionPath, compile_checked, general_scores
from fullcycle.serve.validation import RecordValidator
from fullcycle.workspace import Workspace

log = logging.getLogger("fullcycle.serve")


@dataclass
class Served:
    model: Model
    validator: RecordValidator
    fast: PredictionPath | None  # None: the general path
    note: str  # how predictions are computed, and why
    version: str
    loaded_at: float = field(default_factory=time.time)

    @classmethod
    def prepare(cls, model: Model, *, serving_threads: bool = True,
                missing: str = "impute") -> Served:
        """Compile and check a model; raises if it cannot predict its own input example.
        `missing` is the contract.missing policy (impute or strict)."""
        if serving_threads:
            _single_threaded(model)
        validator = RecordValidator(model.schema, missing=missing)
        if not model.kind.scored:  # the kind predicts checked rows itself
            return cls(model=model, validator=validator, fast=None, version=model.version_label,
                       note=f"{model.card.kind} kind's predict on checked rows")
        fast, note = compile_checked(model, validator)
        example = model.card.input_example
        if example:
            problems: list[dict[str, Any]] = []
            row = validator.record(example, 0, problems, [])
            scores = general_scores(model, validator.names, [row])
            if not np.all(np.isfinite(scores)):
                raise ValueError(f"model version {model.version_label} predicts a non-finite "
                                 "score on its own input example")
        return cls(model=model, validator=validator, fast=fast, note=note,
                   version=model.version_label)

    def scores(self, rows: list[list[Any]]) -> np.ndarray:
        if self.fast is not None:
            return self.fast.scores(rows)
        return general_scores(self.model, self.validator.names, rows)


def _single_threaded(model: Model) -> None:
    """Forests (n_jobs=-1) and LightGBM (OpenMP threads) parallelise each predict call; for a
    one-row request the thread start-up and, on a busy machine, the spinning threads cost far
    more than the trees (LightGBM 100 rows: 32 ms with all threads vs 0.9 ms with one, measured
    under load). The server's parallelism comes from concurrent requests, so every estimator
    inside the served model predicts on one thread."""
    seen: set[int] = set()

    def walk(obj: object, depth: int) -> None:
        if depth > 8 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, list | tuple):
            for item in obj:
                walk(item, depth + 1)
            return
        module = type(obj).__module__
        if not module.startswith(("sklearn", "lightgbm", "fullcycle")):
            return
        if module.startswith(("sklearn.ensemble", "lightgbm")) and hasattr(obj, "n_jobs"):
            obj.n_jobs = 1  # type: ignore[attr-defined]
        for value in getattr(obj, "__dict__", {}).values():
            walk(value, depth + 1)

    walk(model.pipeline, 0)


class ModelSource:
    """Where models come from. The base class serves one fixed model (no reload)."""

    follows: str | None = None
    missing: str = "impute"  # contract.missing of the config the models are served under

    def __init__(self, model: Model | None = None, missing: str = "impute") -> None:
        self._model = model
        self.missing = missing

    def latest(self) -> str | None:
        return None

    def load(self, version: str | None = None) -> Model:
        if self._model is None:
            raise ValueError("no model")
        return self._model


class RegistrySource(ModelSource):
    """A workspace registry reference. Aliases (champion, challenger, models:/NAME@ALIAS) are
    followed; a version number or a folder path is fixed."""

    def __init__(self, workspace: str | Path, ref: str = "champion",
                 config: Config | None = None) -> None:
        super().__init__(None)
        self.workspace = Workspace.at(workspace)
        self.config = self.workspace.load_config(config)
        self.registry = open_registry(self.workspace, self.config)
        self.missing = self.config.contract.missing
        self.ref = ref
        alias = ref.split("@", 1)[1] if ref.startswith("models:/") and "@" in ref else ref
        self.follows = None if (alias.isdigit() or Path(ref).is_dir() or
                                ref.startswith("models:/") and "@" not in ref) else alias

    def latest(self) -> str | None:
        if self.follows is None:
            return None
        return self.registry.alias_version(self.follows)

    def load(self, version: str | None = None) -> Model:
        return load_model(self.registry, version or self.ref)


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
            except Exception as exc:  # noqa: BLE001 - keep serving the old model
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
                except Exception:  # noqa: BLE001, S110 - already logged and counted
                    pass

        self._poller = threading.Thread(target=loop, name="model-poller", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=5)
