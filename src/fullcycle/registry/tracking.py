"""What a training run records, gathered before anything talks to MLflow.

A `RunRecord` holds the params, metrics, tags and artifact files of one run: the config with
secrets masked, the problem definition, the data fingerprint, schema and a Parquet snapshot of
the training data (so `fullcycle reproduce` can retrain), the code version, the locked
environment, every candidate's cross-validation scores, the final metrics and the reports.
`ModelRegistry.register` logs it in a handful of calls (one batch, one artifact upload)."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fullcycle.provenance import (
    code_version,
    installed_packages,
    lock_file,
    mask_secrets,
    mask_text,
    package_versions,
)

SNAPSHOT = "data/snapshot.parquet"
CONFIG = "config/fullcycle.yaml"
SCHEMA = "data/schema.json"
CANDIDATES = "search/candidates.json"


@dataclass
class RunRecord:
    run_name: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    step_metrics: list[tuple[str, float, int]] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    # artifact path inside the run -> text content, bytes, or a file to copy
    files: dict[str, str | bytes | Path] = field(default_factory=dict)

    def write(self, folder: Path) -> Path:
        """Lay the artifact files out in `folder`, for one `log_artifacts` call."""
        import shutil

        for rel, content in self.files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, target)
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        return folder


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return out


def build_record(config: Any, dataset: Any, outcome: Any, *, reports: list[Path] | None = None,
                 snapshot: bool = True, source: str = "fullcycle train") -> RunRecord:
    """The record of one training run (`config`: Config, `dataset`: Dataset,
    `outcome`: automl TrainOutcome)."""
    problem = outcome.model.problem
    masked = mask_secrets(config.model_dump(mode="json"))
    best = outcome.search.best
    fp = dataset.fingerprint
    record = RunRecord(run_name=f"{config.project}-{best.name}-{fp[:8]}")
    record.params = {f"config.{k}": v[:500] for k, v in flatten(masked).items()}
    record.params.update({"task": problem.task, "metric": problem.metric,
                          "best_model": best.name, "data_fingerprint": fp,
                          "rows": str(len(dataset.frame))})
    record.metrics = final_metrics(outcome, problem.metric)
    record.step_metrics = [(f"candidate_cv_{problem.metric}", c.score, i)
                           for i, c in enumerate(outcome.search.candidates)]
    code = code_version()
    record.tags = {
        "fullcycle.source": source, "fullcycle.version": code["fullcycle"],
        "fullcycle.data_fingerprint": fp, "fullcycle.task": problem.task,
        "fullcycle.host": socket.gethostname(), "fullcycle.pid": str(os.getpid()),
        "mlflow.source.name": source, "mlflow.source.type": "LOCAL",
        "mlflow.note.content": _note(config, dataset, outcome),
    }
    if code["git_commit"]:
        record.tags["mlflow.source.git.commit"] = code["git_commit"]
        record.tags["fullcycle.git_dirty"] = str(code["git_dirty"]).lower()
    record.files = _files(config, masked, dataset, outcome, code)
    if snapshot:
        _add_snapshot(record, dataset)
    for path in reports or []:
        if path.is_file():
            record.files[f"reports/{path.name}"] = path
    return record


def final_metrics(outcome: Any, metric: str) -> dict[str, float]:
    best = outcome.search.best
    out = {f"test_{k}": float(v) for k, v in outcome.test_metrics.items() if v == v}
    out.update({f"cv_{metric}": best.score, f"cv_{metric}_std": best.std,
                "candidates": float(len(outcome.search.candidates)),
                "train_seconds": float(outcome.seconds)})
    return out


def _files(config: Any, masked: dict[str, Any], dataset: Any, outcome: Any,
           code: dict[str, Any]) -> dict[str, str | bytes | Path]:
    import platform

    import yaml

    problem = outcome.model.problem
    files: dict[str, str | bytes | Path] = {
        CONFIG: yaml.safe_dump(masked, sort_keys=False),
        "config/problem.json": json.dumps(problem.to_dict(), indent=1),
        SCHEMA: json.dumps({"fingerprint": dataset.fingerprint, "rows": len(dataset.frame),
                            "source": mask_text(str(dataset.source)),
                            "cleaning": dataset.cleaning, "schema": dataset.schema.to_dict()},
                           indent=1, default=str),
        "code/version.json": json.dumps(code | {"packages": package_versions(),
                                                "platform": platform.platform()}, indent=1),
        "environment/installed.txt": installed_packages(),
        "search/leaderboard.csv": outcome.leaderboard.to_csv(index=False),
        CANDIDATES: json.dumps([
            {"order": i, "name": c.name, "family": c.family, "params": c.params,
             "fold_scores": c.fold_scores, "mean": c.score, "std": c.std,
             "fit_seconds": c.fit_seconds} for i, c in enumerate(outcome.search.candidates)],
            indent=1, default=str),
        "metrics.json": json.dumps({"test": outcome.test_metrics, "verdict": outcome.verdict,
                                    "cv": {problem.metric: outcome.search.best.score}},
                                   indent=1, default=str),
    }
    lock = lock_file()
    if lock is not None:
        files["environment/requirements.lock"] = lock
    return files


def _add_snapshot(record: RunRecord, dataset: Any) -> None:
    """The training data as Parquet, with its SHA-256 as a tag so reproduce can trust it."""
    import hashlib
    import io

    buffer = io.BytesIO()
    try:
        dataset.frame.to_parquet(buffer, index=False)
    except (TypeError, ValueError, ImportError) as exc:
        # Mixed-type object columns cannot go to Arrow; say so rather than alter the data.
        record.tags["fullcycle.snapshot"] = f"unavailable: {type(exc).__name__}: {exc}"[:400]
        return
    data = buffer.getvalue()
    record.files[SNAPSHOT] = data
    record.tags["fullcycle.snapshot"] = SNAPSHOT
    record.tags["fullcycle.snapshot_sha256"] = hashlib.sha256(data).hexdigest()


def _note(config: Any, dataset: Any, outcome: Any) -> str:
    problem = outcome.model.problem
    best = outcome.search.best
    return (f"**{problem.task}** on `{problem.target}` · data `{dataset.fingerprint}` "
            f"({len(dataset.frame)} rows) · best `{best.name}` cv {problem.metric} "
            f"{best.score:.4f} · seed {config.seed}")
