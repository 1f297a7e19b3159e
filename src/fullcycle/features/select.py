"""Feature selection on the encoded matrix, each choice recorded with its reason.

`FeatureSelector` drops constant and duplicate columns (and, when asked, one of two highly
correlated ones: off by default, see `FeaturesConfig.drop_correlated`), then optionally keeps
the top features by mutual information or by a quick LightGBM's importance. `SafeNames` makes
column names acceptable to LightGBM (which refuses JSON punctuation in feature names)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from fullcycle.features.compiling import (
    Columns,
    Matrix,
    Unsupported,
    check_width,
    compiles,
    identity,
)

SELECTIONS = ("none", "mutual_info", "importance")
MAX_ROWS = 20_000  # statistics on a sample: selection must stay cheap inside every CV fold


def to_frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    X = np.asarray(X)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


def numeric_view(frame: pd.DataFrame) -> np.ndarray:
    """Categories as their codes, so every column has numbers to compare."""
    cols = [frame[c].cat.codes.astype("float64") if isinstance(frame[c].dtype, pd.CategoricalDtype)
            else pd.to_numeric(frame[c], errors="coerce").astype("float64") for c in frame.columns]
    return np.column_stack(cols) if cols else np.empty((len(frame), 0))


class FeatureSelector(TransformerMixin, BaseEstimator):
    def __init__(self, *, drop_correlated: float | None = None, select: str = "none",
                 k: int | float = 0.8, seed: int = 0) -> None:
        self.drop_correlated = drop_correlated
        self.select = select
        self.k = k
        self.seed = seed

    def fit(self, X: Any, y: Any = None) -> FeatureSelector:
        if self.select not in SELECTIONS:
            raise ValueError(f"select {self.select!r}; valid: {SELECTIONS}")
        frame = to_frame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        if len(frame) > MAX_ROWS:
            rows = np.sort(np.random.default_rng(self.seed).choice(len(frame), MAX_ROWS,
                                                                   replace=False))
            frame = frame.iloc[rows]
            y = None if y is None else np.asarray(y)[rows]
        matrix = numeric_view(frame)
        reasons: dict[str, str] = {}
        self._structural(frame, matrix, reasons)
        if self.select != "none" and y is not None and len(frame) == len(np.asarray(y)):
            self._rank(frame, matrix, np.asarray(y), reasons)
        kept = [n for n in self.feature_names_in_ if n not in reasons]
        if not kept and len(self.feature_names_in_):
            first = str(self.feature_names_in_[0])
            reasons.pop(first)
            kept = [first]  # a model needs at least one column
        self.kept_ = kept
        self.decisions_ = [{"feature": str(n), "kept": n not in reasons,
                            "reason": reasons.get(n, "kept")} for n in self.feature_names_in_]
        return self

    def _structural(self, frame: pd.DataFrame, matrix: np.ndarray, reasons: dict[str, str]) -> None:
        names = list(self.feature_names_in_)
        if len(frame) < 2:
            return  # one row: every column looks constant and duplicated; judge nothing
        for j, name in enumerate(names):
            if frame.iloc[:, j].nunique(dropna=False) <= 1:
                reasons[name] = "constant in training"
        seen: dict[bytes, str] = {}
        for j, name in enumerate(names):
            if name in reasons:
                continue
            key = np.nan_to_num(matrix[:, j], nan=-1.234e300).tobytes()
            if key in seen:
                reasons[name] = f"duplicate of {seen[key]}"
            else:
                seen[key] = name
        if self.drop_correlated is None or len(frame) < 3:
            return
        live = [j for j, n in enumerate(names) if n not in reasons
                and not isinstance(frame.iloc[:, j].dtype, pd.CategoricalDtype)]
        if len(live) < 2:
            return
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.abs(pd.DataFrame(matrix[:, live]).corr().to_numpy())
        for a in range(len(live)):
            if names[live[a]] in reasons:
                continue
            for b in range(a + 1, len(live)):
                if names[live[b]] not in reasons and corr[a, b] > self.drop_correlated:
                    reasons[names[live[b]]] = (f"|r|={corr[a, b]:.3f} with {names[live[a]]} "
                                               f"> {self.drop_correlated:g}")

    def _rank(self, frame: pd.DataFrame, matrix: np.ndarray, y: np.ndarray,
              reasons: dict[str, str]) -> None:
        live = [j for j, n in enumerate(self.feature_names_in_) if n not in reasons]
        if not live:
            return
        scores = self._scores(frame.iloc[:, live], matrix[:, live], y)
        k = self.k if isinstance(self.k, int) and self.k >= 1 else \
            max(1, int(round(float(self.k) * len(live))))
        order = np.argsort(-scores, kind="stable")
        for rank, pos in enumerate(order):
            if rank >= k:
                name = self.feature_names_in_[live[pos]]
                reasons[name] = f"{self.select} score {scores[pos]:.4g} below the top {k}"

    def _scores(self, frame: pd.DataFrame, matrix: np.ndarray, y: np.ndarray) -> np.ndarray:
        classify = y.dtype.kind in "iub"
        if self.select == "mutual_info":
            from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

            fn = mutual_info_classif if classify else mutual_info_regression
            discrete = np.array([isinstance(frame[c].dtype, pd.CategoricalDtype)
                                 for c in frame.columns])
            return fn(np.nan_to_num(matrix), y, discrete_features=discrete,
                      random_state=self.seed)
        import lightgbm as lgb

        cls = lgb.LGBMClassifier if classify else lgb.LGBMRegressor
        model = cls(n_estimators=100, num_leaves=15, learning_rate=0.1, verbose=-1,
                    random_state=self.seed, n_jobs=1, importance_type="gain")
        model.fit(matrix, y)
        return np.asarray(model.feature_importances_, dtype="float64")

    def transform(self, X: Any) -> Any:
        frame = to_frame(X)
        if isinstance(X, pd.DataFrame):
            return frame[self.kept_]
        index = [list(self.feature_names_in_).index(n) for n in self.kept_]
        return np.asarray(X)[:, index]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.kept_, dtype=object)


def safe_name(name: str) -> str:
    return re.sub(r'[\[\]{}",:<]', "_", str(name))


class SafeNames(TransformerMixin, BaseEstimator):
    """Rename columns so LightGBM and XGBoost accept them (LightGBM refuses []{}\",: in feature
    names, XGBoost [, ] and <)."""

    def fit(self, X: Any, y: Any = None) -> SafeNames:
        frame = to_frame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        names, seen = [], set()
        for n in self.feature_names_in_:
            new = safe_name(n)
            while new in seen:
                new += "_"
            seen.add(new)
            names.append(new)
        self.names_out_ = names
        return self

    def transform(self, X: Any) -> Any:
        frame = to_frame(X).copy()
        frame.columns = self.names_out_
        return frame

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.names_out_, dtype=object)


# --- compiled serving (fullcycle.features.compiling): this step as numpy -------------------------
@compiles("matrix", FeatureSelector)
def _compile_feature_selector(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    names_in = [str(n) for n in step.feature_names_in_]
    if names_in != cols.names:
        raise Unsupported("FeatureSelector was fitted on other column names")
    index = [names_in.index(n) for n in step.kept_]
    out = Columns([cols.names[i] for i in index], [cols.levels[i] for i in index])
    if index == list(range(len(names_in))):
        return identity, out
    return (lambda x: x[:, index]), out


@compiles("matrix", SafeNames)
def _compile_safe_names(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    check_width(step, cols)
    return identity, Columns([str(n) for n in step.names_out_], cols.levels)
