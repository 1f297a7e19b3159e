"""`POST /explain`: the same payload as `/predict` (one record or a list), answered with each
record's prediction and the contribution of every input to it. Validation is the server's own
(422 with field paths); the explainer is built once per served model and cached on it."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from fullcycle.scoring.fastpath import rows_to_columns
from fullcycle.scoring.validation import RequestInvalid, parse_json, problem
from fullcycle.serve.security import require_api_key

INLINE_ROWS = 16  # bigger requests are explained on the thread pool, not the event loop
# Explaining costs far more per row than predicting (SHAP or occlusion per input): a cap keeps
# one request's work bounded, as /predict's serve.max_rows does for scoring.
MAX_EXPLAIN_ROWS = 100


def explain_router() -> APIRouter:
    router = APIRouter()

    @router.post("/explain", tags=["predict"], dependencies=[Depends(require_api_key)],
                 summary="Explain one record or a list of records",
                 description="Per input: its value and its contribution to the model's output "
                 "(exact tree SHAP for tree models: base_value + contributions = output). At "
                 f"most {MAX_EXPLAIN_ROWS} records per request.",
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/json": {"schema": {"$ref":
                                                     "#/components/schemas/PredictRequest"}}}}})
    async def explain(request: Request) -> Response:
        served = request.app.state.models.current  # one model for the whole request
        payload = parse_json(await request.body())
        if isinstance(payload, list) and len(payload) > MAX_EXPLAIN_ROWS:
            raise RequestInvalid([problem(["body"], f"{len(payload)} records; /explain takes at "
                                          f"most {MAX_EXPLAIN_ROWS} per request (split the "
                                          "list, or use /predict)", "too_long")])
        rows, _ = served.validator.records(payload, request.app.state.config.max_rows)
        records: list[dict[str, Any]] = payload if isinstance(payload, list) else [payload]
        matrix = _matrix(served, rows)
        model = served.model
        if len(records) > INLINE_ROWS:
            found = await run_in_threadpool(model.kind.explain, model, records, matrix=matrix)
        else:
            found = model.kind.explain(model, records, matrix=matrix)
        return Response(json.dumps({"model_version": served.version, "explanations": found}),
                        media_type="application/json")

    return router


def _matrix(served: Any, rows: list[list[Any]]) -> np.ndarray | None:
    """The rows transformed by the server's own fast path (serve/fastpath.py): the compiled
    numpy preprocessing, or the typed path's pipeline copy that skips the pandas coercion the
    validator already did. The explainer checks the width; None falls back to the model."""
    fast = getattr(served, "fast", None)
    try:
        if fast is not None and hasattr(fast, "matrix"):
            return np.asarray(fast.matrix(rows), dtype="float64")
        steps = getattr(getattr(fast, "pipeline", None), "steps", None)
        if fast is not None and steps and hasattr(fast, "frame"):
            typed = fast.frame(rows_to_columns(served.validator, rows))
            return np.asarray(fast.pipeline[:-1].transform(typed), dtype="float64")
    except (ValueError, TypeError, IndexError, KeyError, AttributeError):
        return None
    return None
