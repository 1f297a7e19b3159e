"""The monitoring reference: what a model remembers of its training data, for drift tests.

A numeric column with at most `EXACT_LIMIT` distinct values keeps every distinct value with its
count, so KS, Wasserstein and PSI against it are exact (the same numbers scipy gives on the raw
training array). A column with more distinct values keeps `N_QUANTILES` quantiles; the reference
CDF between them is taken as linear (the quantiles are finer in the tails, where values are far
apart). Since the true CDF rises by at most 1/(N_QUANTILES-1) between consecutive stored
quantiles, the KS statistic is then within 0.001 of the exact one, and the Wasserstein distance
within `wasserstein_tolerance(sketch)` = sum of (gap in probability x gap in value) over the
stored quantiles (tests check both bounds). Categorical columns keep the count of each of
their `TOP_CATEGORIES` most frequent values and of the rest.

Stored in the model card's `reference` as `{"format", "rows", "features": {name: sketch},
"prediction": sketch}`: the one reference profile of a model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.schema import Schema
from fullcycle.monitor.columns import CategoricalColumn, NumericColumn, read_window

FORMAT = 1
EXACT_LIMIT = 1000
N_QUANTILES = 1001
# Linear interpolation is poorest in the tails, where quantiles are far apart: keep them finer.
TAIL_PROBS = np.r_[np.linspace(0, 0.01, 101), np.linspace(0, 0.001, 101)]
PROBS = np.unique(np.r_[np.linspace(0, 1, N_QUANTILES), TAIL_PROBS, 1 - TAIL_PROBS].round(12))
N_BINS = 10
TOP_CATEGORIES = 1000


def sorted_quantiles(values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """numpy's default (linear) quantiles of an already sorted array, without sorting again."""
    pos = probs * (len(values) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def run_ends(values: np.ndarray) -> np.ndarray:
    """Index of the last element of each run of equal values in a sorted array."""
    return np.flatnonzero(np.r_[values[1:] != values[:-1], True])


def numeric_sketch(values: np.ndarray, rows: int | None = None, missing: int | None = None,
                   invalid: int = 0) -> dict[str, Any]:
    """Sketch of sorted present values (sorts them first when `rows` is None)."""
    if rows is None:
        values = np.asarray(values, dtype="float64")
        rows = len(values)
        values = np.sort(values[~np.isnan(values)])
        missing = rows - len(values)
    out: dict[str, Any] = {"kind": "numeric", "rows": int(rows), "missing": int(missing or 0),
                           "invalid": int(invalid), "present": int(len(values))}
    if not len(values):
        return out
    ends = run_ends(values)
    inner = np.unique(sorted_quantiles(values, np.linspace(0, 1, N_BINS + 1)[1:-1]))
    cuts = np.searchsorted(values, inner, side="right")
    out.update({"mean": float(values.mean()), "std": float(values.std()),
                "min": float(values[0]), "max": float(values[-1]), "distinct": int(len(ends)),
                "bin_edges": inner.tolist(),
                "bin_counts": np.diff(np.r_[0, cuts, len(values)]).tolist()})
    if len(ends) <= EXACT_LIMIT:
        out["values"] = values[ends].tolist()
        out["counts"] = np.diff(np.r_[0, ends + 1]).tolist()
    else:
        out["quantiles"] = sorted_quantiles(values, PROBS).tolist()
        out["probs"] = PROBS.tolist()
    return out


def categorical_sketch(column: CategoricalColumn) -> dict[str, Any]:
    top = slice(0, TOP_CATEGORIES)
    return {"kind": "categorical", "rows": column.rows, "missing": column.missing,
            "invalid": 0, "present": int(column.counts.sum()),
            "categories": [str(v) for v in column.labels[top]],
            "counts": column.counts[top].tolist(),
            "other": int(column.counts[TOP_CATEGORIES:].sum())}


def build_reference(frame: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """Sketch of every feature column of a (training) frame."""
    window = read_window(frame, schema)
    features: dict[str, Any] = {}
    for name, col in window.columns.items():
        if isinstance(col, NumericColumn):
            features[name] = numeric_sketch(col.values, col.rows, col.missing, col.invalid)
        else:
            features[name] = categorical_sketch(col)
    return {"format": FORMAT, "rows": window.rows, "features": features}


def attach_reference(model: Any, train_frame: pd.DataFrame, test_frame: pd.DataFrame, *,
                     test_scores: np.ndarray | None = None) -> dict[str, Any]:
    """Store (and return) the reference profile in a freshly trained model's card: features
    from the training rows, predictions from the model's own scores on the test rows
    (`test_scores` when the trainer already has them)."""
    reference = build_reference(train_frame, model.schema)
    scores = model.predict_scores(test_frame) if test_scores is None else test_scores
    values = scores[:, -1] if scores.ndim == 2 else scores
    reference["prediction"] = numeric_sketch(values)
    model.card.reference = reference
    return reference


def wasserstein_tolerance(sketch: dict[str, Any]) -> float:
    """Largest possible error of the Wasserstein distance against a quantile sketch."""
    if "quantiles" not in sketch:
        return 0.0
    q = np.asarray(sketch["quantiles"])
    probs = np.asarray(sketch.get("probs") or np.linspace(0, 1, len(q)))
    return float(np.sum(np.diff(probs) * np.diff(q)))


def reference_of(model: Any) -> dict[str, Any]:
    """The model's reference profile (its card's `reference`)."""
    return model.card.reference
