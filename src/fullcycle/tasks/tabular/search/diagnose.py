"""Over/underfitting diagnosis in plain words, from what the search already measured: the gap
between the best candidate's training and cross-validated scores, how far it is above a
no-skill baseline, how much its score varies across folds, and a two-point learning curve."""

from __future__ import annotations

from typing import Any

import numpy as np

from fullcycle.problem import Problem
from fullcycle.tasks.tabular.search.search import score_predictions

# Metrics bounded like AUC/accuracy use an absolute gap; error metrics a relative one.
BOUNDED = {"roc_auc", "accuracy", "balanced_accuracy", "f1", "precision", "recall", "r2",
           "mcc", "average_precision", "pr_auc"}


def baseline_score(problem: Problem, y: np.ndarray) -> float:
    """The score of predicting the training prior (classification) or the mean (regression)."""
    if problem.is_classification:
        prior = np.bincount(y, minlength=len(problem.labels)) / len(y)
        pred = np.tile(prior, (len(y), 1))
    else:
        pred = np.full(len(y), float(np.mean(y)))
    try:
        return score_predictions(problem, y, pred)
    except ValueError:
        return float("nan")


def diagnose(problem: Problem, best: Any, baseline: float,
             curve: tuple[float, float] | None = None) -> list[str]:
    """Plain sentences about the best candidate. `curve` = (score on half the rows, on all)."""
    metric, sign = problem.metric, problem.scorer.sign()
    cv, train = best.score, best.train_score
    lines: list[str] = []
    bounded = metric in BOUNDED
    if train is not None:
        gap = sign * (train - cv)
        rel = gap / max(abs(cv), 1e-12)
        if (bounded and gap > 0.05) or (not bounded and rel > 0.5):
            lines.append(
                f"Overfitting: {best.name} scores {metric} {train:.4f} on its training rows but "
                f"{cv:.4f} cross-validated. Stronger regularisation, fewer features or more data "
                "would narrow the gap.")
        elif (bounded and gap < 0.01) or (not bounded and rel < 0.05):
            lines.append(
                f"No sign of overfitting: training {metric} {train:.4f} is close to the "
                f"cross-validated {cv:.4f}; a more flexible model or richer features may help.")
        else:
            lines.append(f"Moderate train/validation gap: {metric} {train:.4f} on training rows "
                         f"vs {cv:.4f} cross-validated, which is normal for this model family.")
    if np.isfinite(baseline):
        lift = sign * (cv - baseline)
        scale = max(abs(baseline), 1e-12)
        if (bounded and lift < 0.02) or (not bounded and lift / scale < 0.02):
            lines.append(f"Underfitting: the best model ({metric} {cv:.4f}) is barely better than "
                         f"a no-skill baseline ({baseline:.4f}). The features may not carry the "
                         "signal; check the target and add informative columns.")
    if best.std > 0 and abs(cv) > 0 and best.std / abs(cv) > 0.05:
        lines.append(f"Unstable across folds ({metric} std {best.std:.4f} on a mean of {cv:.4f}): "
                     "results depend on which rows are seen; more data would firm them up.")
    if curve is not None:
        half, full = curve
        gain = sign * (full - half)
        rel = gain / max(abs(full), 1e-12)
        if (bounded and gain > 0.01) or (not bounded and rel > 0.02):
            lines.append(f"Learning curve still rising: {metric} {half:.4f} with half the training "
                         f"rows, {full:.4f} with all of them; more data should help.")
        else:
            lines.append(f"Learning curve flat: {metric} {half:.4f} with half the training rows, "
                         f"{full:.4f} with all; more rows of the same kind will help little.")
    return lines
