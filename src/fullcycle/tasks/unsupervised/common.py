"""Training skeleton pieces both unsupervised kinds use: labels kept for evaluation only, the
holdout, the card, the verdict and the reference profile."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fullcycle.errors import ConfigError, DataError
from fullcycle.monitor.columns import read_window
from fullcycle.monitor.drift import detect_drift
from fullcycle.monitor.logged import count_warnings, logged_warnings
from fullcycle.monitor.quality import check_quality
from fullcycle.monitor.reference import build_reference, numeric_sketch
from fullcycle.problem import Problem
from fullcycle.tasks.unsupervised.prep import feature_columns, feature_schema

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    from fullcycle.data.schema import Schema

ANOMALY_WORDS = {"1", "1.0", "true", "yes", "y", "t", "outlier", "anomaly", "anomalous",
                 "fraud", "abnormal", "bad", "positive", "o"}
MAX_FIT_ROWS = 20_000  # distance-based methods fit on a sample of this many rows at most


def check_label(config: Config, columns: list[str]) -> None:
    label = config.problem.label_column
    if label and label not in columns:
        raise ConfigError(f"problem.label_column {label!r} (--label-column) is not a column of "
                          f"the data (columns: {', '.join(map(str, columns[:20]))})")
    if config.data.target:
        raise ConfigError(f"data.target {config.data.target!r} is set, but {config.problem.task} "
                          "learns without a target; to evaluate against known labels use "
                          "--label-column instead (labels are never used to train)")


def features_and_label(dataset: Dataset, config: Config
                       ) -> tuple[pd.DataFrame, Schema, pd.Series | None]:
    """(feature rows, their schema, the label column or None). The label never reaches the
    preprocessing or the model."""
    label = config.problem.label_column
    drop = [label] if label else []
    for extra in (config.data.target,):
        if extra:
            drop.append(extra)
    schema = feature_schema(dataset.schema, drop)
    frame = dataset.frame
    if len(frame) < 3:
        raise DataError(f"{len(frame)} row(s): unsupervised learning needs at least 3 rows")
    y = frame[label] if label else None
    return frame.drop(columns=[c for c in drop if c in frame.columns]), schema, y


def binary_labels(y: pd.Series) -> np.ndarray:
    """Label column -> 1 for anomalies: non-zero numbers, words like yes/outlier/fraud, or
    else the rarer value."""
    num = pd.to_numeric(y, errors="coerce")
    if num.notna().all():
        return (num != 0).to_numpy(dtype=int)
    text = y.astype("string").str.strip().str.lower().fillna("")
    hit = text.isin(ANOMALY_WORDS)
    if hit.any() and not hit.all():
        return hit.to_numpy(dtype=int)
    rare = text.value_counts().index[-1]
    return (text == rare).to_numpy(dtype=int)


def holdout_index(n: int, seed: int, stratify: np.ndarray | None = None,
                  share: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    strat = stratify if stratify is not None and len(np.unique(stratify)) > 1 and \
        np.bincount(np.unique(stratify, return_inverse=True)[1]).min() >= 2 else None
    train, test = train_test_split(idx, test_size=share, random_state=seed, stratify=strat)
    return np.sort(train), np.sort(test)


def sample_rows(n: int, seed: int, limit: int = MAX_FIT_ROWS) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def report_candidate(progress: Callable[..., Any] | None, name: str, family: str,
                     metric: str, score: float, i: int) -> None:
    """One candidate ranked on the labels, told to `train`'s progress callback in the shape of
    an AutoML candidate (one fold, greater is better)."""
    if progress is None:
        return
    progress(SimpleNamespace(name=name, family=family, params={}, fold_scores=[score],
                             score=score, std=0.0, metric=metric, greater_is_better=True), i, 0.0)


def verdict(config: Config, metrics: dict[str, float], metric: str) -> dict[str, Any]:
    problem = Problem(task=config.problem.task, target="", metric=metric, labels=[],
                      success=dict(config.problem.success))
    return problem.check_success(metrics)


def cli_fields(model: Any, metrics: dict[str, float]) -> dict[str, Any]:
    """What `fullcycle evaluate` prints: each metric as {"value": v} and the verdict of the
    card's success criteria."""
    card = model.card
    problem = Problem(task=card.task, target="", metric=card.metric, labels=[],
                      success=dict(card.success))
    return {"test": {k: {"value": v} for k, v in metrics.items()},
            "verdict": problem.check_success(metrics)}


def reference(frame: pd.DataFrame, schema: Schema, outputs: np.ndarray) -> dict[str, Any]:
    ref = build_reference(frame, schema)
    ref["prediction"] = numeric_sketch(np.asarray(outputs, dtype="float64"))
    return ref


def input_example(frame: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """A typical synthetic row: medians of numbers, the most frequent category."""
    out: dict[str, Any] = {}
    for spec, col in feature_columns(frame, schema):
        num = pd.to_numeric(col, errors="coerce")
        if spec.role == "numeric" and num.notna().any():
            out[spec.name] = float(num.median())
        else:
            mode = col.dropna().astype(str).mode()
            out[spec.name] = str(mode.iloc[0]) if len(mode) else None
    return out


def feature_monitoring(model: Any, recent: pd.DataFrame, config: Config
                       ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Feature drift and data quality of `recent` against the card's reference (the same
    statistics the tabular kind uses)."""
    reference = model.card.reference
    window = read_window(recent, model.schema)
    drift = detect_drift(window, reference, config.monitor)
    quality = check_quality(window, model.schema, reference, config.monitor)
    alerts: list[dict[str, Any]] = []
    if drift["dataset_drift"]:
        alerts.append({"kind": "drift", "message":
                       f"{len(drift['drifted_features'])} of {len(drift['features'])} features "
                       f"drifted: {', '.join(drift['drifted_features'][:10])}"})
    alerts += quality["alerts"]
    logged = count_warnings(logged_warnings(recent), len(recent), config.monitor)
    alerts += logged["alerts"] if logged else []
    return {**drift, "quality": quality, "warnings": logged, "rows": int(len(recent))}, alerts


def recent_rows(recent: pd.DataFrame, model: Any) -> pd.DataFrame:
    """Rows to monitor: a file's rows or the prediction log's inputs, with every feature."""
    if not len(recent):
        raise DataError("no rows to monitor")
    features = [c.name for c in model.schema.features]
    present = [c for c in features if c in recent.columns]
    if not present:
        raise DataError(f"the recent data has none of the model's input columns (e.g. "
                        f"{', '.join(features[:5])}); is it the right file?")
    absent = {c: np.nan for c in features if c not in recent.columns}
    return recent.assign(**absent) if absent else recent
