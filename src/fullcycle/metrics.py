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


def _register(name: str, greater: bool, needs: str, tasks: tuple[str, ...]):
    def wrap(func: Callable[..., float]) -> Callable[..., float]:
        METRICS[name] = Metric(name, func, greater, needs, tasks)
        return func

    return wrap


CLS = ("binary", "multiclass")
REG = ("regression",)


@_register("accuracy", True, "label", CLS)
def _accuracy(y, p, labels):
    return skm.accuracy_score(y, p)


@_register("balanced_accuracy", True, "label", CLS)
def _balanced_accuracy(y, p, labels):
    return skm.balanced_accuracy_score(y, p)


@_register("precision", True, "label", CLS)
def _precision(y, p, labels):
    return skm.precision_score(y, p, average=_avg(labels), pos_label=_pos(labels), zero_division=0)


@_register("recall", True, "label", CLS)
def _recall(y, p, labels):
    return skm.recall_score(y, p, average=_avg(labels), pos_label=_pos(labels), zero_division=0)


@_register("f1", True, "label", CLS)
def _f1(y, p, labels):
    return skm.f1_score(y, p, average=_avg(labels), pos_label=_pos(labels), zero_division=0)


def _averaged(kind: str, average: str) -> Callable[..., float]:
    func = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[kind]

    def score(y, p, labels):
        return func(y, p, average=average, labels=labels, zero_division=0)

    return score


for _kind in ("precision", "recall", "f1"):
    for _average in ("macro", "weighted"):
        _register(f"{_kind}_{_average}", True, "label", CLS)(_averaged(_kind, _average))


@_register("mcc", True, "label", CLS)
def _mcc(y, p, labels):
    return skm.matthews_corrcoef(y, p)


@_register("roc_auc", True, "proba", CLS)
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


@_register("pr_auc", True, "proba", CLS)
def _pr_auc(y, proba, labels):
    if proba.ndim == 1 or proba.shape[1] == 2:
        return skm.average_precision_score(y == labels[-1], _positive(proba))
    onehot = (np.asarray(y)[:, None] == np.asarray(labels)[None, :]).astype(int)
    return skm.average_precision_score(onehot, proba, average="macro")


@_register("log_loss", False, "proba", CLS)
def _log_loss(y, proba, labels):
    return skm.log_loss(y, proba, labels=labels)


@_register("brier", False, "proba", CLS)
def _brier(y, proba, labels):
    if proba.ndim == 1 or proba.shape[1] == 2:
        return skm.brier_score_loss(y == labels[-1], _positive(proba))
    onehot = (np.asarray(y)[:, None] == np.asarray(labels)[None, :]).astype(float)
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


@_register("mae", False, "value", REG)
def _mae(y, p, labels):
    return skm.mean_absolute_error(y, p)


@_register("mse", False, "value", REG)
def _mse(y, p, labels):
    return skm.mean_squared_error(y, p)


@_register("rmse", False, "value", REG)
def _rmse(y, p, labels):
    return skm.root_mean_squared_error(y, p)


@_register("r2", True, "value", REG)
def _r2(y, p, labels):
    return skm.r2_score(y, p)


@_register("mape", False, "value", REG)
def _mape(y, p, labels):
    if np.any(np.asarray(y) == 0):
        return float("nan")  # undefined when a true value is zero
    return skm.mean_absolute_percentage_error(y, p)


@_register("median_ae", False, "value", REG)
def _median_ae(y, p, labels):
    return skm.median_absolute_error(y, p)


def _avg(labels: np.ndarray | None) -> str:
    return "binary" if labels is not None and len(labels) == 2 else "macro"


def _pos(labels: np.ndarray | None):
    return labels[-1] if labels is not None and len(labels) == 2 else 1


def _positive(proba: np.ndarray) -> np.ndarray:
    return proba if proba.ndim == 1 else proba[:, -1]


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
