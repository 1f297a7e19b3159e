"""Preprocessing and feature engineering, as scikit-learn transformers."""

from fullcycle.features.encode import CategoryEncoder
from fullcycle.features.generate import FeatureGenerator
from fullcycle.features.impute import AutoImputer
from fullcycle.features.outliers import OutlierDropper, OutlierHandler
from fullcycle.features.preprocess import (
    DatetimeExpander,
    FeatureConfig,
    SchemaCoercer,
    build_preprocessor,
    wrap_estimator,
)
from fullcycle.features.report import describe_pipeline
from fullcycle.features.scale import AutoTargetRegressor, SkewLog
from fullcycle.features.select import FeatureSelector, SafeNames
from fullcycle.features.split import adversarial_validation, holdout_split, make_splitter
from fullcycle.features.text import TextVectorizer

__all__ = ["AutoImputer", "AutoTargetRegressor", "CategoryEncoder", "DatetimeExpander",
           "FeatureConfig", "FeatureGenerator", "FeatureSelector", "OutlierDropper",
           "OutlierHandler", "SafeNames", "SchemaCoercer", "SkewLog", "TextVectorizer",
           "adversarial_validation", "build_preprocessor", "describe_pipeline", "holdout_split",
           "make_splitter", "wrap_estimator"]
