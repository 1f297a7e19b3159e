"""Problem definition of a supervised table: which task, which target, which metric, and what
counts as success.

The supervised task names are defined here once, as data (`TASKS`: what each task's target is);
the rest of the package asks a `Problem` for a trait (its classes, its positive class) and never
compares a task's name. `guess_task` is what the tabular kind's `detect` runs."""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.config import CRITERION, ProblemConfig
from fullcycle.data.schema import normalise_missing, to_numeric
from fullcycle.errors import ProblemError
from fullcycle.metrics import Metric, get_metric


@dataclass(frozen=True)
class TaskTraits:
    """What a supervised task's target is; stages ask these, not the task's name."""

    classes: bool  # a set of classes (else a number)
    two_classes: bool  # exactly two, the last one the positive class
    default_metric: str


# The supervised tasks as data: the one place their names are spelled outside tasks/tabular/.
BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"
TASKS = {BINARY: TaskTraits(classes=True, two_classes=True, default_metric="roc_auc"),
         MULTICLASS: TaskTraits(classes=True, two_classes=False, default_metric="log_loss"),
         REGRESSION: TaskTraits(classes=False, two_classes=False, default_metric="rmse")}
DEFAULT_METRIC = {name: traits.default_metric for name, traits in TASKS.items()}
# Another kind's task (a cluster or anomaly model's Problem view): no classes.
_OTHER = TaskTraits(classes=False, two_classes=False, default_metric="")
OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}
MAX_CLASSES = 1000  # above this a "class" column is almost surely an id or a quantity
MAX_CODED_CLASSES = 50  # integer targets with at most this many values may be class codes


@dataclass
class Problem:
    task: str
    target: str
    metric: str
    labels: list[str] = field(default_factory=list)  # classification: class names, positive last
    success: dict[str, str] = field(default_factory=dict)

    @property
    def traits(self) -> TaskTraits:
        return TASKS.get(self.task, _OTHER)

    @property
    def is_classification(self) -> bool:
        return self.traits.classes

    @property
    def positive_class(self) -> str | None:
        """The class a two-class task predicts the probability of (the last label); None for
        more classes or a number."""
        return self.labels[-1] if self.traits.two_classes and self.labels else None

    @property
    def scorer(self) -> Metric:
        return get_metric(self.metric, self.task)

    def encode_target(self, y: pd.Series) -> np.ndarray:
        """Target values -> what estimators see: class indices, or floats for regression."""
        if not self.traits.classes:
            values = to_numeric(y).to_numpy()
            if np.isnan(values).any():
                raise ProblemError(f"target {self.target!r} has non-numeric values for a "
                                   "regression task; clean them or set problem.task")
            return values
        text = _labels_as_text(y)
        index = {label: i for i, label in enumerate(self.labels)}
        codes = text.map(index)
        if codes.isna().any():  # a case variant of a known class ("yes" for "Yes")
            folded = _casefold_index(self.labels)
            codes = codes.fillna(text.str.casefold().map(folded))
        if codes.isna().any():
            unknown = sorted(set(text[codes.isna()].astype(str)))[:5]
            raise ProblemError(
                f"target {self.target!r} has classes not seen in training: {unknown}")
        return codes.to_numpy(dtype=np.int64)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return np.asarray(self.labels, dtype=object)[codes]

    def check_success(self, scores: dict[str, float]) -> dict[str, Any]:
        """Verdict on every success criterion; a metric that was not measured fails."""
        results = []
        for metric, rule in self.success.items():
            match = CRITERION.match(rule)
            assert match is not None  # validated by the config
            op, bound = match.group(1), float(match.group(2))
            value = scores.get(metric)
            ok = value is not None and not np.isnan(value) and OPS[op](value, bound)
            results.append({"metric": metric, "rule": rule, "value": value, "passed": bool(ok)})
        return {"passed": all(r["passed"] for r in results), "criteria": results}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Problem:
        return cls(**raw)


