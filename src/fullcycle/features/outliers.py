"""Outliers: detected by IQR fences, z-score or Isolation Forest; clipped, flagged, or dropped
from training. Prediction never drops a row: `OutlierHandler` (clip/flag) transforms every row,
and `OutlierDropper` removes rows only inside `fit`, predicting on all rows it is given."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone

from fullcycle.features.compiling import (
    Columns,
    Matrix,
    Scores,
    Unsupported,
    check_width,
    compile_estimator,
    compiles,
)
from fullcycle.features.impute import as_frame

METHODS = ("iqr", "zscore", "isolation_forest")
ACTIONS = ("clip", "flag")


def column_bounds(values: np.ndarray, method: str, k: float | None) -> tuple[float, float]:
    """(low, high) fences of one column; infinite when the column has too few values."""
    values = values[~np.isnan(values)]
    if len(values) < 4:
        return -np.inf, np.inf
    if method == "zscore":
        mu, sd = float(values.mean()), float(values.std())
        k = 3.0 if k is None else k
        return (mu - k * sd, mu + k * sd) if sd > 0 else (-np.inf, np.inf)
    q1, q3 = np.percentile(values, [25, 75])
    k = 1.5 if k is None else k
    iqr = q3 - q1
    return (float(q1 - k * iqr), float(q3 + k * iqr)) if iqr > 0 else (-np.inf, np.inf)


def isolation_mask(matrix: np.ndarray, contamination: float, seed: int) -> tuple[Any, np.ndarray]:
    """Fit an Isolation Forest on NaN-filled rows; True where a row is an outlier."""
    import warnings

    from sklearn.ensemble import IsolationForest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column: median is NaN -> 0
        median = np.nan_to_num(np.nanmedian(matrix, axis=0, keepdims=True))
    filled = np.nan_to_num(np.where(np.isnan(matrix), median, matrix))
    forest = IsolationForest(n_estimators=100, contamination=contamination, random_state=seed)
    forest.fit(filled)
    return forest, forest.predict(filled) == -1


class OutlierHandler(TransformerMixin, BaseEstimator):
    """Numeric frame -> same columns with outliers clipped to the training fences
    (`action="clip"`), or unchanged plus one `outlier_flag` column (`action="flag"`)."""

    def __init__(self, *, method: str = "iqr", action: str = "clip", k: float | None = None,
                 contamination: float = 0.01, seed: int = 0) -> None:
        self.method = method
        self.action = action
        self.k = k
        self.contamination = contamination
        self.seed = seed

    def fit(self, X: Any, y: Any = None) -> OutlierHandler:
        if self.method not in METHODS or self.action not in ACTIONS:
            raise ValueError(f"method {self.method!r} / action {self.action!r}; valid methods "
                             f"{METHODS}, actions {ACTIONS}")
        if self.method == "isolation_forest" and self.action == "clip":
            raise ValueError("isolation_forest flags whole rows; use action flag or drop")
        frame = as_frame(X).apply(pd.to_numeric, errors="coerce").astype("float64")
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        matrix = frame.to_numpy()
        self.forest_ = None
        self.bounds_: dict[str, tuple[float, float]] = {}
        self.report_: list[dict[str, Any]] = []
        if self.method == "isolation_forest":
            if len(matrix) >= 10 and matrix.shape[1]:
                self.forest_, mask = isolation_mask(matrix, self.contamination, self.seed)
                self.report_.append({"column": "*", "method": self.method,
                                     "outside": int(mask.sum()), "share": float(mask.mean())})
            return self
        for j, name in enumerate(self.feature_names_in_):
            low, high = column_bounds(matrix[:, j], self.method, self.k)
            self.bounds_[name] = (low, high)
            col = matrix[:, j]
            outside = int(np.sum((col < low) | (col > high)))
            self.report_.append({"column": name, "method": self.method, "low": low,
                                 "high": high, "outside": outside,
                                 "share": outside / max(len(col), 1), "action": self.action})
        return self

    def _flags(self, matrix: np.ndarray) -> np.ndarray:
        if self.method == "isolation_forest":
            if self.forest_ is None:
                return np.zeros(len(matrix))
            filled = np.nan_to_num(matrix)
            return (self.forest_.predict(filled) == -1).astype("float64")
        flag = np.zeros(len(matrix), dtype=bool)
        for j, name in enumerate(self.feature_names_in_):
            low, high = self.bounds_[name]
            flag |= (matrix[:, j] < low) | (matrix[:, j] > high)
        return flag.astype("float64")

    def transform(self, X: Any) -> np.ndarray:
        frame = as_frame(X, self.feature_names_in_)
        matrix = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float64").copy()
        if self.action == "flag":
            return np.column_stack([matrix, self._flags(matrix)])
        for j, name in enumerate(self.feature_names_in_):
            low, high = self.bounds_[name]
            matrix[:, j] = np.where(np.isnan(matrix[:, j]), np.nan,
                                    np.clip(matrix[:, j], low, high))
        return matrix

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = [str(c) for c in self.feature_names_in_]
        return np.asarray(names + (["outlier_flag"] if self.action == "flag" else []),
                          dtype=object)


class OutlierDropper(BaseEstimator):
    """Wraps the model step: `fit` drops training rows whose continuous features look like
    outliers (at most `max_share` of rows, the most extreme first) and fits the estimator on the
    rest; `predict`/`predict_proba` score every row given."""

    def __init__(self, *, estimator: Any = None, method: str = "zscore", k: float | None = None,
                 max_share: float = 0.05, seed: int = 0) -> None:
        self.estimator = estimator
        self.method = method
        self.k = k
        self.max_share = max_share
        self.seed = seed

    def _continuous(self, X: Any) -> np.ndarray:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
        cols = [c for c in frame.columns if frame[c].dtype.kind in "biuf"
                and frame[c].nunique(dropna=True) > 2]
        return frame[cols].to_numpy(dtype="float64") if cols else np.empty((len(frame), 0))

    def _scores(self, matrix: np.ndarray) -> np.ndarray:
        """Per-row outlyingness: how far past its fences a row's worst column lies."""
        if self.method == "isolation_forest":
            if len(matrix) < 10 or not matrix.shape[1]:
                return np.zeros(len(matrix))
            forest, mask = isolation_mask(matrix, min(self.max_share, 0.5) or 0.01, self.seed)
            return np.where(mask, -forest.score_samples(np.nan_to_num(matrix)), 0.0)
        worst = np.zeros(len(matrix))
        # Dropping a row needs stronger evidence than clipping a value: wider default fences.
        k = self.k if self.k is not None else {"iqr": 3.0, "zscore": 4.0}[self.method]
        for j in range(matrix.shape[1]):
            low, high = column_bounds(matrix[:, j], self.method, k)
            width = (high - low) if np.isfinite(high - low) and high > low else 1.0
            col = np.nan_to_num(matrix[:, j], nan=(low + high) / 2 if np.isfinite(low) else 0)
            excess = np.maximum(low - col, col - high) / width
            worst = np.maximum(worst, np.where(np.isfinite(excess), excess, 0.0))
        return worst

    def fit(self, X: Any, y: Any, **fit_params: Any) -> OutlierDropper:
        if self.estimator is None:
            raise ValueError("OutlierDropper needs an estimator")
        if self.method not in METHODS:
            raise ValueError(f"method {self.method!r}; valid: {METHODS}")
        scores = self._scores(self._continuous(X))
        budget = int(self.max_share * len(scores))
        order = np.argsort(-scores, kind="stable")[:budget]
        drop = order[scores[order] > 0]
        keep = np.setdiff1d(np.arange(len(scores)), drop)
        y = np.asarray(y)
        if len(np.unique(y[keep])) < len(np.unique(y)):
            keep = np.arange(len(scores))  # never lose a whole class to outlier removal
        self.dropped_ = int(len(scores) - len(keep))
        self.dropped_share_ = self.dropped_ / max(len(scores), 1)
        rows = X.iloc[keep] if isinstance(X, pd.DataFrame) else np.asarray(X)[keep]
        self.estimator_ = clone(self.estimator).fit(rows, y[keep], **fit_params)
        for attr in ("classes_", "n_features_in_", "feature_names_in_"):
            if hasattr(self.estimator_, attr):
                setattr(self, attr, getattr(self.estimator_, attr))
        return self

    def predict(self, X: Any) -> np.ndarray:
        return self.estimator_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.estimator_.predict_proba(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        if self.estimator is not None:
            inner = self.estimator.__sklearn_tags__()
            tags.estimator_type = inner.estimator_type
            tags.classifier_tags = inner.classifier_tags
            tags.regressor_tags = inner.regressor_tags
        return tags


# --- compiled serving (fullcycle.features.compiling): this step as numpy -------------------------
@compiles("matrix", OutlierHandler)
def _compile_outlier_handler(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    check_width(step, cols)
    cols.require_numeric("OutlierHandler")
    if step.method == "isolation_forest":
        forest = step.forest_

        def flag(x: np.ndarray) -> np.ndarray:
            if forest is None:
                return np.zeros(len(x))
            return (forest.predict(np.nan_to_num(x)) == -1).astype("float64")
    else:
        bounds = [step.bounds_[n] for n in step.feature_names_in_]
        low = np.asarray([b[0] for b in bounds], dtype="float64")
        high = np.asarray([b[1] for b in bounds], dtype="float64")

        def flag(x: np.ndarray) -> np.ndarray:
            return ((x < low) | (x > high)).any(axis=1).astype("float64")
    if step.action == "flag":
        return (lambda x: np.column_stack([x, flag(x)])), Columns.numeric(
            step.get_feature_names_out())
    if step.method == "isolation_forest":
        raise Unsupported("isolation forest clipping")
    return (lambda x: np.where(np.isnan(x), np.nan, np.clip(x, low, high))), cols


@compiles("estimator", OutlierDropper)
def _compile_outlier_dropper(est: Any, cols: Columns, classify: bool) -> tuple[Scores, str]:
    """Dropping outliers happens at fit only: predictions are the inner estimator's."""
    return compile_estimator(est.estimator_, cols, classify)
