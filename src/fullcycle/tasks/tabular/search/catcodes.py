"""Native codes of a many-level categorical column next to its target encoding, tried by the
search and kept where its cross-validation says so.

A column above `features.native_max` levels reaches the boosting families as its out-of-fold
target encoding. Where its levels interact with other columns (a grid cell and income, in a
house-price table) a boosted model also gains from splitting on the levels themselves: on a
235-level column LightGBM went from 52,704 to 51,688 RMSE with both. Where the column is a
cross of a few others (occupation x education x sex), the codes only add variance (-0.0014
ROC-AUC). No count on the column tells the two apart, so, as with log1p of the target
(targetlog.py), the default boosted model is tried both ways when a column qualifies
(`encode.codes_qualify`: its levels average 10+ rows in a training fold), and later native
candidates take the form that scored better. `features.category_codes` can instead say
always or never."""

from __future__ import annotations

from typing import Any

import pandas as pd

from fullcycle.config import FeaturesConfig
from fullcycle.data.schema import Schema
from fullcycle.features.encode import codes_qualify
from fullcycle.tasks.tabular.search.targetlog import Mode

CAT_CODES = "cat_codes"  # a native family's params key: many-level columns keep their codes


def codes_columns(schema: Schema, X: pd.DataFrame, fold_rows: int,
                  features: Any = None) -> list[str]:
    """The categorical columns whose codes a native family could keep next to their target
    encoding, with `fold_rows` rows in a training fold."""
    native_max = (features or FeaturesConfig()).native_max
    return [name for name in schema.by_role("categorical") if name in X.columns and
            codes_qualify(int(X[name].nunique(dropna=True)), fold_rows, native_max)]


def codes_mode(schema: Schema, X: pd.DataFrame, fold_rows: int, features: Any = None) -> Mode:
    """How the search uses the codes: never (no column qualifies, or `features.category_codes`
    is never), try them against the encoding alone (auto), or on every native candidate."""
    setting = (features or FeaturesConfig()).category_codes
    if setting == "never" or not codes_columns(schema, X, fold_rows, features):
        return "never"
    return "all" if setting == "always" else "try"
