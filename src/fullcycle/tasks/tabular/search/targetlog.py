"""Regression on log1p(target) for skewed non-negative targets (prices, counts, durations).

`features.target_transform` decides: "auto" (the default) lets the cross-validation decide: the
default gradient-boosted model is tried on the target as it is and on log1p of it, and the
boosting candidates after that take the form that scored better (a blend of both can still
win the ensemble); "log" fits every candidate on log1p; "none" never. Boosting on log1p of a
right-skewed target splits on relative differences, which a raw-target model spends most of
its leaves on the few large values to get; linear models are not tried on log1p in "auto",
as expm1 turns their extrapolations into explosions.

A model fitted on log1p predicts expm1 of its output, capped at twice the largest training
target (as `features.scale.AutoTargetRegressor` does)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from fullcycle.errors import ConfigError
from fullcycle.features.scale import skewness

TARGET_LOG = "target_log"  # a family's params key: fit on log1p(y), predict expm1
Mode = Literal["never", "try", "all"]


def log_target_mode(task: str, y: np.ndarray, features: Any = None) -> Mode:
    """How the search uses log1p of the target: never, try it against the target as it is
    (a non-negative target skewed beyond `features.skew_threshold`), or on every candidate."""
    if task != "regression":
        return "never"
    transform = getattr(features, "target_transform", "auto")
    threshold = float(getattr(features, "skew_threshold", 1.0))
    values = np.asarray(y, dtype="float64")
    if transform == "log":
        if values.min(initial=0.0) < 0:
            raise ConfigError("features.target_transform is log but the target has negative "
                              f"values (minimum {values.min():g}); set it to auto or none")
        return "all"
    if transform != "auto" or values.min(initial=0.0) < 0:
        return "never"
    return "try" if skewness(values) > threshold else "never"


def log_cap(y: np.ndarray) -> float:
    """The largest log1p output mapped back: twice the largest training target."""
    return float(np.log1p(2 * np.asarray(y, dtype="float64").max(initial=0.0)))


def from_log(pred: Any, cap: float) -> np.ndarray:
    return np.expm1(np.clip(np.asarray(pred, dtype="float64"), None, cap))
