"""NumPy versions of the registry's metrics, for the bootstrap's hundreds of resamples, where
scikit-learn's per-call input validation would dominate. Each gives the same number as the
scikit-learn function the registry calls (tests check every one on the same predictions)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

FastMetric = Callable[[np.ndarray, np.ndarray, int], float]  # (y, pred-or-proba, k) -> value


def _cm(y: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y * k + p, minlength=k * k).reshape(k, k).astype("float64")


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a, dtype="float64"), where=b > 0)


def _prf(y: np.ndarray, p: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    cm = _cm(y, p, k)
    tp, pred_n, true_n = np.diag(cm), cm.sum(axis=0), cm.sum(axis=1)
    precision, recall = _div(tp, pred_n), _div(tp, true_n)
    f1 = _div(2 * precision * recall, precision + recall)
    return precision, recall, f1, true_n


def _pick(index: int, average: str) -> FastMetric:
    def metric(y: np.ndarray, p: np.ndarray, k: int) -> float:
        found = _prf(y, p, k)
        values, support = found[index], found[3]
        if average == "binary" and k == 2:
            return float(values[-1])
        if average == "weighted":
            return float(np.sum(values * support) / max(support.sum(), 1))
        return float(values.mean())

    return metric


def accuracy(y: np.ndarray, p: np.ndarray, k: int) -> float:
    return float(np.mean(y == p))


def balanced_accuracy(y: np.ndarray, p: np.ndarray, k: int) -> float:
    cm = _cm(y, p, k)
    present = cm.sum(axis=1) > 0
    return float(np.mean(np.diag(cm)[present] / cm.sum(axis=1)[present]))


def mcc(y: np.ndarray, p: np.ndarray, k: int) -> float:
    cm = _cm(y, p, k)
    t, pr = cm.sum(axis=1), cm.sum(axis=0)
    c, s = np.trace(cm), cm.sum()
    denom = np.sqrt((s * s - pr @ pr) * (s * s - t @ t))
    return float((c * s - t @ pr) / denom) if denom > 0 else 0.0


def _auc_binary(pos: np.ndarray, score: np.ndarray) -> float:
    n_pos = int(pos.sum())
    n_neg = len(pos) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _ap_binary(pos: np.ndarray, score: np.ndarray) -> float:
    order = np.argsort(-score, kind="mergesort")
    s, t = score[order], pos[order].astype("float64")
    ends = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last row of each distinct score
    tps = np.cumsum(t)[ends]
    fps = ends + 1 - tps
    if tps[-1] == 0:
        return float("nan")
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _per_class(func: Callable[[np.ndarray, np.ndarray], float]) -> FastMetric:
    def metric(y: np.ndarray, proba: np.ndarray, k: int) -> float:
        if proba.ndim == 1 or k == 2:
            return func(y == k - 1, proba if proba.ndim == 1 else proba[:, -1])
        return float(np.mean([func(y == c, proba[:, c]) for c in range(k)]))

    return metric


def log_loss(y: np.ndarray, proba: np.ndarray, k: int) -> float:
    eps = np.finfo(proba.dtype).eps
    p = np.clip(proba / proba.sum(axis=1, keepdims=True), eps, 1 - eps)
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def brier(y: np.ndarray, proba: np.ndarray, k: int) -> float:
    if k == 2:
        return float(np.mean((proba[:, -1] - (y == 1)) ** 2))
    onehot = np.eye(k)[y]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def _r2(y: np.ndarray, p: np.ndarray, k: int) -> float:
    ss_tot = np.sum((y - y.mean()) ** 2)
    ss_res = np.sum((y - p) ** 2)
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else 0.0
    return float(1 - ss_res / ss_tot)


def _mape(y: np.ndarray, p: np.ndarray, k: int) -> float:
    if np.any(y == 0):
        return float("nan")
    return float(np.mean(np.abs(y - p) / np.maximum(np.abs(y), np.finfo("float64").eps)))


FAST: dict[str, FastMetric] = {
    "accuracy": accuracy, "balanced_accuracy": balanced_accuracy, "mcc": mcc,
    "precision": _pick(0, "binary"), "recall": _pick(1, "binary"), "f1": _pick(2, "binary"),
    "precision_macro": _pick(0, "macro"), "recall_macro": _pick(1, "macro"),
    "f1_macro": _pick(2, "macro"), "precision_weighted": _pick(0, "weighted"),
    "recall_weighted": _pick(1, "weighted"), "f1_weighted": _pick(2, "weighted"),
    "roc_auc": _per_class(_auc_binary), "pr_auc": _per_class(_ap_binary),
    "log_loss": log_loss, "brier": brier,
    "mae": lambda y, p, k: float(np.mean(np.abs(y - p))),
    "mse": lambda y, p, k: float(np.mean((y - p) ** 2)),
    "rmse": lambda y, p, k: float(np.sqrt(np.mean((y - p) ** 2))),
    "r2": _r2, "mape": _mape,
    "median_ae": lambda y, p, k: float(np.median(np.abs(y - p))),
}
