"""The served model: one version with everything a request or a batch chunk needs from it
(model, record validator, compiled fast path), and where versions come from.

`Served.prepare` compiles a model and checks it on probe rows and on its own input example.
A `ModelSource` says where versions come from; `RegistrySource` follows an alias (`champion`)
of a workspace registry, or names a fixed version or folder. The server's hot swap
(serve/reload.py) and batch scoring (scoring/batch.py, deploy/) both start here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fullcycle.config import Config
from fullcycle.model import Model
from fullcycle.registry.open import load_model, open_registry
from fullcycle.scoring.fastpath import PredictionPath, compile_checked, general_scores
from fullcycle.scoring.validation import RecordValidator
from fullcycle.taskkind import PredictOptions
from fullcycle.workspace import Workspace


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
            _kind_predicts_its_example(model, validator)
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


def _kind_predicts_its_example(model: Model, validator: RecordValidator) -> None:
    """A row-wise kind must answer its own (synthetic) input example, one row, before it
    serves: a broken model is refused at load or reload, not on the first request."""
    import pandas as pd


    example = model.card.input_example
    if not example or not model.kind.row_wise:
        return
    row = validator.record(example, 0, [], [])
    out = model.kind.predict(model, pd.DataFrame.from_records([row], columns=validator.names),
                             PredictOptions())
    if len(out) != 1:
        raise ValueError(f"model version {model.version_label} ({model.card.kind}) answers "
                         f"{len(out)} rows for its one-row input example")


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
