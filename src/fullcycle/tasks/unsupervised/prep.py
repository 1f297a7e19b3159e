"""Preprocessing for unsupervised kinds: the features stage's pipeline, as linear models get it
(imputation with missing flags, one-hot or frequency encoding, scaling), without the steps that
need a target or that bend distances (log of skewed columns, selection, generated features, and
dropping one of two correlated columns: a direction measured twice is a real direction of the
data, and distances must stay those of the scaled features)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fullcycle.data.schema import ColumnSpec, Schema
from fullcycle.errors import DataError
from fullcycle.features import build_preprocessor

if TYPE_CHECKING:
    from fullcycle.config import Config


def feature_schema(schema: Schema, drop: list[str]) -> Schema:
    """The schema without the columns that must not be features (a label kept for evaluation)."""
    return Schema(columns=[c for c in schema.columns if c.name not in drop], target=None,
                  warnings=list(schema.warnings))


def feature_columns(frame: pd.DataFrame, schema: Schema
                    ) -> Iterator[tuple[ColumnSpec, pd.Series]]:
    """The schema's feature columns that `frame` has, with their values."""
    for spec in schema.features:
        if spec.name in frame.columns:
            yield spec, frame[spec.name]


def build(schema: Schema, config: Config) -> Any:
    if not schema.features:
        raise DataError("no usable feature columns: every column is an identifier, a constant "
                        "or the label; clustering and anomaly detection need at least one "
                        "column that varies (see `fullcycle inspect DATA`)")
    options = config.features.model_copy(update={
        "log_skewed": False, "generate": False, "select": "none", "outliers": "none",
        "pca": None, "drop_correlated": None})
    return build_preprocessor(schema, scale=True, family_kind="linear", options=options,
                              seed=config.seed)


def matrix(pipeline: Any, frame: pd.DataFrame) -> np.ndarray:
    """Rows -> the numeric matrix the methods see (no column left: zeros, one column)."""
    out = np.asarray(pipeline.transform(frame), dtype="float64")
    if out.ndim == 1:
        out = out.reshape(-1, 1)
    if out.shape[1] == 0:
        out = np.zeros((len(frame), 1))
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def fit_matrix(pipeline: Any, frame: pd.DataFrame) -> np.ndarray:
    pipeline.fit(frame)
    return matrix(pipeline, frame)


@dataclass(eq=False, repr=False, kw_only=True)
class Preprocessed:
    """What the cluster and anomaly predictors share: the fitted preprocessing, and the matrix
    it makes of rows."""

    preprocessor: Any

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        return matrix(self.preprocessor, frame)
