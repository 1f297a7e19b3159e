"""The model's outputs on labelled rows (`Prepared`) and the refits on training rows that the
report's sections need: cross-validation of the full metric suite and the learning curve."""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.config import Config
from fullcycle.data.schema import normalise_missing
from fullcycle.errors import DataError
from fullcycle.metrics import score_all
from fullcycle.model import Model
from fullcycle.problem import Problem
from fullcycle.tasks.tabular.search.search import make_folds


@dataclass
class Prepared:
    """Encoded labels and the model's outputs on the evaluation rows."""

    X: pd.DataFrame
    y: np.ndarray
    scores: np.ndarray
    pred: np.ndarray  # encoded class indices, or values for regression


def prepare(model: Model, frame: pd.DataFrame) -> Prepared:
    problem = model.problem
    if problem.target not in frame.columns:
        raise DataError(f"the evaluation data has no target column {problem.target!r}; evaluation "
                        "needs labelled rows")
    frame = frame.loc[normalise_missing(frame[problem.target]).notna()].reset_index(drop=True)
    if len(frame) < 2:
        raise DataError("fewer than 2 labelled rows to evaluate on")
    inputs = [c.name for c in model.schema.features]
    X = frame.reindex(columns=inputs)
    y = problem.encode_target(frame[problem.target])
    scores = model.predict_scores(X)
    return Prepared(X=X, y=y, scores=scores, pred=encoded_predictions(model, scores))


def encoded_predictions(model: Model, scores: np.ndarray) -> np.ndarray:
    """What `Model.predict` decides (its tuned threshold included), as class indices."""
    if not model.problem.is_classification:
        return scores
    threshold = model.card.threshold
    if threshold is not None and scores.shape[1] == 2:
        return (scores[:, 1] >= threshold).astype(int)
    return scores.argmax(axis=1)


def _labels(problem: Problem) -> np.ndarray | None:
    return np.arange(len(problem.labels)) if problem.is_classification else None


# --- refits on the training rows: CV of the full suite and the learning curve -----------------
def refit(pipeline: Any, X: pd.DataFrame, y: np.ndarray) -> Any:
    """A fresh copy of the model's pipeline trained on (X, y). A weighted ensemble refits each
    member and keeps its weights (and its fitted stacker/calibrator)."""
    from sklearn.base import clone

    members = getattr(pipeline, "members", None)
    if members:
        twin = copy.copy(pipeline)
        twin.members = [clone(m).fit(X, y) for m in members]
        return twin
    return clone(pipeline).fit(X, y)


def _scores_of(pipeline: Any, X: pd.DataFrame, problem: Problem) -> np.ndarray:
    if problem.is_classification:
        return np.asarray(pipeline.predict_proba(X), dtype="float64")
    return np.asarray(pipeline.predict(X), dtype="float64")


def cross_validate(model: Model, X: pd.DataFrame, y: np.ndarray, config: Config,
                   ) -> dict[str, Any]:
    """Mean ± std over folds of every metric, refitting the final model's pipeline per fold."""
    problem = model.problem
    k = config.split.cv_folds
    if problem.is_classification:
        k = max(2, min(k, int(np.bincount(y).min())))
    folds = make_folds(problem, y, k, config.seed)
    per_fold: list[dict[str, float]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train_idx, valid_idx in folds:
            fitted = refit(model.pipeline, X.iloc[train_idx], y[train_idx])
            scores = _scores_of(fitted, X.iloc[valid_idx], problem)
            pred = encoded_predictions(model, scores)
            per_fold.append(score_all(problem.task, y[valid_idx], pred, scores if
                                      problem.is_classification else None, _labels(problem)))
    table = pd.DataFrame(per_fold)
    return {"folds": len(folds), "metrics": {m: {"mean": float(table[m].mean()),
                                                 "std": float(table[m].std(ddof=0))}
                                             for m in table.columns}}


def learning_curve(model: Model, X: pd.DataFrame, y: np.ndarray, data: Prepared, seed: int,
                   ) -> list[dict[str, float]]:
    """Primary metric on training rows and on the evaluation rows, for models refitted on
    growing shares of the training rows (the last point is the model itself)."""
    problem = model.problem
    metric = problem.scorer
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    points = []
    for share in (0.25, 0.5, 1.0):
        rows = np.sort(order[: max(int(len(y) * share), 10)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fitted = model.pipeline if share == 1.0 else refit(model.pipeline, X.iloc[rows],
                                                                   y[rows])
                train_s = _scores_of(fitted, X.iloc[rows], problem)
                test_s = _scores_of(fitted, data.X, problem)
                points.append({"rows": int(len(rows)), "share": share,
                               "train": _primary(metric, problem, y[rows], train_s, model),
                               "test": _primary(metric, problem, data.y, test_s, model)})
            except ValueError:
                continue  # e.g. a class absent from a small share
    return points


def _primary(metric: Any, problem: Problem, y: np.ndarray, scores: np.ndarray,
             model: Model) -> float:
    arg = encoded_predictions(model, scores) if metric.needs == "label" else scores
    return float(metric(y, arg, _labels(problem)))


def training_rows(model: Model, frame: pd.DataFrame | None,
                  ) -> tuple[pd.DataFrame, np.ndarray] | None:
    if frame is None:
        return None
    frame = frame.loc[frame[model.problem.target].notna()].reset_index(drop=True)
    inputs = [c.name for c in model.schema.features]
    return frame.reindex(columns=inputs), model.problem.encode_target(frame[model.problem.target])
