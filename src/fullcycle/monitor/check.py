"""One monitoring pass: drift, prediction drift, data quality, performance and traffic of a
window of live data, with the alerts they raise and the exit code the CLI returns.

Exit codes (a bit per kind of alert, so cron or CI can tell them apart):
0 no alert; 1 data or prediction drift; 4 data quality; 8 performance; sums for several
(e.g. 13 = all three). 2 stays the CLI's code for a usage or configuration error."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.charts.svg import fmt_tick
from fullcycle.data.schema import ColumnSpec, Schema, to_boolean
from fullcycle.model import Model
from fullcycle.monitor.columns import CategoricalColumn, NumericColumn, Window, read_window
from fullcycle.monitor.drift import (
    category_counts,
    cdf_right,
    detect_drift,
    prediction_drift,
    reference_cdf,
)
from fullcycle.monitor.live import LiveData, summary_of_traffic
from fullcycle.monitor.logged import count_warnings
from fullcycle.monitor.performance import check_performance
from fullcycle.monitor.quality import check_quality
from fullcycle.monitor.reference import reference_of
from fullcycle.monitor.report import write_reports

EXIT_BITS = {"drift": 1, "quality": 4, "performance": 8}
HIST_BINS = 24
TOP_BARS = 12


def numeric_histogram(sketch: dict[str, Any], values: np.ndarray) -> dict[str, Any] | None:
    """Reference and live shares on common equal-width bins (over the reference's range,
    widened to the live range so a shift stays visible)."""
    if not ("values" in sketch or "quantiles" in sketch):
        return None
    lo, hi = float(sketch["min"]), float(sketch["max"])
    if len(values):
        lo, hi = min(lo, float(values[0])), max(hi, float(values[-1]))
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, HIST_BINS + 1)
    u, left, right = reference_cdf(sketch)
    ref_cdf = cdf_right(u, left, right, edges)
    ref_cdf[0], ref_cdf[-1] = 0.0, 1.0  # the bins span the whole reference range
    ref = np.diff(ref_cdf)
    cur = np.diff(np.searchsorted(values, edges, side="right")).astype(float)
    cur[0] += np.searchsorted(values, edges[0], side="right")
    cur = cur / max(len(values), 1)
    return {"edges": edges.round(10).tolist(), "reference": ref.round(6).tolist(),
            "current": cur.round(6).tolist()}


def categorical_histogram(sketch: dict[str, Any], column: CategoricalColumn) -> dict[str, Any]:
    labels, ref, cur = category_counts(sketch, column)
    keep = (ref + cur) > 0
    labels = [lab for lab, k in zip(labels, keep, strict=True) if k]
    ref, cur = ref[keep] / max(ref.sum(), 1), cur[keep] / max(cur.sum(), 1)
    order = np.argsort(-(ref + cur), kind="stable")[:TOP_BARS]
    return {"labels": [labels[i] for i in order], "reference": ref[order].round(6).tolist(),
            "current": cur[order].round(6).tolist()}


def boolean_histogram(sketch: dict[str, Any], values: np.ndarray,
                      spec: ColumnSpec) -> dict[str, Any] | None:
    """A yes/no column (tested as 0/1) drawn as its two categories, named as the training data
    wrote them ("Yes"/"No", "true"/"false", ...)."""
    if "values" not in sketch:
        return None
    names: dict[float, str] = {}
    for text in spec.categories or []:
        flag = to_boolean(pd.Series([text])).iloc[0]
        if flag == flag:  # not NaN
            names.setdefault(float(flag), str(text))
    codes = sorted(set(map(float, sketch["values"])) | set(np.unique(values).tolist()))
    ref = dict(zip(map(float, sketch["values"]), sketch["counts"], strict=True))
    ref_total, cur_total = max(sum(ref.values()), 1), max(len(values), 1)
    return {"labels": [names.get(c, {0.0: "false", 1.0: "true"}.get(c, fmt_tick(c)))
                       for c in codes],
            "reference": [round(ref.get(c, 0) / ref_total, 6) for c in codes],
            "current": [round(float(np.count_nonzero(values == c)) / cur_total, 6)
                        for c in codes]}


def _histograms(result: dict[str, Any], window: Window, reference: dict[str, Any],
                schema: Schema) -> None:
    roles = {spec.name: spec for spec in schema.columns}
    for feature in result["features"]:
        sketch = reference["features"][feature["feature"]]
        col = window.columns[feature["feature"]]
        spec = roles.get(feature["feature"])
        if spec is not None and spec.role == "boolean" and isinstance(col, NumericColumn):
            feature["role"] = "boolean"  # tested as 0/1, shown with its category names
            feature["histogram"] = boolean_histogram(sketch, col.values, spec)
        elif isinstance(col, NumericColumn):
            feature["histogram"] = numeric_histogram(sketch, col.values)
        else:
            feature["histogram"] = categorical_histogram(sketch, col)


def run_monitoring(model: Model, live: LiveData, cfg: Any) -> dict[str, Any]:
    """The full monitoring result of `live` against `model` (`cfg`: MonitorConfig)."""
    started = time.perf_counter()
    reference = reference_of(model)
    inputs = live.inputs
    if cfg.sample_rows and len(inputs) > cfg.sample_rows:  # only when asked: the default is all
        inputs = inputs.sample(n=cfg.sample_rows, random_state=0)
    window = read_window(inputs, model.schema)
    drift = detect_drift(window, reference, cfg)
    _histograms(drift, window, reference, model.schema)
    output = live.output()
    pred = prediction_drift(reference.get("prediction"), output, cfg)
    if pred is not None and output is not None and reference.get("prediction"):
        values = np.sort(output[~np.isnan(output)])
        pred["histogram"] = numeric_histogram(reference["prediction"], values)
    quality = check_quality(window, model.schema, reference, cfg)
    performance = check_performance(live, model, cfg)
    traffic = summary_of_traffic(live)
    logged = count_warnings(live.warnings, live.rows, cfg)  # None for a file
    alerts = _alerts(drift, pred, quality, performance, cfg)
    if logged is not None:
        alerts += logged["alerts"]
    kinds = sorted({a["kind"] for a in alerts})
    return {
        "model_version": model.version_label, "source": live.source,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reference_format": reference.get("format", 0), "sampled_rows": window.rows,
        **drift, "rows": live.rows,  # after **drift: the window's rows, not the sample's
        "prediction_drift": pred, "quality": quality, "performance": performance,
        "traffic": traffic, "warnings": logged, "alerts": alerts, "alert_kinds": kinds,
        "exit_code": sum(EXIT_BITS[k] for k in kinds),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _alerts(drift: dict[str, Any], pred: dict[str, Any] | None, quality: dict[str, Any],
            performance: dict[str, Any] | None, cfg: Any) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []
    if drift["dataset_drift"]:
        alerts.append({"kind": "drift", "message":
                       f"{len(drift['drifted_features'])} of {len(drift['features'])} features "
                       f"drifted ({drift['drift_share']:.0%} >= {cfg.drift_share:.0%}): "
                       f"{', '.join(drift['drifted_features'][:10])}"})
    if pred is not None and pred["drifted"]:
        alerts.append({"kind": "drift", "feature": "prediction", "message":
                       f"the model's output drifted (PSI {pred['psi']:.3f}, normalised "
                       f"Wasserstein {pred['wasserstein_norm']:.3f})"})
    alerts += quality["alerts"]
    if performance is not None:
        alerts += performance["alerts"]
    return alerts


def monitor_model(model: Model, recent: pd.DataFrame, config: Any,
                  reports: Path) -> dict[str, Any]:
    """Monitor `model` on `recent` rows (a file's rows, or `live.read_log_window`) through its
    task kind; write reports/monitoring.json and monitoring.html. The result holds the kind's
    signals, its `alerts`, `alert_kinds` and the CLI's `exit_code`."""
    found = model.kind.monitor(model, recent, config)
    kinds = sorted({a["kind"] for a in found.alerts})
    result: dict[str, Any] = {**found.signals, "alerts": found.alerts, "alert_kinds": kinds,
                              "exit_code": sum(EXIT_BITS.get(k, 1) for k in kinds)}
    result.update(write_reports(result, model, reports, found.sections))
    return result
