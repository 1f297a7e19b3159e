"""Scaling and transforms for the models that need them, and the regression target transform.

`SkewLog` log1p-transforms skewed non-negative columns (decided at fit); `make_scaler` picks
standard/robust/quantile; `AutoTargetRegressor` fits a regressor on log1p(y) when the training
target is skewed and non-negative, and inverts at prediction."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, clone

from fullcycle.features.compiling import (
    Columns,
    Matrix,
    Scores,
    check_width,
    compile_estimator,
    compiles,
    identity,
)
from fullcycle.features.impute import as_frame

SCALERS = ("standard", "robust", "quantile")
CV_ROWS = 5000
FIT_ROWS = 2000  # rows for SkewLog's one-feature fits: a sample decides as well, much faster


def skewness(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    if len(values) < 3 or np.std(values) == 0:
        return 0.0
    from scipy.stats import skew

    return float(skew(values))


def linear_fit(x: np.ndarray, y: np.ndarray) -> float:
    """How well a linear model does with this column alone (higher is better): r² of a straight
    line for a continuous target; for class codes, r² of straight lines to the class indicators
    (the share of the indicators' variance the column explains linearly; closed form, as a
    one-feature logistic regression per column cost more than the model on wide tables).
    Rows with x missing are left out."""
    ok = ~np.isnan(x)
    xs, ys = x[ok], y[ok]
    if ok.sum() < 3 or np.std(xs) == 0 or len(np.unique(ys)) < 2:
        return 0.0
    z = (xs - xs.mean()) / xs.std()
    if ys.dtype.kind in "iub":
        onehot = (ys[:, None] == np.unique(ys)[None, :]).astype("float64")
        centred = onehot - onehot.mean(axis=0)
        explained = float(np.sum((z @ centred / len(z)) ** 2))
        return explained / float(np.sum(centred.var(axis=0)))
    return float(np.corrcoef(z, ys)[0, 1] ** 2)


class SkewLog(TransformerMixin, BaseEstimator):
    """log1p on columns that are non-negative with |skewness| above `threshold` at fit - and,
    when a target is given, only where log1p(x) fits the target better in a straight line than x
    (the reason linear models want the transform at all). Prediction-time negatives are clipped
    at 0 first so the transform stays defined."""

    def __init__(self, *, threshold: float = 1.0) -> None:
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> SkewLog:
        frame = as_frame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        matrix = frame.to_numpy(dtype="float64")
        target = None if y is None else np.asarray(y)
        self.skew_ = [skewness(matrix[:, j]) for j in range(matrix.shape[1])]
        self.logged_, self.reasons_ = [], []
        for j, skew in enumerate(self.skew_):
            col = matrix[:, j]
            values = col[~np.isnan(col)]
            if set(np.unique(values)) <= {0.0, 1.0} or abs(skew) <= self.threshold \
                    or values.min(initial=0.0) < 0:
                self.logged_.append(False)
                self.reasons_.append(f"skewness {skew:.2f}: kept")
                continue
            if target is None:
                self.logged_.append(True)
                self.reasons_.append(f"skewness {skew:.2f} > {self.threshold:g}: log1p")
                continue
            sample = slice(None) if len(col) <= FIT_ROWS else \
                np.random.default_rng(0).choice(len(col), FIT_ROWS, replace=False)
            raw = linear_fit(col[sample], target[sample])
            logged = linear_fit(np.log1p(col[sample]), target[sample])
            self.logged_.append(bool(logged > raw))
            self.reasons_.append(f"skewness {skew:.2f}; one-feature linear fit {raw:.4f} as is, "
                                 f"{logged:.4f} after log1p: "
                                 + ("log1p" if logged > raw else "kept"))
        return self

    def transform(self, X: Any) -> np.ndarray:
        matrix = as_frame(X, self.feature_names_in_).to_numpy(dtype="float64").copy()
        for j, logged in enumerate(self.logged_):
            if logged:
                matrix[:, j] = np.log1p(np.clip(matrix[:, j], 0, None))
        return matrix

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return self.feature_names_in_


def make_scaler(kind: str) -> Any:
    from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler

    if kind == "standard":
        return StandardScaler()
    if kind == "robust":
        return RobustScaler()
    if kind == "quantile":
        return QuantileTransformer(n_quantiles=200, output_distribution="normal",
                                   subsample=100_000, random_state=0)
    raise ValueError(f"scaler {kind!r}; valid: {SCALERS}")


class AutoTargetRegressor(RegressorMixin, BaseEstimator):
    """A regressor trained on a transformed target, predictions mapped back.

    `transform="auto"`: when the training target is non-negative and its skewness is above
    `threshold`, a 3-fold comparison on the training rows decides between log1p and the
    identity; otherwise identity. "log" and "none" force the choice."""

    def __init__(self, *, regressor: Any = None, transform: str = "auto",
                 threshold: float = 1.0) -> None:
        self.regressor = regressor
        self.transform = transform
        self.threshold = threshold

    def fit(self, X: Any, y: Any, **fit_params: Any) -> AutoTargetRegressor:
        if self.regressor is None:
            raise ValueError("AutoTargetRegressor needs a regressor")
        y = np.asarray(y, dtype="float64")
        skew = skewness(y)
        if self.transform == "auto":
            self.log_, self.reason_ = False, f"target skewness {skew:.2f}: kept as is"
            if y.min(initial=0.0) >= 0 and skew > self.threshold:
                plain, logged = self._cv_rmse(X, y)
                self.log_ = bool(logged < plain)
                self.reason_ = (f"target skewness {skew:.2f} > {self.threshold:g}; out-of-fold "
                                f"RMSE {plain:.4g} as is vs {logged:.4g} with log1p: "
                                + ("log1p" if self.log_ else "kept as is"))
        elif self.transform in ("log", "none"):
            if self.transform == "log" and y.min(initial=0.0) < 0:
                raise ValueError("target_transform log needs a non-negative target")
            self.log_ = self.transform == "log"
            self.reason_ = f"configured: {self.transform}"
        else:
            raise ValueError(f"transform {self.transform!r}; valid: auto, log, none")
        self.log_cap_ = float(np.log1p(2 * y.max(initial=0.0)))
        self.regressor_ = clone(self.regressor).fit(X, np.log1p(y) if self.log_ else y,
                                                    **fit_params)
        if hasattr(self.regressor_, "n_features_in_"):
            self.n_features_in_ = self.regressor_.n_features_in_
        return self

    def _cv_rmse(self, X: Any, y: np.ndarray) -> tuple[float, float]:
        """3-fold RMSE (original scale) of the regressor on y and on log1p(y), on at most
        `CV_ROWS` rows: log helps boosted trees on skewed prices and hurts linear models whose
        extrapolations explode through expm1, so the data decides."""
        from sklearn.model_selection import KFold

        rows = np.arange(len(y))
        if len(y) > CV_ROWS:
            rows = np.sort(np.random.default_rng(0).choice(len(y), CV_ROWS, replace=False))
        if len(rows) < 30:
            return 0.0, 1.0  # too few rows to tell: keep the target as is
        Xs = X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]
        ys = y[rows]
        errors = {False: 0.0, True: 0.0}
        for fit_idx, val_idx in KFold(3, shuffle=True, random_state=0).split(rows):
            Xf = Xs.iloc[fit_idx] if hasattr(Xs, "iloc") else Xs[fit_idx]
            Xv = Xs.iloc[val_idx] if hasattr(Xs, "iloc") else Xs[val_idx]
            for log in (False, True):
                model = clone(self.regressor).fit(Xf, np.log1p(ys[fit_idx]) if log
                                                  else ys[fit_idx])
                pred = np.asarray(model.predict(Xv), dtype="float64")
                cap = np.log1p(2 * ys[fit_idx].max(initial=0.0))
                pred = np.expm1(np.clip(pred, None, cap)) if log else pred
                errors[log] += float(np.sum((pred - ys[val_idx]) ** 2))
        return float(np.sqrt(errors[False] / len(rows))), float(np.sqrt(errors[True] / len(rows)))

    def predict(self, X: Any) -> np.ndarray:
        pred = np.asarray(self.regressor_.predict(X), dtype="float64")
        if not self.log_:
            return pred
        # expm1 turns a linear model's extrapolation into an explosion: cap at twice the
        # largest training target.
        return np.expm1(np.clip(pred, None, self.log_cap_))

    @property
    def feature_importances_(self) -> np.ndarray:
        return self.regressor_.feature_importances_


# --- compiled serving (fullcycle.features.compiling): this step as numpy -------------------------
@compiles("matrix", SkewLog)
def _compile_skew_log(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    check_width(step, cols)
    cols.require_numeric("SkewLog")
    logged = [j for j, on in enumerate(step.logged_) if on]
    if not logged:
        return identity, cols

    def run(x: np.ndarray) -> np.ndarray:
        out = x.copy()
        out[:, logged] = np.log1p(np.clip(x[:, logged], 0, None))
        return out

    return run, cols


@compiles("estimator", AutoTargetRegressor)
def _compile_auto_target(est: Any, cols: Columns, classify: bool) -> tuple[Scores, str]:
    inner, name = compile_estimator(est.regressor_, cols, classify)
    if not est.log_:
        return inner, name
    cap = est.log_cap_
    return (lambda x: np.expm1(np.clip(np.asarray(inner(x), dtype="float64"), None, cap))), \
        f"{name} on log1p(target)"


# scikit-learn's scalers and PCA (chosen in `scaler()` and `build_preprocessor`), by import path.
@compiles("matrix", "sklearn.preprocessing._data.StandardScaler")
def _standard_scaler(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    check_width(step, cols)
    cols.require_numeric("StandardScaler")
    mean = step.mean_ if step.with_mean else None
    scale = step.scale_ if step.with_std else None
    return _affine(mean, scale), cols


@compiles("matrix", "sklearn.preprocessing._data.RobustScaler")
def _robust_scaler(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    check_width(step, cols)
    cols.require_numeric("RobustScaler")
    center = step.center_ if step.with_centering else None
    scale = step.scale_ if step.with_scaling else None
    return _affine(center, scale), cols


def _affine(center: np.ndarray | None, scale: np.ndarray | None) -> Matrix:
    def run(x: np.ndarray) -> np.ndarray:  # same operations, same order as sklearn's transform
        x = x.copy()
        if center is not None:
            x -= center
        if scale is not None:
            x /= scale
        return x

    return run


@compiles("matrix", "sklearn.preprocessing._data.QuantileTransformer",
          "sklearn.decomposition._pca.PCA")
def _sklearn_numpy(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    """Transformers whose own `transform` is numpy arithmetic (QuantileTransformer: per-column
    interpolation; PCA: a projection) are called directly on the matrix, through a copy that
    neither checks feature names (it was fitted on a frame) nor wraps its output in one."""
    check_width(step, cols)
    cols.require_numeric(type(step).__name__)
    names = [str(n) for n in step.get_feature_names_out()]
    bare = _unwrapped(step)
    if hasattr(bare, "feature_names_in_"):
        del bare.feature_names_in_
    return bare.transform, Columns.numeric(names)


def _unwrapped(step: Any) -> Any:
    """A copy of a fitted transformer whose `transform` returns what it computes (numpy), not
    a frame (the pipeline's set_output). Deep: set_output edits a dict a shallow copy shares."""
    import copy

    bare = copy.deepcopy(step)
    bare.set_output(transform="default")
    return bare
