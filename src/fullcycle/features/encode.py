"""Categorical encoding by cardinality and model family.

`CategoryEncoder` groups rare categories as `__rare__`, keeps missing as its own `__missing__`
level, then per column: one-hot (few levels), out-of-fold target encoding (many levels), or
native categorical codes (pandas `category` dtype, read by LightGBM/XGBoost/CatBoost). A value
never seen in training is treated as `__rare__`: one-hot puts it in the `__rare__` column, target
encoding gives it the smoothed `__rare__` statistic (the prior when no rare value was seen), native
gives it the `__rare__` category.

With `keep_codes`, a native encoder gives a many-level column whose levels average at least
`CODES_MIN_ROWS` rows both: its target encoding and its native codes (method "native_target").
The codes let a boosted model split on the levels themselves where they interact with other
columns (grid cells x income); where the column is only a cross of a few others they add
variance instead, so the search tries both and its cross-validation decides (search/catcodes.py).

Target encoding is honest: `fit_transform` (which a Pipeline calls at training) encodes each row
with statistics from the other K folds only, so no training row ever sees its own target;
`transform` (prediction time) uses statistics from all training rows."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from fullcycle.features.compiling import SMALL, Block, Columns, Unsupported, compiles

MISSING = "__missing__"
RARE = "__rare__"
KINDS = ("onehot_te", "native")
TARGETED = ("target", "native_target")  # methods that carry target statistics
# LightGBM's `cat_smooth` (10): below this many rows a level is not split on by itself; an
# ID-like column (1-3 rows a level: ticket, surname) has nothing for its codes to find
CODES_MIN_ROWS = 10


def codes_qualify(cardinality: int, rows: int, native_max: int) -> bool:
    """A column above `native_max` levels whose levels average CODES_MIN_ROWS rows or more:
    its native codes may be kept next to its target encoding (`keep_codes`)."""
    return cardinality > native_max and rows >= CODES_MIN_ROWS * cardinality


def category_text(col: pd.Series) -> pd.Series:
    """Values as category strings: numbers too (1 and 1.0 are the same), missing as __missing__."""
    values = col.astype(object)
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out.append(MISSING)
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v).strip() or MISSING)
    return pd.Series(out, index=col.index, dtype=object)


def target_kind(y: np.ndarray, target_type: str) -> str:
    if target_type != "auto":
        return target_type
    if y.dtype.kind in "iub":
        return "binary" if len(np.unique(y)) <= 2 else "multiclass"
    return "continuous"


def target_matrix(y: np.ndarray, kind: str) -> tuple[np.ndarray, list[str]]:
    """y -> one column per statistic encoded: P(class) for classification, mean for regression."""
    if kind == "continuous":
        return y.astype("float64").reshape(-1, 1), ["te"]
    classes = np.unique(y)
    if kind == "binary":
        positive = classes[-1]
        return (y == positive).astype("float64").reshape(-1, 1), ["te"]
    return np.column_stack([(y == c).astype("float64") for c in classes]), \
        [f"te_{c}" for c in classes]


def smoothed_means(codes: np.ndarray, T: np.ndarray, n_levels: int, smoothing: float | str,
                   prior: np.ndarray) -> np.ndarray:
    """(n_levels, k) level statistics shrunk toward the prior. A number m gives the m-estimate
    (sum + m * prior) / (count + m); "auto" gives the empirical-Bayes weight
    var(y) * n / (var(y) * n + var(y | level)) per level, as scikit-learn's TargetEncoder."""
    counts = np.bincount(codes, minlength=n_levels).astype("float64")
    sums = np.column_stack([np.bincount(codes, weights=T[:, j], minlength=n_levels)
                            for j in range(T.shape[1])])
    if smoothing != "auto":
        return (sums + float(smoothing) * prior) / (counts[:, None] + float(smoothing))
    squares = np.column_stack([np.bincount(codes, weights=T[:, j] ** 2, minlength=n_levels)
                               for j in range(T.shape[1])])
    safe = np.maximum(counts, 1.0)[:, None]
    means = sums / safe
    within = np.maximum(squares / safe - means ** 2, 0.0)
    total = T.var(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(counts[:, None] > 0,
                          total * counts[:, None] / (total * counts[:, None] + within), 0.0)
    weight = np.nan_to_num(weight)
    return weight * means + (1 - weight) * prior


class CategoryEncoder(TransformerMixin, BaseEstimator):
    """Categorical frame -> encoded columns. `kind="onehot_te"` for linear/tree models,
    `kind="native"` returns a frame with pandas categories (levels above `one_hot_max`, up to
    `native_max`) for gradient-boosting libraries; with `keep_codes`, a many-level column
    that `codes_qualify` keeps its codes next to its target encoding."""

    # fitted state (set by fit; `_y`/`_T` only while fitting)
    _y: np.ndarray | None
    _T: np.ndarray | None
    feature_names_in_: np.ndarray
    prior_: np.ndarray
    target_names_: list[str]

    def __init__(self, *, kind: str = "onehot_te", one_hot_max: int = 15, native_max: int = 64,
                 rare_min_count: int = 10, folds: int = 5, smoothing: float | str = "auto",
                 target_type: str = "auto", keep_codes: bool = False, seed: int = 0) -> None:
        self.kind = kind
        self.one_hot_max = one_hot_max
        self.native_max = native_max
        self.rare_min_count = rare_min_count
        self.folds = folds
        self.smoothing = smoothing
        self.target_type = target_type
        self.keep_codes = keep_codes
        self.seed = seed

    # --- fitting ------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> CategoryEncoder:
        self._fit(X, y)
        self._forget_targets()
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        frame = self._fit(X, y)
        out = self._encode(frame, out_of_fold=y is not None)
        self._forget_targets()
        return out

    def _forget_targets(self) -> None:
        # Training targets are needed only while fitting; a saved model must not carry them.
        self._y = None
        self._T = None

    def _fit(self, X: Any, y: Any) -> pd.DataFrame:
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r}; valid: {KINDS}")
        frame = self._text(X, fitting=True)
        n = len(frame)
        self.rare_threshold_ = max(1, min(self.rare_min_count, math.ceil(0.01 * n)))
        self._y = None if y is None else np.asarray(y)
        self.levels_: dict[str, list[str]] = {}
        self.method_: dict[str, str] = {}
        self.decisions_: list[dict[str, Any]] = []
        limit = self.native_max if self.kind == "native" else self.one_hot_max
        for name in frame.columns:
            counts = frame[name].value_counts()
            cardinality = int(sum(1 for v in counts.index if v != MISSING))
            if cardinality > limit:
                # Many levels: each level's statistic is smoothed toward the prior instead of
                # grouping, so a rare level costs nothing and a frequent one keeps its signal.
                method = "target" if y is not None else "frequency"
                if method == "target" and self.kind == "native" and self.keep_codes and \
                        codes_qualify(cardinality, n, self.native_max):
                    method = "native_target"
                kept, rare_levels = sorted(str(v) for v in counts.index), 0
            else:
                # Few levels one-hot even for native models: on small data LightGBM's native
                # categorical splits (min 100 rows per group) lose to one column per level.
                method = "native" if self.kind == "native" and cardinality > self.one_hot_max \
                    else "onehot"
                kept = sorted(str(v) for v, c in counts.items() if c >= self.rare_threshold_)
                present = counts.drop(MISSING, errors="ignore")
                rare_levels = int((present < self.rare_threshold_).sum())
            levels = [v for v in kept if v not in (MISSING, RARE)] + [MISSING, RARE]
            self.levels_[name] = levels
            self.method_[name] = method
            rare_rows = int(present[present < self.rare_threshold_].sum()) if rare_levels else 0
            self.decisions_.append({
                "column": name, "cardinality": cardinality, "levels": len(levels) - 2,
                "rare_grouped": rare_levels, "rare_rows": rare_rows, "encoding": method,
                "reason": self._why(method, cardinality,
                                    self.one_hot_max if method == "onehot" else limit)})
        self._fit_statistics(frame)
        return frame

    def _why(self, method: str, k: int, limit: int) -> str:
        return {"onehot": f"{k} levels <= {limit}: one column per level (rare ones grouped)",
                "native": f"{self.one_hot_max} < {k} levels <= {limit}: the model splits on "
                          "categories itself",
                "target": f"{k} levels > {limit}: out-of-fold target encoding "
                          f"({self.folds}-fold, smoothing {self.smoothing})",
                "native_target": f"{k} levels > {limit}, {CODES_MIN_ROWS}+ rows each: "
                                 "out-of-fold target encoding and the model's own splits",
                "frequency": f"{k} levels > {limit} and no target: frequency encoding"}[method]

    def _text(self, X: Any, fitting: bool) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            frame = X
        else:
            arr = np.asarray(X, dtype=object)
            arr = arr.reshape(-1, 1) if arr.ndim == 1 else arr
            names = self.feature_names_in_ if not fitting else [f"x{i}" for i in
                                                                range(arr.shape[1])]
            frame = pd.DataFrame(arr, columns=list(names))
        if fitting:
            self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
            self.n_features_in_ = frame.shape[1]
        return pd.DataFrame({str(c): category_text(frame[c]) for c in frame.columns},
                            index=frame.index)

    def _codes(self, col: pd.Series, name: str) -> np.ndarray:
        """Known level -> its index; unseen or rare -> the __rare__ index."""
        levels = self.levels_[name]
        lookup = {v: i for i, v in enumerate(levels)}
        rare = lookup[RARE]
        return np.fromiter((lookup.get(v, rare) for v in col), dtype=np.int64, count=len(col))

    def _fit_statistics(self, frame: pd.DataFrame) -> None:
        self.stats_: dict[str, np.ndarray] = {}
        self.frequency_: dict[str, np.ndarray] = {}
        y = self._y
        if y is not None and any(m in TARGETED for m in self.method_.values()):
            self.target_kind_ = target_kind(y, self.target_type)
            T, self.target_names_ = target_matrix(y, self.target_kind_)
            self.prior_ = T.mean(axis=0)
            self._T = T
        for name, method in self.method_.items():
            codes = self._codes(frame[name], name)
            if method in TARGETED and self._T is not None:
                self.stats_[name] = smoothed_means(codes, self._T, len(self.levels_[name]),
                                                   self.smoothing, self.prior_)
            elif method == "frequency":
                counts = np.bincount(codes, minlength=len(self.levels_[name]))
                self.frequency_[name] = counts / max(len(codes), 1)

    # --- encoding -----------------------------------------------------------------------------
    def _oof_target(self, codes: np.ndarray, name: str) -> np.ndarray:
        """Each training row encoded from the other folds' rows only."""
        from sklearn.model_selection import KFold, StratifiedKFold

        n = len(codes)
        out = np.tile(self.prior_, (n, 1))
        folds = min(self.folds, n)
        if folds < 2:
            return out
        y, T = self._y, self._T
        if T is None:
            return out
        strat = self.target_kind_ != "continuous" and np.bincount(y).min() >= folds \
            if y is not None and y.dtype.kind in "iu" else False
        cv = (StratifiedKFold if strat else KFold)(n_splits=folds, shuffle=True,
                                                   random_state=self.seed)
        for fit_idx, enc_idx in cv.split(codes, y if strat else None):
            prior = T[fit_idx].mean(axis=0)
            table = smoothed_means(codes[fit_idx], T[fit_idx], len(self.levels_[name]),
                                   self.smoothing, prior)
            out[enc_idx] = table[codes[enc_idx]]
        return out

    def _encode(self, frame: pd.DataFrame, out_of_fold: bool) -> Any:
        blocks: list[Any] = []
        for name in self.feature_names_in_:
            codes = self._codes(frame[name], name)
            method = self.method_[name]
            if method == "onehot":
                block = np.zeros((len(codes), len(self.levels_[name])))
                block[np.arange(len(codes)), codes] = 1.0
            elif method in TARGETED:
                block = self._oof_target(codes, name) if out_of_fold else self.stats_[name][codes]
                if method == "native_target":
                    blocks.append(self._native(codes, name, frame.index))
            elif method == "frequency":
                block = self.frequency_[name][codes].reshape(-1, 1)
            else:
                block = self._native(codes, name, frame.index)
            blocks.append(block)
        if self.kind == "native":
            return self._native_frame(blocks, frame.index)
        if not blocks:
            return np.empty((len(frame), 0))
        return np.hstack([np.asarray(b, dtype="float64").reshape(len(frame), -1)
                          for b in blocks])

    def _native(self, codes: np.ndarray, name: str, index: pd.Index) -> pd.Series:
        cat = pd.Categorical.from_codes(codes, categories=self.levels_[name])
        return pd.Series(cat, index=index, name=name)

    def _native_frame(self, blocks: list[Any], index: pd.Index) -> pd.DataFrame:
        names = self.get_feature_names_out()
        parts, i = {}, 0
        for block in blocks:
            if isinstance(block, pd.Series):
                parts[names[i]] = block.array
                i += 1
            else:
                for j in range(block.shape[1]):
                    parts[names[i]] = block[:, j]
                    i += 1
        return pd.DataFrame(parts, index=index)

    def transform(self, X: Any) -> Any:
        frame = self._text(X, fitting=False)
        missing = [c for c in self.feature_names_in_ if c not in frame.columns]
        if missing:
            raise ValueError(f"columns missing at transform: {missing}")
        return self._encode(frame, out_of_fold=False)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names: list[str] = []
        for name in self.feature_names_in_:
            method = self.method_[name]
            if method == "onehot":
                names += [f"{name}={level}" for level in self.levels_[name]]
            elif method in TARGETED:
                names += [str(name)] if method == "native_target" else []
                names += [f"{name}_{t}" for t in self.target_names_]
            elif method == "frequency":
                names.append(f"{name}_freq")
            else:
                names.append(str(name))
        return np.asarray(names, dtype=object)


