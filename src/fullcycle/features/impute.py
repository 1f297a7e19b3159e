"""Missing values, decided per column from the training data.

`AutoImputer` picks a strategy for each numeric column (median, mean, mode, constant, iterative,
or native = leave NaN for models that handle it) and adds a `<col>_missing` flag where the
missingness itself carries signal. Every choice and its reason is kept in `decisions_`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from fullcycle.features.compiling import Columns, Matrix, check_width, compiles, identity

STRATEGIES = ("auto", "median", "mean", "mode", "constant", "iterative", "native")


def as_frame(X: Any, names: Any = None) -> pd.DataFrame:
    """Numpy or frame input -> a frame with string column names."""
    if isinstance(X, pd.DataFrame):
        return X
    X = np.asarray(X)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    cols = list(names) if names is not None else [f"x{i}" for i in range(X.shape[1])]
    return pd.DataFrame(X, columns=cols)


def informative_missingness(missing: np.ndarray, y: np.ndarray | None) -> tuple[bool, str]:
    """Is the target distributed differently where the value is missing? A two-sample test:
    chi-square for class codes, Welch's t for a continuous target."""
    from scipy import stats

    n_miss = int(missing.sum())
    if y is None or n_miss < 5 or n_miss > len(missing) - 5:
        return False, "too few missing/present rows to test"
    y = np.asarray(y)
    if y.dtype.kind in "iub":
        table = pd.crosstab(missing, y).to_numpy()
        if table.shape[1] < 2:
            return False, "target constant"
        p = float(stats.chi2_contingency(table)[1])
    else:
        yf = y.astype("float64")
        p = float(stats.ttest_ind(yf[missing], yf[~missing], equal_var=False).pvalue)
    if np.isnan(p):
        return False, "test undefined"
    return p < 0.05, f"target differs where missing (p={p:.3g})" if p < 0.05 else \
        f"target does not differ where missing (p={p:.2f})"


