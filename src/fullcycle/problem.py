"""Problem definition: which task, which target, which metric, and what counts as success.

A task decides its metrics, its splitter and the shape of its predictions; other stages ask the
`Problem` rather than testing `if regression`."""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.config import CRITERION, ProblemConfig
from fullcycle.data.schema import normalise_missing, to_numeric
from fullcycle.errors import ProblemError
from fullcycle.evaluate.metrics import Metric, get_metric

DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}
MAX_CLASSES = 50


@dataclass
class Problem:
    task: str
    target: str
    metric: str
    labels: list[str] = field(default_factory=list)  # classification: class names, positive last
    success: dict[str, str] = field(default_factory=dict)

    @property
    def is_classification(self) -> bool:
        return self.task in ("binary", "multiclass")

    @property
    def scorer(self) -> Metric:
        return get_metric(self.metric, self.task)

    def encode_target(self, y: pd.Series) -> np.ndarray:
        """Target values -> what estimators see: class indices, or floats for regression."""
        if not self.is_classification:
            values = to_numeric(y).to_numpy()
            if np.isnan(values).any():
                raise ProblemError(f"target {self.target!r} has non-numeric values for a "
                                   "regression task; clean them or set problem.task")
            return values
        text = _labels_as_text(y)
        index = {label: i for i, label in enumerate(self.labels)}
        codes = text.map(index)
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


def _labels_as_text(y: pd.Series) -> pd.Series:
    clean = normalise_missing(y)
    if clean.dtype.kind == "f" and (clean.dropna() == np.round(clean.dropna())).all():
        clean = clean.astype("Int64")
    return clean.astype("string").str.strip()


def detect_task(y: pd.Series) -> str:
    """binary / multiclass / regression from the target's values."""
    values = normalise_missing(y).dropna()
    nunique = values.nunique()
    numeric = to_numeric(values)
    is_number = numeric.notna().mean() > 0.99
    if nunique == 2:
        return "binary"
    if not is_number:
        return "multiclass"
    integral = bool((numeric.dropna() == np.round(numeric.dropna())).all())
    if integral and nunique <= 10 and numeric.min() >= 0:
        return "multiclass"
    return "regression"


def define_problem(y: pd.Series, target: str, config: ProblemConfig | None = None) -> Problem:
    """Build the Problem from the target column and the config's overrides."""
    config = config or ProblemConfig()
    task = detect_task(y) if config.task == "auto" else config.task
    labels: list[str] = []
    if task in ("binary", "multiclass"):
        text = _labels_as_text(y).dropna()
        counts = text.value_counts()
        if len(counts) < 2:
            only = counts.index[0] if len(counts) else "nothing"
            raise ProblemError(f"target {target!r} has one class only ({only!r}); a classifier "
                               "needs at least two. Check the target column or the data filter.")
        if len(counts) > MAX_CLASSES:
            raise ProblemError(f"target {target!r} has {len(counts)} classes; set "
                               "problem.task: regression if it is a quantity")
        if task == "binary" and len(counts) != 2:
            raise ProblemError(f"problem.task is binary but target {target!r} has "
                               f"{len(counts)} classes; use multiclass")
        labels = _order_labels(list(counts.index), config.positive_class, target)
    elif task == "regression":
        if to_numeric(y).dropna().nunique() < 2:
            raise ProblemError(f"target {target!r} is constant; nothing to predict")
    metric = config.metric or DEFAULT_METRIC[task]
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
