"""Real-time serving over HTTP: the app factory, and the prediction log reader that monitoring
uses. Names load lazily (PEP 562): batch scoring imports `serve.reload`/`serve.validation`
without paying for FastAPI."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fullcycle.monitor.predlog import PredictionLog, read_log
    from fullcycle.serve.app import create_app, serve_app

_LAZY = {"create_app": "fullcycle.serve.app", "serve_app": "fullcycle.serve.app",
         "PredictionLog": "fullcycle.monitor.predlog", "read_log": "fullcycle.monitor.predlog"}

__all__ = ["PredictionLog", "create_app", "read_log", "serve_app"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fullcycle.serve' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
