"""The Model: the one object that crosses every boundary after training.

It holds the fitted predictor of a task kind and its typed card (kind, problem, data contract,
reference profile, provenance). It predicts on a DataFrame or on a list of records; serving,
batch prediction and monitoring never need the training data.

On disk a model is a folder: `model.json` (the card, readable without unpickling) and
`pipeline.joblib` (the predictor). The SHA-256 of the pickle is recorded in `model.json` and
checked before any unpickling, so a tampered or truncated artifact is refused, never loaded."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.card import CARD_VERSION, ModelCard
from fullcycle.data.schema import Schema
from fullcycle.errors import DataError, IntegrityError, ModelError
from fullcycle.estimator import as_estimator
from fullcycle.problem import Problem
from fullcycle.taskkind import PredictOptions, TaskKind, get_kind

PIPELINE_FILE = "pipeline.joblib"
META_FILE = "model.json"
FORMAT_VERSION = CARD_VERSION
# Packages that moved after models were pickled: old module path -> new. A pickle names its
# classes by module path, so without this a model trained before the move would not load.
MOVED_MODULES = {"fullcycle.automl": "fullcycle.tasks.tabular.search"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_digest(folder: Path) -> str:
    """SHA-256 over every file of a model folder (relative path and content): the value the
    registry records at registration and checks before every load. It covers `model.json` too,
    so the card (schema, problem, reference) cannot be altered unnoticed either."""
    digest = hashlib.sha256()
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    if not files:
        raise ModelError(f"model folder {folder} is empty")
    for path in files:
        digest.update(f"{path.relative_to(folder).as_posix()}\0{sha256_file(path)}\n".encode())
    return digest.hexdigest()


def verify_folder(folder: Path, expected_digest: str, where: str = "") -> None:
    """Raise IntegrityError unless the folder's content digest is the recorded one."""
    try:
        actual = folder_digest(folder)
    except ModelError:
        actual = "<empty>"
    if actual != expected_digest:
        place = f" ({where})" if where else ""
        raise IntegrityError(
            f"model artifact {folder}{place} does not match the SHA-256 recorded at registration "
            f"(expected {expected_digest[:12]}…, found {actual[:12]}…); it was modified or "
            "truncated and will not be loaded. Delete that copy to fetch it again from the "
            "registry, or re-register the model from a trusted run.")


