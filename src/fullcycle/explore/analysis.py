"""The EDA computation: raw frame in, one JSON-able analysis out (the HTML is rendered from it).

Every statistic is computed on all rows except where a sample is stated: per-class box plots and
single-feature AUCs use `PLOT_SAMPLE` rows, correlation matrices and mutual information use
`RELATION_SAMPLE` rows, and column roles are inferred on `SCHEMA_SAMPLE` rows."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.config import ProblemConfig
from fullcycle.data.schema import Schema, infer_schema, to_boolean
from fullcycle.errors import DataError, ProblemError, did_you_mean
from fullcycle.explore import relations as rel
from fullcycle.explore import warnings as warn
from fullcycle.explore.columns import THREADS, TypedColumn, data_version, type_column
from fullcycle.explore.profile import numeric_profile_sorted
from fullcycle.explore.stats import column_stats
from fullcycle.explore.target import TargetInfo, make_target, relation, target_summary
from fullcycle.problem import define_problem

SCHEMA_SAMPLE = 50_000
PLOT_SAMPLE = 200_000
RELATION_SAMPLE = 250_000
Progress = Callable[[str, int, int], None]  # (what is being done, steps done, steps in all)


@dataclass
class Analysis:
    source: str
    rows: int
    schema: Schema
    fingerprint: str
    memory: int
    columns: dict[str, TypedColumn]
    stats: dict[str, dict[str, Any]]
    relations: dict[str, dict[str, Any]]
    target: TargetInfo | None
    target_summary: dict[str, Any] | None
    ranking: list[dict[str, Any]]
    matrices: dict[str, Any]
    near_duplicates: list[dict[str, Any]]
    duplicates: dict[str, Any]
    trends: dict[str, Any] | None
    findings: list[warn.Finding]
    samples: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)
    target_error: str | None = None
    cleaning: list[str] = field(default_factory=list)  # steps applied before the analysis
    extra: list[Any] = field(default_factory=list)  # the task kind's sections (ReportSection)

    @property
    def profile(self) -> dict[str, Any]:
        """The monitoring reference profile of the feature columns (same format as
        `fullcycle.explore.profile.profile_frame`)."""
        names = {c.name for c in self.schema.features}
        return {"rows": self.rows, "columns": {n: s["profile"] for n, s in self.stats.items()
                                               if n in names}}


class _Steps:
    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0
        self.timings: dict[str, float] = {}
        self._start = time.perf_counter()

    def __call__(self, what: str, phase: str | None = None) -> None:
        self.done += 1
        if phase:
            now = time.perf_counter()
            self.timings[phase] = self.timings.get(phase, 0.0) + now - self._start
            self._start = now
        if self.progress:
            self.progress(what, min(self.done, self.total), self.total)


def analyse(frame: pd.DataFrame, target: str | None = None, *, source: str = "<frame>",
            roles: dict[str, str] | None = None, problem: ProblemConfig | None = None,
            seed: int = 0, progress: Progress | None = None,
            version: str | None = None) -> Analysis:
    """Compute everything the EDA report shows. `version`: the frame's fingerprint when the
    caller already has it (a loaded Dataset), which saves hashing every cell again."""
    frame = frame.copy(deep=False)
    frame.columns = [str(c) for c in frame.columns]
    if target is not None and target not in frame.columns:
        raise DataError(f"target column {target!r} is not in {source}."
                        + did_you_mean(target, frame.columns))
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DataError(f"{source}: no data to explore (the table has no rows or no columns)")
    n = len(frame)
    steps = _Steps(progress, 2 * frame.shape[1] + 8)
    rng = np.random.default_rng(seed)
    schema_rows = frame if n <= SCHEMA_SAMPLE else frame.iloc[np.sort(rng.choice(n, SCHEMA_SAMPLE,
                                                                                 replace=False))]
    schema = infer_schema(schema_rows, target=target, overrides=roles)
    steps("column roles", "schema")
    version = version or data_version(frame)
    memory = int(frame.memory_usage(deep=True, index=False).sum())
    steps("fingerprint", "fingerprint")
    problem_def, target_error = _problem(frame, target, problem)
    columns, stats = _type_and_describe(frame, schema, problem_def, steps)
    plot_rows = _sample(rng, n, PLOT_SAMPLE)
    rel_rows = _sample(rng, n, RELATION_SAMPLE)
    info = make_target(frame[target], problem_def) if problem_def is not None else None
    features = [columns[c.name] for c in schema.features]
    relations = _relations(features, stats, info, plot_rows, steps)
    ranking = (rel.rank_mutual_information([c for c in features if c.role != "text"], stats,
                                           info, rel_rows) if info is not None else [])
    steps("mutual information", "mutual information")
    matrix_cols = features + ([columns[target]] if target and info is not None else [])
    matrices = rel.correlations(matrix_cols, rel_rows, ranking)
    near = [p for p in rel.near_duplicates(matrices) if target not in (p["a"], p["b"])]
    steps("correlations", "correlations")
    plain = [c for c in columns.values() if c.role not in ("identifier", "target")]
    duplicates = rel.duplicates(list(columns.values()), plain, info)
    steps("duplicates", "duplicates")
    trends = _trends(features, info)
    na_absent = warn.na_means_absent({c.name: c for c in features}, info, plot_rows)
    steps("trends and missing patterns", "trends")
    facts = warn.Facts(n, columns, stats, relations, ranking, info, duplicates, near, trends,
                       na_absent, target_error)
    findings = warn.collect(facts)
    steps("warnings", "warnings")
    return Analysis(source, n, schema, version, memory, columns, stats, relations, info,
                    target_summary(info) if info is not None else None, ranking, matrices, near,
                    duplicates, trends, findings,
                    {"rows": n, "plot": len(plot_rows), "relation": len(rel_rows),
                     "schema": len(schema_rows)}, steps.timings, target_error)


def _problem(frame: pd.DataFrame, target: str | None, config: ProblemConfig | None) -> tuple:
    if target is None:
        return None, None

    try:
        return define_problem(frame[target], target, config), None
    except KeyError:  # a kind without a tabular problem (forecast): its EDA sections say more
        return None, None
    except ProblemError as exc:
        return None, f"target {target!r} cannot be modelled as it is: {exc}"


def _type_and_describe(frame: pd.DataFrame, schema: Schema, problem: Any,
                       steps: _Steps) -> tuple[dict[str, TypedColumn], dict[str, dict[str, Any]]]:
    """Type and describe every column, two columns at a time (the heavy parts release the GIL)."""
    numeric_target = problem is not None and not problem.labels

    def one(spec: Any) -> tuple[TypedColumn, dict[str, Any]]:
        role = spec.role
        if role == "target":
            role = "numeric" if numeric_target else "categorical"
        col = type_column(frame[spec.name], role)
        col.role = spec.role if spec.role == "target" else col.role
        stats = column_stats(col)
        if col.role == "boolean":
            stats["profile"] = _boolean_profile(col)
        stats["stored_as_text"] = spec.note == "numbers stored as text"
        stats["note"] = spec.note
        return col, stats

    columns: dict[str, TypedColumn] = {}
    stats: dict[str, dict[str, Any]] = {}
    with ThreadPoolExecutor(THREADS) as pool:
        for spec, (col, described) in zip(schema.columns, pool.map(one, schema.columns),
                                          strict=True):
            columns[spec.name], stats[spec.name] = col, described
            steps(f"typing {spec.name}", "columns: typing and statistics")
            steps(f"described {spec.name}")
    return columns, stats


def _boolean_profile(col: TypedColumn) -> dict[str, Any]:
    """Booleans are profiled as 0/1 numbers, as `profile_frame` (the model's reference) does."""
    assert col.codes is not None and col.labels is not None
    per_label = np.append(to_boolean(pd.Series(col.labels, dtype=object)).to_numpy(), np.nan)
    values = per_label[col.codes]  # code -1 picks the appended NaN
    return numeric_profile_sorted(len(values), np.sort(values[~np.isnan(values)]))


def _sample(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size, replace=False))


def _relations(features: list[TypedColumn], stats: dict[str, dict[str, Any]],
               info: TargetInfo | None, rows: np.ndarray, steps: _Steps) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if info is None:
        steps("relations to the target", "target relations")
        return out
    for col in features:
        if col.role != "text":
            out[col.name] = relation(col, stats[col.name], info, rows)
    steps("relations to the target", "target relations")
    return out


def _trends(features: list[TypedColumn], info: TargetInfo | None) -> dict[str, Any] | None:
    dates = [c for c in features if c.kind == "datetime"]
    if not dates:
        return None
    when = max(dates, key=lambda c: int((~c.missing).sum()))
    return rel.time_trends(when, features, info)
