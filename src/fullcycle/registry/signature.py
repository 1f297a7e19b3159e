"""The MLflow signature of a fullcycle model, built from its data contract (not inferred from a
sample, which would make integer columns `long` and then refuse a missing value).

Choice: every column whose raw values are numbers is `double`, so a JSON `null` (missing value)
passes MLflow's schema enforcement and JSON integers are parsed as floats by `mlflow models
serve`. Text-like columns are `string`; columns that were real booleans are `boolean`."""

from __future__ import annotations

from typing import Any

from fullcycle.data.schema import Schema

NUMERIC_DTYPES = ("int", "uint", "float", "Int", "UInt", "Float", "double")


def column_type(role: str, dtype: str) -> str:
    """MLflow data type of one input column from its role and raw training dtype."""
    if role == "numeric" or dtype.startswith(NUMERIC_DTYPES):
        return "double"
    if dtype in ("bool", "boolean"):
        return "boolean"
    if dtype.startswith("datetime64"):
        return "datetime"
    return "string"


def model_signature(schema: Schema, classes: list[str]) -> Any:
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec
    from mlflow.types.schema import Schema as MlflowSchema

    inputs: list[Any] = [ColSpec(column_type(c.role, c.dtype), c.name) for c in schema.features]
    outputs: list[Any]
    if classes:
        outputs = [ColSpec("string", "prediction")]
        outputs += [ColSpec("double", f"proba_{label}") for label in classes]
    else:
        outputs = [ColSpec("double", "prediction")]
    return ModelSignature(inputs=MlflowSchema(inputs), outputs=MlflowSchema(outputs))


def input_example(schema: Schema, example: dict[str, Any] | None) -> Any:
    """One training row shaped like the signature (numbers as floats), or None."""
    import pandas as pd

    if not example:
        return None
    row: dict[str, Any] = {}
    for col in schema.features:
        value = example.get(col.name)
        kind = column_type(col.role, col.dtype)
        if kind == "double":
            row[col.name] = _as_float(value)
        elif kind == "string":
            row[col.name] = None if value is None else str(value)
        else:
            row[col.name] = value
    return pd.DataFrame.from_records([row]).astype(
        {c.name: "float64" for c in schema.features
         if column_type(c.role, c.dtype) == "double"})


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