def naive_target_encoding(codes: pd.Series, y: np.ndarray) -> np.ndarray:
    """The leaky baseline the tests and the bench compare against: every row encoded with the
    mean target of its category computed over ALL rows, its own included."""
    means = pd.Series(y, index=codes.index).groupby(codes).transform("mean")
    return means.to_numpy(dtype="float64")


# --- compiled serving (fullcycle.features.compiling): this step as numpy -------------------------
def category_key(value: Any) -> str:
    """The level text CategoryEncoder's `category_text` makes of one value."""
    if value is None:
        return MISSING
    if isinstance(value, str):
        return value.strip() or MISSING
    if isinstance(value, float):
        if value != value:
            return MISSING
        if value.is_integer():
            return str(int(value))
    if type(value).__name__ == "NAType":  # pd.NA
        return MISSING
    return str(value).strip() or MISSING


@dataclass
class EncodedColumn:
    lookup: dict[str, int]  # level text -> row of `rows`
    rows: np.ndarray  # (levels, width) output of each level
    rare: int

    def encode(self, values: np.ndarray) -> np.ndarray:
        if len(values) <= SMALL:
            return self.rows[[self.lookup.get(category_key(v), self.rare) for v in values]]
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        index = [self.lookup.get(category_key(u), self.rare) for u in uniques]
        index.append(self.lookup[MISSING])  # code -1: None / NaN
        return self.rows[np.asarray(index)[codes]]


