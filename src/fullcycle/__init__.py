"""fullcycle: from raw data to a versioned, served and monitored model."""

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.data.schema import Schema
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
from fullcycle.model import Model
from fullcycle.problem import Problem, define_problem, detect_task
from fullcycle.project import Project, TrainReport

__version__ = "0.1.0"

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
