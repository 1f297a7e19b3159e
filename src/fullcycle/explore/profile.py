"""Per-column statistics: the profile.

One profile serves both the EDA report and monitoring: the profile of the training data is saved
in every model as its reference, and live data is profiled the same way to be compared with it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.schema import Schema, coerce_frame

N_BINS = 10
N_QUANTILES = 101
TOP_CATEGORIES = 50
OTHER = "__other__"


def numeric_profile(values: pd.Series) -> dict[str, Any]:
    arr = values.to_numpy(dtype="float64")
    present = np.sort(arr[~np.isnan(arr)])
    return numeric_profile_sorted(len(arr), present)


def sorted_quantiles(present: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles of an already sorted array, numpy's default ('linear') definition, without
    sorting again: the EDA report and the reference profile share one sort per column."""
    pos = np.asarray(probs, dtype="float64") * (len(present) - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, len(present) - 1)
    return present[lo] + (present[hi] - present[lo]) * (pos - lo)


def numeric_profile_sorted(count: int, present: np.ndarray) -> dict[str, Any]:
    """The numeric profile from the row count and the sorted non-missing values."""
    out: dict[str, Any] = {"kind": "numeric", "count": int(count),
                           "missing_rate": float(1 - len(present) / count) if count else 0.0}
    if not len(present):
        return out
    qs = sorted_quantiles(present, np.linspace(0, 1, N_QUANTILES))
    edges = np.unique(sorted_quantiles(present, np.linspace(0, 1, N_BINS + 1)))
    if len(edges) > 1:
        # np.histogram's bins: right-open except the last, which includes the maximum.
        cuts = np.searchsorted(present, edges[1:-1], side="left")
        counts = np.diff(np.concatenate([[0], cuts, [len(present)]]))
    else:
        counts = np.array([len(present)])
    out.update({
        "mean": float(present.mean()), "std": float(present.std()), "min": float(present[0]),
        "max": float(present[-1]), "quantiles": qs.tolist(), "bin_edges": edges.tolist(),
        "bin_share": (counts / max(counts.sum(), 1)).tolist(),
        "distinct": int(np.count_nonzero(np.diff(present)) + 1),
    })
    return out


def categorical_profile(values: pd.Series) -> dict[str, Any]:
    n = len(values)
    counts = values.value_counts(dropna=True)
    top = counts.iloc[:TOP_CATEGORIES]
    present = int(counts.sum())
    shares = {str(k): float(v / present) for k, v in top.items()} if present else {}
    other = present - int(top.sum())
    if other:
        shares[OTHER] = float(other / present)
    return {"kind": "categorical", "count": n,
            "missing_rate": float(1 - present / n) if n else 0.0,
            "distinct": int(len(counts)), "shares": shares}


def profile_frame(frame: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """Profile of every feature column, computed on the coerced (typed) data."""
    typed = coerce_frame(frame, schema, require_all=False)
    columns: dict[str, Any] = {}
    for spec in schema.features:
        col = typed[spec.name]
        if spec.role in ("numeric", "boolean"):
            columns[spec.name] = numeric_profile(col)
        elif spec.role == "datetime":
            columns[spec.name] = numeric_profile(
                pd.Series(col.astype("int64", errors="ignore"), dtype="float64")
                .where(col.notna()) / 86_400e9)
        else:
            columns[spec.name] = categorical_profile(col)
    return {"rows": int(len(frame)), "columns": columns}
