"""Forecast accuracy: MASE, sMAPE, RMSE, WAPE and interval coverage, per series and overall,
each next to seasonal naive's, and the error by horizon step.

MASE follows the M-competitions (and the acceptance scorer): each series' mean absolute error
over its forecast window divided by the mean absolute seasonal difference of its own history,
then averaged over series. sMAPE is M4's 200|y-f|/(|y|+|f|), averaged over points."""

from __future__ import annotations

from typing import Any

import numpy as np

from fullcycle.metrics import register_computed

METRIC_NAMES = ("mase", "smape", "rmse", "wape", "coverage_80", "coverage_95")


def register_metrics() -> None:
    """Forecast metrics in the metric registry: their direction is what success criteria and
    champion/challenger read; the values come from the kind (they need each series' scale)."""
    register_computed({"mase": False, "smape": False, "wape": False, "rmse_forecast": False,
                       "coverage_80": True, "coverage_95": True}, "value", ("forecast",),
                      "forecast metrics are computed by the forecast task kind "
                      "(fullcycle evaluate / monitor), not from a label column")


def point_metrics(truth: np.ndarray, pred: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    """truth, pred: (series, steps) with NaN where there is no actual; scale: (series,)."""
    ok = np.isfinite(truth) & np.isfinite(pred)
    err = np.where(ok, np.abs(truth - pred), np.nan)
    per_series = np.nanmean(err, axis=1) / scale
    den = np.abs(truth) + np.abs(pred)
    smape = np.where(ok & (den > 0), 200 * err / np.where(den > 0, den, 1), 0.0)
    total = np.nansum(np.where(ok, np.abs(truth), np.nan))
    return {"mase": float(np.nanmean(per_series)),
            "smape": float(smape[ok].mean()) if ok.any() else float("nan"),
            "rmse": float(np.sqrt(np.nanmean(err ** 2))),
            "wape": float(np.nansum(err) / total) if total > 0 else float("nan")}


def coverage(truth: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    ok = np.isfinite(truth)
    return float(np.mean((lo[ok] <= truth[ok]) & (truth[ok] <= hi[ok]))) if ok.any() else \
        float("nan")


def full_report(truth: np.ndarray, pred: np.ndarray, naive: np.ndarray, scale: np.ndarray,
                bands: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Overall metrics against seasonal naive, coverage, error by step, per-series MASE."""
    ours, base = point_metrics(truth, pred, scale), point_metrics(truth, naive, scale)
    out: dict[str, Any] = dict(ours)
    for name, value in base.items():
        out[f"seasonal_naive_{name}"] = value
    out["mase_vs_seasonal_naive"] = ours["mase"] / base["mase"] if base["mase"] else float("nan")
    for level, (lo, hi) in bands.items():
        out[f"coverage_{level}"] = coverage(truth, lo, hi)
    err = np.abs(truth - pred) / scale[:, None]
    out["mase_by_step"] = [float(v) for v in np.nanmean(err, axis=0)]
    out["mase_by_series"] = [float(v) for v in np.nanmean(err, axis=1)]
    return out
