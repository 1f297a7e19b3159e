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

Compiled here (each from its fitted attributes, same arithmetic in the same order):
ColumnTransformer branches of AutoImputer (fill values, flags, its IterativeImputer),
OutlierHandler (clip / flag), SkewLog, StandardScaler, RobustScaler, QuantileTransformer and
PCA (their own numpy `transform`); CategoryEncoder (one-hot, target, frequency, native codes);
TextVectorizer (its fitted vectorizers); DatetimeExpander (numpy calendar arithmetic);
FeatureSelector, SafeNames. Not compiled (the typed path serves them): FeatureGenerator
(`features.generate`) and any step or estimator not listed.

Anything this module does not know raises `Unsupported` and the caller falls back to the typed
or general path; `fastpath.compile_checked` also compares the compiled path with
`Model.predict_scores` on probe rows (missing values, unseen categories, every known level)
before using it, so the compiled path can be wrong only by being off."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from fullcycle.scoring.fastpath import Unsupported

Matrix = Callable[[np.ndarray], np.ndarray]
MISSING = "__missing__"  # CategoryEncoder's level names (checked against the module at compile)
RARE = "__rare__"
SMALL = 64  # up to this many rows a categorical column is looked up value by value


@dataclass
class Inputs:
    """The canonical columns the compiled path receives (validation.py's order): float arrays
    for numeric/boolean roles, object arrays otherwise, datetime columns parsed once per call
    by `parse_dates` into datetime64."""

    names: list[str]
    roles: list[str]
    formats: list[str | None]  # datetime layouts from the contract


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
    _check_width(step, cols)
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
    if type(value).__name__ == "NAType":  # pd.NA
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


def compile_text(vec: Any) -> tuple[Callable[[list[np.ndarray]], np.ndarray], Columns]:
    """TextVectorizer.transform: each text column's fitted vectorizer on the documents
    (missing -> empty text), densified; columns without vocabulary give nothing."""
    fitted = [(j, vec.vectorizers_[name]) for j, name in enumerate(vec.feature_names_in_)
              if name in vec.vectorizers_]

    def docs(values: np.ndarray) -> list[str]:
        return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in values]

    def run(values: list[np.ndarray]) -> np.ndarray:
        if not fitted:
            return np.empty((len(values[0]), 0))
        return np.hstack([v.transform(docs(values[j])).toarray() for j, v in fitted])

    return run, Columns.numeric(vec.get_feature_names_out())


def compile_datetime(steps: list[Any], names: list[str]
                     ) -> tuple[Callable[[list[np.ndarray]], np.ndarray], Columns]:
    """DatetimeExpander over columns already parsed by `parse_dates`: the expander's calendar
    parts in numpy datetime64 arithmetic (pandas' `.dt` accessors cost ~0.4 ms each on one
    row) -> the branch's numeric steps."""
    from fullcycle.features.preprocess import DatetimeExpander

    expander = steps[0]
    parts = DatetimeExpander.PARTS + (("elapsed_days",) if expander.elapsed else ())
    if not isinstance(expander, DatetimeExpander) or \
            [str(n) for n in expander.feature_names_in_] != names or \
            [str(n) for n in expander.get_feature_names_out()] != \
            [f"{n}_{part}" for n in names for part in parts]:
        raise Unsupported("datetime branch does not start with a known DatetimeExpander")
    rest, cols = compile_matrix_steps(steps[1:], Columns.numeric(
        expander.get_feature_names_out()))
    origins = [expander.origin_.get(n) for n in names]

    def run(values: list[np.ndarray]) -> np.ndarray:
        out: list[np.ndarray] = []
        for stamps, origin in zip(values, origins, strict=True):  # parsed by parse_dates
            out += calendar_parts(stamps, origin if expander.elapsed else False)
        return rest(np.column_stack(out))

    return run, cols


# Naive ISO 8601 dates and times whose year numpy and pandas both hold: numpy parses these to the
# same instant as pandas, in ~1 us per value instead of pandas' ~0.9 ms per call.
PLAIN_ISO = re.compile(r"(1[7-9]|2[01])\d\d-[01]\d-[0-3]\d"
                       r"(?:[T ][0-2]\d:[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?)?")


