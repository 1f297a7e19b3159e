"""The MLflow pyfunc face of a fullcycle Model, so `mlflow.pyfunc.load_model` and
`mlflow models serve` work on every registered version."""

from __future__ import annotations

import mlflow.pyfunc


class FullcyclePyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context):  # noqa: ANN001 - MLflow reads these signatures
        from fullcycle.model import Model

        self.model = Model.load(context.artifacts["model"])

    def predict(self, context, model_input, params=None):  # noqa: ANN001
        return self.model.predict(model_input)


# Models-from-code: MLflow logs this file instead of a cloudpickled object.
mlflow.models.set_model(FullcyclePyfunc())
