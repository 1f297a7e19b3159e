"""Per-column statistics for the EDA report, on top of the shared profile.

Every statistic here is a vectorised pass over a typed column (`columns.TypedColumn`): one sort
per numeric column gives the profile's quantiles, the outlier fences and the histogram; one
`bincount` per categorical column gives counts, shares and top values. The profile dictionaries
(`numeric_profile_sorted`, categorical shares) are exactly the monitoring reference format."""

from __future__ import annotations

from typing import Any

import numpy as np

from fullcycle.explore.columns import TypedColumn
from fullcycle.explore.profile import OTHER, TOP_CATEGORIES, numeric_profile_sorted

HIST_BINS = 30
TOP_PLOT = 20


def column_stats(col: TypedColumn) -> dict[str, Any]:
    """Summary statistics and plot data of one column; `profile` holds the reference format."""
    if col.kind in ("numeric", "datetime"):
        return _numeric_stats(col)
    return _categorical_stats(col)


def _numeric_stats(col: TypedColumn) -> dict[str, Any]:
    assert col.values is not None
    n = len(col.values)
    present = col.values[~np.isnan(col.values)]  # a copy: sorting it in place is safe
    present.sort()
    profile = numeric_profile_sorted(n, present)
    out: dict[str, Any] = {"name": col.name, "role": col.role, "kind": col.kind, "rows": n,
                           "missing": n - len(present), "disguised": col.disguised,
                           "na_token": col.na_token, "profile": profile,
                           "distinct": profile.get("distinct", 0)}
    if not len(present):
        return out
    q1, median, q3 = (float(v) for v in np.asarray(profile["quantiles"])[[25, 50, 75]])
    iqr = q3 - q1
    mean, std = profile["mean"], profile["std"]
    centred = present - mean
    sq = centred * centred  # products, not **: numpy's power is several times slower
    m2 = float(sq.mean())
    skew = float(np.dot(sq, centred) / len(sq) / m2 ** 1.5) if m2 > 0 else 0.0
    kurt = float(np.dot(sq, sq) / len(sq) / m2 ** 2 - 3) if m2 > 0 else 0.0
    low = np.searchsorted(present, [q1 - 1.5 * iqr, q1 - 3 * iqr], side="left")
    high = len(present) - np.searchsorted(present, [q3 + 1.5 * iqr, q3 + 3 * iqr], side="right")
    top_value, top_count = _mode_sorted(present)
    out.update({
        "mean": mean, "std": std, "min": profile["min"], "q1": q1, "median": median, "q3": q3,
        "max": profile["max"], "skew": skew, "kurtosis": kurt,
        "zeros": int(np.searchsorted(present, 0, "right") - np.searchsorted(present, 0, "left")),
        "negatives": int(np.searchsorted(present, 0, "left")),
        "outliers": int(low[0] + high[0]), "far_outliers": int(low[1] + high[1]),
        "fences": [q1 - 1.5 * iqr, q3 + 1.5 * iqr], "mode": top_value, "mode_count": top_count,
        "hist": _histogram(present),
    })
    return out


def _mode_sorted(present: np.ndarray) -> tuple[float, int]:
    starts = np.flatnonzero(np.r_[True, present[1:] != present[:-1]])
    runs = np.diff(np.r_[starts, len(present)])
    best = int(np.argmax(runs))
    return float(present[starts[best]]), int(runs[best])


def _histogram(present: np.ndarray) -> dict[str, Any]:
    """Fixed-width bins for the plot (the profile's bins are quantile bins, for drift)."""
    lo, hi = float(present[0]), float(present[-1])
    distinct_small = np.unique(present[:: max(1, len(present) // 20_000)])
    if len(distinct_small) <= HIST_BINS and (distinct_small == np.round(distinct_small)).all():
        # few integer values: one bar per value reads better than bins
        starts = np.flatnonzero(np.r_[True, present[1:] != present[:-1]])  # sorted: runs
        values, counts = present[starts], np.diff(np.r_[starts, len(present)])
        if len(values) <= HIST_BINS:
            return {"values": values.tolist(), "counts": counts.tolist()}
    if hi == lo:
        return {"values": [lo], "counts": [len(present)]}
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    cuts = np.searchsorted(present, edges[1:-1], side="left")
    counts = np.diff(np.concatenate([[0], cuts, [len(present)]]))
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def _categorical_stats(col: TypedColumn) -> dict[str, Any]:
    assert col.codes is not None and col.labels is not None
    n = len(col.codes)
    counts = np.bincount(col.codes[col.codes >= 0], minlength=len(col.labels))
    order = np.argsort(-counts, kind="stable")
    present = int(counts.sum())
    top = order[:TOP_CATEGORIES]
    shares = {str(col.labels[i]): float(counts[i] / present) for i in top} if present else {}
    other = present - int(counts[top].sum())
    if other:
        shares[OTHER] = float(other / present)
    profile = {"kind": "categorical", "count": n,
               "missing_rate": float(1 - present / n) if n else 0.0,
               "distinct": int((counts > 0).sum()), "shares": shares}
    shown = order[:TOP_PLOT]
    lengths = np.array([len(str(v)) for v in col.labels[shown]]) if len(shown) else np.zeros(1)
    return {"name": col.name, "role": col.role, "kind": "categorical", "rows": n,
            "missing": n - present, "disguised": col.disguised, "na_token": col.na_token,
            "profile": profile, "distinct": profile["distinct"],
            "top": [[str(col.labels[i]), int(counts[i])] for i in shown],
            "rest": int(present - counts[shown].sum()),
            "top_share": float(counts[order[0]] / present) if present else 0.0,
            "singletons": int((counts == 1).sum()), "mean_length": float(lengths.mean())}