class AutoImputer(TransformerMixin, BaseEstimator):
    """Numeric frame -> imputed matrix (+ missing flags). Strategy `auto` chooses per column:
    all missing -> constant 0; mostly (>50%) missing -> constant 0 with a flag; few distinct
    values -> mode; missing and strongly correlated with another column -> iterative;
    otherwise median. `native` leaves NaN for models that split on missing values."""

    def __init__(self, *, strategy: str = "auto", indicators: str = "auto",
                 seed: int = 0) -> None:
        self.strategy = strategy
        self.indicators = indicators
        self.seed = seed

    def fit(self, X: Any, y: Any = None) -> AutoImputer:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy {self.strategy!r}; valid: {STRATEGIES}")
        frame = as_frame(X).apply(pd.to_numeric, errors="coerce").astype("float64")
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        corr = frame.corr().abs().to_numpy() if frame.shape[1] > 1 and len(frame) > 2 else None
        self.decisions_: list[dict[str, Any]] = []
        self.fill_: dict[str, float] = {}
        self.flags_: list[str] = []
        for j, name in enumerate(frame.columns):
            decision = self._decide(frame[name], j, corr, y)
            self.decisions_.append(decision)
            self.fill_[name] = decision["fill"]
            if decision["indicator"]:
                self.flags_.append(name)
        self.iterative_ = self._fit_iterative(frame)
        return self

    def _decide(self, col: pd.Series, j: int, corr: np.ndarray | None, y: Any) -> dict[str, Any]:
        miss = col.isna().to_numpy()
        rate = float(miss.mean()) if len(col) else 0.0
        values = col.dropna()
        median = float(values.median()) if len(values) else 0.0
        d: dict[str, Any] = {"column": str(col.name), "missing_rate": round(rate, 4)}
        strategy, reason = self.strategy, "configured"
        if len(values) == 0:
            strategy, reason = "constant", "all values missing in training"
        elif strategy == "auto":
            strategy, reason = self._auto(values, rate, j, corr)
        elif strategy == "native":
            reason = "left missing: the model splits on missing values itself"
        fill = {"median": median, "mean": float(values.mean()) if len(values) else 0.0,
                "mode": float(values.mode().iloc[0]) if len(values) else 0.0,
                "constant": 0.0, "iterative": median, "native": median}[strategy]
        d.update(strategy=strategy, fill=fill, reason=reason)
        indicator, why = False, "no missing values in training"
        if self.indicators == "always":
            indicator, why = rate > 0, "configured: always"
        elif self.indicators == "never" or strategy == "native":
            why = "configured: never" if self.indicators == "never" else "model handles NaN"
        elif len(values) == 0:
            why = "column is all missing"
        elif rate > 0.5:
            indicator, why = True, "mostly missing: the flag carries the signal"
        elif rate > 0:
            target = None if y is None else np.asarray(y)
            indicator, why = informative_missingness(miss, target)
            if target is None and rate >= 0.05:
                indicator, why = True, "5% or more missing (no target to test)"
        d.update(indicator=indicator, indicator_reason=why)
        return d

    def _auto(self, values: pd.Series, rate: float, j: int,
              corr: np.ndarray | None) -> tuple[str, str]:
        if rate > 0.5:
            return "constant", f"{rate:.0%} missing: fill 0 and rely on the flag"
        if values.nunique() <= 10:
            return "mode", f"{values.nunique()} distinct values: most frequent"
        if rate >= 0.02 and corr is not None:
            partner = np.nan_to_num(np.delete(corr[j], j)).max(initial=0.0)
            if partner >= 0.5:
                return "iterative", f"{rate:.0%} missing, |r|={partner:.2f} with another column"
        if rate == 0:
            return "median", "no missing in training; median if missing at prediction"
        return "median", f"{rate:.0%} missing: median is robust to skew"

    def _fit_iterative(self, frame: pd.DataFrame) -> Any:
        cols = [d["column"] for d in self.decisions_ if d["strategy"] == "iterative"]
        if not cols:
            return None
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer

        usable = [d["column"] for d in self.decisions_ if d["strategy"] != "constant"]
        self.iterative_columns_ = usable
        matrix = frame[usable].to_numpy(dtype="float64", copy=True)  # writable under CoW
        if len(matrix) > 5000:  # a few thousand rows fix the regressions; more only cost time
            rows = np.random.default_rng(self.seed).choice(len(matrix), 5000, replace=False)
            matrix = matrix[np.sort(rows)]
        # Each column is predicted from its 10 most correlated partners, 3 rounds: wide tables
        # (Ames: 36 numeric columns) would otherwise spend seconds per fold here.
        return IterativeImputer(max_iter=3, n_nearest_features=min(10, len(usable)),
                                random_state=self.seed, keep_empty_features=True).fit(matrix)

    def transform(self, X: Any) -> np.ndarray:
        frame = as_frame(X, self.feature_names_in_)
        frame = frame.apply(pd.to_numeric, errors="coerce").astype("float64")
        flags = [frame[c].isna().to_numpy(dtype="float64") for c in self.flags_]
        out = frame.copy()
        if self.iterative_ is not None:
            filled = pd.DataFrame(self.iterative_.transform(frame[self.iterative_columns_]
                                                            .to_numpy(dtype="float64", copy=True)),
                                  columns=self.iterative_columns_, index=frame.index)
            for d in self.decisions_:
                if d["strategy"] == "iterative":
                    out[d["column"]] = filled[d["column"]]
        for d in self.decisions_:
            if d["strategy"] != "native":
                out[d["column"]] = out[d["column"]].fillna(d["fill"])
        parts = [out.to_numpy(dtype="float64")] + [f.reshape(-1, 1) for f in flags]
        return np.hstack(parts) if parts else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = [str(c) for c in self.feature_names_in_] + [f"{c}_missing" for c in self.flags_]
        return np.asarray(names, dtype=object)


# --- compiled serving (fullcycle.features.compiling): this step as numpy -------------------------
@compiles("matrix", AutoImputer)
def _compile_auto_imputer(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    """AutoImputer.transform: iterative columns from its IterativeImputer, every non-native
    column filled with its decided value, then one 0/1 flag column per `flags_` entry."""
    check_width(step, cols)
    cols.require_numeric("AutoImputer")
    names = [str(c) for c in step.feature_names_in_]
    decisions = step.decisions_
    flags = [names.index(c) for c in step.flags_]
    fill_at = [j for j, d in enumerate(decisions) if d["strategy"] != "native"]
    fill = np.asarray([decisions[j]["fill"] for j in fill_at], dtype="float64")
    iterative = step.iterative_
    usable = targets = sources = None
    if iterative is not None:
        usable = [names.index(c) for c in step.iterative_columns_]
        picked = [(j, step.iterative_columns_.index(d["column"]))
                  for j, d in enumerate(decisions) if d["strategy"] == "iterative"]
        targets, sources = [p[0] for p in picked], [p[1] for p in picked]
    if not flags and not fill_at and iterative is None:
        return identity, cols

    def run(x: np.ndarray) -> np.ndarray:
        out = x.copy()
        if iterative is not None:
            out[:, targets] = iterative.transform(x[:, usable].copy())[:, sources]
        if fill_at:
            part = out[:, fill_at]
            out[:, fill_at] = np.where(np.isnan(part), fill, part)
        if flags:
            return np.hstack([out, np.isnan(x[:, flags]).astype("float64")])
        return out

    return run, Columns.numeric(step.get_feature_names_out())
