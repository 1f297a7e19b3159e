"""Probability calibration fitted on out-of-fold predictions, and decision-threshold tuning.

Calibrators map probabilities to probabilities (picklable, no refit of any model). Temperature
scaling and Platt's sigmoid are monotone in the positive-class score, so they never change
ROC-AUC; isotonic regression can create ties and is only used when asked for."""

from __future__ import annotations

from typing import Any

import numpy as np

from fullcycle.errors import ConfigError

EPS = 1e-6


def _log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    p = np.clip(proba[np.arange(len(y)), y], 1e-15, 1.0)
    return float(-np.mean(np.log(p)))


class TemperatureCalibrator:
    """p -> softmax(log p / T): one parameter, fitted by minimising log loss."""

    def fit(self, proba: np.ndarray, y: np.ndarray) -> TemperatureCalibrator:
        from scipy.optimize import minimize_scalar

        logp = np.log(np.clip(proba, EPS, 1.0))
        result = minimize_scalar(lambda t: _log_loss(y, _softmax(logp / np.exp(t))),
                                 bounds=(-3.0, 3.0), method="bounded")
        self.temperature_ = float(np.exp(result.x))
        return self

    def transform(self, proba: np.ndarray) -> np.ndarray:
        return _softmax(np.log(np.clip(proba, EPS, 1.0)) / self.temperature_)


class SigmoidCalibrator:
    """Platt scaling of the positive-class logit (binary)."""

    def fit(self, proba: np.ndarray, y: np.ndarray) -> SigmoidCalibrator:
        from sklearn.linear_model import LogisticRegression

        self.model_ = LogisticRegression(C=1e4).fit(_logit(proba[:, 1]).reshape(-1, 1), y)
        return self

    def transform(self, proba: np.ndarray) -> np.ndarray:
        p1 = self.model_.predict_proba(_logit(proba[:, 1]).reshape(-1, 1))[:, 1]
        return np.column_stack([1 - p1, p1])


class IsotonicCalibrator:
    """Isotonic regression of the positive-class probability (binary)."""

    def fit(self, proba: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression

        self.model_ = IsotonicRegression(y_min=EPS, y_max=1 - EPS, out_of_bounds="clip")
        self.model_.fit(proba[:, 1], y)
        return self

    def transform(self, proba: np.ndarray) -> np.ndarray:
        p1 = self.model_.predict(proba[:, 1])
        return np.column_stack([1 - p1, p1])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def calibrate(method: str, proba: np.ndarray, y: np.ndarray,
              folds: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Any, dict[str, Any]]:
    """The calibrator to use (or None) and a record of the decision. `auto` tries temperature
    scaling and keeps it only if it lowers log loss on held-out folds of the OOF predictions."""
    binary = proba.shape[1] == 2
    if method == "none":
        return None, {"method": "none"}
    if method in ("sigmoid", "isotonic") and not binary:
        raise ConfigError(f"train.calibration {method!r} is for binary tasks; use temperature "
                          "or auto for multiclass")
    kinds = {"temperature": TemperatureCalibrator, "sigmoid": SigmoidCalibrator,
             "isotonic": IsotonicCalibrator, "auto": TemperatureCalibrator}
    make: Any = kinds[method]
    before = _log_loss(y, np.clip(proba, 1e-15, 1))
    held_out = np.zeros_like(proba)
    for train_idx, valid_idx in folds:
        held_out[valid_idx] = make().fit(proba[train_idx], y[train_idx]).transform(proba[valid_idx])
    after = _log_loss(y, held_out)
    record = {"method": method if method != "auto" else "temperature",
              "oof_log_loss_before": round(before, 6), "oof_log_loss_after": round(after, 6)}
    if method == "auto" and after > before * 0.998:
        return None, {"method": "none", "reason": "temperature scaling did not lower log loss",
                      **{k: v for k, v in record.items() if k != "method"}}
    return make().fit(proba, y), record


def tune_threshold(mode: str, p1: np.ndarray, y: np.ndarray,
                   cost_matrix: list[list[float]] | None) -> dict[str, Any] | None:
    """Binary decision threshold on OOF positive-class probabilities: the one that maximises F1,
    or that minimises the total cost given [[TN, FP], [FN, TP]] costs."""
    if mode == "auto":
        mode = "cost" if cost_matrix else "none"
    if mode == "none":
        return None
    grid = np.unique(np.quantile(p1, np.linspace(0.005, 0.995, 199)))
    if mode == "f1":
        values = [_f1(y, p1 >= t) for t in grid]
        i = int(np.argmax(values))
        return {"threshold": float(grid[i]), "objective": "f1", "oof_f1": round(values[i], 6),
                "oof_f1_at_0.5": round(_f1(y, p1 >= 0.5), 6)}
    cost = np.asarray(cost_matrix or [], dtype=float)
    if cost.shape != (2, 2):
        raise ConfigError("train.threshold is cost but train.cost_matrix is not a 2x2 list "
                          "[[TN, FP], [FN, TP]]; set it, e.g. [[0, 1], [5, 0]]")
    totals = [_cost(cost, y, p1 >= t) for t in grid]
    i = int(np.argmin(totals))
    return {"threshold": float(grid[i]), "objective": "cost", "oof_cost_per_row":
            round(totals[i] / len(y), 6),
            "oof_cost_per_row_at_0.5": round(_cost(cost, y, p1 >= 0.5) / len(y), 6)}


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = float(np.sum(pred & (y == 1)))
    denom = float(np.sum(pred) + np.sum(y == 1))
    return 2 * tp / denom if denom else 0.0


def _cost(cost: np.ndarray, y: np.ndarray, pred: np.ndarray) -> float:
    pred = pred.astype(int)
    return float(sum(cost[t, p] * np.sum((y == t) & (pred == p)) for t in (0, 1) for p in (0, 1)))
