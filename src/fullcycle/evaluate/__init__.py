"""Evaluation of any task kind: the dispatch to the kind (`run`), the saved test rows
(`holdout`), the shared page and JSON (`render`), charts (`plots`) and bootstrap intervals.

The supervised table's report (metrics with intervals, curves, explanations, slices, model card,
the comparison of two models) is the tabular kind's own: `fullcycle.tasks.tabular.evaluate`.
Its public names stay reachable here as before, imported by name on first use (never at import
time, so this stage does not depend on the kind). The metric registry is foundation:
`fullcycle.metrics`."""

from __future__ import annotations

import importlib
from typing import Any

_TABULAR = "fullcycle.tasks.tabular.evaluate."
_WHERE = {
    # the metric registry is foundation (fullcycle.metrics), re-exported here as before
    "METRICS": "fullcycle.metrics", "Metric": "fullcycle.metrics",
    "get_metric": "fullcycle.metrics", "metric_suite": "fullcycle.metrics",
    "score_all": "fullcycle.metrics",
    # the supervised table's report, kept at its old public address
    "Evaluation": _TABULAR + "report", "evaluate_model": _TABULAR + "report",
    "render_html": _TABULAR + "render",
    "Explainer": _TABULAR + "explain", "explain_records": _TABULAR + "explain",
    "permutation_importance": _TABULAR + "explain",
    "compare_models": _TABULAR + "compare",
    "evaluate_rows": "run",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    where = _WHERE[name]
    module = where if where.startswith("fullcycle.") else f"{__name__}.{where}"
    return getattr(importlib.import_module(module), name)
