"""The MLflow signature of a fullcycle model, built from its data contract (not inferred from a
sample, which would make integer columns `long` and then refuse a missing value).

Choice: what `pd.read_csv` gives for the training file must pass MLflow's schema enforcement,
and so must JSON with integers and nulls. A column whose raw training values were floats is
`double`. A column that was read as integers, or as text although it holds numbers (a blank in
TotalCharges), is `any`: MLflow refuses int64 for `double` ("can not safely convert") and text
for any number type, while the model's own data contract parses and checks these values right
after. Text-like columns are `string`; columns that were real booleans are `boolean`."""

from __future__ import annotations

from typing import Any

from fullcycle.data.schema import Schema

NUMERIC_DTYPES = ("int", "uint", "float", "Int", "UInt", "Float", "double")


def column_type(role: str, dtype: str) -> str:
    """MLflow data type of one input column from its role and raw training dtype ("any" for
    MLflow's AnyType)."""
    if dtype.startswith(("float", "Float", "double")):
        return "double"
    if role == "numeric" or dtype.startswith(NUMERIC_DTYPES):
        return "any"  # integers, or numbers read as text: the data contract parses them
    if dtype in ("bool", "boolean"):
        return "boolean"
    if dtype.startswith("datetime64"):
        return "datetime"
    return "string"


def model_signature(schema: Schema, classes: list[str]) -> Any:
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec
    from mlflow.types.schema import Schema as MlflowSchema

    inputs: list[Any] = []
    for c in schema.features:
        kind = column_type(c.role, c.dtype)
        inputs.append(ColSpec(AnyType() if kind == "any" else kind, c.name))
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
        if kind in ("double", "any") and (kind == "double" or col.role == "numeric"):
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
