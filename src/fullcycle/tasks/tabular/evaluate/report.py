"""The evaluation of one model on labelled rows: every metric with its bootstrap interval, the
cross-validated figures, a baseline, the success verdict, curves, explanations, slices and the
model card. `evaluate_model` returns a JSON-ready dict and the charts; `render.py` makes the
page."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.config import Config
from fullcycle.evaluate import plots
from fullcycle.evaluate.bootstrap import bootstrap_ci
from fullcycle.metrics import get_metric, metric_suite, score_all
from fullcycle.model import Model
from fullcycle.problem import Problem
from fullcycle.tasks.tabular.evaluate import curves, sections
from fullcycle.tasks.tabular.evaluate.fast import FAST
from fullcycle.tasks.tabular.evaluate.prepared import (
    Prepared,
    _labels,
    prepare,
    training_rows,
)


@dataclass
class Evaluation:
    result: dict[str, Any]
    figures: dict[str, list[str]] = field(default_factory=dict)  # section -> SVG figures


def test_metrics(problem: Problem, data: Prepared, *, resamples: int, seed: int,
                 ) -> dict[str, dict[str, float]]:
    """Every metric of the task, computed by scikit-learn, with a stratified bootstrap 95%
    interval (resamples scored by the NumPy twins in `fast.py`)."""
    labels = _labels(problem)
    k = len(labels) if labels is not None else 0
    strata = data.y if problem.is_classification else None
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for metric in metric_suite(problem.task):
            arg = data.scores if metric.needs == "proba" else data.pred
            try:
                value = metric(data.y, arg, labels)
            except ValueError:
                continue  # not defined on these rows (e.g. one class only)
            fast = FAST.get(metric.name)

            def score(idx: np.ndarray, m: Any = metric, f: Any = fast, a: np.ndarray = arg,
                      ) -> float:
                return f(data.y[idx], a[idx], k) if f is not None else m(data.y[idx], a[idx],
                                                                         labels)

            interval = bootstrap_ci(score, len(data.y), resamples=resamples, seed=seed,
                                    strata=strata)
            out[metric.name] = {"value": float(value), "low": interval.low,
                                "high": interval.high}
    return out


def success_verdict(problem: Problem, config: Config, scores: dict[str, float]) -> dict[str, Any]:
    """The config's success criteria (the ones the model was trained under when the config
    names none) checked against the test figures."""
    import dataclasses

    criteria = dict(config.problem.success) or dict(problem.success)
    for name in criteria:
        get_metric(name, problem.task)  # an unknown or unfit metric is a config error
    return dataclasses.replace(problem, success=criteria).check_success(scores)


def baseline(problem: Problem, y_eval: np.ndarray, y_train: np.ndarray | None,
             ) -> dict[str, Any]:
    """The floor: always the majority class with the class shares as probabilities, or the
    mean for regression, learned from the training rows (the evaluation rows when absent)."""
    source = y_train if y_train is not None else y_eval
    n = len(y_eval)
    if problem.is_classification:
        prior = np.bincount(source, minlength=len(problem.labels)) / len(source)
        scores = np.tile(prior, (n, 1))
        pred = np.full(n, int(prior.argmax()))
        what = f"always {problem.labels[int(prior.argmax())]!r} with the class shares"
    else:
        scores = pred = np.full(n, float(np.mean(source)))
        what = f"always the mean {float(np.mean(source)):.4g}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = score_all(problem.task, y_eval, pred, scores if problem.is_classification
                           else None, _labels(problem))
    return {"predictor": what, "learned_on": "training rows" if y_train is not None
            else "evaluation rows", "metrics": values}


def per_class(problem: Problem, data: Prepared) -> list[dict[str, Any]]:
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(data.y, data.pred, labels=_labels(problem),
                                                 zero_division=0)
    return [{"class": str(c), "precision": float(p[i]), "recall": float(r[i]),
             "f1": float(f[i]), "support": int(s[i])} for i, c in enumerate(problem.labels)]


# --- the whole evaluation ---------------------------------------------------------------------
def evaluate_model(model: Model, frame: pd.DataFrame, *, config: Config,
                   train_frame: pd.DataFrame | None = None,
                   data_label: str = "held-out test rows") -> Evaluation:
    started = time.perf_counter()
    problem, ec = model.problem, config.evaluate
    data = prepare(model, frame)
    train = training_rows(model, train_frame)
    result: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "model": sections.model_summary(model),
        "problem": problem.to_dict(),
        "data": {"label": data_label, "rows": int(len(data.y)),
                 "training_rows_available": train is not None},
        "notes": [],
    }
    result["test"] = test_metrics(problem, data, resamples=ec.bootstrap, seed=config.seed)
    flat = {k: v["value"] for k, v in result["test"].items()}
    result["verdict"] = success_verdict(problem, config, flat)
    result["baseline"] = baseline(problem, data.y, train[1] if train else None)
    result["cv"] = sections.cv_section(model, train, config, result["notes"])
    figures: dict[str, list[str]] = {}
    if problem.is_classification:
        result["per_class"] = per_class(problem, data)
        conf = curves.confusion(problem, data.y, data.pred)
        found = curves.classification_curves(problem, data.y, data.scores)
        result["confusion"] = conf
        result["calibration"] = {"ece": found["calibration"]["ece"]}
        if "threshold" in found:
            result["threshold"] = {k: v for k, v in found["threshold"].items()
                                   if k in ("best_f1_threshold", "at_best", "at_half")}
            result["threshold"]["model_threshold"] = model.card.threshold
        figures["performance"] = curves.classification_plots(
            problem, conf, found, model.card.threshold)
    else:
        figures["performance"] = curves.regression_plots(problem, data.y, data.pred)
    sections.training_figures(model, data, train, config, result, figures)
    sections.explanations(model, data, config, result, figures)
    sections.error_analysis(model, data, config, result, figures)
    result["model_card"] = sections.model_card(model, frame, train_frame, config, result)
    result["seconds"] = round(time.perf_counter() - started, 2)
    return Evaluation(result=result, figures=figures)


def metric_direction(name: str) -> str:
    return "higher is better" if get_metric(name).greater_is_better else "lower is better"


__all__ = ["Evaluation", "evaluate_model", "plots"]
