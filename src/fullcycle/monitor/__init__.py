"""Monitoring and maintenance: drift, live data quality, live performance, the monitoring
report and dashboard, and retraining with champion/challenger promotion.

Names are imported lazily so `import fullcycle.monitor` stays cheap."""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "run_monitoring": "check", "monitor_model": "check", "detect_drift": "drift",
    "numeric_stats": "drift", "categorical_stats": "drift", "build_reference": "reference",
    "attach_reference": "reference", "reference_of": "reference", "read_window": "columns",
    "check_quality": "quality", "check_performance": "performance",
    "dashboard_router": "dashboard", "write_reports": "report", "retrain_reasons": "policy",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'fullcycle.monitor' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