class Model:
    """`Model(predictor, card)`: the fitted predictor of a task kind and its typed card.

    `predict` asks the card's kind (`taskkind.get_kind(card.kind).predict`); the tabular fast
    paths (`predict_scores`, `labels_from_scores`, compiled serving) call the predictor
    directly."""

    def __init__(self, predictor: Any, card: ModelCard) -> None:
        self.predictor = predictor
        self.card = card
        self._problem: Any = None

    @classmethod
    def for_table(cls, predictor: Any, problem: Any, schema: Schema, *,
                  threshold: float | None = None, input_example: dict[str, Any] | None = None,
                  reference: dict[str, Any] | None = None) -> Model:
        """A supervised-table model from a fitted pipeline and its `Problem` (reference
        models, tests); `tasks.tabular.search.train_model` fills the rest of the card."""
        card = ModelCard(kind="tabular", task=problem.task, target=problem.target,
                         metric=problem.metric, schema=schema, classes=list(problem.labels),
                         success=dict(problem.success), threshold=threshold,
                         input_example=dict(input_example or {}), reference=reference or {})
        return cls(predictor, card)

    # --- what the card says -------------------------------------------------------------
    @property
    def pipeline(self) -> Any:  # the name the tabular code and the compilers use
        return self.predictor

    @pipeline.setter
    def pipeline(self, value: Any) -> None:
        self.predictor = value

    @property
    def schema(self) -> Schema:
        return self.card.schema

    @property
    def kind(self) -> TaskKind:
        return get_kind(self.card.kind)

    @property
    def problem(self) -> Any:
        """The supervised problem (task, target, metric, labels) the tabular stages use."""
        if self._problem is None:
            card = self.card
            self._problem = Problem(task=card.task, target=card.target or "",
                                    metric=card.metric, labels=list(card.classes),
                                    success=dict(card.success))
        return self._problem

    @property
    def is_row_wise(self) -> bool:
        return bool(self.kind.row_wise)

    @property
    def version_label(self) -> str:
        return str(self.card.version or "local")

    # --- prediction -------------------------------------------------------------------------
    def _frame(self, data: pd.DataFrame | list[dict[str, Any]] | dict[str, Any]) -> pd.DataFrame:
        if isinstance(data, dict):
            data = [data]
        if isinstance(data, list):
            if not data:
                raise DataError("no records to predict; send at least one")
            data = pd.DataFrame.from_records(data)
        if not isinstance(data, pd.DataFrame):
            raise DataError(f"cannot predict on {type(data).__name__}; give a DataFrame or records")
        return data

    def predict(self, data: pd.DataFrame | list[dict[str, Any]] | dict[str, Any] | None = None,
                options: PredictOptions | None = None) -> pd.DataFrame:
        """The kind's output frame (tables: `prediction` and one `proba_<class>` per class).
        Unchecked: `Project.predict` and the server check the input against the contract."""
        frame = None if data is None else self._frame(data)
        return self.kind.predict(self, frame, options or PredictOptions())

    def predict_scores(self, data: pd.DataFrame | list[dict[str, Any]]) -> np.ndarray:
        """Tabular: class probabilities (n, k) with classes, values (n,) without."""
        frame = self._frame(data)
        if self.card.classes:
            return np.asarray(self.predictor.predict_proba(frame), dtype="float64")
        return np.asarray(self.predictor.predict(frame), dtype="float64")

    def labels_from_scores(self, scores: np.ndarray) -> np.ndarray:
        classes = self.card.classes
        if not classes:
            return scores
        labels = np.asarray(classes, dtype=object)
        threshold = self.card.threshold
        if threshold is not None and scores.shape[1] == 2:
            return labels[(scores[:, 1] >= threshold).astype(int)]
        return labels[scores.argmax(axis=1)]

    def as_estimator(self) -> Any:
        """This (tabular) model under scikit-learn's estimator contract: predict -> labels,
        predict_proba, classes_, clone/refit (fullcycle/estimator.py)."""
        return as_estimator(self)

    # --- persistence ------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the model folder atomically: a temp folder renamed into place. The card masks
        secrets (a password in a data-source URL, a key in the config): a model folder is
        shipped to servers and logged to the registry."""
        import shutil

        import joblib

        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        joblib.dump(self.predictor, tmp / PIPELINE_FILE, compress=3)
        meta = {"format_version": FORMAT_VERSION, "sha256": sha256_file(tmp / PIPELINE_FILE),
                "card": self.card.to_dict()}
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1, default=str))
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        if folder.exists():
            os.replace(folder, old)  # the new folder appears in one rename, never half-written
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
        return folder

    @classmethod
    def load(cls, folder: str | Path, expected_sha256: str | None = None, *,
             expected_digest: str | None = None) -> Model:
        """Load a model folder; every check runs before anything is unpickled.

        `expected_sha256` is the pickle's SHA-256, `expected_digest` the whole folder's
        (`folder_digest`), both as recorded by the registry."""
        import joblib

        folder = Path(folder)
        if expected_digest:
            verify_folder(folder, expected_digest)
        meta = read_metadata(folder)
        card = ModelCard.from_dict(meta["card"])
        pickle_path = folder / PIPELINE_FILE
        if not pickle_path.is_file():
            raise ModelError(f"model folder {folder} has no {PIPELINE_FILE}; it is incomplete")
        actual = sha256_file(pickle_path)
        for expected in (meta.get("sha256"), expected_sha256):
            if expected and actual != expected:
                raise IntegrityError(
                    f"model artifact {pickle_path} does not match its recorded SHA-256 "
                    f"(expected {expected[:12]}…, found {actual[:12]}…); it was modified or "
                    "truncated and will not be loaded. Re-register the model from a trusted run.")
        try:
            predictor = joblib.load(pickle_path)
        except ModuleNotFoundError as exc:
            if not _alias_moved(exc.name or ""):
                raise
            predictor = joblib.load(pickle_path)
        return cls(predictor, card)


def _alias_moved(name: str) -> bool:
    """Make the old path of a moved package (and its modules) import the new one; False when
    `name` is not under a moved package."""
    import importlib
    import pkgutil
    import sys

    for old, new in MOVED_MODULES.items():
        if name == old or name.startswith(old + "."):
            package = importlib.import_module(new)
            sys.modules[old] = package
            for info in pkgutil.iter_modules(package.__path__):
                sys.modules[f"{old}.{info.name}"] = importlib.import_module(f"{new}.{info.name}")
            return True
    return False


def read_card(folder: Path) -> ModelCard:
    """The card of a model folder, without unpickling anything."""
    return ModelCard.from_dict(read_metadata(Path(folder))["card"])


def read_metadata(folder: Path) -> dict[str, Any]:
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        raise ModelError(f"{folder} is not a fullcycle model folder (no {META_FILE})")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise IntegrityError(f"{meta_path} is corrupt ({exc}); re-register the model") from None
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        if isinstance(version, int) and version < FORMAT_VERSION:
            raise ModelError(f"{folder}: made by an older fullcycle (model format {version}, "
                             f"this one reads {FORMAT_VERSION}); retrain it with `fullcycle train`")
        raise ModelError(f"{folder}: model format {version} is not supported by this "
                         f"fullcycle (expects {FORMAT_VERSION}); upgrade fullcycle")
    return meta
