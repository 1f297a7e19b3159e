"""Supervised tables: binary, multiclass and regression on one target column."""

from fullcycle.tasks.tabular.kind import TabularKind

__all__ = ["TabularKind"]
