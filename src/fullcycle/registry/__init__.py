"""Tracking and model registry on MLflow."""

from fullcycle.registry.store import ModelRegistry

__all__ = ["ModelRegistry"]
