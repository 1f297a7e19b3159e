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


def folder_digest(folder: Path) -> str:
    """SHA-256 over every file of a model folder (relative path and content): the value the
    registry records at registration and checks before every load. It covers `model.json` too,
    so the schema, problem and metadata cannot be altered unnoticed either."""
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
        """Write the model folder atomically: a temp folder renamed into place. Secrets in the
        metadata (a password in a data-source URL, a key in the config) are masked: a model
        folder is shipped to servers and logged to the registry."""
        import shutil

        import joblib

        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        joblib.dump(self.pipeline, tmp / PIPELINE_FILE, compress=3)
        meta = {
            "format_version": FORMAT_VERSION,
            "sha256": sha256_file(tmp / PIPELINE_FILE),
            "problem": self.problem.to_dict(),
            "schema": self.schema.to_dict(),
            "reference": self.reference,
            "metadata": _public_metadata(self.metadata),
        }
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


def _public_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata with secrets masked: the config tree by key name, and URL passwords in any
    top-level text (e.g. data_source). Column-keyed entries (input_example) are left alone."""
    from fullcycle.provenance import mask_secrets, mask_text

    out = dict(metadata)
    if isinstance(out.get("config"), dict):
        out["config"] = mask_secrets(out["config"])
    for key, value in out.items():
        if isinstance(value, str):
            out[key] = mask_text(value)
    return out


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
