"""Data drift: live data compared with a model's reference profile.

Numeric features: PSI on the reference's quantile bins and the Kolmogorov-Smirnov distance
against the reference quantile function. Categorical features: PSI and Jensen-Shannon distance on
category shares. PSI is the effect size that decides; p-values flag everything on large samples."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.schema import Schema, coerce_frame
from fullcycle.explore.profile import OTHER

EPS = 1e-4


@dataclass
class FeatureDrift:
    feature: str
    kind: str
    psi: float
    distance: float  # KS statistic (numeric) or Jensen-Shannon distance (categorical)
    reference_missing: float
    current_missing: float
    drifted: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index between two share vectors over the same bins."""
    e = np.clip(np.asarray(expected, dtype=float), EPS, None)
    a = np.clip(np.asarray(actual, dtype=float), EPS, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(p, q, base=2))


def numeric_drift(ref: dict[str, Any], values: np.ndarray) -> tuple[float, float]:
    present = values[~np.isnan(values)]
    if not len(present) or "bin_edges" not in ref:
        return 0.0, 0.0
    edges = np.asarray(ref["bin_edges"])
    inner = edges[1:-1]
    idx = np.searchsorted(inner, present, side="right")
    actual = np.bincount(idx, minlength=len(edges) - 1) / len(present)
    expected = np.asarray(ref["bin_share"])
    if len(expected) != len(actual):  # degenerate reference (one bin)
        return 0.0, 0.0
    # KS distance against the reference CDF, interpolated from its stored quantiles.
    qs = np.asarray(ref["quantiles"])
    probs = np.linspace(0, 1, len(qs))
    grid = np.sort(present)
    ecdf_live = np.arange(1, len(grid) + 1) / len(grid)
    ref_cdf = np.interp(grid, qs, probs, left=0.0, right=1.0)
    ks = float(np.max(np.abs(ecdf_live - ref_cdf)))
    return psi(expected, actual), ks


def categorical_drift(ref: dict[str, Any], values: pd.Series) -> tuple[float, float]:
    present = values.dropna().astype(str)
    if not len(present):
        return 0.0, 0.0
    shares: dict[str, float] = ref["shares"]
    known = [k for k in shares if k != OTHER]
    live = present.where(present.isin(known), OTHER).value_counts(normalize=True)
    cats = known + [OTHER]
    expected = np.array([shares.get(c, 0.0) for c in cats])
    actual = np.array([float(live.get(c, 0.0)) for c in cats])
    return psi(expected, actual), js_distance(expected + EPS, actual + EPS)


def detect_drift(frame: pd.DataFrame, schema: Schema, reference: dict[str, Any], *,
                 psi_threshold: float = 0.2, drift_share: float = 0.3) -> dict[str, Any]:
    """Per-feature drift and the dataset-level verdict."""
    typed = coerce_frame(frame, schema, require_all=False)
    results: list[FeatureDrift] = []
    for name, ref in reference["columns"].items():
        if name not in typed.columns:
            continue
        col = typed[name]
        if ref["kind"] == "numeric":
            values = col.to_numpy(dtype="float64") if col.dtype.kind != "M" else \
                (col.astype("int64").where(col.notna()) / 86_400e9).to_numpy(dtype="float64")
            p, dist = numeric_drift(ref, values)
        else:
            p, dist = categorical_drift(ref, col)
        cur_missing = float(col.isna().mean()) if len(col) else 0.0
        missing_jump = cur_missing - ref["missing_rate"] > 0.1
        results.append(FeatureDrift(name, ref["kind"], round(p, 6), round(dist, 6),
                                    ref["missing_rate"], cur_missing,
                                    bool(p >= psi_threshold or missing_jump)))
    drifted = [r.feature for r in results if r.drifted]
    share = len(drifted) / len(results) if results else 0.0
    return {"rows": int(len(frame)), "features": [r.to_dict() for r in results],
            "drifted_features": drifted, "drift_share": share,
            "dataset_drift": bool(share >= drift_share), "psi_threshold": psi_threshold}
