"""Improvement on out-of-fold predictions: greedy ensemble selection (Caruana et al., 2004),
an optional linear stacker, and the picklable estimator that serves the result.

Both are chosen on the candidates' out-of-fold predictions, so they cost no extra model fits
during selection; the chosen members are then refit once on all training rows (or, short of
time, bagged: their fold models averaged, see bagging.py)."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from sklearn.base import BaseEstimator

from fullcycle.features.compiling import (
    Block,
    Columns,
    Inputs,
    Scores,
    Unsupported,
    compile_estimator,
    compile_preprocess,
    compiles,
    pipeline_halves,
    skip_coercers,
)
from fullcycle.problem import Problem
from fullcycle.tasks.tabular.search.bagging import FoldBag, bag_size
from fullcycle.tasks.tabular.search.calibrate import (
    IsotonicCalibrator,
    SigmoidCalibrator,
    TemperatureCalibrator,
)
from fullcycle.tasks.tabular.search.search import score_predictions


def _score(problem: Problem, y: np.ndarray, pred: np.ndarray) -> float:
    """Greater-is-better score; the default metrics have vectorised forms (the greedy loop
    scores hundreds of blends), anything else goes through the metric registry."""
    if problem.metric == "log_loss" and pred.ndim == 2:
        p = np.clip(pred, 1e-15, None)
        p = p[np.arange(len(y)), y] / p.sum(axis=1)
        return float(np.mean(np.log(np.clip(p, 1e-15, 1.0))))
    if problem.metric == "rmse" and pred.ndim == 1:
        return -float(np.sqrt(np.mean((y - pred) ** 2)))
    if problem.metric == "roc_auc" and pred.ndim == 2 and pred.shape[1] == 2:
        from scipy.stats import rankdata

        ranks = rankdata(pred[:, 1])
        pos = y == 1
        n_pos, n_neg = int(pos.sum()), int((~pos).sum())
        if n_pos and n_neg:
            return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))

    return problem.scorer.sign() * score_predictions(problem, y, pred)


@dataclass
class Selection:
    """Members (indices into the pool) with their weights, and the OOF score (greater=better)."""

    members: list[int]
    weights: list[float]
    score: float


def caruana(oofs: list[np.ndarray], y: np.ndarray, problem: Problem, *, rounds: int = 40,
            costs: list[float] | None = None, max_cost: float | None = None) -> Selection:
    """Greedy forward selection with replacement. `oofs` are ranked best first; the result is
    the best blend seen along the way, so it is never worse than the best single member. With
    `max_cost`, a blend whose summed per-row prediction cost exceeds it is never considered."""
    costs = costs or [0.0] * len(oofs)
    counts = np.zeros(len(oofs), dtype=int)
    counts[0] = 1
    total = oofs[0].copy()
    best = Selection([0], [1.0], _score(problem, y, oofs[0]))
    for _ in range(rounds):
        chosen, chosen_score = -1, -np.inf
        used_cost = sum(c for c, n in zip(costs, counts, strict=True) if n)
        for j, oof in enumerate(oofs):
            if max_cost is not None and not counts[j] and used_cost + costs[j] > max_cost:
                continue
            score = _score(problem, y, (total + oof) / (counts.sum() + 1))
            if score > chosen_score + 1e-12:
                chosen, chosen_score = j, score
        if chosen < 0:
            break
        counts[chosen] += 1
        total += oofs[chosen]
        if chosen_score > best.score + 1e-9:
            members = [int(i) for i in np.flatnonzero(counts)]
            weights = [float(counts[i] / counts.sum()) for i in members]
            best = Selection(members, weights, chosen_score)
    return best


def blend(oofs: list[np.ndarray], selection: Selection) -> np.ndarray:
    return cast(np.ndarray, sum(w * oofs[i] for i, w in zip(selection.members,
                                                              selection.weights, strict=True)))


def stack_features(preds: list[np.ndarray], classification: bool) -> np.ndarray:
    """Stacker inputs: log-probabilities (classification) or raw values (regression)."""
    if not classification:
        return np.column_stack(preds)
    return np.column_stack([np.log(np.clip(p, 1e-6, 1.0)) for p in preds])


def make_stacker(classification: bool, seed: int) -> Any:
    from sklearn.linear_model import LinearRegression, LogisticRegression

    if classification:
        return LogisticRegression(C=1.0, max_iter=1000, random_state=seed)
    return LinearRegression(positive=True)  # non-negative weights: a blend, not a free fit


def stacking_oof(oofs: list[np.ndarray], y: np.ndarray, problem: Problem,
                 folds: list[tuple[np.ndarray, np.ndarray]], seed: int) -> np.ndarray:
    """Out-of-fold predictions of the stacker itself, on the same folds as the candidates."""
    from sklearn.base import clone

    features = stack_features(oofs, problem.is_classification)
    stacker = make_stacker(problem.is_classification, seed)
    shape = (len(y), len(problem.labels)) if problem.is_classification else (len(y),)
    out = np.zeros(shape)
    for train_idx, valid_idx in folds:
        fitted = clone(stacker).fit(features[train_idx], y[train_idx])
        out[valid_idx] = (full_proba(fitted, features[valid_idx], shape[-1])
                          if problem.is_classification else fitted.predict(features[valid_idx]))
    return out


def full_proba(estimator: Any, X: Any, n_classes: int) -> np.ndarray:
    """predict_proba with one column per class of the problem: a class the estimator never saw
    (a rare class missing from its training rows) gets probability 0."""
    proba = np.asarray(estimator.predict_proba(X), dtype="float64")
    if proba.shape[1] == n_classes:
        return proba
    out = np.zeros((proba.shape[0], n_classes))
    out[:, np.asarray(estimator.classes_, dtype=int)] = proba
    return out


class EnsembleModel(BaseEstimator):
    """Fitted pipelines combined by weights (Caruana) or by a fitted stacker, then optionally
    calibrated. Exposes predict/predict_proba like one pipeline, so Model needs no change."""

    def __init__(self, *, members: list[Any] | None = None, weights: list[float] | None = None,
                 names: list[str] | None = None, task: str = "binary", stacker: Any = None,
                 calibrator: Any = None) -> None:
        self.members = members
        self.weights = weights
        self.names = names
        self.task = task
        self.stacker = stacker
        self.calibrator = calibrator

    def fit(self, X: Any, y: Any = None) -> EnsembleModel:
        return self  # members are fitted by the trainer; this keeps the estimator contract

    def _member_outputs(self, X: Any) -> list[np.ndarray]:
        members: list[Any] = self.members or []
        if self.task == "regression":
            return [np.asarray(m.predict(X), dtype="float64").reshape(-1) for m in members]
        return [np.asarray(m.predict_proba(X), dtype="float64") for m in members]

    def _raw(self, X: Any) -> np.ndarray:
        outputs = self._member_outputs(X)
        if self.stacker is not None:
            features = stack_features(outputs, self.task != "regression")
            if self.task == "regression":
                return self.stacker.predict(features)
            return full_proba(self.stacker, features, outputs[0].shape[1])
        return cast(np.ndarray, sum(w * o for w, o in zip(self.weights or [], outputs,
                                                          strict=True)))

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.task == "regression":
            raise AttributeError("a regression ensemble has no predict_proba")
        proba = self._raw(X)
        return self.calibrator.transform(proba) if self.calibrator is not None else proba

    def predict(self, X: Any) -> np.ndarray:
        if self.task == "regression":
            return self._raw(X)
        return self.predict_proba(X).argmax(axis=1)

    def describe(self) -> list[dict[str, Any]]:
        """Members with their weights; a bagged member says how many fold models it averages."""
        names: list[str] = self.names or []
        weights = [None] * len(names) if self.stacker is not None else \
            [round(w, 4) for w in self.weights or []]
        return [{"model": n, "weight": w, **({"bagged": bag_size(m)}
                                              if isinstance(m, FoldBag) else {})}
                for n, w, m in zip(names, weights, self.members or [], strict=True)]


# --- compiled serving (fullcycle.features.compiling) -----------------------------------------
@compiles("model", EnsembleModel)
def _compile_ensemble(ens: Any, inputs: Inputs, classify: bool) -> tuple[Block, str]:
    """EnsembleModel._raw / predict_proba with every member compiled."""
    if (ens.task == "regression") == classify:
        raise Unsupported("ensemble task differs from the problem")
    pres, members, labels = _members(ens, inputs, classify)
    label = "ensemble of " + ", ".join(labels)
    stacker = None
    if ens.stacker is not None:
        width = Columns.numeric([f"s{i}" for i in range(getattr(ens.stacker, "n_features_in_",
                                                                   0))])
        stacker, _ = compile_estimator(ens.stacker, width, classify)
        label += " stacked"
    weights = list(ens.weights or [])
    calibrate = _calibrator(ens.calibrator) if ens.calibrator is not None and classify else None
    if calibrate is not None:
        label += f", {type(ens.calibrator).__name__}"

    def run(values: list[np.ndarray]) -> np.ndarray:
        matrices = [pre(values) for pre in pres]
        outputs = [np.mean([np.asarray(est(matrices[i] if i >= 0 else values), dtype="float64")
                            for i, est in parts], axis=0)  # a bag: its fold models' average
                   for parts in members]
        if not classify:
            outputs = [o.reshape(-1) for o in outputs]
        if stacker is not None:
            raw = stacker(stack_features(outputs, classify))
        else:
            raw = sum(w * o for w, o in zip(weights, outputs, strict=True))
        return calibrate(raw) if calibrate is not None else raw

    return run, label


Part = tuple[int, Callable[[Any], np.ndarray]]  # (preprocessing index or -1, estimator)


def _members(ens: Any, inputs: Inputs, classify: bool
             ) -> tuple[list[Block], list[list[Part]], list[str]]:
    """Distinct preprocessings and, per member, its (preprocessing index, estimator) parts: one
    for a refit pipeline, one per fold model for a bag (`FoldBag`, averaged). Members of one
    family kind were fitted with the same preprocessing on the same rows, so it is usually the
    same fitted object (equal pickles): computed once per call instead of once per member; the
    fold models of bags of one kind share their folds' preprocessings the same way.
    A member that does not compile (e.g. k nearest neighbours) runs as its own pipeline on a
    typed frame (index -1: it takes the canonical columns), so one member does not send the
    whole ensemble to the typed path."""
    seen: dict[bytes, int] = {}
    pres: list[Block] = []
    members: list[list[Part]] = []
    labels: list[str] = []
    layouts: list[Columns] = []
    for member in ens.members:
        pipes = list(member.members or []) if isinstance(member, FoldBag) else [member]
        parts: list[Part] = []
        for pipe in pipes:
            pre_step, est_step = pipeline_halves(pipe)
            key = pickle.dumps(pre_step)
            try:
                if key not in seen:
                    fn, cols = compile_preprocess(pre_step, inputs)
                    seen[key] = len(pres)
                    pres.append(fn)
                    layouts.append(cols)
                est, name = compile_estimator(est_step, layouts[seen[key]], classify)
            except Unsupported as exc:
                name = f"{_name(est_step)} (typed: {exc})"
                parts.append((-1, _typed_member(pipe, inputs, classify)))
            else:
                parts.append((seen[key], est))
        members.append(parts)
        labels.append(name if len(pipes) == 1 else f"{name} (bag of {len(pipes)})")
    if all(i < 0 for parts in members for i, _ in parts):
        raise Unsupported("no ensemble member compiles")
    return pres, members, labels


def _name(est: Any) -> str:
    return str(getattr(est, "family", type(est).__name__))


def _typed_member(pipe: Any, inputs: Inputs, classify: bool) -> Block:
    """The member's own pipeline, coercer skipped, on a typed frame of the canonical columns
    (what the typed path does for a whole model)."""
    import pandas as pd

    member = copy.deepcopy(pipe)
    if skip_coercers(member) == 0:
        raise Unsupported("member without a SchemaCoercer")

    def run(values: list[np.ndarray]) -> np.ndarray:
        data: dict[str, Any] = {}
        for name, role, v in zip(inputs.names, inputs.roles, values, strict=True):
            if role in ("numeric", "boolean", "datetime"):  # dates: parsed by parse_dates
                data[name] = v
            else:
                data[name] = np.array([np.nan if x is None else x for x in v], dtype=object)
        frame = pd.DataFrame(data, copy=False)
        return member.predict_proba(frame) if classify else member.predict(frame)

    return run


def _calibrator(cal: Any) -> Scores:
    if type(cal) not in (TemperatureCalibrator, SigmoidCalibrator, IsotonicCalibrator):
        raise Unsupported(f"calibrator {type(cal).__name__}")
    return cal.transform  # numpy in, numpy out: nothing to strip
