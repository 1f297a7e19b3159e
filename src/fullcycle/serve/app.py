"""The FastAPI prediction server.

    create_app(model, *, max_rows=...)                # one fixed Model (demo, tests)
    create_app(source=RegistrySource(ws, "champion"), config=cfg.serve, log_url=...)
    fullcycle serve --workspace WS [--workers N]      # the CLI (fullcycle.cli.serve)

Routes: POST /predict, POST /predict/file (row-wise task kinds only), POST /feedback (the kind's
body when it has one), POST /admin/reload, GET /health, /ready, /metadata, /metrics, /docs, and
the served kind's own routes (`TaskKind.routes()`, mounted by serve/routes/kinds.py). For a
table, `POST /predict` answers
`{"model_version", "predictions": [{"id", "prediction", "probabilities"?}], "warnings"?}`; for
other row-wise kinds each prediction holds the kind's output columns.

Extending the app (other stages add routes in one small edit):

- `app.state.models` is the `ModelHolder`; `app.state.models.current` is the `Served` bundle of
  the model in use (`.model`, `.validator`, `.version`). Read it ONCE per request and use that
  object to the end: a hot swap replaces it between requests, never inside one.
- `app.state.predlog` is the `PredictionLog` (or None when logging is off); its `.url` is what
  `fullcycle.monitor.predlog.read_log(url, since=None)` reads (inputs expanded, feedback joined).
- `app.state.metrics` is the `Metrics` registry (`inc`, `observe`).
- `app.state.api_keys`; protect a new route with `dependencies=[Depends(require_api_key)]`
  (`from fullcycle.serve.security import require_api_key`), or `require_admin`.
- `app.include_router(router)` after `create_app` works as usual; request metrics count it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from fullcycle.config import Config, ServeConfig
from fullcycle.errors import FullcycleError
from fullcycle.model import Model
from fullcycle.monitor.predlog import PredictionLog, dumps
from fullcycle.scoring.batch import score_upload
from fullcycle.scoring.served import ModelSource, RegistrySource, Served
from fullcycle.scoring.validation import (
    RequestInvalid,
    contract_example,
    parse_json,
    problem,
    record_schema,
)
from fullcycle.serve.metrics import VALUE_BUCKETS, Metrics
from fullcycle.serve.reload import ModelHolder
from fullcycle.serve.routes.dashboard import dashboard_router
from fullcycle.serve.routes.explain import explain_router
from fullcycle.serve.routes.kinds import mount_kind_routes, parse_body, plain_json
from fullcycle.serve.security import (
    ApiKeys,
    BodyLimit,
    KeyGuard,
    public_text,
    require_admin,
    require_api_key,
)
from fullcycle.serve.workers import SHARED_ENV, WorkerShare
from fullcycle.taskkind import PredictOptions
from fullcycle.workspace import Workspace

log = logging.getLogger("fullcycle.serve")
INLINE_ROWS = 64  # bigger requests are scored on the thread pool, not the event loop
ROUTES = ("/predict", "/predict/file", "/feedback", "/admin/reload", "/health", "/ready",
          "/metadata", "/metrics")


class Prediction(BaseModel):
    id: str = Field(description="prediction id; send it back with POST /feedback")
    prediction: Any = Field(description="predicted class label or value")
    probabilities: dict[str, float] | None = Field(None, description="per class (classification)")


class PredictAnswer(BaseModel):
    model_version: str
    predictions: list[Prediction]
    warnings: list[dict[str, Any]] | None = Field(None, description="unseen categories, values "
                                                  "outside the training range")


class Problem422(BaseModel):
    detail: list[dict[str, Any]] = Field(description="one entry per problem: loc (field path), "
                                         "msg (what was expected), type, input")


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=64, description="prediction id from POST /predict")
    label: str | float | int | bool = Field(description="the true label or value")

    @field_validator("label")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("expected a finite number or a text label")
        return value


def create_app(model: Model | None = None, *, max_rows: int | None = None,
               source: ModelSource | None = None, config: ServeConfig | None = None,
               log_url: str | None = None, api_keys: ApiKeys | None = None,
               shared: str | None = None) -> FastAPI:
    """The app over a fixed `model`, or over a `source` it can reload from. Prediction logging
    needs `log_url` (the CLI passes the workspace's, or serve.log_url). `shared` is the folder
    the workers of one server share (metrics totals, reloads; see workers.py)."""
    cfg = config or ServeConfig()
    if max_rows is not None:
        cfg = cfg.model_copy(update={"max_rows": max_rows})
    source = source or ModelSource(model)
    metrics = Metrics()
    holder = ModelHolder(source, Served.prepare(source.load(), missing=source.missing), metrics)
    predlog = PredictionLog(log_url) if log_url and cfg.log_predictions else None
    share = None
    if shared:
        share = metrics.share = WorkerShare(shared)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        holder.start_polling(cfg.reload_seconds)
        if share is not None:
            share.start(metrics, holder)
        try:
            yield
        finally:
            holder.stop()
            if share is not None:
                share.stop(metrics)
            if predlog is not None:
                await run_in_threadpool(predlog.close)

    current = holder.current
    from fastapi_offline import FastAPIOffline  # Swagger UI assets served by the app: /docs offline

    card = current.model.card
    app = FastAPIOffline(
        title=f"fullcycle: {card.kind} model" + (f" of {card.target!r}" if card.target else ""),
        description=f"{card.task} model served by fullcycle. "
        "Every prediction is logged with its id; send true labels to POST /feedback.",
        version=current.version, lifespan=lifespan)
    app.state.models, app.state.predlog, app.state.metrics = holder, predlog, metrics
    app.state.api_keys = api_keys if api_keys is not None else \
        ApiKeys.load(cfg.api_keys_env, cfg.api_keys_file)
    app.state.config = cfg
    _register_gauges(metrics, holder, predlog)
    _errors(app)
    _info_routes(app)
    kind = current.model.kind
    if kind.row_wise:  # one answer per record: the generic routes, checked by the contract
        _predict_route(app, cfg)
        _file_route(app)

    extra_routes = mount_kind_routes(app, kind.routes(), kind.name)  # /forecast, /recommend...
    _feedback_routes(app, kind.feedback_request())

    if kind.scored:  # explanations of a score array: supervised tables
        app.include_router(explain_router())  # POST /explain (the kind's explain)

    app.include_router(dashboard_router())  # GET /dashboard, /dashboard.json (monitor/)
    _typed_openapi(app, cfg)
    if cfg.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=cfg.cors_origins,
                           allow_methods=["GET", "POST"], allow_headers=["*"])
    app.add_middleware(KeyGuard, open_metrics=cfg.open_metrics)  # keys on: every route but probes
    app.add_middleware(RequestMetrics, metrics=metrics, routes=extra_routes)
    app.add_middleware(BodyLimit, limit=cfg.max_body_bytes, upload_limit=cfg.max_upload_bytes)
    return app


def _register_gauges(metrics: Metrics, holder: ModelHolder, predlog: PredictionLog | None) -> None:
    metrics.gauge("fullcycle_model_info", "model version in use (value 1)",
                  lambda: {(("fast_path", str(holder.current.fast is not None).lower()),
                            ("version", holder.current.version)): 1})
    if predlog is not None:
        metrics.gauge("fullcycle_prediction_log_rows", "prediction log rows by state",
                      lambda: {(("state", "written"),): predlog.written,
                               (("state", "failed"),): predlog.failed})
        metrics.gauge("fullcycle_prediction_log_pending_requests", "requests queued for the "
                      "log writer", lambda: {(): predlog.pending})


class RequestMetrics:
    """Pure ASGI middleware (no BaseHTTPMiddleware overhead): count and time every request."""

    def __init__(self, app: Any, metrics: Metrics, routes: list[str] | None = None) -> None:
        self.app, self.metrics = app, metrics
        self.routes = frozenset(ROUTES) | frozenset(routes or ())  # + the kind's routes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        path = scope["path"]
        route = path if path in self.routes else "other"

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            self.metrics.inc("fullcycle_requests_total", route=route, status=str(status))
            self.metrics.observe("fullcycle_request_duration_seconds",
                                 time.perf_counter() - start, route=route)
            if status >= 400:
                self.metrics.inc("fullcycle_errors_total", route=route, status=str(status))


def _errors(app: FastAPI) -> None:
    @app.exception_handler(RequestInvalid)
    async def _invalid(request: Request, exc: RequestInvalid) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=422)

    @app.exception_handler(FullcycleError)
    async def _known(request: Request, exc: FullcycleError) -> JSONResponse:
        detail = getattr(exc, "violations", None) or [problem(["body"], public_text(str(exc)),
                                                              type(exc).__name__)]
        return JSONResponse(_json_safe({"detail": detail}), status_code=exc.http_status)

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def _request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the input: NaN or a lone surrogate made that a 500
        detail = [problem(list(e.get("loc", ())), str(e.get("msg", "")), str(e.get("type", "")),
                          e.get("input") if isinstance(e.get("input"), str | int | float | bool)
                          else None) for e in exc.errors()]
        return JSONResponse({"detail": detail[:100]}, status_code=422)


def _json_safe(value: Any) -> Any:
    """A JSON answer that always serialises (strict JSON, UTF-8): NaN/inf and odd text fixed."""
    try:
        json.dumps(value, allow_nan=False).encode("utf-8")
        return value
    except (ValueError, TypeError, UnicodeEncodeError):
        return json.loads(dumps(value).encode("utf-8", "backslashreplace"))


def _info_routes(app: FastAPI) -> None:
    holder: ModelHolder = app.state.models

    @app.get("/health", tags=["operations"], summary="Liveness")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"], summary="Readiness: model loaded and checked",
             responses={503: {"description": "no checked model"}})
    def ready() -> JSONResponse:
        served = holder.current
        if served is None:
            return JSONResponse({"status": "not ready"}, status_code=503)
        return JSONResponse({"status": "ready", "model_version": served.version,
                             "prediction_path": served.note})

    @app.get("/metadata", tags=["operations"], summary="Model version, contract, metrics")
    def metadata() -> dict[str, Any]:
        return _metadata(holder)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics",
             response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(app.state.metrics.render(),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")


def _metadata(holder: ModelHolder) -> dict[str, Any]:
    served = holder.current
    model, card = served.model, served.model.card
    return {
        "model_version": served.version, "follows_alias": holder.source.follows,
        "loaded_at": served.loaded_at, "prediction_path": served.note,
        "last_reload_error": public_text(holder.last_error) if holder.last_error else None,
        "kind": card.kind, "output_columns": model.kind.output_columns(model),
        "problem": {"task": card.task, "target": card.target, "metric": card.metric,
                    "labels": card.classes, "success": card.success},
        "schema": card.schema.to_dict(), "threshold": card.threshold,
        "metrics": card.training.test_metrics,
        "data_fingerprint": card.provenance.data_fingerprint,
        "trained_at": card.provenance.trained_at, "family": card.training.family,
        "best_candidate": card.training.best_candidate, "input_example": _example(model),
        "task_info": card.task_info,
    }


def _example(model: Model) -> dict[str, Any]:
    """The input example answers show: synthesised from the contract (typical values), never
    a training row, whatever example the model was saved with."""
    return contract_example(model.schema)


def _answer(served: Served, scores: np.ndarray, request_id: str) -> tuple[list[str], Any, list]:
    labels = served.model.labels_from_scores(scores)
    ids = [f"{request_id}-{i}" for i in range(len(labels))]
    classes = served.model.card.classes or None
    out = []
    for i, label in enumerate(labels):
        row: dict[str, Any] = {"id": ids[i], "prediction": _plain(label)}
        if classes is not None:
            row["probabilities"] = dict(zip(classes, scores[i].tolist(), strict=True))
        out.append(row)
    return ids, labels, out


def _predict_route(app: FastAPI, cfg: ServeConfig) -> None:
    holder: ModelHolder = app.state.models
    metrics: Metrics = app.state.metrics

    @app.post("/predict", tags=["predict"], dependencies=[Depends(require_api_key)],
              summary="Predict one record or a list of records",
              responses={200: {"model": PredictAnswer}, 422: {"model": Problem422},
                         401: {"description": "API key required"},
                         413: {"description": "body too large"}},
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/PredictRequest"}}}}})
    async def predict(request: Request) -> Response:
        start = time.perf_counter()
        served = holder.current  # one model for the whole request, even during a swap
        payload = parse_json(await request.body())
        rows, warnings = served.validator.records(payload, cfg.max_rows)
        if not served.model.kind.scored:  # clusters, anomalies: the kind predicts the rows
            return await _kind_rows(app, served, payload, rows, warnings, start)
        if len(rows) > INLINE_ROWS:
            scores = await run_in_threadpool(served.scores, rows)
        else:
            scores = served.scores(rows)
        request_id = uuid.uuid4().hex
        ids, labels, out = _answer(served, scores, request_id)
        answer: dict[str, Any] = {"model_version": served.version, "predictions": out}
        if warnings:
            answer["warnings"] = warnings[:100]
        latency_ms = (time.perf_counter() - start) * 1000
        predlog = app.state.predlog
        if predlog is not None:
            records = payload if isinstance(payload, list) else [payload]
            classes = served.model.card.classes
            proba = scores if classes else None
            predlog.record(ids, records, labels, proba, classes,
                           version=served.version, latency_ms=latency_ms, request_id=request_id,
                           warnings=warnings)
        _count_predictions(metrics, served, scores, labels, warnings)
        return Response(json.dumps(answer), media_type="application/json")


async def _kind_rows(app: FastAPI, served: Served, payload: Any, rows: list[list[Any]],
                     warnings: list[dict[str, Any]], start: float) -> Response:
    """`POST /predict` of a row-wise kind that predicts checked rows itself: one answer per
    record with the kind's output columns (`TaskKind.output_columns`)."""
    import pandas as pd

    model = served.model
    frame = pd.DataFrame.from_records(rows, columns=served.validator.names)
    out = await run_in_threadpool(model.kind.predict, model, frame, PredictOptions())
    request_id = uuid.uuid4().hex
    ids = [f"{request_id}-{i}" for i in range(len(out))]
    records = plain_json(out.to_dict(orient="records"))
    answer: dict[str, Any] = {"model_version": served.version,
                              "predictions": [{"id": i, **r} for i, r in zip(ids, records,
                                                                             strict=True)]}
    if warnings:
        answer["warnings"] = warnings[:100]
    first = "prediction" if "prediction" in out.columns else out.columns[0]
    labels = [r.get(first) for r in records]
    predlog = app.state.predlog
    if predlog is not None:
        predlog.record(ids, payload if isinstance(payload, list) else [payload], labels, None,
                       None, version=served.version,
                       latency_ms=(time.perf_counter() - start) * 1000,
                       request_id=request_id, warnings=warnings)
    values, counts = np.unique(np.asarray(labels, dtype=object).astype(str), return_counts=True)
    for value, count in zip(values, counts, strict=True):
        app.state.metrics.inc("fullcycle_predictions_total", float(count),
                              version=served.version, prediction=str(value))
    return Response(json.dumps(answer), media_type="application/json")


def _count_predictions(metrics: Metrics, served: Served, scores: np.ndarray, labels: Any,
                       warnings: list[dict[str, Any]]) -> None:
    if served.model.card.classes:  # class labels and P(positive)
        values, counts = np.unique(np.asarray(labels, dtype=object).astype(str),
                                   return_counts=True)
        for value, count in zip(values, counts, strict=True):
            metrics.inc("fullcycle_predictions_total", float(count), version=served.version,
                        prediction=str(value))
        if scores.shape[1] == 2:
            metrics.observe_many("fullcycle_prediction_value", scores[:, 1], VALUE_BUCKETS,
                                 version=served.version)
    else:
        metrics.inc("fullcycle_predictions_total", float(len(scores)), version=served.version,
                    prediction="value")
        metrics.observe_many("fullcycle_prediction_value", scores, _value_buckets(served),
                             version=served.version)
    for warning in warnings:
        name = WARNING_COUNTERS.get(warning["type"], "fullcycle_out_of_range_total")
        metrics.inc(name, column=str(warning["loc"][-1]))


WARNING_COUNTERS = {"unseen_category": "fullcycle_unseen_categories_total",
                    "missing_imputed": "fullcycle_missing_imputed_total",
                    "out_of_range": "fullcycle_out_of_range_total"}


def _value_buckets(served: Served) -> tuple[float, ...]:
    sketch = served.model.card.reference.get("prediction") or {}
    edges = sketch.get("bin_edges") if isinstance(sketch, dict) else None  # deciles
    if edges:
        return tuple(sorted({float(v) for v in edges if v == v}))
    return (0.0, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6)


def _file_route(app: FastAPI) -> None:
    holder: ModelHolder = app.state.models

    @app.post("/predict/file", tags=["predict"], dependencies=[Depends(require_api_key)],
              summary="Score a CSV or Parquet upload; answers the scored file, streamed",
              responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
                               "description": "input id column (if named) + prediction + "
                               "proba_<class> columns; the prediction id of row i (0-based) is "
                               "`<X-Request-Id>-<i>`"},
                         422: {"model": Problem422}})
    async def predict_file(
        file: UploadFile = File(description="CSV or Parquet file with the model's columns"),  # noqa: B008
        output: str | None = Query(None, pattern="^(csv|parquet)$",
                                   description="answer format; default: same as the upload"),
        id_column: str | None = Query(None, max_length=200,
                                      description="input column copied to the answer"),
    ) -> StreamingResponse:
        served = holder.current
        kind, request_id, parts = await run_in_threadpool(
            score_upload, served, file.file, file.filename, output, id_column, app.state.predlog)
        media = "text/csv" if kind == "csv" else "application/vnd.apache.parquet"
        return StreamingResponse(parts, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="predictions.{kind}"',
            "X-Model-Version": served.version, "X-Request-Id": request_id})


