"""What the fitted preprocessing did to each column, and why, read back from the pipeline.

`describe_pipeline(pipeline)` works on a model's saved pipeline (preprocessing + estimator) or on
a preprocessor alone; it needs no training data because every transformer records its choices
in fitted attributes (`decisions_`, `report_`, `search_`, `logged_`...)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from fullcycle.errors import ModelError
from fullcycle.features.preprocess import SchemaCoercer


def find_preprocessor(pipeline: Any) -> Pipeline:
    """The preprocessing Pipeline (first step a SchemaCoercer) inside a model pipeline."""
    if isinstance(pipeline, Pipeline):
        if isinstance(pipeline.steps[0][1], SchemaCoercer):
            return pipeline
        for _, step in pipeline.steps:
            if isinstance(step, Pipeline) and isinstance(step.steps[0][1], SchemaCoercer):
                return step
    raise ModelError("this model's pipeline has no fullcycle preprocessing step to describe")


WRAPPER_ATTRS = ("pipeline", "pipeline_", "estimator", "estimator_", "base_estimator",
                 "model", "model_", "regressor_")


def model_pipelines(obj: Any, name: str = "model", depth: int = 0) -> list[tuple[str, Any]]:
    """Every (name, pipeline) holding fullcycle preprocessing inside a saved model object:
    a plain Pipeline, the members of an ensemble, or the estimator inside a wrapper."""
    if depth > 4 or obj is None:
        return []
    if isinstance(obj, Pipeline):
        try:
            find_preprocessor(obj)
            return [(name, obj)]
        except ModelError:
            pass
    found: list[tuple[str, Any]] = []
    members = getattr(obj, "members", None)
    if isinstance(members, list | tuple):
        names = list(getattr(obj, "names", None) or [f"member{i}" for i in range(len(members))])
        for member_name, member in zip(names, members, strict=False):
            found += model_pipelines(member, str(member_name), depth + 1)
        return found
    for attr in WRAPPER_ATTRS:
        inner = getattr(obj, attr, None)
        if inner is not None and inner is not obj:
            found += model_pipelines(inner, name, depth + 1)
            if found:
                return found
    return found


def _owns(column: str, output: str) -> bool:
    return output == column or output.startswith((f"{column}=", f"{column}_"))


def _branch_notes(name: str, transformer: Any, column: str) -> list[str]:
    """Human notes for one input column from one ColumnTransformer branch."""
    steps = transformer.steps if isinstance(transformer, Pipeline) else [(name, transformer)]
    notes: list[str] = []
    for step_name, step in steps:
        notes += _step_notes(step_name, step, column)
    return notes


def _step_notes(step_name: str, step: Any, column: str) -> list[str]:
    kind = type(step).__name__
    if kind == "AutoImputer":
        d = next((d for d in step.decisions_ if d["column"] == column), None)
        if d is None:
            return []
        note = f"impute {d['strategy']} ({d['reason']})"
        if d["indicator"]:
            note += f"; + missing flag ({d['indicator_reason']})"
        return [note]
    if kind == "OutlierHandler":
        rows = [r for r in step.report_ if r["column"] in (column, "*")]
        return [f"outliers {r['method']}: {r['outside']} rows ({r['share']:.1%}) -> {step.action}"
                for r in rows]
    if kind == "SkewLog":
        names = list(step.feature_names_in_)
        if column in names and abs(step.skew_[names.index(column)]) > step.threshold:
            return [step.reasons_[names.index(column)]]
        return []
    if kind == "CategoryEncoder":
        d = next((d for d in step.decisions_ if d["column"] == column), None)
        if d is None:
            return []
        rare = f"; {d['rare_grouped']} rare levels -> __rare__" if d["rare_grouped"] else ""
        return [f"{d['encoding']} encoding: {d['reason']}{rare}; unseen -> __rare__"]
    if kind == "DatetimeExpander":
        return [f"datetime -> {len(step.get_feature_names_out()) // max(step.n_features_in_, 1)}"
                " parts (year, month, weekday, hour, cyclic" +
                (", elapsed days)" if step.elapsed else ")")]
    if kind == "TextVectorizer":
        vec = step.vectorizers_.get(column)
        if vec is None:
            return ["text: no usable words in training, no columns"]
        size = step.max_features if step.method == "hashing" else len(vec.vocabulary_)
        return [f"text {step.method}: {size} columns (bounded by {step.max_features})"]
    if kind in ("StandardScaler", "RobustScaler", "QuantileTransformer"):
        return [f"scale {kind.removesuffix('Scaler').removesuffix('Transformer').lower()}"]
    return []


def describe_pipeline(pipeline: Any) -> list[dict[str, Any]]:
    """One row per input column (what, why, outputs kept), then generated features and the
    model step's own data handling (target transform, outlier rows dropped)."""
    pre = find_preprocessor(pipeline)
    schema = pre.steps[0][1].schema_
    columns = pre.named_steps["columns"]
    select = pre.named_steps.get("select")
    dropped = {d["feature"]: d["reason"] for d in (select.decisions_ if select else [])
               if not d["kept"]}
    rows: list[dict[str, Any]] = []
    for branch, transformer, cols in columns.transformers_:
        if branch in ("remainder", "gen") or transformer == "drop":
            continue
        outputs = [str(n) for n in transformer.get_feature_names_out()]
        for col in cols:
            mine = [f"{branch}__{o}" for o in outputs if _owns(col, o)]
            lost = [f"{o} ({dropped[o]})" for o in mine if o in dropped]
            role = schema[col].role if schema is not None else branch
            rows.append({"column": col, "role": role,
                         "treatment": "; ".join(_branch_notes(branch, transformer, col)) or "as is",
                         "outputs": len(mine) - len(lost), "dropped": "; ".join(lost)})
    if schema is not None:
        for spec in schema.columns:
            if not spec.is_feature and spec.role != "target":
                rows.append({"column": spec.name, "role": spec.role, "treatment": "not used",
                             "outputs": 0, "dropped": spec.note or f"role {spec.role}"})
    rows += _generated_rows(columns, dropped) + _model_rows(pipeline)
    return rows