def class_counts(y: pd.Series) -> pd.Series:
    """Rows per class, labels stripped of spaces and case variants merged into the most
    frequent spelling ("Yes" x 500 and "yes" x 3 are one class; "A" and "a" used about
    equally often stay two)."""
    counts = _labels_as_text(y).dropna().value_counts()
    merged: dict[str, int] = {}
    for _, group in counts.groupby(counts.index.str.casefold(), sort=False):
        group = group.sort_values(ascending=False, kind="stable")
        if len(group) > 1 and group.iloc[1:].sum() < group.iloc[0]:
            merged[str(group.index[0])] = int(group.sum())
        else:
            merged.update({str(k): int(v) for k, v in group.items()})
    return pd.Series(merged, dtype="int64").sort_values(ascending=False, kind="stable")


def spelling_variants(y: pd.Series, labels: list[str]) -> dict[str, list[str]]:
    """Class -> the other spellings of it that `class_counts` merged (for a note)."""
    known = set(labels)
    seen = _labels_as_text(y).dropna().unique()
    folded = _casefold_index(labels)
    out: dict[str, list[str]] = {}
    for value in seen:
        if value not in known and value.casefold() in folded:
            out.setdefault(labels[folded[value.casefold()]], []).append(str(value))
    return out


def _casefold_index(labels: list[str]) -> dict[str, int]:
    """casefolded label -> class index, for labels whose casefolded form is unique."""
    folded = pd.Series([str(v).casefold() for v in labels])
    unique = ~folded.duplicated(keep=False)
    return {f: i for i, (f, u) in enumerate(zip(folded, unique, strict=True)) if u}


def _labels_as_text(y: pd.Series) -> pd.Series:
    clean = normalise_missing(y)
    if clean.dtype.kind == "f" and (clean.dropna() == np.round(clean.dropna())).all():
        clean = clean.astype("Int64")
    return clean.astype("string").str.strip()


@dataclass(frozen=True)
class TaskGuess:
    """The task detected from a target, with the evidence in words and, when the guess is
    uncertain, a hint on how to override it."""

    task: str
    evidence: str
    hint: str = ""

    def describe(self) -> str:
        return f"task {self.task} (detected: {self.evidence})" + (
            f". Hint: {self.hint}" if self.hint else "")


def guess_task(y: pd.Series) -> TaskGuess:
    """binary / multiclass / regression from the target's values, with the evidence."""
    values = normalise_missing(y).dropna()
    classes = class_counts(y)
    nunique = int(values.nunique())
    numeric = to_numeric(values)
    is_number = numeric.notna().mean() > 0.99
    if len(classes) == 2:
        shown = ", ".join(repr(v) for v in sorted(classes.index))
        return TaskGuess(BINARY, f"the target has 2 distinct values ({shown})")
    if not is_number:
        return TaskGuess(MULTICLASS, f"the target has {len(classes)} distinct non-numeric "
                         "values")
    whole = numeric.dropna()
    integral = bool((whole == np.round(whole)).all())
    if not integral:
        return TaskGuess(REGRESSION, f"the target has {nunique} distinct numbers, not all "
                         "whole")
    lo, hi = float(whole.min()), float(whole.max())
    span = f"{nunique} distinct whole numbers from {lo:g} to {hi:g}"
    if nunique <= 10 and lo >= 0:
        return TaskGuess(MULTICLASS, f"{span}: few enough to be classes", _as_regression)
    if _looks_like_codes(whole, nunique):
        counts = whole.value_counts()
        return TaskGuess(MULTICLASS, f"{span}, consecutive and evenly used ({counts.min()} "
                         f"to {counts.max()} rows each): they look like class codes",
                         _as_regression)
    hint = ""
    if nunique <= MAX_CODED_CLASSES * 2:
        hint = (f"the target holds only {nunique} whole numbers; if they are class codes, not "
                "quantities, pass --task multiclass (problem.task: multiclass)")
    return TaskGuess(REGRESSION, f"{span}", hint)


_as_regression = ("if the values are quantities, not classes, pass --task regression "
                  "(problem.task: regression)")


