"""Tracking and model registry on MLflow: what every run records, verified atomic registration,
aliases with their history, references, and reproduction. MLflow itself is imported lazily."""

from fullcycle.registry.promotion import history, promote, rollback
from fullcycle.registry.refs import ModelRef, parse_ref
from fullcycle.registry.reproduce import Reproduction, reproduce
from fullcycle.registry.store import ModelRegistry
from fullcycle.registry.tracking import RunRecord, build_record

__all__ = ["ModelRef", "ModelRegistry", "Reproduction", "RunRecord", "build_record", "history",
           "parse_ref", "promote", "reproduce", "rollback"]