@compiles("columns", CategoryEncoder)
def _compile_category_encoder(enc: Any, roles: set[str], names: list[str], rest: list[Any]
                              ) -> tuple[Block, Columns]:
    """CategoryEncoder.transform: per column, the level (unseen/rare -> __rare__, missing ->
    __missing__) then one-hot, target statistics, frequency or the native level code."""
    if roles != {"categorical"} or rest:
        raise Unsupported(f"CategoryEncoder over {sorted(roles)}")
    columns: list[EncodedColumn] = []
    levels_out: list[list[str] | None] = []
    for name in enc.feature_names_in_:
        levels = list(enc.levels_[name])
        method = enc.method_[name]
        n = len(levels)
        if method == "onehot":
            rows = np.eye(n)
        elif method in TARGETED:
            rows = np.asarray(enc.stats_[name], dtype="float64").reshape(n, -1)
            if method == "native_target":  # the code column first, as `_encode` puts it
                rows = np.hstack([np.arange(n, dtype="float64").reshape(n, 1), rows])
        elif method == "frequency":
            rows = np.asarray(enc.frequency_[name], dtype="float64").reshape(n, 1)
        elif method == "native":
            rows = np.arange(n, dtype="float64").reshape(n, 1)
        else:
            raise Unsupported(f"category encoding {method!r}")
        lookup = {v: i for i, v in enumerate(levels)}
        columns.append(EncodedColumn(lookup, rows, lookup[RARE]))
        coded = 1 if method in ("native", "native_target") else 0  # its first column: codes
        levels_out += [levels] * coded + [None] * (rows.shape[1] - coded)
    names = [str(n) for n in enc.get_feature_names_out()]
    if len(names) != len(levels_out):
        raise Unsupported("CategoryEncoder output width")

    def run(values: list[np.ndarray]) -> np.ndarray:
        return np.hstack([c.encode(v) for c, v in zip(columns, values, strict=True)])

    return run, Columns(names, levels_out)
