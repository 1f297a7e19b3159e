"""Retraining with champion/challenger promotion.

1. New labelled rows: a file, a SQL query, or the prediction log joined with its feedback.
2. The newest `monitor.holdout_share` of them (by time when known, else by order) is held out;
   the challenger trains on the rest (optionally together with the champion's training snapshot)
   with the project's usual search, and is registered with the alias `challenger`.
3. Champion and challenger are scored on the same holdout with the problem's metric; the
   challenger becomes champion only if it is better by more than `monitor.promote_margin`.
4. The decision and its evidence are tags on the challenger's version (`retrain.*`) and
   `reports/retrain.json`; a server following the champion alias picks the new version up."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.errors import DataError


def labelled_from_log(url: str, target: str, features: list[str]) -> pd.DataFrame:
    """Logged inputs with their feedback labels as a training frame (oldest first)."""
    from fullcycle.serve.predlog import read_log

    log = read_log(url)
    if "label" not in log.columns or not log["label"].notna().any():
        raise DataError("the prediction log has no feedback labels yet; POST them to /feedback "
                        "or give labelled rows with --input")
    log = log[log["label"].notna()]
    frame = pd.DataFrame({c: log[c] if c in log.columns else np.nan for c in features},
                         index=log.index)
    frame[target] = log["label"].map(lambda v: str(int(v)) if isinstance(v, float) and
                                     v.is_integer() else v)
    frame["__time__"] = log["time"]
    return frame.reset_index(drop=True)


def split_holdout(frame: pd.DataFrame, share: float, minimum: int) -> tuple[pd.DataFrame,
                                                                              pd.DataFrame]:
    """(train part, newest `share` as holdout); time order when a `__time__` column exists."""
    if "__time__" in frame.columns:
        frame = frame.sort_values("__time__", kind="stable").drop(columns="__time__")
    n_hold = int(round(len(frame) * share))
    if n_hold < minimum or len(frame) - n_hold < minimum:
        raise DataError(f"{len(frame)} labelled rows are too few to retrain: the holdout "
                        f"({share:.0%}) and the training part each need at least {minimum} "
                        "(monitor.min_labels); collect more feedback")
    return frame.iloc[:-n_hold], frame.iloc[-n_hold:]


def training_snapshot(project: Any, version: str, champion: Any) -> pd.DataFrame | None:
    """The champion's training data: the registry's Parquet snapshot, else its source file."""
    try:
        import mlflow.artifacts

        run_id = project.registry.model_version(version).run_id
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="data/snapshot.parquet",
            dst_path=str(project.workspace.cache / f"snapshot-v{version}"),
            tracking_uri=project.registry.tracking_uri)
        return pd.read_parquet(path)
    except Exception:  # noqa: BLE001 - older runs have no snapshot; try the source next
        source = champion.metadata.get("data_source")
        if source and Path(str(source)).exists():
            from fullcycle.data.sources import read_source

            return read_source(str(source))
    return None


def score(model: Any, holdout: pd.DataFrame, metric: str) -> float:
    from fullcycle.automl.train import evaluate_on

    y = model.problem.encode_target(holdout[model.problem.target])
    return float(evaluate_on(model, holdout, y)[metric])


def _new_data(project: Any, champion: Any, data: str | None, query: str | None) -> pd.DataFrame:
    target = champion.problem.target
    if data is None:
        from fullcycle.monitor.check import log_url

        return labelled_from_log(log_url(project), target,
                                 [c.name for c in champion.schema.features])
    from fullcycle.data.sources import read_source

    frame = read_source(data, query=query) if query else read_source(data)
    if target not in frame.columns:
        raise DataError(f"{data}: no {target!r} column; retraining needs the true labels")
    return frame[frame[target].notna()].reset_index(drop=True)


def retrain(project: Any, data: str | None = None, *, query: str | None = None,
            with_snapshot: bool = False, trigger: str | None = None) -> dict[str, Any]:
    """Train, compare and maybe promote a challenger; returns the decision with its evidence."""
    from fullcycle.data.dataset import Dataset
    from fullcycle.evaluate.metrics import get_metric

    cfg = project.config
    champion_version = project.registry.resolve_version("champion")
    champion = project.registry.load(champion_version)
    target, metric = champion.problem.target, champion.problem.metric
    new = _new_data(project, champion, data, query)
    train_part, holdout = split_holdout(new, cfg.monitor.holdout_share, cfg.monitor.min_labels)
    if with_snapshot:
        snapshot = training_snapshot(project, champion_version, champion)
        if snapshot is None:
            raise DataError("--with-snapshot: the champion has no training snapshot in the "
                            "registry and its data source is gone; retrain without it")
        train_part = pd.concat([snapshot, train_part], ignore_index=True)
    cfg.data.target = target
    cfg.problem.metric = metric
    dataset = Dataset.from_frame(train_part.reset_index(drop=True), target=target,
                                 roles=cfg.data.roles, source=data or "prediction log + feedback")
    report = project.train(dataset, alias="challenger",
                           reason=f"challenger from retrain ({trigger or 'manual'})")
    challenger = project.registry.load(report.version)
    champion_score = score(champion, holdout, metric)
    challenger_score = score(challenger, holdout, metric)
    sign = get_metric(metric).sign()
    gain = (challenger_score - champion_score) * sign
    promoted = bool(gain > cfg.monitor.promote_margin)
    evidence = {"metric": metric, "greater_is_better": sign > 0,
                "champion_version": champion_version, "champion_score": champion_score,
                "challenger_version": report.version, "challenger_score": challenger_score,
                "gain": gain, "margin": cfg.monitor.promote_margin,
                "holdout_rows": int(len(holdout)), "train_rows": int(len(train_part)),
                "with_snapshot": with_snapshot, "data": data or "prediction log + feedback",
                "trigger": trigger or "manual", "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    reason = (f"{metric} {challenger_score:.4f} vs champion v{champion_version} "
              f"{champion_score:.4f} on {len(holdout)} holdout rows: gain {gain:+.4f} "
              f"{'>' if promoted else '<='} margin {cfg.monitor.promote_margin}")
    _record(project, report.version, promoted, evidence, reason)
    if promoted:
        _promote(project.registry, report.version, f"retrain: {reason}")
        _adopt_reports(project.workspace.reports)
    outcome = {"promoted": promoted, "reason": reason, "evidence": evidence,
               "champion": report.version if promoted else champion_version}
    path = project.workspace.reports / "retrain.json"
    path.write_text(json.dumps(outcome, indent=1, default=str))
    outcome["path"] = str(path)
    return outcome


def _adopt_reports(reports: Path) -> None:
    """The promoted challenger's training reports become the workspace's own."""
    for path in (reports / "challenger").glob("*"):
        if path.is_file():
            os.replace(path, reports / path.name)


def _record(project: Any, version: str, promoted: bool, evidence: dict[str, Any],
            reason: str) -> None:
    registry = project.registry
    tags = {"retrain.decision": "promoted" if promoted else "rejected",
            "retrain.reason": reason, "retrain.evidence": json.dumps(evidence, default=str)}
    for key, value in tags.items():
        registry.client.set_model_version_tag(registry.model_name, version, key, value[:4900])


def _promote(registry: Any, version: str, reason: str) -> None:
    try:
        from fullcycle.registry.promotion import promote
    except ImportError:  # registry without alias history
        registry.set_alias("champion", version, reason=reason)
        return
    promote(registry, version, alias="champion", reason=reason)