def _feedback_routes(app: FastAPI, body: type[BaseModel] | None = None) -> None:
    holder: ModelHolder = app.state.models
    if body is not None:  # the kind's own feedback (e.g. a click on a recommended item)
        _kind_feedback(app, body)
    else:
        _label_feedback(app)

    @app.post("/admin/reload", tags=["operations"], dependencies=[Depends(require_admin)],
              summary="Swap to the version the followed alias points at now",
              responses={409: {"description": "the new version failed its checks"}})
    async def admin_reload() -> dict[str, Any]:
        try:
            answer = await run_in_threadpool(holder.reload)
        except Exception as exc:  # the old model keeps serving
            raise HTTPException(409, detail=[problem(["model"], f"reload failed, still serving "
                                                     f"{holder.current.version}: "
                                                     + public_text(str(exc)),
                                                     "reload_failed")]) from None
        share = app.state.metrics.share
        if share is not None:  # the other workers follow within a second
            share.request_reload()
            answer["workers"] = "this worker reloaded; the others follow within a second"
        return answer


def _kind_feedback(app: FastAPI, body: type[BaseModel]) -> None:
    """`POST /feedback` with the kind's body: its `id` names a logged prediction or request
    (the `id` of an answer); the rest of the body is stored as the label (JSON)."""
    @app.post("/feedback", tags=["predict"], dependencies=[Depends(require_api_key)],
              summary="Record what happened after a prediction (the kind's feedback body)",
              responses={404: {"description": "unknown prediction id"},
                         503: {"description": "prediction log is off"}},
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": body.model_json_schema()}}}})
    async def feedback(request: Request) -> dict[str, Any]:
        item = parse_body(body, await request.body()).model_dump(mode="json")
        pid = str(item.pop("id", "") or "")
        if not pid:
            raise RequestInvalid([problem(["body", "id"], "give the id of the answer this "
                                          "feedback is about", "missing")])
        return await _store_feedback(app, pid, json.dumps(item, sort_keys=True))


async def _store_feedback(app: FastAPI, pid: str, label: Any) -> dict[str, Any]:
    predlog: PredictionLog | None = app.state.predlog
    if predlog is None:
        raise HTTPException(503, detail=[problem(["body"], "prediction logging is off "
                                                 "(serve.log_predictions)", "unavailable")])
    if not await run_in_threadpool(predlog.add_feedback, pid, label):
        raise HTTPException(404, detail=[problem(["body", "id"], "no logged prediction has "
                                                 "this id", "not_found", pid)])
    return {"id": pid, "recorded": True}


def _label_feedback(app: FastAPI) -> None:
    @app.post("/feedback", tags=["predict"], dependencies=[Depends(require_api_key)],
              summary="Record the true label of a prediction",
              responses={404: {"description": "unknown prediction id"},
                         503: {"description": "prediction log is off"}})
    async def feedback(item: Feedback) -> dict[str, Any]:
        return await _store_feedback(app, item.id, item.label)


def _typed_openapi(app: FastAPI, cfg: ServeConfig) -> None:
    """Inject the request schema generated from the current model's contract."""
    holder: ModelHolder = app.state.models
    cache: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        served = holder.current
        if cache.get("version") == served.version:
            return cache["schema"]
        from fastapi.openapi.utils import get_openapi

        spec = get_openapi(title=app.title, version=served.version,
                           description=app.description, routes=app.routes)
        record = record_schema(served.model.schema, _example(served.model))
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas["Record"] = record
        schemas["PredictRequest"] = {
            "oneOf": [{"$ref": "#/components/schemas/Record"},
                      {"type": "array", "items": {"$ref": "#/components/schemas/Record"},
                       "minItems": 1, "maxItems": cfg.max_rows}],
            "example": record.get("example")}
        cache.update(version=served.version, schema=spec)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def serve_app(workspace: str, ref: str = "champion", config: Any = None,
              shared: str | None = None) -> FastAPI:
    """The app the CLI serves: a registry reference of a workspace (aliases followed), the
    prediction log at serve.log_url or the workspace's SQLite file."""
    source = RegistrySource(workspace, ref, config)
    cfg = source.config.serve
    log_url = cfg.log_url or source.workspace.prediction_log_url
    return create_app(source=source, config=cfg, log_url=log_url, shared=shared)


def app_from_env() -> FastAPI:
    """Import-string factory for `uvicorn --factory` / several workers: reads
    FULLCYCLE_SERVE_WORKSPACE, FULLCYCLE_SERVE_MODEL and FULLCYCLE_SERVE_CONFIG (a JSON
    dump of the serve section, as the CLI resolved it)."""
    import os
    import sys

    # The log writer and the model poller are background threads; a shorter GIL switch
    # interval (default 5 ms) bounds how long they can hold up the event loop.
    sys.setswitchinterval(0.0005)
    workspace = os.environ["FULLCYCLE_SERVE_WORKSPACE"]
    config = Workspace.at(workspace).load_config() if "FULLCYCLE_SERVE_CONFIG" not in os.environ \
        else Config.from_dict(json.loads(os.environ["FULLCYCLE_SERVE_CONFIG"]), where="serve env")

    return serve_app(workspace, os.environ.get("FULLCYCLE_SERVE_MODEL", "champion"), config,
                     shared=os.environ.get(SHARED_ENV))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
