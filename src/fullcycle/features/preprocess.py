"""The preprocessing pipeline: raw rows in, a numeric matrix out, fitted on training folds only.

`SchemaCoercer` applies the data contract (types, disguised missing values) so that serving
sees exactly what training saw; `build_preprocessor` adds imputation, encoding and scaling as the
model family needs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fullcycle.data.schema import Schema, coerce_frame


class SchemaCoercer(TransformerMixin, BaseEstimator):
    """Raw frame -> typed frame in the contract's column order (numbers stored as text,
    blanks, 'NA' and friends handled the same way at training and at prediction)."""

    def __init__(self, *, schema: dict[str, Any] | None = None) -> None:
        self.schema = schema

    def fit(self, X: pd.DataFrame, y: Any = None) -> SchemaCoercer:
        self.schema_ = Schema.from_dict(self.schema) if self.schema else None
        self.feature_names_in_ = np.asarray([c.name for c in self.schema_.features]) \
            if self.schema_ else np.asarray(X.columns)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if self.schema_ is None:
            return X
        return coerce_frame(X, self.schema_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return self.feature_names_in_


class DatetimeExpander(TransformerMixin, BaseEstimator):
    """Datetime columns -> year, month, day of week, hour, and cyclic month/weekday encodings."""

    PARTS = ("year", "month", "dayofweek", "hour", "month_sin", "month_cos", "dow_sin", "dow_cos")

    def fit(self, X: pd.DataFrame, y: Any = None) -> DatetimeExpander:
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        out = []
        for name in self.feature_names_in_:
            dt = pd.to_datetime(X[name], errors="coerce")
            month, dow = dt.dt.month.astype("float64"), dt.dt.dayofweek.astype("float64")
            out += [dt.dt.year.astype("float64"), month, dow, dt.dt.hour.astype("float64"),
                    np.sin(2 * np.pi * month / 12), np.cos(2 * np.pi * month / 12),
                    np.sin(2 * np.pi * dow / 7), np.cos(2 * np.pi * dow / 7)]
        if not out:
            return np.empty((len(X), 0))
        return np.column_stack([np.asarray(s, dtype="float64") for s in out])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"{n}_{p}" for n in self.feature_names_in_ for p in self.PARTS],
                          dtype=object)


def build_preprocessor(schema: Schema, *, scale: bool) -> Pipeline:
    """Coerce -> (impute, encode, scale) per role. `scale` for distance/gradient models."""
    numeric = schema.by_role("numeric") + schema.by_role("boolean")
    categorical = schema.by_role("categorical")
    datetime = schema.by_role("datetime")
    num_steps: list[Any] = [SimpleImputer(strategy="median", add_indicator=True,
                                          keep_empty_features=True)]
    if scale:
        num_steps.append(StandardScaler())
    parts: list[tuple[str, Any, list[str]]] = []
    if numeric:
        parts.append(("num", make_pipeline(*num_steps), numeric))
    if categorical:
        parts.append(("cat", make_pipeline(
            SimpleImputer(strategy="constant", fill_value="__missing__", keep_empty_features=True),
            OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5,
                          max_categories=50, sparse_output=False),
        ), categorical))
    if datetime:
        dt_steps: list[Any] = [DatetimeExpander(), SimpleImputer(strategy="median",
                                                                 keep_empty_features=True)]
        if scale:
            dt_steps.append(StandardScaler())
        parts.append(("dt", make_pipeline(*dt_steps), datetime))
    columns = ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=True)
    return Pipeline([("coerce", SchemaCoercer(schema=schema.to_dict())), ("columns", columns)])
