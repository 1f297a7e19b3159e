"""The MLflow pyfunc face of a fullcycle Model, so `mlflow.pyfunc.load_model` and
`mlflow models serve` work on every registered version.

Models-from-code: MLflow stores this file, not a cloudpickled object. The model folder travels
as an artifact; its content digest travels in the MLmodel's `model_config`, and is checked here
before anything is unpickled, exactly as fullcycle's own loader does."""

from __future__ import annotations

import mlflow.pyfunc

from fullcycle.model import Model


class FullcyclePyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
    # The signature (from the data contract) does the validation; no type-hint inference.
    _skip_type_hint_validation = True

    def load_context(self, context):  # MLflow reads these signatures

        config = getattr(context, "model_config", None) or {}
        self.model = Model.load(context.artifacts["model"],
                                expected_digest=config.get("fullcycle_digest"))

    def predict(self, context, model_input, params=None):
        return self.model.predict(model_input)


mlflow.models.set_model(FullcyclePyfunc())
