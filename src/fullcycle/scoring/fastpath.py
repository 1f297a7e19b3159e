"""The lean prediction path: canonical rows -> numeric matrix -> estimator, without pandas.

Where the time went (Telco churn, one row, `Model.predict_scores` on a list of one record):
~90 % in `SchemaCoercer` (pandas string ops per column on a one-row frame) and the
`ColumnTransformer` (a DataFrame, a joblib dispatch and sklearn validation per block); the
estimator itself is a small share. The validator already produces typed values (see
`validation.py`), so the coercion is done; this module "compiles" the fitted ColumnTransformer
into numpy operations read from the fitted attributes:

- numeric block: `SimpleImputer` (statistics_, missing indicator) then `StandardScaler`;
- categorical block: `SimpleImputer(constant)` then `OneHotEncoder`, as a lookup table built by
  asking the fitted encoder itself to encode every known category and one unseen value, so
  infrequent and unknown handling is the encoder's own;
- the estimator: LightGBM's booster directly for 1-row calls (skipping the wrapper's validation),
  otherwise the estimator's own `predict_proba` / `predict` on the matrix.

Pipelines trained by fullcycle itself (AutoImputer, CategoryEncoder, FeatureSelector, families,
ensembles) are compiled by `compiled.py` instead. A pipeline with any
other step compiles to nothing, and `compile_checked` compares each path with
`Model.predict_scores` on probe rows built from the contract; any difference disables it.
So the fast path is an optimisation that can be wrong only by being off."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

import fullcycle.features  # noqa: F401 - registers the coercer TypedPath skips
from fullcycle.data.schema import to_datetime
from fullcycle.errors import ConfigError
from fullcycle.features.compiling import Unsupported, skip_coercers
from fullcycle.features.preprocess import SchemaCoercer
from fullcycle.model import Model
from fullcycle.scoring.compiled import CompiledPath
from fullcycle.scoring.validation import columns_of, rows_to_columns

UNSEEN = "\x00fullcycle-unseen\x00"


class PredictionPath(Protocol):
    """What `Served` calls: FastPath, compiled.CompiledPath or TypedPath."""

    def scores(self, rows: list[list[Any]]) -> np.ndarray: ...

    def scores_columns(self, columns: list[np.ndarray]) -> np.ndarray: ...


@dataclass
class NumericBlock:
    index: list[int]  # positions in the canonical row
    fill: np.ndarray | None
    indicator: np.ndarray | None  # columns (within the block) whose missing flag is an output
    mean: np.ndarray | None
    scale: np.ndarray | None

    def transform(self, rows: list[list[Any]]) -> np.ndarray:
        return self.finish(np.array([[r[i] for i in self.index] for r in rows], dtype="float64"))

    def transform_columns(self, columns: list[np.ndarray]) -> np.ndarray:
        return self.finish(np.column_stack([columns[i] for i in self.index]).astype("float64"))

    def finish(self, x: np.ndarray) -> np.ndarray:
        if self.fill is not None:
            mask = np.isnan(x)
            x = np.where(mask, self.fill, x)
            if self.indicator is not None:
                x = np.hstack([x, mask[:, self.indicator].astype("float64")])
        if self.mean is not None:
            x -= self.mean
        if self.scale is not None:
            x /= self.scale
        return x


@dataclass
class CategoricalBlock:
    index: list[int]
    fill: Any  # what the imputer puts for missing
    tables: list[dict[Any, np.ndarray]]  # per column: value -> its one-hot slice
    unseen: list[np.ndarray]

    def transform(self, rows: list[list[Any]]) -> np.ndarray:
        out = []
        for j, i in enumerate(self.index):
            table, unseen, fill = self.tables[j], self.unseen[j], self.fill
            out.append(np.vstack([table.get(fill if r[i] is None else r[i], unseen) for r in rows]))
        return np.hstack(out)

    def transform_columns(self, columns: list[np.ndarray]) -> np.ndarray:
        """Vectorised: factorize each column, encode its few distinct values, gather."""
        import pandas as pd

        out = []
        for j, i in enumerate(self.index):
            codes, uniques = pd.factorize(columns[i], use_na_sentinel=True)
            table, unseen = self.tables[j], self.unseen[j]
            lookup = np.vstack([table.get(u, unseen) for u in uniques] +
                               [table.get(self.fill, unseen)])  # last row: missing (code -1)
            out.append(lookup[codes])
        return np.hstack(out)


def _numeric_block(steps: list[Any], index: list[int]) -> NumericBlock:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler

    block = NumericBlock(index=index, fill=None, indicator=None, mean=None, scale=None)
    for position, step in enumerate(steps):
        if isinstance(step, SimpleImputer) and position == 0:
            if not (isinstance(step.missing_values, float) and np.isnan(step.missing_values)):
                raise Unsupported("imputer with a non-NaN missing marker")
            if len(step.statistics_) != len(index):
                raise Unsupported("imputer dropped columns")
            block.fill = np.asarray(step.statistics_, dtype="float64")
            if step.indicator_ is not None:
                block.indicator = np.asarray(step.indicator_.features_, dtype=int)
        elif isinstance(step, StandardScaler) and position == len(steps) - 1:
            block.mean = None if step.mean_ is None or not step.with_mean else step.mean_
            block.scale = None if step.scale_ is None or not step.with_std else step.scale_
        else:
            raise Unsupported(f"numeric step {type(step).__name__}")
    return block


def _categorical_block(steps: list[Any], index: list[int]) -> CategoricalBlock:
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    if len(steps) != 2 or not isinstance(steps[0], SimpleImputer) or \
            not isinstance(steps[1], OneHotEncoder) or steps[0].strategy != "constant":
        raise Unsupported("categorical block is not imputer(constant) + one-hot")
    imputer, encoder = steps
    if encoder.handle_unknown == "error" or encoder.drop is not None:
        raise Unsupported("one-hot encoder that errors on or drops categories")
    cats = [list(c) for c in encoder.categories_]
    depth = max(len(c) for c in cats) + 1
    grid = np.empty((depth, len(cats)), dtype=object)
    for j, values in enumerate(cats):
        column = values + [values[0]] * (depth - len(values))
        column[-1] = UNSEEN
        grid[:, j] = column
    encoded = np.asarray(encoder.transform(grid), dtype="float64")
    widths = list(encoder._n_features_outs)
    tables, unseen, start = [], [], 0
    for j, values in enumerate(cats):
        part = encoded[:, start:start + widths[j]]
        tables.append({v: part[k:k + 1].copy() for k, v in enumerate(values)})
        unseen.append(part[-1:].copy())
        start += widths[j]
    if start != encoded.shape[1]:
        raise Unsupported("one-hot widths do not add up")
    return CategoricalBlock(index=index, fill=imputer.fill_value, tables=tables, unseen=unseen)


class FastPath:
    """Compiled preprocessing + estimator of one Model."""

    def __init__(self, model: Model, names: list[str]) -> None:
        from sklearn.pipeline import Pipeline


        pipe = model.pipeline
        if not isinstance(pipe, Pipeline) or len(pipe.steps) != 2:
            raise Unsupported("pipeline is not preprocess + estimator")
        pre, self.estimator = pipe.steps[0][1], pipe.steps[1][1]
        if not isinstance(pre, Pipeline) or [type(s).__name__ for _, s in pre.steps] != \
                ["SchemaCoercer", "ColumnTransformer"] or not isinstance(pre.steps[0][1],
                                                                        SchemaCoercer):
            raise Unsupported("preprocessing is not coerce + column transformer")
        position = {n: i for i, n in enumerate(names)}
        self.blocks: list[NumericBlock | CategoricalBlock] = []
        for name, trans, cols in pre.steps[1][1].transformers_:
            if trans == "drop" or not len(cols):
                continue
            steps = [s for _, s in trans.steps] if isinstance(trans, Pipeline) else [trans]
            index = [position[c] for c in cols]
            kinds = {model.schema[c].role for c in cols}
            if kinds <= {"numeric", "boolean"}:
                self.blocks.append(_numeric_block(steps, index))
            elif kinds <= {"categorical"}:
                self.blocks.append(_categorical_block(steps, index))
            else:
                raise Unsupported(f"block {name!r} with roles {sorted(kinds)}")
        self.classify = bool(model.card.classes)
        self.booster = self._lightgbm_booster()

    def _lightgbm_booster(self) -> Any:
        est = self.estimator
        if type(est).__name__ not in ("LGBMClassifier", "LGBMRegressor"):
            return None
        if self.classify and getattr(est, "n_classes_", 0) != 2:
            return None
        return est.booster_

    def matrix(self, rows: list[list[Any]]) -> np.ndarray:
        return np.hstack([b.transform(rows) for b in self.blocks])

    def scores(self, rows: list[list[Any]]) -> np.ndarray:
        return self.estimate(self.matrix(rows), len(rows))

    def scores_columns(self, columns: list[np.ndarray]) -> np.ndarray:
        """Canonical columns (one array per feature, contract order) -> scores."""
        x = np.hstack([b.transform_columns(columns) for b in self.blocks])
        return self.estimate(x, len(x))

    def estimate(self, x: np.ndarray, n: int) -> np.ndarray:
        if self.booster is not None:
            # LightGBM's own predict without the wrapper's validation: one thread for request
            # sizes (the server parallelises over requests), all cores for batch chunks.
            raw = self.booster.predict(x, num_threads=1 if n <= 4096 else os.cpu_count() or 1)
            return np.column_stack([1.0 - raw, raw]) if self.classify else np.asarray(raw)
        if self.classify:
            return np.asarray(self.estimator.predict_proba(x), dtype="float64")
        return np.asarray(self.estimator.predict(x), dtype="float64")


class TypedPath:
    """Any pipeline that starts with the contract's SchemaCoercer: the validator already typed
    the values, so a copy of the pipeline skips the coercer (the pandas string work that
    dominates one-row latency) and gets a typed frame instead."""

    def __init__(self, model: Model, validator: Any) -> None:
        import copy

        self.pipeline = copy.deepcopy(model.pipeline)
        if skip_coercers(self.pipeline) == 0:
            raise Unsupported("no SchemaCoercer step to skip")
        self.names = list(validator.names)
        self.roles = [c.spec.role for c in validator.columns]
        self.formats = [getattr(c.spec, "format", None) for c in validator.columns]
        self.classify = bool(model.card.classes)

    def frame(self, columns: list[np.ndarray]) -> pd.DataFrame:
        data: dict[str, Any] = {}

        for name, role, fmt, values in zip(self.names, self.roles, self.formats, columns,
                                           strict=True):
            if role in ("numeric", "boolean"):
                data[name] = np.asarray(values, dtype="float64")
            elif role == "datetime":
                data[name] = to_datetime(pd.Series(values, dtype=object), fmt)
            else:
                data[name] = np.array([np.nan if v is None else v for v in values], dtype=object)
        return pd.DataFrame(data, copy=False)

    def scores_columns(self, columns: list[np.ndarray]) -> np.ndarray:
        x = self.frame(columns)
        if self.classify:
            return np.asarray(self.pipeline.predict_proba(x), dtype="float64")
        return np.asarray(self.pipeline.predict(x), dtype="float64")

    def scores(self, rows: list[list[Any]]) -> np.ndarray:
        return self.scores_columns(columns_of(self.roles, rows))


def general_scores(model: Model, names: list[str], rows: list[list[Any]]) -> np.ndarray:
    """The reference path: canonical rows as a DataFrame through `Model.predict_scores`."""
    frame = pd.DataFrame.from_records(rows, columns=names)
    return model.predict_scores(frame)


def probe_rows(model: Model) -> list[dict[str, Any]]:
    """Records that exercise every branch: the example, then each column missing, at its
    extremes and beyond them, each known category and an unseen one; then rows where every
    column varies at once (seeded), so a step that mixes up columns cannot pass."""
    base = dict(model.card.input_example or {})
    for spec in model.schema.features:
        base.setdefault(spec.name, None)
    probes = [dict(base), {**base, **{s.name: None for s in model.schema.features
                                       if s.missing_rate > 0}}]
    for spec in model.schema.features:
        values: list[Any] = [None]
        if spec.role == "numeric":
            values += [v for v in (spec.minimum, spec.maximum) if v is not None]
            if spec.minimum is not None and spec.maximum is not None:
                span = float(spec.maximum) - float(spec.minimum) or 1.0
                values += [float(spec.minimum) - span, (spec.minimum + spec.maximum) / 2,
                           float(spec.maximum) + span]  # clipping, outlier flags, logs
        elif spec.role == "boolean":
            values += [True, False]
        elif spec.role == "datetime":  # leap day, before 1970, late evening, far future
            values += ["2000-02-29T13:45:00", "1969-07-20 20:17:40", "2024-12-31 23:59:59",
                       "2099-01-04"]
        elif spec.role == "categorical":
            # every level a native-categorical model may split on (their codes must match the
            # pandas path), an unseen one, and one padded with spaces (encoders strip them)
            known = list(spec.categories or [])[:80]
            values += known + ["never-seen-category"] + [f" {known[0]} "] * bool(known)
        probes += [{**base, spec.name: v} for v in values]
    return probes + _mixed_rows(model, probes, 16)


def _mixed_rows(model: Model, probes: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Rows whose every column takes a value drawn from that column's own probe values."""
    rng = np.random.default_rng(0)
    choices: dict[str, list[Any]] = {s.name: [] for s in model.schema.features}
    for probe in probes[2:]:
        for name, value in probe.items():
            if name in choices and value is not None and value not in choices[name]:
                choices[name].append(value)
    rows = []
    for _ in range(count):
        row = {}
        for spec in model.schema.features:
            pool = choices[spec.name]
            missing = spec.missing_rate > 0 and rng.random() < 0.2
            row[spec.name] = None if missing or not pool else pool[rng.integers(len(pool))]
        rows.append(row)
    return rows


