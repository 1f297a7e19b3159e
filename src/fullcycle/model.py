"""The Model: the one object that crosses every boundary after training.

It holds the fitted pipeline (preprocessing + estimator), the problem, the data contract and the
reference profile, and the record of where it came from. It predicts on a DataFrame or on a list
of records; serving, batch prediction and monitoring never need the training data.

On disk a model is a folder: `model.json` (metadata, readable without unpickling) and
`pipeline.joblib`. The SHA-256 of the pickle is recorded in `model.json` and checked before any
unpickling, so a tampered or truncated artifact is refused, never loaded."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.schema import Schema
from fullcycle.errors import DataError, IntegrityError, ModelError
from fullcycle.problem import Problem

PIPELINE_FILE = "pipeline.joblib"
META_FILE = "model.json"
FORMAT_VERSION = 1


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Model:
    pipeline: Any
    problem: Problem
    schema: Schema
    reference: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

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

    def predict_scores(self, data: pd.DataFrame | list[dict[str, Any]]) -> np.ndarray:
        """Class probabilities (n, k) for classification, values (n,) for regression."""
        frame = self._frame(data)
        if self.problem.is_classification:
            return np.asarray(self.pipeline.predict_proba(frame), dtype="float64")
        return np.asarray(self.pipeline.predict(frame), dtype="float64")

    def labels_from_scores(self, scores: np.ndarray) -> np.ndarray:
        if not self.problem.is_classification:
            return scores
        threshold = self.metadata.get("threshold")
        if threshold is not None and scores.shape[1] == 2:
            return self.problem.decode((scores[:, 1] >= threshold).astype(int))
        return self.problem.decode(scores.argmax(axis=1))

    def predict(self, data: pd.DataFrame | list[dict[str, Any]]) -> pd.DataFrame:
        """A frame with `prediction` and, for classification, one `proba_<class>` per class."""
        scores = self.predict_scores(data)
        out = pd.DataFrame({"prediction": self.labels_from_scores(scores)})
        if self.problem.is_classification:
            for i, label in enumerate(self.problem.labels):
                out[f"proba_{label}"] = scores[:, i]
        return out

    @property
    def version_label(self) -> str:
        return str(self.metadata.get("version") or self.metadata.get("model_id", "local"))

    # --- persistence ------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the model folder atomically: a temp folder renamed into place."""
        import joblib

        folder = Path(folder)
        tmp = folder.with_name(folder.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.pipeline, tmp / PIPELINE_FILE, compress=3)
        meta = {
            "format_version": FORMAT_VERSION,
            "sha256": sha256_file(tmp / PIPELINE_FILE),
            "problem": self.problem.to_dict(),
            "schema": self.schema.to_dict(),
            "reference": self.reference,
            "metadata": self.metadata,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1, default=str))
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        os.replace(tmp, folder)
        return folder

    @classmethod
    def load(cls, folder: str | Path, expected_sha256: str | None = None) -> Model:
        import joblib

        folder = Path(folder)
        meta = read_metadata(folder)
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
        pipeline = joblib.load(pickle_path)
        return cls(pipeline=pipeline, problem=Problem.from_dict(meta["problem"]),
                   schema=Schema.from_dict(meta["schema"]), reference=meta["reference"],
                   metadata=meta.get("metadata", {}))


def read_metadata(folder: Path) -> dict[str, Any]:
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        raise ModelError(f"{folder} is not a fullcycle model folder (no {META_FILE})")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise IntegrityError(f"{meta_path} is corrupt ({exc}); re-register the model") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{folder}: model format {meta.get('format_version')} is not supported "
                         f"by this fullcycle (expects {FORMAT_VERSION})")
    return meta
