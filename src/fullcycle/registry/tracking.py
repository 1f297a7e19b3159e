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
    # one nested MLflow run per candidate of the search: {"name", "params", "metrics", "tags"}
    children: list[dict[str, Any]] = field(default_factory=list)

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


def build_record(config: Any, dataset: Any, result: Any, *, reports: list[Path] | None = None,
                 snapshot: bool = True, source: str = "fullcycle train") -> RunRecord:
    """The record of one training run (`config`: Config, `dataset`: Dataset, `result`: the
    task kind's TrainResult; its model card says the rest)."""
    card = result.model.card
    masked = mask_secrets(config.model_dump(mode="json"))
    best = card.training.best_candidate or card.kind
    fp = dataset.fingerprint
    # the run is named after the registered model ("v<N>" is added once the version exists)
    record = RunRecord(run_name=str(config.registry.model_name or config.project))
    # the whole config is the artifact config/fullcycle.yaml; as params, only what differs
    # from the defaults (what `models diff` compares), not 120 flattened keys
    defaults = flatten(mask_secrets(type(config)().model_dump(mode="json")))
    record.params = {f"config.{k}": v[:500] for k, v in flatten(masked).items()
                     if defaults.get(k) != v}
    record.params.update({"task": card.task, "kind": card.kind, "metric": card.metric,
                          "best_model": best, "final_model": _final_model(card),
                          "data_fingerprint": fp, "rows": str(len(dataset.frame))})
    record.metrics = final_metrics(result, card.metric)
    candidates = _candidates(result)
    record.children = candidate_runs(candidates, card)
    record.step_metrics = [(f"candidate_cv_{card.metric}", float(c["mean"]), i)
                           for i, c in enumerate(candidates) if c.get("mean") is not None]
    code = code_version()
    record.tags = {
        "fullcycle.source": source, "fullcycle.version": code["fullcycle"],
        "fullcycle.data_fingerprint": fp, "fullcycle.task": card.task,
        "fullcycle.kind": card.kind,
        "fullcycle.host": socket.gethostname(), "fullcycle.pid": str(os.getpid()),
        "mlflow.source.name": source, "mlflow.source.type": "LOCAL",
        "mlflow.note.content": _note(config, dataset, result),
    }
    if code["git_commit"]:
        record.tags["mlflow.source.git.commit"] = code["git_commit"]
        record.tags["fullcycle.git_dirty"] = str(code["git_dirty"]).lower()
    record.files = _files(config, masked, dataset, result, code, candidates)
    if snapshot:
        _add_snapshot(record, dataset)
    for path in reports or []:
        if path.is_file():
            record.files[f"reports/{path.name}"] = path
    return record


def final_metrics(result: Any, metric: str) -> dict[str, float]:
    """test_<metric> for every test metric, the search's cv score of `metric` and its std, the
    number of candidates and the training seconds (what `reproduce` compares)."""
    training = result.model.card.training
    out = {f"test_{k}": float(v) for k, v in result.test_metrics.items() if v == v}
    board = training.leaderboard or []
    if training.cv_score is not None and board:
        best = board[0]
        cv = best.get(f"cv_{metric}")
        out[f"cv_{metric}"] = float(cv if cv is not None else training.cv_score)
        if best.get("cv_std") is not None:
            out[f"cv_{metric}_std"] = float(best["cv_std"])
    search = training.search or {}
    if "finished" in search:
        out["candidates"] = float(search["finished"])
    if "train_seconds" in search:
        out["train_seconds"] = float(search["train_seconds"])
    return out


def _final_model(card: Any) -> str:
    """What was registered: an ensemble names its members and weights."""
    final = card.training.final_model or {}
    members = final.get("members") or []
    if len(members) > 1:
        return "ensemble of " + ", ".join(
            f"{m.get('model')} ({float(m.get('weight', 0)):.2f})" for m in members)[:480]
    return str(card.training.best_candidate or card.kind)


def candidate_runs(candidates: list[dict[str, Any]], card: Any) -> list[dict[str, Any]]:
    """One nested run per candidate: its family and hyperparameters as params, its fold scores
    and cross-validated mean as metrics, and whether the final model uses it."""
    metric = card.metric or "score"
    final = card.training.final_model or {}
    chosen = {str(m.get("model")) for m in final.get("members") or []} or {
        str(card.training.best_candidate)}
    runs = []
    for c in candidates:
        params = {"family": str(c.get("family", "")),
                  **{str(k): str(v)[:500] for k, v in (c.get("params") or {}).items()}}
        metrics = {f"cv_{metric}": c.get("mean"), f"cv_{metric}_std": c.get("std"),
                   "fit_seconds": c.get("fit_seconds")}
        metrics.update({f"fold_{i + 1}_{metric}": v
                        for i, v in enumerate(c.get("fold_scores") or [])})
        runs.append({"name": str(c.get("name")), "params": params,
                     "metrics": {k: float(v) for k, v in metrics.items()
                                 if isinstance(v, int | float) and v == v},
                     "tags": {"fullcycle.candidate_order": str(c.get("order", "")),
                              "fullcycle.in_final_model": str(str(c.get("name")) in chosen)
                              .lower()}})
    return runs


def _candidates(result: Any) -> list[dict[str, Any]]:
    path = result.report_files.get("candidates")
    if path is not None and Path(path).is_file():
        return list(json.loads(Path(path).read_text()))
    return []


def _files(config: Any, masked: dict[str, Any], dataset: Any, result: Any,
           code: dict[str, Any], candidates: list[dict[str, Any]]
           ) -> dict[str, str | bytes | Path]:
    import platform

    import yaml

    card = result.model.card
    problem = {"task": card.task, "target": card.target, "metric": card.metric,
               "labels": card.classes, "success": card.success}
    files: dict[str, str | bytes | Path] = {
        CONFIG: yaml.safe_dump(masked, sort_keys=False),
        "config/problem.json": json.dumps(problem | {"kind": card.kind}, indent=1),
        SCHEMA: json.dumps({"fingerprint": dataset.fingerprint, "rows": len(dataset.frame),
                            "source": mask_text(str(dataset.source)),
                            "cleaning": dataset.cleaning, "schema": dataset.schema.to_dict()},
                           indent=1, default=str),
        "code/version.json": json.dumps(code | {"packages": package_versions(),
                                                "platform": platform.platform()}, indent=1),
        "environment/installed.txt": installed_packages(),
        "search/leaderboard.csv": result.leaderboard.to_csv(index=False),
        "metrics.json": json.dumps({"test": result.test_metrics, "verdict": result.verdict,
                                    "cv": {card.metric: card.training.cv_score}},
                                   indent=1, default=str),
    }
    if candidates:
        files[CANDIDATES] = json.dumps(candidates, indent=1, default=str)
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


def _note(config: Any, dataset: Any, result: Any) -> str:
    card = result.model.card
    cv = card.training.cv_score
    score = f" cv {card.metric} {cv:.4f}" if cv is not None else ""
    return (f"**{card.task}** on `{card.target or card.kind}` · data `{dataset.fingerprint}` "
            f"({len(dataset.frame)} rows) · best `{card.training.best_candidate or card.kind}`"
            f"{score} · seed {config.seed}")
