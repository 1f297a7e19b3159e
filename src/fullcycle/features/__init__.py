"""Preprocessing and feature engineering, as scikit-learn transformers."""

from fullcycle.features.preprocess import DatetimeExpander, SchemaCoercer, build_preprocessor

__all__ = ["DatetimeExpander", "SchemaCoercer", "build_preprocessor"]
