"""The routes a task kind adds (`TaskKind.routes()`: /forecast, /recommend, ...) and its
feedback body, mounted with the same API keys, request metrics, size limits, error mapping and
prediction log as the generic routes.

A kind route validates the JSON body with the route's pydantic model (422 with the field path
on a bad body), calls `handler(model, request)` on the model served at that moment (one model
for the whole request, even during a hot swap), logs request and answer as JSON in the
prediction log (one row, id = the request id, returned as `id` in the answer) and counts it
in `fullcycle_predictions_total{prediction="<path>"}`."""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from fullcycle.scoring.validation import RequestInvalid, problem
from fullcycle.serve.security import require_api_key
from fullcycle.taskkind import Route


def mount_kind_routes(app: FastAPI, routes: list[Route], kind_name: str) -> list[str]:
    """Add each route of the served model's kind; returns their paths (for request metrics)."""
    for route in routes:
        _mount(app, route, kind_name)
    return [r.path for r in routes]


def parse_body(model: type[BaseModel], body: bytes) -> BaseModel:
    """The request body validated by `model`; a 422 naming each bad field otherwise."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise RequestInvalid([problem(["body"], "body is not valid JSON (UTF-8)",
                                      "json_invalid")]) from None
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise RequestInvalid([problem(["body", *map(str, e.get("loc", ()))],
                                      str(e.get("msg", "")), str(e.get("type", "")))
                              for e in exc.errors()[:100]]) from None


def served_model(app: FastAPI, kind_name: str) -> Any:
    """The Served bundle in use, refused (503) if a reload brought a model of another kind:
    this app's routes were mounted for `kind_name`."""
    served = app.state.models.current
    if served.model.card.kind != kind_name:
        raise HTTPException(503, detail=[problem(
            ["model"], f"the served model is a {served.model.card.kind} model; this server "
            f"was started for {kind_name} models: restart it", "kind_changed")])
    return served


def _mount(app: FastAPI, route: Route, kind_name: str) -> None:
    async def endpoint(request: Request) -> Response:
        start = time.perf_counter()
        served = served_model(app, kind_name)
        body = parse_body(route.request, await request.body())
        answer = await run_in_threadpool(route.handler, served.model, body)
        request_id = uuid.uuid4().hex
        answer = {"id": request_id, "model_version": served.version, **answer}
        latency_ms = (time.perf_counter() - start) * 1000
        predlog = app.state.predlog
        if predlog is not None and route.logged:
            predlog.record([request_id], [body.model_dump(mode="json")], [answer], None, None,
                           version=served.version, latency_ms=latency_ms,
                           request_id=request_id, source=route.path[:16])
        app.state.metrics.inc("fullcycle_predictions_total", 1.0, version=served.version,
                              prediction=route.path)
        return Response(json.dumps(plain_json(answer)), media_type="application/json")

    endpoint.__name__ = "kind_" + route.path.strip("/").replace("/", "_")
    app.add_api_route(
        route.path, endpoint, methods=[route.method], tags=["predict"],
        summary=route.summary, dependencies=[Depends(require_api_key)],
        responses={422: {"description": "invalid body: one entry per problem"}},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
            "schema": route.request.model_json_schema()}}}})


def plain_json(value: Any) -> Any:
    """Strict JSON values: numpy scalars and arrays as Python, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays, pandas timestamps' values
        return plain_json(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
