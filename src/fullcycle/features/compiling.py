"""How fitted pipelines compile to numpy for serving: the machinery, not the steps.

Each transformer or estimator says how it compiles where it is defined, with `@compiles(...)`
next to its class (features/*.py, tasks/tabular/search/*.py); classes of other libraries
(scikit-learn scalers, LightGBM...) are registered by their import path in the module that uses
them. This module walks a fitted pipeline (SchemaCoercer -> ColumnTransformer -> matrix steps
-> estimator, or a whole-model compiler such as the ensemble's) and asks the registry for each
part. Anything it does not know raises `Unsupported`; the scoring layer then falls back to the
typed or general path, and checks every compiled path against `Model.predict_scores` on probe
rows before using it, so a compiled path can be wrong only by being off.

What flows between steps: a float64 matrix whose columns are described at compile time by
`Columns` (names, and for native categoricals the category levels: such a column holds the
level's code, exactly what LightGBM's pandas path turns a `category` column into). The first
steps read the canonical columns of the request validator (`Inputs`): float arrays for
numeric/boolean roles, object arrays otherwise, datetime64 for dates."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Matrix = Callable[[np.ndarray], np.ndarray]  # matrix -> matrix (a numeric step)
Block = Callable[[list[np.ndarray]], np.ndarray]  # canonical columns -> matrix
Scores = Callable[[np.ndarray], np.ndarray]  # matrix -> probabilities (n, k) or values (n,)
SMALL = 64  # up to this many rows: value-by-value lookups, numpy trees beat a library call
ONE_THREAD_ROWS = 4096  # request sizes use one thread: the server parallelises over requests


class Unsupported(Exception):
    """The pipeline has a part no compiler is registered for; use the typed or general path."""


@dataclass
class Inputs:
    """The canonical columns a compiled pipeline receives (the validator's order)."""

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


# --- the registry ------------------------------------------------------------------------------
# "matrix": (step, Columns) -> (Matrix, Columns)             numeric steps
# "columns": (step, roles, rest_steps) -> (Block, Columns)   a ColumnTransformer branch's head
# "coercer": (step, Inputs) -> None                          work the validator already did
# "estimator": (est, Columns, classify) -> (Scores, label)   the model half
# "model": (model, Inputs, classify) -> (Block -> scores, label)  a whole model (ensembles)
KINDS = ("matrix", "columns", "coercer", "estimator", "model")
_REGISTRY: dict[str, dict[str, Callable[..., Any]]] = {kind: {} for kind in KINDS}


def class_key(target: type | str) -> str:
    return target if isinstance(target, str) else f"{target.__module__}.{target.__qualname__}"


def compiles(kind: str, *targets: type | str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the compiler of `targets` (classes, or import paths
    "package.module.Class" for classes of other libraries, so nothing private is imported)."""
    if kind not in KINDS:
        raise ValueError(f"unknown compiler kind {kind!r}; one of {KINDS}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        for target in targets:
            _REGISTRY[kind][class_key(target)] = func
        return func

    return register


def compiler(kind: str, obj: Any) -> Callable[..., Any] | None:
    return _REGISTRY[kind].get(class_key(type(obj)))


# --- helpers the compilers share -----------------------------------------------------------------
def identity(x: np.ndarray) -> np.ndarray:
    return x


def check_width(step: Any, cols: Columns) -> None:
    n = getattr(step, "n_features_in_", None)
    if n is not None and int(n) != len(cols.names):
        raise Unsupported(f"{type(step).__name__} expects {n} columns, gets {len(cols.names)}")


def numeric_only(cols: Columns, what: str) -> None:
    if any(lv is not None for lv in cols.levels):
        raise Unsupported(f"{what} with native categorical columns")


def threads(n: int) -> int:
    return 1 if n <= ONE_THREAD_ROWS else os.cpu_count() or 1


def skip_coercers(obj: Any, depth: int = 0) -> int:
    """Replace every registered coercer step (in nested pipelines, ensemble members) by
    'passthrough'; returns how many were replaced (the typed path's copy of a pipeline)."""
    from sklearn.pipeline import Pipeline

    if depth > 8:
        return 0
    count = 0
    if isinstance(obj, Pipeline):
        for i, (name, step) in enumerate(obj.steps):
            if compiler("coercer", step) is not None:
                obj.steps[i] = (name, "passthrough")
                count += 1
            else:
                count += skip_coercers(step, depth + 1)
    members = getattr(obj, "members", None)
    if isinstance(members, list):
        count += sum(skip_coercers(m, depth + 1) for m in members)
    return count


# --- walking a pipeline --------------------------------------------------------------------------
def compile_matrix_steps(steps: list[Any], cols: Columns) -> tuple[Matrix, Columns]:
    fns: list[Matrix] = []
    for step in steps:
        if isinstance(step, str) and step == "passthrough":
            continue
        make = compiler("matrix", step)
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


@dataclass
class _Branch:
    index: list[int]  # canonical column positions
    numeric: bool
    fn: Callable[[Any], np.ndarray]


def _branch(name: str, trans: Any, cols: list[str], index: list[int], inputs: Inputs
            ) -> tuple[_Branch, Columns]:
    from sklearn.pipeline import Pipeline

    roles = {inputs.roles[i] for i in index}
    steps = [s for _, s in trans.steps] if isinstance(trans, Pipeline) else [trans]
    head = compiler("columns", steps[0])
    if head is not None:  # a step that reads canonical columns (categories, texts, dates)
        fn, block = head(steps[0], roles, [str(c) for c in cols], steps[1:])
        return _Branch(index, False, fn), block
    if isinstance(trans, Pipeline) and roles <= {"numeric", "boolean"}:
        fn, block = compile_matrix_steps(steps, Columns.numeric(cols))
        return _Branch(index, True, fn), block
    raise Unsupported(f"branch {name!r}: {type(trans).__name__} over {sorted(roles)}")


def compile_columns(ct: Any, inputs: Inputs) -> tuple[Block, Columns]:
    """A fitted ColumnTransformer over canonical columns -> one float matrix."""
    if getattr(ct, "sparse_output_", False):
        raise Unsupported("sparse column transformer output")
    position = {n: i for i, n in enumerate(inputs.names)}
    branches: list[_Branch] = []
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


def compile_preprocess(pre: Any, inputs: Inputs) -> tuple[Block, Columns]:
    """Coercer (its work is done by the validator) -> ColumnTransformer -> matrix steps."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    if not isinstance(pre, Pipeline):
        raise Unsupported(f"preprocessing is {type(pre).__name__}, not a Pipeline")
    steps = [s for _, s in pre.steps if not (isinstance(s, str) and s == "passthrough")]
    coerce = compiler("coercer", steps[0]) if steps else None
    if len(steps) < 2 or coerce is None or not isinstance(steps[1], ColumnTransformer):
        raise Unsupported("preprocessing does not start with a coercer + ColumnTransformer")
    coerce(steps[0], inputs)
    columns, cols = compile_columns(steps[1], inputs)
    rest, cols = compile_matrix_steps(steps[2:], cols)
    return (lambda values: rest(columns(values))), cols


def compile_estimator(est: Any, cols: Columns, classify: bool) -> tuple[Scores, str]:
    """(scores function, a short name for the label)."""
    make = compiler("estimator", est)
    if make is None:
        raise Unsupported(f"estimator {type(est).__name__}")
    fn, label = make(est, cols, classify)
    return fn, label


def pipeline_halves(pipe: Any) -> tuple[Any, Any]:
    from sklearn.pipeline import Pipeline

    if not isinstance(pipe, Pipeline) or len(pipe.steps) != 2:
        raise Unsupported(f"{type(pipe).__name__} is not Pipeline[preprocess, model]")
    return pipe.steps[0][1], pipe.steps[1][1]


def compile_member(pipe: Any, inputs: Inputs, classify: bool) -> tuple[Block, Scores, str]:
    """Pipeline[preprocess, model] -> (canonical columns -> the estimator's matrix,
    matrix -> scores, a name)."""
    pre_step, est_step = pipeline_halves(pipe)
    pre, cols = compile_preprocess(pre_step, inputs)
    est, name = compile_estimator(est_step, cols, classify)
    return pre, est, name


def compile_model(model: Any, inputs: Inputs, classify: bool
                  ) -> tuple[Block, str, Block | None]:
    """A whole fitted model -> (canonical columns -> scores, a label, canonical columns -> the
    estimator's matrix, or None when there is no single matrix, e.g. an ensemble)."""
    whole = compiler("model", model)
    if whole is not None:
        fn, label = whole(model, inputs, classify)
        return fn, label, None
    pre, est, label = compile_member(model, inputs, classify)
    return (lambda values: est(pre(values))), label, pre
