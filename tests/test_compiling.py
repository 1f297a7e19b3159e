"""Compiled serving without twins: a transformer says how it compiles next to its own class
(`@compiles`), and the scoring layer compiles any pipeline of registered parts."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

import fullcycle.features
import fullcycle.scoring.compiled  # noqa: F401 - what the server imports: every registration
from fullcycle.features.compiling import (
    Columns,
    Matrix,
    Unsupported,
    compile_estimator,
    compile_matrix_steps,
    compiler,
    compiles,
)


class Doubled(BaseEstimator, TransformerMixin):
    """A transformer defined here, outside the package, with its compiler beside it."""

    def fit(self, x: Any, y: Any = None) -> Doubled:
        self.n_features_in_ = np.asarray(x).shape[1]
        return self

    def transform(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype="float64") * 2.0


@compiles("matrix", Doubled)
def _compile_doubled(step: Doubled, cols: Columns) -> tuple[Matrix, Columns]:
    return (lambda x: x * 2.0), cols


class Unregistered(Doubled):
    pass


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    return x, (x[:, 0] - x[:, 1] + rng.normal(scale=0.5, size=200) > 0).astype(int)


def test_a_transformer_registered_beside_its_class_compiles_with_the_rest() -> None:
    x, y = _data()
    steps = [StandardScaler().fit(x)]
    steps.append(Doubled().fit(steps[0].transform(x)))
    model = LogisticRegression().fit(steps[1].transform(steps[0].transform(x)), y)
    matrix, cols = compile_matrix_steps(steps, Columns.numeric(["a", "b", "c"]))
    scores, label = compile_estimator(model, cols, classify=True)
    expected = model.predict_proba(steps[1].transform(steps[0].transform(x)))
    assert label == "LogisticRegression"
    np.testing.assert_allclose(scores(matrix(x)), expected, rtol=1e-12, atol=1e-12)


def test_a_step_without_a_compiler_is_unsupported_not_wrong() -> None:
    x, _ = _data()
    with pytest.raises(Unsupported, match="Unregistered"):
        compile_matrix_steps([Unregistered().fit(x)], Columns.numeric(["a", "b", "c"]))


def test_every_fullcycle_transformer_says_how_it_compiles() -> None:
    """A new transformer in fullcycle.features needs its `@compiles` beside it (or a line
    here saying why it is served by the typed path)."""
    typed_path_only = {"FeatureGenerator"}  # generated features: served by the typed path
    missing = []
    for name in fullcycle.features.__all__:
        cls = getattr(fullcycle.features, name)
        if not (inspect.isclass(cls) and issubclass(cls, BaseEstimator)):
            continue
        if name in typed_path_only:
            continue
        found = [compiler(kind, cls.__new__(cls)) for kind in
                 ("matrix", "columns", "coercer", "estimator")]
        if not any(found):
            missing.append(name)
    assert missing == []
