"""Bootstrap confidence intervals: one metric on resampled test rows, and the paired difference
of two models' metric on the same resampled rows (the paired test behind `fullcycle compare`)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Score = Callable[[np.ndarray], float]  # rows (indices) -> metric value on those rows


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float
    resamples: int

    def to_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def _indices(n: int, resamples: int, seed: int, strata: np.ndarray | None) -> list[np.ndarray]:
    """Resampled row indices; stratified by class so a rare class is never absent."""
    rng = np.random.default_rng(seed)
    if strata is None:
        return [rng.integers(0, n, n) for _ in range(resamples)]
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    return [np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])
            for _ in range(resamples)]


def _percentiles(values: list[float]) -> tuple[float, float]:
    arr = np.asarray([v for v in values if v == v], dtype="float64")
    if not len(arr):
        return float("nan"), float("nan")
    low, high = np.percentile(arr, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_ci(score: Score, n: int, *, resamples: int = 200, seed: int = 0,
                 strata: np.ndarray | None = None) -> Interval:
    """Point value on all rows and the 95% percentile interval over `resamples` resamples."""
    value = score(np.arange(n))
    if resamples <= 0:
        return Interval(value, float("nan"), float("nan"), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a resample with one predicted class
        values = [_safe(score, idx) for idx in _indices(n, resamples, seed, strata)]
    low, high = _percentiles(values)
    return Interval(value, low, high, resamples)


def paired_difference(score_a: Score, score_b: Score, n: int, *, resamples: int = 1000,
                      seed: int = 0, strata: np.ndarray | None = None) -> dict[str, float]:
    """Metric(A) - metric(B) on the same rows, with its 95% interval and the share of resamples
    where the sign flips (a one-sided bootstrap p-value)."""
    diff = score_a(np.arange(n)) - score_b(np.arange(n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diffs = [_safe(score_a, idx) - _safe(score_b, idx)
                 for idx in _indices(n, resamples, seed, strata)]
    low, high = _percentiles(diffs)
    arr = np.asarray([d for d in diffs if d == d])
    flips = float(np.mean(arr <= 0) if diff > 0 else np.mean(arr >= 0)) if len(arr) else 1.0
    return {"difference": float(diff), "low": low, "high": high, "p_value": flips,
            "resamples": resamples}


def _safe(score: Score, idx: np.ndarray) -> float:
    try:
        return float(score(idx))
    except ValueError:
        return float("nan")
