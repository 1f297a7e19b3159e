"""Two model versions on the same labelled rows: every metric for both, and a paired bootstrap
interval on the difference of the primary metric, which says which one is better (or that the
data cannot tell them apart)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.errors import ModelError
from fullcycle.evaluate.bootstrap import paired_difference
from fullcycle.metrics import score_all
from fullcycle.model import Model
from fullcycle.tasks.tabular.evaluate.fast import FAST
from fullcycle.tasks.tabular.evaluate.report import prepare


def compare_models(a: Model, b: Model, frame: pd.DataFrame, *, names: tuple[str, str],
                   resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    if (a.problem.task, a.problem.target) != (b.problem.task, b.problem.target):
        raise ModelError(f"cannot compare {names[0]} ({a.problem.task} of {a.problem.target!r}) "
                         f"with {names[1]} ({b.problem.task} of {b.problem.target!r})")
    if a.problem.labels != b.problem.labels:
        raise ModelError(f"{names[0]} and {names[1]} have different classes "
                         f"({a.problem.labels} vs {b.problem.labels}); they cannot be compared")
    problem = a.problem
    da, db = prepare(a, frame), prepare(b, frame)
    labels = np.arange(len(problem.labels)) if problem.is_classification else None
    k = len(problem.labels)
    metric = problem.scorer
    fast = FAST.get(metric.name)
    args = [d.scores if metric.needs == "proba" else d.pred for d in (da, db)]

    def scorer(arg: np.ndarray) -> Any:
        def score(idx: np.ndarray) -> float:
            if fast is not None:
                return fast(da.y[idx], arg[idx], k)
            return metric(da.y[idx], arg[idx], labels)

        return score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diff = paired_difference(scorer(args[0]), scorer(args[1]), len(da.y),
                                 resamples=resamples, seed=seed,
                                 strata=da.y if problem.is_classification else None)
        suites = [score_all(problem.task, d.y, d.pred, d.scores if problem.is_classification
                            else None, labels) for d in (da, db)]
    # Positive `advantage` means A is better, whatever the metric's direction.
    sign = metric.sign()
    lo, hi = sorted((sign * diff["low"], sign * diff["high"]))
    if lo > 0:
        winner, verdict = names[0], f"{names[0]} is better"
    elif hi < 0:
        winner, verdict = names[1], f"{names[1]} is better"
    else:
        winner, verdict = None, "no significant difference (the 95% interval includes 0)"
    return {"metric": metric.name, "rows": int(len(da.y)), "models": list(names),
            "scores": {names[0]: suites[0], names[1]: suites[1]},
            "difference": diff, "advantage_a": {"value": sign * diff["difference"], "low": lo,
                                                "high": hi},
            "winner": winner, "verdict": verdict}