def parse_dates(values: np.ndarray, fmt: str | None) -> np.ndarray:
    """The validator's date texts as the pipeline parses them (the contract's `to_datetime`,
    then DatetimeExpander's time-zone normalisation): naive datetime64, NaT for missing.
    `CompiledPath` does it once per call, for every member of an ensemble. Request-sized calls
    of plain ISO texts are parsed by numpy; anything else (time zones, other layouts, a date
    numpy refuses) goes through pandas."""
    if len(values) <= SMALL and fmt in (None, "ISO8601") and \
            all(v is None or (isinstance(v, str) and PLAIN_ISO.fullmatch(v)) for v in values):
        try:
            return np.array(["NaT" if v is None else v for v in values], dtype="datetime64[us]")
        except ValueError:  # e.g. 2023-02-30, which pandas turns into NaT
            pass
    import pandas as pd

    from fullcycle.data.schema import to_datetime
    from fullcycle.features.preprocess import DatetimeExpander

    return DatetimeExpander._parse(to_datetime(pd.Series(values, dtype=object), fmt)).to_numpy()


def calendar_parts(stamps: np.ndarray, origin: Any) -> list[np.ndarray]:
    """year, month, day of week (Monday 0), hour, month/weekday sin-cos (and days since
    `origin` unless it is False) of datetime64 values, NaN where NaT, computed as
    DatetimeExpander does."""
    missing = np.isnat(stamps)
    days = stamps.astype("datetime64[D]")
    year = stamps.astype("datetime64[Y]").astype(np.int64) + 1970.0
    month = stamps.astype("datetime64[M]").astype(np.int64) % 12 + 1.0
    dow = (days.astype(np.int64) + 3) % 7 + 0.0  # 1970-01-01 was a Thursday
    with np.errstate(invalid="ignore"):  # NaT rows: masked just below
        hour = ((stamps - days) // np.timedelta64(1, "h")) + 0.0
    year, month, dow, hour = (np.where(missing, np.nan, a) for a in (year, month, dow, hour))
    out = [year, month, dow, hour, np.sin(2 * np.pi * month / 12),
           np.cos(2 * np.pi * month / 12), np.sin(2 * np.pi * dow / 7),
           np.cos(2 * np.pi * dow / 7)]
    if origin is not False:
        if origin is None:
            out.append(np.full(len(stamps), np.nan))
        else:
            out.append((stamps - origin.to_datetime64()) / np.timedelta64(1, "D"))
    return out


def _branch(name: str, trans: Any, cols: list[str], index: list[int], inputs: Inputs
            ) -> tuple[Branch, Columns]:
    from sklearn.pipeline import Pipeline

    from fullcycle.features.encode import CategoryEncoder
    from fullcycle.features.text import TextVectorizer

    kinds = {inputs.roles[i] for i in index}
    if isinstance(trans, CategoryEncoder) and kinds == {"categorical"}:
        fn, block = compile_category_encoder(trans)
        return Branch(index, False, fn), block
    if isinstance(trans, TextVectorizer) and kinds == {"text"}:
        fn, block = compile_text(trans)
        return Branch(index, False, fn), block
    if isinstance(trans, Pipeline) and kinds <= {"numeric", "boolean"}:
        fn, block = compile_matrix_steps([s for _, s in trans.steps], Columns.numeric(cols))
        return Branch(index, True, fn), block
    if isinstance(trans, Pipeline) and kinds == {"datetime"}:
        fn, block = compile_datetime([s for _, s in trans.steps], [str(c) for c in cols])
        return Branch(index, False, fn), block
    raise Unsupported(f"branch {name!r}: {type(trans).__name__} over {sorted(kinds)}")


def compile_columns(ct: Any, inputs: Inputs
                    ) -> tuple[Callable[[list[np.ndarray]], np.ndarray], Columns]:
    """A fitted ColumnTransformer over canonical columns -> one float matrix."""
    if getattr(ct, "sparse_output_", False):
        raise Unsupported("sparse column transformer output")
    position = {n: i for i, n in enumerate(inputs.names)}
    branches: list[Branch] = []
    out = Columns([], [])
    for name, trans, cols in ct.transformers_:
        if isinstance(trans, str) and trans == "drop" or not len(cols):
            continue
        if isinstance(trans, str):
            raise Unsupported(f"column transformer branch {name!r} is {trans!r}")
        branch, block = _branch(name, trans, list(cols), [position[c] for c in cols], inputs)
        branches.append(branch)
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


def compile_preprocess(pre: Any, inputs: Inputs
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
    if coercer.schema_ is None or [c.name for c in coercer.schema_.features] != inputs.names:
        raise Unsupported("the pipeline's contract differs from the served one")
    columns, cols = compile_columns(steps[1], inputs)
    rest, cols = compile_matrix_steps(steps[2:], cols)
    return (lambda values: rest(columns(values))), cols
