"""The compiled prediction path for fullcycle's own trained pipelines (`fullcycle train`, AutoML).

Those pipelines are `Pipeline[preprocess, FamilyModel]` or an `EnsembleModel` of them, where
`preprocess` is `SchemaCoercer -> ColumnTransformer[AutoImputer branches, CategoryEncoder] ->
FeatureSelector (-> SafeNames)`. Served through sklearn, one row spends ~95 % of its time in
pandas machinery, not in the model. Compiled, each fitted step is a numpy function read from its
fitted attributes and the matrix flows as float64 from the validator's canonical columns to the
estimator, called below its sklearn wrapper.

This module holds no per-transformer code: every transformer, estimator and whole-model class
says how it compiles next to its own definition (`@compiles` in features/*.py and
tasks/tabular/search/*.py; the machinery is `fullcycle.features.compiling`). Importing the
modules below registers them, including the compilers of other libraries' classes
(scikit-learn scalers, LightGBM...).
`fastpath.compile_checked` checks a compiled path against `Model.predict_scores` on probe rows
before serving with it.

`CompiledPath` is what the server (`scores`), batch scoring (`scores_columns`) and `/explain`
(`matrix`) call."""

from __future__ import annotations

from typing import Any

import numpy as np

import fullcycle.features  # noqa: F401 - registers every transformer's compiler
import fullcycle.tasks.tabular.search.ensemble  # noqa: F401 - registers the ensemble's compiler
import fullcycle.tasks.tabular.search.families  # noqa: F401 - registers the families' estimators
from fullcycle.features.compiling import Inputs, compile_model
from fullcycle.features.preprocess import parse_dates
from fullcycle.scoring.validation import columns_of

__all__ = ["CompiledPath", "parse_dates"]


class CompiledPath:
    """A fullcycle-trained pipeline (one model or an ensemble) compiled to numpy."""

    def __init__(self, model: Any, validator: Any) -> None:
        self.names = list(validator.names)
        self.roles = [c.spec.role for c in validator.columns]
        self.classify = bool(model.card.classes)
        inputs = Inputs(self.names, self.roles,
                        [getattr(c.spec, "format", None) for c in validator.columns])
        self.dates = [(i, fmt) for i, (role, fmt) in enumerate(zip(inputs.roles, inputs.formats,
                                                                   strict=True))
                      if role == "datetime"]
        self.fn, self.describe, self._pre = compile_model(model.pipeline, inputs, self.classify)

    def scores_columns(self, columns: list[np.ndarray]) -> np.ndarray:
        return np.asarray(self.fn(self._dates(columns)), dtype="float64")

    def _dates(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        if not self.dates:
            return columns
        columns = list(columns)
        for i, fmt in self.dates:
            columns[i] = parse_dates(columns[i], fmt)
        return columns

    def columns(self, rows: list[list[Any]]) -> list[np.ndarray]:
        return columns_of(self.roles, rows)

    def scores(self, rows: list[list[Any]]) -> np.ndarray:
        return self.scores_columns(self.columns(rows))

    def matrix(self, rows: list[list[Any]]) -> np.ndarray:
        """What the estimator of a single-model pipeline sees (native categorical columns as
        their level codes, as LightGBM sees them): `/explain` reuses it. An ensemble has no
        single matrix: ValueError."""
        if self._pre is None:
            raise ValueError("an ensemble has one matrix per member")
        return self._pre(self._dates(self.columns(rows)))
