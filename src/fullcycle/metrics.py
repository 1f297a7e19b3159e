"""Metrics, registered by key. Each knows its direction, what it needs (labels or
probabilities) and which tasks it applies to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from fullcycle.errors import ConfigError, did_you_mean


@dataclass(frozen=True)
class Metric:
    name: str
    func: Callable[..., float]
    greater_is_better: bool
    needs: str  # "label", "proba" or "value"
    tasks: tuple[str, ...]

    def __call__(self, y_true: np.ndarray, pred: np.ndarray,
                 labels: np.ndarray | None = None) -> float:
        return float(self.func(y_true, pred, labels))

    def better(self, a: float, b: float) -> bool:
        return a > b if self.greater_is_better else a < b

    def sign(self) -> float:
        """Multiply by this to get a score where greater is better."""
        return 1.0 if self.greater_is_better else -1.0


METRICS: dict[str, Metric] = {}


def _plain(func: Callable[..., float]) -> Callable[..., float]:
    """A scikit-learn score of (y_true, y_pred) alone."""

    def score(y, p, labels):
        return func(y, p)

    return score


def _positive_or_macro(func: Callable[..., float]) -> Callable[..., float]:
    """Precision, recall or F1: of the positive (last) class when there are two classes, the
    unweighted mean over classes otherwise."""

    def score(y, p, labels):
        if labels is not None and len(labels) == 2:
            positive = labels[-1]
            return func(np.asarray(y) == positive, np.asarray(p) == positive, zero_division=0)
        return func(y, p, average="macro", zero_division=0)

    return score


def _averaged(kind: str, average: str) -> Callable[..., float]:
    func = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[kind]

    def score(y, p, labels):
        return func(y, p, average=average, labels=labels, zero_division=0)

    return score


def _positive(proba: np.ndarray) -> np.ndarray:
    return proba if proba.ndim == 1 else proba[:, -1]


def _roc_auc(y, proba, labels):
    if proba.ndim == 1 or proba.shape[1] == 2:
        return skm.roc_auc_score(y == labels[-1], _positive(proba))
    present = np.unique(y)
    if labels is not None and len(present) < len(labels) and len(present) >= 2 \
            and np.isin(present, np.arange(proba.shape[1])).all():
        # a slice without some (rare) class: one-vs-rest over the classes it has
        cols = np.clip(proba[:, present.astype(int)], 1e-15, None)
        cols = cols / cols.sum(axis=1, keepdims=True)
        if len(present) == 2:
            return skm.roc_auc_score(y == present[1], cols[:, 1])
        return skm.roc_auc_score(y, cols, multi_class="ovr", labels=present)
    return skm.roc_auc_score(y, proba, multi_class="ovr", labels=labels)


def _pr_auc(y, proba, labels):
    if proba.ndim == 1 or proba.shape[1] == 2:
        return skm.average_precision_score(y == labels[-1], _positive(proba))
    onehot = (np.asarray(y)[:, None] == np.asarray(labels)[None, :]).astype(int)
    return skm.average_precision_score(onehot, proba, average="macro")


def _log_loss(y, proba, labels):
    # float32 probabilities (XGBoost's) sum to 1 only to float32 precision, which scikit-learn
    # warns about; the same rows summed in float64 are what it checks
    proba = np.asarray(proba, dtype="float64")
    if proba.ndim == 2:
        proba = proba / proba.sum(axis=1, keepdims=True)
    return skm.log_loss(y, proba, labels=labels)


def _brier(y, proba, labels):
    if proba.ndim == 1 or proba.shape[1] == 2:
        return skm.brier_score_loss(y == labels[-1], _positive(proba))
    onehot = (np.asarray(y)[:, None] == np.asarray(labels)[None, :]).astype(float)
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def _mape(y, p, labels):
    if np.any(np.asarray(y) == 0):
        return float("nan")  # undefined when a true value is zero
    return skm.mean_absolute_percentage_error(y, p)


# Which tasks a metric applies to: the registry's data (the supervised tables' tasks).
CLS = ("binary", "multiclass")
REG = ("regression",)

# The supervised metrics, in the order reports list them: (name, greater is better, needs,
# tasks, score(y_true, pred, labels)).
for _name, _greater, _needs, _tasks, _func in [
    ("accuracy", True, "label", CLS, _plain(skm.accuracy_score)),
    ("balanced_accuracy", True, "label", CLS, _plain(skm.balanced_accuracy_score)),
    ("precision", True, "label", CLS, _positive_or_macro(skm.precision_score)),
    ("recall", True, "label", CLS, _positive_or_macro(skm.recall_score)),
    ("f1", True, "label", CLS, _positive_or_macro(skm.f1_score)),
    *[(f"{kind}_{average}", True, "label", CLS, _averaged(kind, average))
      for kind in ("precision", "recall", "f1") for average in ("macro", "weighted")],
    ("mcc", True, "label", CLS, _plain(skm.matthews_corrcoef)),
    ("roc_auc", True, "proba", CLS, _roc_auc),
    ("pr_auc", True, "proba", CLS, _pr_auc),
    ("log_loss", False, "proba", CLS, _log_loss),
    ("brier", False, "proba", CLS, _brier),
    ("mae", False, "value", REG, _plain(skm.mean_absolute_error)),
    ("mse", False, "value", REG, _plain(skm.mean_squared_error)),
    ("rmse", False, "value", REG, _plain(skm.root_mean_squared_error)),
    ("r2", True, "value", REG, _plain(skm.r2_score)),
    ("mape", False, "value", REG, _mape),
    ("median_ae", False, "value", REG, _plain(skm.median_absolute_error)),
]:
    METRICS[_name] = Metric(_name, _func, _greater, _needs, _tasks)


def get_metric(name: str, task: str | None = None) -> Metric:
    metric = METRICS.get(name)
    if metric is None:
        raise ConfigError(f"unknown metric {name!r}." + did_you_mean(name, METRICS))
    if task is not None and task not in metric.tasks:
        valid = [m for m, v in METRICS.items() if task in v.tasks]
        raise ConfigError(f"metric {name!r} does not apply to a {task} task. "
                          f"Valid: {', '.join(valid)}.")
    return metric


def register_computed(directions: dict[str, bool], needs: str, tasks: tuple[str, ...],
                      message: str) -> None:
    """Register metrics a task kind computes itself (from whole tables, series scales or
    rankings), by name and direction (greater is better) for success criteria and
    champion/challenger; calling one raises ConfigError(message). A name already registered
    is kept."""
    def computed_by_kind(*_: object) -> float:
        raise ConfigError(message)

    for name, greater in directions.items():
        METRICS.setdefault(name, Metric(name, computed_by_kind, greater, needs, tasks))


def metric_suite(task: str) -> list[Metric]:
    return [m for m in METRICS.values() if task in m.tasks]


def score_all(task: str, y_true: np.ndarray, pred: np.ndarray, proba: np.ndarray | None,
              labels: np.ndarray | None) -> dict[str, float]:
    """Every metric of the task that the predictions allow."""
    out: dict[str, float] = {}
    for metric in metric_suite(task):
        arg = proba if metric.needs == "proba" else pred
        if arg is None:
            continue
        try:
            out[metric.name] = metric(y_true, arg, labels)
        except ValueError:
            out[metric.name] = float("nan")  # e.g. one class present in a small slice
    return out
