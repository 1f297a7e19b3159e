"""Live performance: once true labels arrive (`POST /feedback`, or a labelled file), the task's
metrics per time window, compared with the test metrics recorded at training. An alert fires
when the model's own metric in the latest window with enough labels is worse than at training
by more than `monitor.performance_drop` (relative)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fullcycle.errors import ProblemError
from fullcycle.metrics import get_metric, score_all
from fullcycle.model import Model
from fullcycle.monitor.live import LiveData


def _labelled(live: LiveData, model: Model) -> tuple[np.ndarray, np.ndarray, pd.Series | None,
                                                     list[str]]:
    """Encoded labels, scores and times of the rows that have a known label and a score."""
    notes: list[str] = []
    if live.labels is None or live.scores is None:
        return np.array([]), np.array([]), None, notes
    known = live.labels.notna().to_numpy() & ~np.isnan(
        live.scores if live.scores.ndim == 1 else live.scores[:, 0])
    labels = live.labels[known]
    keep = np.ones(len(labels), dtype=bool)
    if model.card.classes:  # a target of classes: labels that are not one are ignored
        classes = set(model.card.classes)
        text = labels.map(_label_text)
        keep = text.isin(classes).to_numpy()
        if (~keep).any():
            notes.append(f"{int((~keep).sum())} labels are not classes of the model "
                         f"({sorted(set(text[~keep]))[:5]}); ignored")
        labels = text
    try:
        y = model.problem.encode_target(labels[keep])
    except ProblemError as exc:
        notes.append(str(exc))
        return np.array([]), np.array([]), None, notes
    scores = live.scores[known][keep]
    times = live.time[known][keep] if live.time is not None else None
    return y, scores, times, notes


def _label_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _metrics(model: Model, y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    problem = model.problem
    if problem.labels:  # classes: scores are probabilities, labels come from the threshold
        pred = model.labels_from_scores(scores)
        index = {c: i for i, c in enumerate(problem.labels)}
        codes = np.array([index[str(p)] for p in pred])
        return score_all(problem.task, y, codes, scores, np.arange(len(problem.labels)))
    return score_all(problem.task, y, scores, None, None)


def relative_drop(metric: str, reference: float | None, live: float) -> float:
    """How much worse `live` is than `reference`, as a share of the reference (0 if better)."""
    if reference is None or np.isnan(reference) or np.isnan(live):
        return 0.0
    better = get_metric(metric).greater_is_better
    worse = (reference - live) if better else (live - reference)
    return float(max(worse, 0.0) / max(abs(reference), 1e-12))


def check_performance(live: LiveData, model: Model, cfg: Any) -> dict[str, Any] | None:
    """Metrics overall and per window; None when no labels are known."""
    y, scores, times, notes = _labelled(live, model)
    if not len(y):
        return None if not notes else {"labelled": 0, "notes": notes, "windows": [],
                                       "alerts": []}
    metric = model.problem.metric
    test = model.card.training.test_metrics
    reference = test.get(metric)
    windows = []
    if times is not None:
        groups = pd.Series(np.arange(len(y))).groupby(
            pd.Series(times.to_numpy()).dt.floor(cfg.performance_window))
        parts = [(pd.Timestamp(k).isoformat(), v.to_numpy()) for k, v in groups]
    else:
        parts = [("all", np.arange(len(y)))]
    for start, idx in parts:
        values = _metrics(model, y[idx], scores[idx])
        judged = len(idx) >= cfg.min_labels
        drop = relative_drop(metric, reference, values.get(metric, np.nan)) if judged else 0.0
        windows.append({"start": start, "labelled": int(len(idx)), "metrics": values,
                        "drop": drop, "judged": judged,
                        "degraded": bool(judged and drop > cfg.performance_drop)})
    overall = _metrics(model, y, scores)
    judged = [w for w in windows if w["judged"]]
    alerts = []
    if judged and judged[-1]["degraded"]:
        w = judged[-1]
        alerts.append({"kind": "performance", "metric": metric, "message":
                       f"{metric} {w['metrics'][metric]:.4f} on {w['labelled']} labelled rows "
                       f"(window {w['start']}) is {w['drop']:.1%} worse than at training "
                       f"({reference:.4f}); threshold {cfg.performance_drop:.1%}"})
    return {"metric": metric, "labelled": int(len(y)), "test_metrics": test,
            "reference": reference, "overall": overall,
            "overall_drop": relative_drop(metric, reference, overall.get(metric, np.nan)),
            "windows": windows, "alerts": alerts, "notes": notes}
