"""fullcycle: from raw data to a versioned, served and monitored model.

Names are imported lazily (PEP 562) so that `fullcycle --help` does not pay for scikit-learn,
pandas or MLflow."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fullcycle.errors import (
    ConfigError,
    DataError,
    FullcycleError,
    IntegrityError,
    ModelError,
    ProblemError,
    RegistryError,
    SourceError,
    ValidationError,
)

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    from fullcycle.data.schema import Schema
    from fullcycle.model import Model
    from fullcycle.problem import Problem, define_problem, detect_task
    from fullcycle.project import Project, TrainReport

__version__ = "0.1.0"

_LAZY = {
    "Config": "fullcycle.config",
    "Dataset": "fullcycle.data.dataset",
    "Schema": "fullcycle.data.schema",
    "Model": "fullcycle.model",
    "Problem": "fullcycle.problem",
    "define_problem": "fullcycle.problem",
    "detect_task": "fullcycle.problem",
    "Project": "fullcycle.project",
    "TrainReport": "fullcycle.project",
}

__all__ = [
    "Config",
    "ConfigError",
    "DataError",
    "Dataset",
    "FullcycleError",
    "IntegrityError",
    "Model",
    "ModelError",
    "Problem",
    "ProblemError",
    "Project",
    "RegistryError",
    "Schema",
    "SourceError",
    "TrainReport",
    "ValidationError",
    "__version__",
    "define_problem",
    "detect_task",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fullcycle' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