def _looks_like_codes(values: pd.Series, nunique: int) -> bool:
    """Consecutive integers from 0 or 1, every value used about equally often: class codes
    (letters coded 1..26), not counts (rings of an abalone, skewed towards the middle)."""
    if nunique > MAX_CODED_CLASSES or len(values) < 5 * nunique:
        return False
    lo, hi = values.min(), values.max()
    if lo not in (0, 1) or hi - lo + 1 != nunique:
        return False
    counts = values.value_counts()
    return bool(counts.min() >= 0.3 * len(values) / nunique)


def detect_task(y: pd.Series) -> str:
    """binary / multiclass / regression from the target's values."""
    return guess_task(y).task


def define_problem(y: pd.Series, target: str, config: ProblemConfig | None = None) -> Problem:
    """Build the Problem from the target column and the config's overrides."""
    config = config or ProblemConfig()
    task = detect_task(y) if config.task == "auto" else config.task
    traits = TASKS[task]  # KeyError: not a supervised task (explore skips its target analysis)
    labels: list[str] = []
    if traits.classes:
        counts = class_counts(y)
        if len(counts) < 2:
            only = counts.index[0] if len(counts) else "nothing"
            raise ProblemError(f"target {target!r} has one class only ({only!r}); a classifier "
                               "needs at least two. Check the target column or the data filter.")
        if len(counts) > MAX_CLASSES:
            raise ProblemError(f"target {target!r} has {len(counts)} classes (more than "
                               f"{MAX_CLASSES}); set problem.task: regression if it is a "
                               "quantity, or group rare classes together")
        if traits.two_classes and len(counts) != 2:
            raise ProblemError(f"problem.task is binary but target {target!r} has "
                               f"{len(counts)} classes; use multiclass")
        labels = _order_labels(list(counts.index), config.positive_class, target)
    elif to_numeric(y).dropna().nunique() < 2:
        raise ProblemError(f"target {target!r} is constant; nothing to predict")
    metric = config.metric or traits.default_metric
    get_metric(metric, task)  # fail early on an unknown or unfit metric
    for name in config.success:
        get_metric(name, task)
    return Problem(task=task, target=target, metric=metric, labels=labels,
                   success=dict(config.success))


POSITIVE_WORDS = ("1", "yes", "true", "y", "t", "positive", "pos", "bad", "fraud", "churn")


def _order_labels(labels: list[str], positive: str | None, target: str) -> list[str]:
    """Sorted labels with the positive class last (binary)."""
    ordered = sorted(labels, key=lambda v: (_num_or_inf(v), v))
    if len(ordered) != 2:
        return ordered
    if positive is not None:
        if positive not in ordered:
            raise ProblemError(f"problem.positive_class {positive!r} is not a class of {target!r}; "
                               f"classes: {ordered}")
    else:
        positive = next((v for v in ordered if v.lower() in POSITIVE_WORDS), ordered[-1])
    return [v for v in ordered if v != positive] + [positive]


def _num_or_inf(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("inf")


def target_notes(y: pd.Series, problem: Problem, config: ProblemConfig | None = None,
                 folds: int = 5) -> list[str]:
    """Lines for the training output: how the task was chosen (the guess and its evidence when
    detected), merged label spellings, and classes too rare for every CV fold to hold."""
    config = config or ProblemConfig()
    if config.task == "auto":
        lines = [guess_task(y).describe() + "."]
    else:
        lines = [f"task {problem.task} (set by problem.task)."]
    if not problem.traits.classes:
        return lines
    for label, variants in spelling_variants(y, problem.labels).items():
        lines.append(f"target values {', '.join(repr(v) for v in variants)} read as class "
                     f"{label!r} (same word, other case)")
    counts = class_counts(y)
    rare = [(str(k), int(v)) for k, v in counts.items() if v < folds]
    if rare:
        shown = ", ".join(f"{k!r} ({v} row{'s' if v > 1 else ''})" for k, v in rare[:5])
        more = f" and {len(rare) - 5} more" if len(rare) > 5 else ""
        lines.append(f"rare classes {shown}{more}: fewer rows than the {folds} CV folds; kept in "
                     "training, so some folds validate without them (scored on the full label "
                     "set). More rows of these classes would help.")
    return lines
