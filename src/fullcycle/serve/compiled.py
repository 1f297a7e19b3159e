"""A compiled prediction path for fullcycle's own trained pipelines (`fullcycle train`, AutoML).

Those pipelines are `Pipeline[preprocess, FamilyModel]` or an `EnsembleModel` of them, where
`preprocess` is `SchemaCoercer -> ColumnTransformer[AutoImputer branches, CategoryEncoder] ->
FeatureSelector (-> SafeNames)`. Served through sklearn, one row spends ~95 % of its time in
pandas machinery (a DataFrame per step, joblib dispatch in the ColumnTransformer, per-column
`category_text`, `.apply(pd.to_numeric)`), not in the model. Here each fitted step becomes a
numpy function read from its fitted attributes, the matrix flows as float64 from the canonical
columns of `validation.py` to the estimator, and the estimators are called below their sklearn
wrappers (`compiled_models.py`).

What flows between steps: a float64 matrix whose columns are described at compile time by
`Columns` (names, and for LightGBM-style native categoricals the category levels: such a column
holds the level's code, exactly what LightGBM's pandas path turns a `category` column into).

Anything this module does not know raises `Unsupported` and the caller falls back to the typed
or general path; `fastpath.compile_checked` also compares the compiled path with
`Model.predict_scores` on probe rows (missing values, unseen categories, every known level)
before using it, so the compiled path can be wrong only by being off."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fullcycle.serve.fastpath import Unsupported

Matrix = Callable[[np.ndarray], np.ndarray]
MISSING = "__missing__"  # CategoryEncoder's level names (checked against the module at compile)
RARE = "__rare__"
SMALL = 64  # up to this many rows a categorical column is looked up value by value


@dataclass
class Columns:
    """Compile-time description of a matrix: a name per column and, for native categorical
    columns, the levels whose index the column holds (None for plain numbers)."""

    names: list[str]
    levels: list[list[str] | None]

    @classmethod
    def numeric(cls, names: Any) -> Columns:
        names = [str(n) for n in names]
        return cls(names, [None] * len(names))

    def require_numeric(self, what: str) -> None:
        if any(lv is not None for lv in self.levels):
            raise Unsupported(f"{what} after native categorical columns")


def identity(x: np.ndarray) -> np.ndarray:
    return x


def _key(step: Any) -> str:
    return f"{type(step).__module__}.{type(step).__qualname__}"


def _check_width(step: Any, cols: Columns) -> None:
    n = getattr(step, "n_features_in_", None)
    if n is not None and int(n) != len(cols.names):
        raise Unsupported(f"{type(step).__name__} expects {n} columns, gets {len(cols.names)}")


# --- numeric steps (matrix -> matrix) ------------------------------------------------------------
def _auto_imputer(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    """AutoImputer.transform: iterative columns from its IterativeImputer, every non-native
    column filled with its decided value, then one 0/1 flag column per `flags_` entry."""
    _check_width(step, cols)
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


def _outlier_handler(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    _check_width(step, cols)
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


def _skew_log(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    _check_width(step, cols)
    cols.require_numeric("SkewLog")
    logged = [j for j, on in enumerate(step.logged_) if on]
    if not logged:
        return identity, cols

    def run(x: np.ndarray) -> np.ndarray:
        out = x.copy()
        out[:, logged] = np.log1p(np.clip(x[:, logged], 0, None))
        return out

    return run, cols


def _standard_scaler(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    _check_width(step, cols)
    cols.require_numeric("StandardScaler")
    mean = step.mean_ if step.with_mean else None
    scale = step.scale_ if step.with_std else None
    return _affine(mean, scale), cols


def _robust_scaler(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    _check_width(step, cols)
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


def _feature_selector(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    names_in = [str(n) for n in step.feature_names_in_]
    if names_in != cols.names:
        raise Unsupported("FeatureSelector was fitted on other column names")
    index = [names_in.index(n) for n in step.kept_]
    out = Columns([cols.names[i] for i in index], [cols.levels[i] for i in index])
    if index == list(range(len(names_in))):
        return identity, out
    return (lambda x: x[:, index]), out


def _safe_names(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    _check_width(step, cols)
    return identity, Columns([str(n) for n in step.names_out_], cols.levels)


def _sklearn_numpy(step: Any, cols: Columns) -> tuple[Matrix, Columns]:
    """Transformers whose own `transform` is numpy arithmetic (QuantileTransformer: per-column
    interpolation; PCA: a projection) are called directly on the matrix, through a copy that
    neither checks feature names (it was fitted on a frame) nor wraps its output in one."""
    import copy

    _check_width(step, cols)
    cols.require_numeric(type(step).__name__)
    names = [str(n) for n in step.get_feature_names_out()]
    bare = copy.deepcopy(step)  # set_output edits a dict the original shares with a copy
    if hasattr(bare, "feature_names_in_"):
        del bare.feature_names_in_
    bare.set_output(transform="default")
    return bare.transform, Columns.numeric(names)


MATRIX_STEPS: dict[str, Callable[[Any, Columns], tuple[Matrix, Columns]]] = {
    "fullcycle.features.impute.AutoImputer": _auto_imputer,
    "fullcycle.features.outliers.OutlierHandler": _outlier_handler,
    "fullcycle.features.scale.SkewLog": _skew_log,
    "fullcycle.features.select.FeatureSelector": _feature_selector,
    "fullcycle.features.select.SafeNames": _safe_names,
    "sklearn.preprocessing._data.StandardScaler": _standard_scaler,
    "sklearn.preprocessing._data.RobustScaler": _robust_scaler,
    "sklearn.preprocessing._data.QuantileTransformer": _sklearn_numpy,
    "sklearn.decomposition._pca.PCA": _sklearn_numpy,
}


def compile_matrix_steps(steps: list[Any], cols: Columns) -> tuple[Matrix, Columns]:
    fns: list[Matrix] = []
    for step in steps:
        if isinstance(step, str) and step == "passthrough":
            continue
        make = MATRIX_STEPS.get(_key(step))
        if make is None:
            raise Unsupported(f"step {type(step).__name__}")
        fn, cols = make(step, cols)
        fns.append(fn)
    fns = [f for f in fns if f is not identity]
    if not fns:
        return identity, cols
    if len(fns) == 1:
        return fns[0], cols

    def chain(x: np.ndarray) -> np.ndarray:
        for fn in fns:
            x = fn(x)
        return x

    return chain, cols


# --- categorical encoding (object columns -> matrix) -----------------------------------------
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
    if value is getattr(_pd(), "NA", None):
        return MISSING
    return str(value).strip() or MISSING


def _pd() -> Any:
    import pandas as pd

    return pd


@dataclass
class EncodedColumn:
    lookup: dict[str, int]  # level text -> row of `rows`
    rows: np.ndarray  # (levels, width) output of each level
    rare: int

    def encode(self, values: np.ndarray) -> np.ndarray:
        if len(values) <= SMALL:
            return self.rows[[self.lookup.get(category_key(v), self.rare) for v in values]]
        codes, uniques = _pd().factorize(values, use_na_sentinel=True)
        index = [self.lookup.get(category_key(u), self.rare) for u in uniques]
        index.append(self.lookup[MISSING])  # code -1: None / NaN
        return self.rows[np.asarray(index)[codes]]


def compile_category_encoder(enc: Any) -> tuple[Callable[[list[np.ndarray]], np.ndarray], Columns]:
    """CategoryEncoder.transform: per column, the level (unseen/rare -> __rare__, missing ->
    __missing__) then one-hot, target statistics, frequency or the native level code."""
    from fullcycle.features import encode

    if (encode.MISSING, encode.RARE) != (MISSING, RARE):
        raise Unsupported("CategoryEncoder level names changed")
    columns: list[EncodedColumn] = []
    levels_out: list[list[str] | None] = []
    for name in enc.feature_names_in_:
        levels = list(enc.levels_[name])
        method = enc.method_[name]
        n = len(levels)
        if method == "onehot":
            rows = np.eye(n)
        elif method == "target":
            rows = np.asarray(enc.stats_[name], dtype="float64").reshape(n, -1)
        elif method == "frequency":
            rows = np.asarray(enc.frequency_[name], dtype="float64").reshape(n, 1)
        elif method == "native":
            rows = np.arange(n, dtype="float64").reshape(n, 1)
        else:
            raise Unsupported(f"category encoding {method!r}")
        lookup = {v: i for i, v in enumerate(levels)}
        columns.append(EncodedColumn(lookup, rows, lookup[RARE]))
        levels_out += [levels] if method == "native" else [None] * rows.shape[1]
    names = [str(n) for n in enc.get_feature_names_out()]
    if len(names) != len(levels_out):
        raise Unsupported("CategoryEncoder output width")

    def run(values: list[np.ndarray]) -> np.ndarray:
        return np.hstack([c.encode(v) for c, v in zip(columns, values, strict=True)])

    return run, Columns(names, levels_out)


# --- the column transformer and the preprocessing pipeline ------------------------------------
@dataclass
class Branch:
    index: list[int]  # canonical column positions
    numeric: bool
    fn: Callable[[Any], np.ndarray]


def compile_columns(ct: Any, names: list[str], roles: list[str]
                    ) -> tuple[Callable[[list[np.ndarray]], np.ndarray], Columns]:
    """A fitted ColumnTransformer over canonical columns -> one float matrix."""
    from sklearn.pipeline import Pipeline

    from fullcycle.features.encode import CategoryEncoder

    if getattr(ct, "sparse_output_", False):
        raise Unsupported("sparse column transformer output")
    position = {n: i for i, n in enumerate(names)}
    branches: list[Branch] = []
    out = Columns([], [])
    for name, trans, cols in ct.transformers_:
        if isinstance(trans, str) and trans == "drop" or not len(cols):
            continue
        if isinstance(trans, str):
            raise Unsupported(f"column transformer branch {name!r} is {trans!r}")
        index = [position[c] for c in cols]
        kinds = {roles[i] for i in index}
        if isinstance(trans, CategoryEncoder):
            if kinds != {"categorical"}:
                raise Unsupported(f"CategoryEncoder over roles {sorted(kinds)}")
            fn, block = compile_category_encoder(trans)
            branches.append(Branch(index, False, fn))
        elif isinstance(trans, Pipeline) and kinds <= {"numeric", "boolean"}:
            fn, block = compile_matrix_steps([s for _, s in trans.steps], Columns.numeric(cols))
            branches.append(Branch(index, True, fn))
        else:
            raise Unsupported(f"branch {name!r}: {type(trans).__name__} over {sorted(kinds)}")
        out.levels += block.levels
    if not branches:
        raise Unsupported("column transformer without branches")
    out.names = [str(n) for n in ct.get_feature_names_out()]
    if len(out.names) != len(out.levels):
        raise Unsupported("column transformer output width")

    def run(columns: list[np.ndarray]) -> np.ndarray:
        parts = []
        for b in branches:
            if b.numeric:
                parts.append(b.fn(np.column_stack([columns[i] for i in b.index])
                                  .astype("float64", copy=False)))
            else:
                parts.append(b.fn([columns[i] for i in b.index]))
        return np.hstack(parts) if len(parts) > 1 else parts[0]

    return run, out


def compile_preprocess(pre: Any, names: list[str], roles: list[str]
                       ) -> tuple[Callable[[list[np.ndarray]], np.ndarray], Columns]:
    """SchemaCoercer (its work is done by the validator) -> ColumnTransformer -> matrix steps."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from fullcycle.features.preprocess import SchemaCoercer

    if not isinstance(pre, Pipeline):
        raise Unsupported(f"preprocessing is {type(pre).__name__}, not a Pipeline")
    steps = [s for _, s in pre.steps if not (isinstance(s, str) and s == "passthrough")]
    if len(steps) < 2 or not isinstance(steps[0], SchemaCoercer) or \
            not isinstance(steps[1], ColumnTransformer):
        raise Unsupported("preprocessing does not start with SchemaCoercer + ColumnTransformer")
    coercer = steps[0]
    if coercer.schema_ is None or [c.name for c in coercer.schema_.features] != names:
        raise Unsupported("the pipeline's contract differs from the served one")
    columns, cols = compile_columns(steps[1], names, roles)
    rest, cols = compile_matrix_steps(steps[2:], cols)
    return (lambda values: rest(columns(values))), cols