def _generated_rows(columns: Any, dropped: dict[str, str]) -> list[dict[str, Any]]:
    gen = columns.named_transformers_.get("gen")
    if gen is None:
        return []
    rows = []
    for entry in gen.search_:
        if entry["kind"] == "base":
            continue
        kept = entry.get("kept")
        treatment = entry["reason"] + ("; kept" if kept else "; not kept")
        rows.append({"column": f"<generated {entry['kind']}>", "role": "generated",
                     "treatment": treatment,
                     "outputs": len(gen.plan_.get(entry["kind"], [])) if kept else 0,
                     "dropped": ""})
    if not gen.search_:
        rows.append({"column": "<generated>", "role": "generated",
                     "treatment": f"fixed plan: {sum(len(v) for v in gen.plan_.values())} "
                     "features", "outputs": len(gen.get_feature_names_out()), "dropped": ""})
    return rows


def _model_rows(pipeline: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    step = pipeline.steps[-1][1] if isinstance(pipeline, Pipeline) else None
    while step is not None:
        kind = type(step).__name__
        if kind == "OutlierDropper":
            rows.append({"column": "<training rows>", "role": "model",
                         "treatment": f"outliers ({step.method}) dropped from training only: "
                         f"{step.dropped_} rows ({step.dropped_share_:.1%})", "outputs": 0,
                         "dropped": ""})
            step = step.estimator_
        elif kind == "AutoTargetRegressor":
            rows.append({"column": "<target>", "role": "model", "treatment": step.reason_,
                         "outputs": 0, "dropped": ""})
            step = step.regressor_
        else:
            step = None
    return rows


def output_names(pipeline: Any) -> np.ndarray:
    """The model's input columns after preprocessing."""
    return find_preprocessor(pipeline).get_feature_names_out()
