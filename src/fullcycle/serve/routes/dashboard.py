"""The `/dashboard` page of `fullcycle serve`: model card, live metrics, drift per feature and
recent alerts, recomputed from the prediction log (at most every `CACHE_SECONDS`) and refreshed
by the browser every `REFRESH_SECONDS`. `GET /dashboard.json` gives the same data.

Protected like the prediction API when API keys are configured (`Authorization: Bearer` or
`X-API-Key`), through the server's own `require_api_key` dependency."""

from __future__ import annotations

import threading
import time
from html import escape
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from fullcycle.config import MonitorConfig
from fullcycle.errors import DataError
from fullcycle.monitor.check import run_monitoring
from fullcycle.monitor.live import from_log
from fullcycle.monitor.report import (
    STYLE,
    alerts_html,
    clean_json,
    drift_html,
    performance_html,
    warnings_html,
)
from fullcycle.serve.security import require_api_key

CACHE_SECONDS = 5.0
REFRESH_SECONDS = 30


def _monitor_config(request: Request) -> MonitorConfig:
    config = getattr(request.app.state.models.source, "config", None)  # a RegistrySource's
    return config.monitor if config is not None else MonitorConfig()


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: tuple[Any, ...] | None = None
        self.at = 0.0
        self.value: dict[str, Any] | None = None


def _compute(request: Request, cache: _Cache) -> dict[str, Any] | None:
    """The monitoring result of the whole prediction log against the served model, or None
    while the log is off or empty."""
    served = request.app.state.models.current
    predlog = request.app.state.predlog
    if predlog is None:
        return None
    key = (served.version, predlog.url)
    with cache.lock:
        if cache.key == key and time.monotonic() - cache.at < CACHE_SECONDS:
            return cache.value
        predlog.flush(timeout=5)
        try:
            live = from_log(predlog.url, served.model)
            found = run_monitoring(served.model, live, _monitor_config(request))
            found["source"] = "prediction log"  # its URL (a file path, a host) stays private
            value: dict[str, Any] | None = found
        except DataError:
            value = None  # no traffic yet
        cache.key, cache.at, cache.value = key, time.monotonic(), value
        return value


def model_card(served: Any) -> str:
    model = served.model
    card = model.card
    test = card.training.test_metrics
    metric = card.metric
    items = [("version", served.version), ("task", card.task),
             ("target", card.target or "–"), ("model", _model_name(card)),
             (f"test {metric}", f"{test[metric]:.4f}" if metric in test else "–"),
             ("training rows", card.provenance.rows_train or "–"),
             ("trained", card.provenance.trained_at or "–"),
             ("features", len(model.schema.features))]
    return '<div class="card" id="model-card">' + "".join(
        f"<div>{escape(str(k))}<b>{escape(str(v))}</b></div>" for k, v in items) + "</div>"


def _model_name(card: Any) -> str:
    """What the served model is: an ensemble names its members, not its best one."""
    members = [str(m.get("model")) for m in (card.training.final_model or {}).get("members") or []]
    if len(members) > 1:
        return "ensemble of " + ", ".join(members)
    return str(card.training.best_candidate or "–")


def live_card(result: dict[str, Any]) -> str:
    traffic = result.get("traffic") or {}
    perf = result.get("performance") or {}
    metric = perf.get("metric")
    live_metric = perf.get("overall", {}).get(metric) if perf.get("labelled") else None
    items = [("predictions", traffic.get("predictions", result["rows"])),
             ("latency p50 (ms)", _num(traffic.get("latency_p50_ms"), 1)),
             ("latency p95 (ms)", _num(traffic.get("latency_p95_ms"), 1)),
             ("labelled", perf.get("labelled", 0)),
             (f"live {metric or 'metric'}", _num(live_metric, 4)),
             ("drifted features", f"{len(result['drifted_features'])} / "
              f"{len(result['features'])}"),
             ("rows with warnings", (result.get("warnings") or {}).get("warned_rows", 0)),
             ("alerts", len(result["alerts"]))]
    return '<div class="card" id="live-card">' + "".join(
        f"<div>{escape(str(k))}<b>{escape(str(v))}</b></div>" for k, v in items) + "</div>"


def _num(value: Any, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def render_dashboard(served: Any, result: dict[str, Any] | None) -> str:
    body = ["<h1>fullcycle dashboard</h1>", f"<p class=muted>refreshes every {REFRESH_SECONDS}"
            " s · from the prediction log</p>", "<h2>Model</h2>", model_card(served)]
    if result is None:
        body.append("<h2>Live</h2><p class=muted>No predictions logged yet: send traffic to "
                    "POST /predict.</p>")
    else:
        body += ["<h2>Live</h2>", live_card(result), "<h2>Recent alerts</h2>",
                 alerts_html(result), "<h2>Drift per feature</h2>", drift_html(result),
                 "<h2>Logged data-quality warnings</h2>", warnings_html(result),
                 "<h2>Performance</h2>", performance_html(result)]
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
            '<link rel=icon href="data:,">'
            f"<title>fullcycle dashboard</title><style>{STYLE}</style></head><body>"
            + "".join(body) + "</body></html>")


def dashboard_router() -> APIRouter:
    """Routes GET /dashboard (HTML) and GET /dashboard.json; add with `app.include_router`."""
    router = APIRouter(tags=["monitoring"], dependencies=[Depends(require_api_key)])
    cache = _Cache()

    @router.get("/dashboard", response_class=HTMLResponse, summary="Monitoring dashboard")
    def dashboard(request: Request) -> HTMLResponse:
        result = _compute(request, cache)
        return HTMLResponse(render_dashboard(request.app.state.models.current, result))

    @router.get("/dashboard.json", summary="Monitoring data behind the dashboard")
    def dashboard_json(request: Request) -> JSONResponse:
        result = _compute(request, cache)
        served = request.app.state.models.current
        return JSONResponse(clean_json({"model_version": served.version, "monitoring": result}))

    return router
