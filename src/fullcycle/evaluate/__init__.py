"""Evaluation and explanation: metrics with intervals, charts, explanations, slices, model card,
and the comparison of two models. Names are imported on first use. The metric registry itself
is foundation: `fullcycle.metrics`."""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    # the metric registry is foundation (fullcycle.metrics), re-exported here as before
    "METRICS": "fullcycle.metrics", "Metric": "fullcycle.metrics",
    "get_metric": "fullcycle.metrics", "metric_suite": "fullcycle.metrics",
    "score_all": "fullcycle.metrics",
    "Evaluation": "report", "evaluate_model": "report",
    "render_html": "render",
    "Explainer": "explain", "explain_records": "explain",
    "permutation_importance": "explain",
    "compare_models": "compare",
    "evaluate_rows": "run",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    where = _WHERE[name]
    module = where if where.startswith("fullcycle.") else f"{__name__}.{where}"
    return getattr(importlib.import_module(module), name)
