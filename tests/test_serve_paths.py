"""The prediction paths agree with Model.predict: the compiled numpy path (reference pipeline),
the typed path that skips the coercer (the AutoML preprocessing), the general fallback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from serve_support import CHURN, ROLES, churn_records, reference_model


def _served(model):  # noqa: ANN001, ANN202
    from fullcycle.serve.reload import Served

    return Served.prepare(model)


def _check(served, records: list[dict]) -> None:  # noqa: ANN001
    rows, _ = served.validator.records(records, 10_000)
    expected = served.model.predict_scores(records)
    np.testing.assert_allclose(served.scores(rows), expected, rtol=1e-9, atol=1e-12)
    for i in (0, 7, 19):  # the one-row path too
        np.testing.assert_allclose(served.scores([rows[i]]), expected[i:i + 1], rtol=1e-9)


@pytest.mark.parametrize("estimator", ["lightgbm", "logistic"])
def test_reference_pipeline_compiles(estimator: str) -> None:
    served = _served(reference_model(estimator))
    assert served.note.startswith("compiled fast path"), served.note
    records = churn_records(60, start=300)
    records[5]["TotalCharges"] = None
    records[6]["PaymentMethod"] = "Crypto"
    _check(served, records)


def test_automl_preprocessing_uses_typed_path() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from fullcycle.data.dataset import Dataset
    from fullcycle.features.preprocess import build_preprocessor
    from fullcycle.model import Model
    from fullcycle.problem import define_problem

    data = Dataset.read(str(CHURN), target="Churn", roles=ROLES)
    problem = define_problem(data.target, "Churn")
    features = data.frame[[c.name for c in data.schema.features]]
    pipeline = Pipeline([("preprocess", build_preprocessor(data.schema, scale=True)),
                         ("model", LogisticRegression(max_iter=2000))])
    pipeline.fit(features, problem.encode_target(data.target))
    example = churn_records(1)[0]
    model = Model(pipeline=pipeline, problem=problem, schema=data.schema, reference={},
                  metadata={"input_example": {k: example[k] for k in features.columns}})
    served = _served(model)
    assert served.note.startswith("typed path"), served.note
    _check(served, churn_records(40, start=500))


def test_unknown_pipeline_falls_back_to_model_predict() -> None:
    model = reference_model("logistic")
    model.pipeline = _Opaque(model.pipeline)
    served = _served(model)
    assert served.fast is None and served.note.startswith("general path")
    _check(served, churn_records(25))


class _Opaque:
    """A fitted estimator the compilers do not know (stands for any custom model)."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner = inner

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.inner.predict_proba(X)
