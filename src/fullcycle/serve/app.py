"""The FastAPI app over one model.

`POST /predict` takes one JSON record or a list of records and answers
`{"model_version", "predictions": [{"id", "prediction", "probabilities"?}]}`."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fullcycle.errors import FullcycleError
from fullcycle.model import Model


def _records(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list) and payload and all(isinstance(r, dict) for r in payload):
        return payload
    raise _BadRequest([{"loc": ["body"], "msg": "expected a JSON object or a non-empty list of "
                        "objects (one per record)", "type": "type_error"}])


class _BadRequest(Exception):
    def __init__(self, detail: list[dict[str, Any]]) -> None:
        self.detail = detail


def create_app(model: Model, *, max_rows: int = 10_000) -> FastAPI:
    app = FastAPI(title=f"fullcycle model {model.problem.target}",
                  description=f"Predicts {model.problem.target!r} ({model.problem.task}).")
    state: dict[str, Any] = {"model": model}

    @app.exception_handler(_BadRequest)
    async def _bad(request: Request, exc: _BadRequest) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=422)

    @app.exception_handler(FullcycleError)
    async def _known(request: Request, exc: FullcycleError) -> JSONResponse:
        return JSONResponse({"detail": [{"loc": ["body"], "msg": str(exc),
                                         "type": type(exc).__name__}]},
                            status_code=exc.http_status)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/predict")
    async def predict(request: Request) -> dict[str, Any]:
        try:
            payload = await request.json()
        except ValueError:
            raise _BadRequest([{"loc": ["body"], "msg": "body is not valid JSON",
                                "type": "json_invalid"}]) from None
        records = _records(payload)
        if len(records) > max_rows:
            raise _BadRequest([{"loc": ["body"], "msg": f"{len(records)} records; at most "
                                f"{max_rows} per request", "type": "too_long"}])
        current: Model = state["model"]
        scores = current.predict_scores(records)
        labels = current.labels_from_scores(scores)
        out = []
        for i, label in enumerate(labels):
            row: dict[str, Any] = {"id": uuid.uuid4().hex, "prediction": _plain(label)}
            if current.problem.is_classification:
                row["probabilities"] = {c: float(scores[i, j])
                                        for j, c in enumerate(current.problem.labels)}
            out.append(row)
        return {"model_version": current.version_label, "predictions": out}

    return app


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value