PATHS_ENV = "FULLCYCLE_SERVE_PATHS"
PATH_NAMES = {"FastPath": "reference", "CompiledPath": "compiled", "TypedPath": "typed"}


def allowed_paths() -> set[str]:
    """The paths `compile_checked` may pick: all, unless the FULLCYCLE_SERVE_PATHS environment
    variable lists some of reference, compiled, typed (comma-separated; empty = general path
    only). For operators who want a path off, and for benchmarks comparing paths."""
    value = os.environ.get(PATHS_ENV)
    if value is None:
        return set(PATH_NAMES.values())
    chosen = {v.strip() for v in value.split(",") if v.strip()}
    unknown = chosen - set(PATH_NAMES.values())
    if unknown:
        raise ConfigError(f"environment variable {PATHS_ENV}={value!r}: unknown path(s) "
                          f"{', '.join(sorted(unknown))}; use any of "
                          f"{', '.join(PATH_NAMES.values())}, comma-separated (empty: the plain "
                          "pipeline), or unset it")
    return chosen


def compile_checked(model: Model, validator: Any) -> tuple[PredictionPath | None, str]:
    """The fastest path that compiles and matches `Model.predict_scores` on probe rows: the
    compiled reference pipeline (`FastPath`), else the compiled fullcycle pipeline
    (`compiled.CompiledPath`), else the typed-frame path, else None (general path)."""
    rows = []
    for probe in probe_rows(model):
        problems: list[dict[str, Any]] = []
        rows.append(validator.record(probe, 0, problems, []))  # problem probes still count
    expected = general_scores(model, validator.names, rows)
    notes = []
    allowed = allowed_paths()
    for kind in (FastPath, CompiledPath, TypedPath):
        if PATH_NAMES[kind.__name__] not in allowed:
            notes.append(f"{kind.__name__}: off ({PATHS_ENV})")
            continue
        try:
            path = kind(model, validator.names) if kind is FastPath else kind(model, validator)
        except (Unsupported, AttributeError, KeyError, ValueError, TypeError) as exc:
            notes.append(f"{kind.__name__}: {exc}")
            continue
        if _agrees(path, rows, expected, validator):
            return path, f"{_label(path)}, verified on {len(rows)} probe rows" + (
                f" ({'; '.join(notes)})" if notes and kind is TypedPath else "")
        notes.append(f"{kind.__name__}: differed from Model.predict on probe rows")
    return None, "general path (" + "; ".join(notes) + ")"


def _label(path: Any) -> str:
    if isinstance(path, FastPath):
        return "compiled fast path (reference pipeline)"
    if isinstance(path, TypedPath):
        return "typed path (coercion skipped)"
    return f"compiled fast path (fullcycle pipeline: {path.describe})"


def _agrees(path: Any, rows: list[list[Any]], expected: np.ndarray, validator: Any) -> bool:
    try:
        got_batch = path.scores(rows)
        got_columns = path.scores_columns(rows_to_columns(validator, rows))
        singles = [path.scores([r]) for r in rows[:40]]
    except Exception:  # a path that cannot run is not used
        return False
    got_single = np.concatenate([np.atleast_1d(s) if s.ndim == 1 else s for s in singles])
    for got, want in ((got_batch, expected), (got_columns, expected),
                      (got_single, expected[:len(singles)])):
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-9, atol=1e-12):
            return False
    return True
