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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.dataset import Dataset
from fullcycle.data.sources import read_source
from fullcycle.errors import DataError
from fullcycle.metrics import get_metric
from fullcycle.monitor.predlog import read_log
from fullcycle.registry.promotion import promote


def labelled_from_log(url: str, target: str, features: list[str]) -> pd.DataFrame:
    """Logged inputs with their feedback labels as a training frame (oldest first)."""
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


@dataclass
class Retraining:
    """What retraining needs, as plain values: the config, the model registry, the reports
    and cache folders, the prediction log, and `train(dataset, reason) -> version` (trains
    and registers a challenger: `Project.train(..., alias="challenger")`)."""

    config: Any
    registry: Any
    reports: Path
    cache: Path
    log_url: str
    train: Callable[[Any, str], str]


def training_snapshot(steps: Retraining, version: str, champion: Any) -> pd.DataFrame | None:
    """The champion's training data: the registry's Parquet snapshot, else its source file."""
    try:
        import mlflow.artifacts

        run_id = steps.registry.model_version(version).run_id
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="data/snapshot.parquet",
            dst_path=str(steps.cache / f"snapshot-v{version}"),
            tracking_uri=steps.registry.tracking_uri)
        return pd.read_parquet(path)
    except Exception:  # older runs have no snapshot; try the source next
        source = champion.card.provenance.data_source
        if source and Path(str(source)).exists():
            return read_source(str(source))
    return None


def _new_data(steps: Retraining, champion: Any, data: str | None,
              query: str | None) -> pd.DataFrame:
    target = champion.card.target
    if data is None:
        if not target:
            raise DataError(f"{champion.card.kind} models retrain on new rows: give them with "
                            "--input FILE")
        return labelled_from_log(steps.log_url, target,
                                 [c.name for c in champion.schema.features])

    frame = read_source(data, query=query) if query else read_source(data)
    if not target:
        return frame
    if target not in frame.columns:
        raise DataError(f"{data}: no {target!r} column; retraining needs the true labels")
    return frame[frame[target].notna()].reset_index(drop=True)


def retrain(steps: Retraining, data: str | None = None, *, query: str | None = None,
            with_snapshot: bool = False, trigger: str | None = None) -> dict[str, Any]:
    """Train, compare and maybe promote a challenger; returns the decision with its evidence.
    The champion's task kind splits the new rows (`split_recent`) and scores both models on
    the same recent part (`score`); the promotion rule is the same for every kind."""
    cfg, registry = steps.config, steps.registry
    champion_version = registry.resolve_version("champion")
    champion = registry.load(champion_version)
    kind, card = champion.kind, champion.card
    target, metric = card.target, card.metric
    new = _new_data(steps, champion, data, query)
    train_part, holdout = kind.split_recent(new, cfg)
    if with_snapshot:
        snapshot = training_snapshot(steps, champion_version, champion)
        if snapshot is None:
            raise DataError("--with-snapshot: the champion has no training snapshot in the "
                            "registry and its data source is gone; retrain without it")
        train_part = pd.concat([snapshot, train_part], ignore_index=True)
    cfg.data.target = target
    cfg.problem.metric = metric
    # The log holds model inputs only: roles naming other columns (an id) do not apply here.
    roles = {k: v for k, v in cfg.data.roles.items() if k in train_part.columns}
    dataset = Dataset.from_frame(train_part.reset_index(drop=True), target=target,
                                 roles=roles, source=data or "prediction log + feedback")
    version = steps.train(dataset, f"challenger from retrain ({trigger or 'manual'})")
    challenger = registry.load(version)
    champion_score = float(kind.score(champion, holdout, cfg)[metric])
    challenger_score = float(kind.score(challenger, holdout, cfg)[metric])
    sign = get_metric(metric).sign()
    gain = (challenger_score - champion_score) * sign
    promoted = bool(gain > cfg.monitor.promote_margin)
    evidence = {"metric": metric, "greater_is_better": sign > 0,
                "champion_version": champion_version, "champion_score": champion_score,
                "challenger_version": version, "challenger_score": challenger_score,
                "gain": gain, "margin": cfg.monitor.promote_margin,
                "holdout_rows": int(len(holdout)), "train_rows": int(len(train_part)),
                "with_snapshot": with_snapshot, "data": data or "prediction log + feedback",
                "trigger": trigger or "manual", "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    reason = (f"{metric} {challenger_score:.4f} vs champion v{champion_version} "
              f"{champion_score:.4f} on {len(holdout)} holdout rows: gain {gain:+.4f} "
              f"{'>' if promoted else '<='} margin {cfg.monitor.promote_margin}")
    _record(registry, version, promoted, evidence, reason)
    if promoted:
        _promote(registry, version, f"retrain: {reason}")
        _adopt_reports(steps.reports)
    outcome = {"promoted": promoted, "reason": reason, "evidence": evidence,
               "champion": version if promoted else champion_version}
    path = steps.reports / "retrain.json"
    path.write_text(json.dumps(outcome, indent=1, default=str))
    outcome["path"] = str(path)
    return outcome


def _adopt_reports(reports: Path) -> None:
    """The promoted challenger's training reports become the workspace's own."""
    for path in (reports / "challenger").glob("*"):
        if path.is_file():
            os.replace(path, reports / path.name)


def _record(registry: Any, version: str, promoted: bool, evidence: dict[str, Any],
            reason: str) -> None:
    tags = {"retrain.decision": "promoted" if promoted else "rejected",
            "retrain.reason": reason, "retrain.evidence": json.dumps(evidence, default=str)}
    for key, value in tags.items():
        registry.client.set_model_version_tag(registry.model_name, version, key, value[:4900])


def _promote(registry: Any, version: str, reason: str) -> None:
    promote(registry, version, alias="champion", reason=reason)
