"""From search result to final estimator: choose members (Caruana ensemble, optional stacker,
within the prediction-cost cap), refit them on all training rows within the time left,
calibrate, tune the binary threshold, and diagnose — all on out-of-fold predictions."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline

from fullcycle.config import Config
from fullcycle.data.schema import Schema
from fullcycle.features.preprocess import SchemaCoercer
from fullcycle.tasks.tabular.search.bagging import FoldBag, bag_size
from fullcycle.tasks.tabular.search.calibrate import calibrate, tune_threshold
from fullcycle.tasks.tabular.search.catcodes import CAT_CODES
from fullcycle.tasks.tabular.search.diagnose import baseline_score, diagnose
from fullcycle.tasks.tabular.search.ensemble import (
    EnsembleModel,
    Selection,
    blend,
    caruana,
    make_stacker,
    stack_features,
    stacking_oof,
)
from fullcycle.tasks.tabular.search.families import OutOfTime, get_family
from fullcycle.tasks.tabular.search.search import (
    Candidate,
    SearchResult,
    make_pipeline,
    predict_scores,
    score_predictions,
)
from fullcycle.tasks.tabular.search.targetlog import TARGET_LOG

log = logging.getLogger(__name__)
POOL = 15  # candidates considered for the ensemble, best first
STACK_TOP = 5
# a refit expected to overrun the time left by up to this factor is still tried when its fold
# models can stand in: the estimate is high more often than not (a 26-class LightGBM refit was
# estimated at 7.0 s and took 2.8 s: its folds also ran the early-stopping patience and
# predicted every validation row each round)
TRY_REFIT = 2.0


@dataclass
class Final:
    pipeline: Any
    info: dict[str, Any]
    calibration: dict[str, Any] | None = None
    threshold: dict[str, Any] | None = None
    diagnosis: list[str] = field(default_factory=list)


def _refit_estimate(cand: Candidate, folds: int, preprocess_seconds: float = 0.0) -> float:
    """One fit on all training rows ~ one fold's fit on (k-1)/k of them, scaled up to all rows
    and by the rounds the refit runs (`Candidate.refit_share`), plus fitting the
    preprocessing."""
    folds = max(folds, 2)
    return cand.fit_seconds / (folds - 1) * cand.refit_share + preprocess_seconds * 1.25


def build_final(result: SearchResult, schema: Schema, config: Config, X: pd.DataFrame,
                y: np.ndarray, *, deadline: float | None) -> Final:
    problem, tc = result.problem, config.train
    mask = result.oof_mask if result.oof_mask is not None else np.ones(len(y), dtype=bool)
    ym = y[mask]
    pool, notes = _pool(result, tc.max_predict_ms_per_row)
    notes += _tie_note(result, pool[0]) + _twin_notes(result)
    oofs = [c.oof[mask] for c in pool]
    sign = problem.scorer.sign()
    selection = Selection([0], [1.0], sign * score_predictions(problem, ym, oofs[0]))
    if tc.ensemble and len(pool) > 1:
        selection = caruana(oofs, ym, problem, costs=[c.predict_ms_per_row for c in pool],
                            max_cost=tc.max_predict_ms_per_row)
    inner = list(KFold(5, shuffle=True, random_state=config.seed).split(ym))
    stack_oof = None
    if tc.stacking and len(pool) >= 2:
        top = min(STACK_TOP, len(pool))
        candidate_oof = stacking_oof(oofs[:top], ym, problem, inner, config.seed)
        stack_score = problem.scorer.sign() * score_predictions(problem, ym, candidate_oof)
        if stack_score > selection.score:
            selection, stack_oof = Selection(list(range(top)), [1.0 / top] * top, stack_score), \
                candidate_oof
    fitted, kept = _refit(result, pool, selection, schema, config, X, y, len(result.folds),
                          deadline,
                          problem.task)
    if len(kept) < len(selection.members):
        notes.append(f"{len(selection.members) - len(kept)} ensemble member(s) dropped: their "
                     "refit would not have finished within the time budget")
        stack_oof = None if len(kept) < 2 else stack_oof
        total = sum(selection.weights[selection.members.index(i)] for i in kept)
        selection = Selection(kept, [selection.weights[selection.members.index(i)] / total
                                     for i in kept], 0.0)
        selection.score = problem.scorer.sign() * score_predictions(problem, ym,
                                                                    blend(oofs, selection))
        single = problem.scorer.sign() * score_predictions(problem, ym, oofs[0])
        if selection.score < single - 1e-12 and 0 in kept:
            fitted, kept = [fitted[kept.index(0)]], [0]  # the partial blend lost to the best
            selection = Selection([0], [1.0], single)
    bags = [bag_size(m) if isinstance(m, FoldBag) else 0 for m in fitted]
    if any(bags):
        notes.append(_bag_note([pool[i].name for i, b in zip(kept, bags, strict=True) if b]))
    log.info("%d member(s) ready, %d of them bagged", len(fitted), sum(b > 0 for b in bags))
    stacker = None
    if stack_oof is not None:
        stacker = make_stacker(problem.is_classification, config.seed).fit(
            stack_features([oofs[i] for i in kept], problem.is_classification), ym)
        final_oof = stack_oof
    else:
        final_oof = blend(oofs, selection)
    calibrator, cal_record, threshold = None, None, None
    if problem.is_classification:
        calibrator, cal_record = calibrate(tc.calibration, final_oof, ym, inner)
        if calibrator is not None:
            final_oof = calibrator.transform(final_oof)
        if len(problem.labels) == 2:
            threshold = tune_threshold(tc.threshold, final_oof[:, 1], ym, tc.cost_matrix)
    names = [pool[i].name for i in kept]
    if len(fitted) == 1 and stacker is None and calibrator is None and not bags[0]:
        pipeline: Any = fitted[0]
    else:
        pipeline = EnsembleModel(members=fitted, weights=selection.weights, names=names,
                                 task=problem.task, stacker=stacker, calibrator=calibrator)
    info = _info(result, pool, selection, kept, final_oof, mask, stacker is not None, notes,
                 bags)
    log.info("calibrated and thresholds tuned")
    curve = _learning_curve(result, pool[0], schema, config, X, y, deadline)
    log.info("learning curve %s", "done" if curve else "skipped")
    lines = diagnose(problem, pool[0], baseline_score(problem, ym), curve)
    lines.append(_final_sentence(problem.metric, info, pool[0]))
    return Final(pipeline, info, cal_record, threshold, lines + notes)


def _bag_note(names: list[str]) -> str:
    return (f"{', '.join(names)}: bagged (the average of the cross-validation fold models, each "
            "fitted on the other folds' rows), as the refit on all rows would not have finished "
            "within the time budget")


# forms the search tries both ways: params key, what the pair is about, each form's name
TWINS = ((TARGET_LOG, "skewed target: boosting on log1p(target)", "log1p", "as is"),
         (CAT_CODES, "many-level categories: boosting with their codes next to their target "
          "encoding", "with codes", "encoding only"))


def _twin_notes(result: SearchResult) -> list[str]:
    """Say how each form tried both ways did: log1p of the target against the target as it
    is (targetlog.py), codes of many-level columns against their encoding only (catcodes.py)."""
    sign = result.problem.scorer.sign()
    boosted = sorted((c for c in result.candidates if get_family(c.family).boosting),
                     key=lambda c: -sign * c.score)
    notes = []
    for key, what, yes, no in TWINS:
        on = [c for c in boosted if c.params.get(key)]
        off = [c for c in boosted if not c.params.get(key)]
        if not on or not off:
            continue
        better = yes if sign * on[0].score > sign * off[0].score else no
        notes.append(f"{what} {on[0].name} {result.problem.metric} {on[0].score:.4g} vs {no} "
                     f"{off[0].name} {off[0].score:.4g}; {better} scored better")
    return notes


def _tie_note(result: SearchResult, lead: Candidate) -> list[str]:
    """Say so when the lead is not the best CV score: it was tied with it within CV noise."""
    sign = result.problem.scorer.sign()
    top = max(result.candidates, key=lambda c: sign * c.score)
    if top is lead:
        return []
    return [f"{lead.name} and {top.name} tied in cross-validation ({result.problem.metric} "
            f"{lead.score:.4g} vs {top.score:.4g}, inside the folds' noise): {lead.name} leads, "
            "as its family is less likely to go wrong on rows unlike the training rows"]


def _pool(result: SearchResult, cap: float | None) -> tuple[list[Candidate], list[str]]:
    ranked = result.ranked()
    if cap is None:
        return ranked[:POOL], []
    fast = [c for c in ranked if c.predict_ms_per_row <= cap]
    if fast:
        return fast[:POOL], []
    cheapest = min(ranked, key=lambda c: c.predict_ms_per_row)
    return [cheapest], [f"no candidate predicts within train.max_predict_ms_per_row={cap:g} ms; "
                        f"kept the fastest, {cheapest.name} "
                        f"({cheapest.predict_ms_per_row:.3f} ms/row)"]


def _refit(result: SearchResult, pool: list[Candidate], selection: Selection, schema: Schema,
           config: Config, X: pd.DataFrame, y: np.ndarray, folds: int,
           deadline: float | None, task: str) -> tuple[list[Any], list[int]]:
    """Fit the chosen members on all training rows, heaviest weight first. A member whose refit
    is not expected to finish before the deadline is bagged instead (its cross-validation fold
    models, averaged) when the search kept them, else dropped; the first one always comes out.
    A late refit within TRY_REFIT of the time left is tried first, stopped at the deadline."""
    # the best single model first: if time runs out, what is left is never worse than it
    order = sorted(selection.members,
                   key=lambda i: (i != 0, -selection.weights[selection.members.index(i)]))
    fitted: dict[int, Any] = {}
    coerced: dict[str, Any] = {} if result.coerced is None else {"rows": result.coerced}
    cap = config.train.max_predict_ms_per_row
    for i in order:
        cand = pool[i]
        spent = sum(pool[j].predict_ms_per_row * bag_size(m) for j, m in fitted.items())
        bag = None
        if cand.fold_models is not None and (cap is None or spent + len(
                cand.fold_models) * cand.predict_ms_per_row <= cap):
            bag = FoldBag(members=list(cand.fold_models), task=task, seed=config.seed)
        estimate = _refit_estimate(cand, folds, result.preprocess_seconds)
        left = float("inf") if deadline is None else deadline - time.perf_counter()
        late = estimate > left
        if late and bag is None and fitted:
            continue  # dropped: neither a refit nor a bag
        if late and bag is not None and estimate > TRY_REFIT * left:
            fitted[i] = bag
            continue
        t0 = time.perf_counter()
        try:  # a late refit with a bag to fall back on is stopped at the deadline
            fitted[i] = _refit_member(cand, result, schema, config, X, y, task, coerced,
                                      deadline if late and bag is not None else None)
        except OutOfTime:
            fitted[i] = bag
        log.info("refit %s: %s in %.1fs (estimate %.1fs)", cand.name,
                 "bagged" if fitted[i] is bag else "done", time.perf_counter() - t0, estimate)
    kept = [i for i in selection.members if i in fitted]
    return [fitted[i] for i in kept], kept


def _refit_member(cand: Candidate, result: SearchResult, schema: Schema, config: Config,
                  X: pd.DataFrame, y: np.ndarray, task: str, coerced: dict[str, Any],
                  deadline: float | None) -> Pipeline:
    """One candidate fitted on all training rows with its refit params (raises OutOfTime past
    `deadline`)."""
    pipe = make_pipeline(schema, get_family(cand.family), task, cand.refit_params, config.seed,
                         class_weight=config.train.class_weight, early_stopping=False,
                         features=config.features, n_classes=_n_classes(result))
    pipe[-1].set_params(deadline=deadline)
    if isinstance(pipe.steps[0][1], Pipeline) and \
            isinstance(pipe.steps[0][1].steps[0][1], SchemaCoercer):
        # the contract step is stateless: coerce the rows once for every member
        pre = pipe.steps[0][1]
        if "rows" not in coerced:
            coerced["rows"] = pre[:1].fit(X).transform(X)
        pre[:1].fit(X)
        pipe[-1].fit(pre[1:].fit_transform(coerced["rows"], y), y)
    else:
        pipe.fit(X, y)
    pipe[-1].set_params(deadline=None)  # the fitted member holds no clock
    return pipe


def _n_classes(result: SearchResult) -> int | None:
    problem = result.problem
    return len(problem.labels) if problem.is_classification else None


def _info(result: SearchResult, pool: list[Candidate], selection: Selection, kept: list[int],
          final_oof: np.ndarray, mask: np.ndarray, stacked: bool,
          notes: list[str], bags: list[int]) -> dict[str, Any]:
    """What the final model is; `bags[j]`: the fold models averaged by member j (0: refit)."""
    problem = result.problem
    y = result.y if result.y is not None else np.zeros(0)
    full = np.zeros((len(mask),) + final_oof.shape[1:])
    full[mask] = final_oof
    fold_scores = [score_predictions(problem, y[v], full[v]) for _, v in result.folds]
    kind = "stack" if stacked else ("ensemble" if len(kept) > 1 else "single")
    members = [{"model": pool[i].name, "family": pool[i].family,
                "weight": None if stacked else round(w, 4), **({"bagged": b} if b else {})}
               for i, w, b in zip(kept, selection.weights, bags, strict=True)]
    return {"kind": kind, "members": members,
            "cv_score": float(np.mean(fold_scores)), "cv_std": float(np.std(fold_scores)),
            "cv_fold_scores": [float(s) for s in fold_scores],
            "best_single": pool[0].name, "best_single_cv": pool[0].score,
            "predict_ms_per_row": float(sum(pool[i].predict_ms_per_row * max(b, 1)
                                            for i, b in zip(kept, bags, strict=True))),
            "notes": list(notes)}


def _learning_curve(result: SearchResult, best: Candidate, schema: Schema, config: Config,
                    X: pd.DataFrame, y: np.ndarray,
                    deadline: float | None) -> tuple[float, float] | None:
    """Score of the best configuration trained on half of fold 0's training rows vs all."""
    if not result.folds:
        return None
    estimate = _refit_estimate(best, 2 * len(result.folds), result.preprocess_seconds)
    if deadline is not None and time.perf_counter() + estimate > deadline:
        return None
    train_idx, valid_idx = result.folds[0]
    half = np.sort(np.random.default_rng(config.seed).permutation(train_idx)[: len(train_idx) // 2])
    problem = result.problem
    pipe = make_pipeline(schema, get_family(best.family), problem.task, best.params, config.seed,
                         class_weight=config.train.class_weight, features=config.features,
                         n_classes=_n_classes(result))
    try:
        pipe.fit(X.iloc[half], y[half])
        score = score_predictions(problem, y[valid_idx],
                                  predict_scores(pipe, X.iloc[valid_idx], problem))
    except ValueError:  # e.g. a class missing from the half sample
        return None
    return score, best.fold_scores[0]


def _final_sentence(metric: str, info: dict[str, Any], best: Candidate) -> str:
    if info["kind"] == "single":
        name = _member_label(info["members"][0])
        return f"Final model: {name} alone (cross-validated {metric} {info['cv_score']:.4f})."
    what = "stack" if info["kind"] == "stack" else "weighted ensemble"
    names = ", ".join(_member_label(m) for m in info["members"])
    return (f"Final model: {what} of {len(info['members'])} ({names}), cross-validated {metric} "
            f"{info['cv_score']:.4f} vs {best.score:.4f} for the best single model.")


def _member_label(member: dict[str, Any]) -> str:
    bagged = member.get("bagged")
    return member["model"] + (f" (bag of {bagged} fold models)" if bagged else "")
