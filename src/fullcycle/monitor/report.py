"""The monitoring report: `reports/monitoring.json` (everything, machine-readable) and
`reports/monitoring.html` (one self-contained page: drift per feature with the training and live
distributions overlaid, prediction drift, data quality, performance over time, prediction volume
and latency). The HTML sections are shared with the server's /dashboard page."""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path
from typing import Any

from fullcycle.monitor import svg

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1d2330;
max-width:1200px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid
#dde;padding-bottom:4px}.muted{color:#667}table{border-collapse:collapse;font-size:13px;
width:100%}th,td{padding:4px 8px;border-bottom:1px solid #eef;text-align:right;
vertical-align:middle}th{background:#f4f6fa}td.l,th.l{text-align:left}
tr.bad td{background:#fff2ee}.alert{background:#fde8e2;border-left:4px solid #d0431c;
padding:6px 10px;margin:4px 0}.ok{background:#e6f4ea;border-left:4px solid #2b8a3e;
padding:6px 10px}.chip{display:inline-block;padding:1px 6px;border-radius:8px;font-size:11px;
background:#d0431c;color:#fff;margin-right:3px}.key span{margin-right:14px}
.card{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:8px}
.card div{background:#f4f6fa;padding:8px;border-radius:6px}.card b{display:block;font-size:18px}
"""


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def alerts_html(result: dict[str, Any]) -> str:
    alerts = result.get("alerts", [])
    if not alerts:
        return '<div class="ok">No alert: no dataset drift, no quality issue, no performance ' \
               "degradation.</div>"
    return "".join(f'<div class="alert"><b>{escape(a["kind"])}</b>: {escape(a["message"])}</div>'
                   for a in alerts)


def drift_html(result: dict[str, Any]) -> str:
    head = ("<tr><th class=l>feature</th><th class=l>kind</th><th>PSI</th><th>KS / JS</th>"
            "<th>Wasserstein / std</th><th>p-value</th><th>missing (train → live)</th>"
            "<th class=l>distribution</th><th class=l>status</th></tr>")
    rows = []
    for f in sorted(result["features"], key=lambda f: -f["psi"]):
        numeric = f["kind"] == "numeric"
        second = f.get("ks") if numeric else f.get("jensenshannon")
        pvalue = f.get("ks_pvalue") if numeric else f.get("chi2_pvalue")
        status = "".join(f'<span class="chip">{escape(r)}</span>' for r in f["reasons"]) or (
            "ok" if f["judged"] else '<span class="muted">too few rows</span>')
        rows.append(
            f'<tr class="{"bad" if f["drifted"] else ""}" data-feature="{escape(f["feature"])}">'
            f'<td class=l>{escape(f["feature"])}</td><td class=l>{f.get("role", f["kind"])}</td>'
            f'<td>{_fmt(f["psi"])}</td><td>{_fmt(second)}</td>'
            f'<td>{_fmt(f.get("wasserstein_norm")) if numeric else ""}</td>'
            f"<td>{_fmt(pvalue, 4)}</td>"
            f'<td>{f["reference_missing"]:.1%} → {f["current_missing"]:.1%}</td>'
            f'<td class=l>{svg.overlay(f.get("histogram"))}</td><td class=l>{status}</td></tr>')
    share = result["drift_share"]
    verdict = (f'<div class="{"alert" if result["dataset_drift"] else "ok"}">'
               f'{len(result["drifted_features"])} of {len(result["features"])} features drifted '
               f"({share:.0%}; dataset drift at ≥ {result['thresholds']['drift_share']:.0%})</div>")
    if result["features"] and not any(f["judged"] for f in result["features"]):
        verdict = (f'<div class="muted">{result["rows"]} rows: too few to judge drift yet; the '
                   "figures below are shown but not acted on.</div>")
    legend = (f'<p class="key muted"><span style="color:{svg.REF_COLOR}">&#9632; training '
              f'reference</span><span style="color:{svg.CUR_COLOR}">&#9632; live window</span>'
              "Thresholds: " + ", ".join(f"{k} {v}" for k, v in result["thresholds"].items()
                                         if v is not None) + "</p>")
    return (verdict + legend + f'<table id="drift-table">{head}{"".join(rows)}</table>'
            + _prediction_html(result.get("prediction_drift")))


def _prediction_html(pred: dict[str, Any] | None) -> str:
    if not pred:
        return ""
    if pred["drifted"]:
        state = ", ".join(pred["reasons"])
    elif pred.get("judged") is False:  # one logged row has a PSI, but it says nothing yet
        state = "too few rows to judge"
    else:
        state = "no drift"
    return (f"<h3>Model output</h3><p>PSI {_fmt(pred['psi'])}, KS {_fmt(pred['ks'])}, "
            f"Wasserstein/std {_fmt(pred['wasserstein_norm'])}: <b>{escape(state)}</b></p>"
            + svg.overlay(pred.get("histogram"), width=420, height=90))


def quality_html(result: dict[str, Any]) -> str:
    quality = result["quality"]
    head = ("<tr><th class=l>feature</th><th class=l>role</th><th>missing (train → live)</th>"
            "<th>invalid</th><th>imputed</th><th>out of range</th><th>unseen categories</th>"
            "<th class=l>issues</th></tr>")
    rows = []
    for c in quality["columns"]:
        unseen = c.get("unseen")
        examples = ", ".join(c.get("unseen_values", []))
        unseen_cell = "" if unseen is None else f"{unseen}" + (f" ({escape(examples)})"
                                                                if unseen else "")
        rows.append(
            f'<tr class="{"bad" if c["issues"] else ""}"><td class=l>{escape(c["feature"])}</td>'
            f'<td class=l>{c["role"]}</td><td>{c["reference_missing_rate"]:.1%} → '
            f'{c["missing_rate"]:.1%}</td><td>{c["invalid"]}</td><td>{c.get("imputed", "")}</td>'
            f'<td>{c.get("out_of_range", "")}</td>'
            f'<td>{unseen_cell}</td><td class=l>{escape(", ".join(c["issues"]))}</td></tr>')
    absent = (f'<div class="alert">absent columns: {escape(", ".join(quality["absent"]))}</div>'
              if quality["absent"] else "")
    return absent + f'<table id="quality-table">{head}{"".join(rows)}</table>'


def warnings_html(result: dict[str, Any]) -> str:
    """The data-quality warnings the server logged with the window's predictions."""
    logged = result.get("warnings")
    if logged is None:
        return ("<p class=muted>Monitored a file: logged warnings come from the prediction "
                "log.</p>")
    state = "alert" if logged["alerts"] else "ok"
    head = (f'<div class="{state}">{logged["warned_rows"]} of {logged["rows"]} logged '
            f'predictions ({logged["warned_share"]:.1%}) carried data-quality warnings '
            f'(alert above {logged["threshold"]:.1%}, monitor.warning_share)</div>')
    if not logged["counts"]:
        return head
    rows = "".join(f'<tr><td class=l>{escape(c["column"])}</td><td class=l>{escape(c["kind"])}'
                   f'</td><td>{c["count"]}</td><td>{c["share"]:.1%}</td></tr>'
                   for c in logged["counts"])
    return (head + '<table id="warnings-table"><tr><th class=l>column</th><th class=l>warning'
            f"</th><th>rows</th><th>share</th></tr>{rows}</table>")


def performance_html(result: dict[str, Any]) -> str:
    perf = result.get("performance")
    if not perf or not perf.get("labelled"):
        notes = "; ".join((perf or {}).get("notes", []))
        return ("<p class=muted>No true labels yet: send them with POST /feedback, or monitor a "
                f"labelled file.{(' ' + escape(notes)) if notes else ''}</p>")
    metric, windows = perf["metric"], perf["windows"]
    chart = svg.line_chart([w["start"] for w in windows],
                           {f"live {metric}": [w["metrics"].get(metric) for w in windows]},
                           reference=perf["reference"])
    head = "<tr><th class=l>window</th><th>labelled</th><th>" + escape(metric) + \
        "</th><th>worse than training by</th><th class=l>status</th></tr>"
    rows = "".join(
        f'<tr class="{"bad" if w["degraded"] else ""}"><td class=l>{escape(w["start"])}</td>'
        f'<td>{w["labelled"]}</td><td>{_fmt(w["metrics"].get(metric), 4)}</td>'
        f'<td>{w["drop"]:.1%}</td><td class=l>'
        f'{"degraded" if w["degraded"] else ("ok" if w["judged"] else "too few labels")}</td></tr>'
        for w in windows)
    return (f"<p>{escape(metric)} on {perf['labelled']} labelled rows: "
            f"<b>{_fmt(perf['overall'].get(metric), 4)}</b> (test set at training: "
            f"{_fmt(perf['reference'], 4)}, dashed line)</p>{chart}"
            f'<table id="performance-table">{head}{rows}</table>')


def traffic_html(result: dict[str, Any]) -> str:
    traffic = result.get("traffic")
    if not traffic:
        return "<p class=muted>Monitored a file: no traffic figures (they come from the " \
               "prediction log).</p>"
    windows = traffic["windows"]
    xs = [w["start"] for w in windows]
    versions = ", ".join(f"v{k}: {v}" for k, v in traffic["by_version"].items())
    return (f"<p>{traffic['predictions']} predictions from {escape(traffic['first'])} to "
            f"{escape(traffic['last'])} ({escape(versions)}); latency p50 "
            f"{_fmt(traffic['latency_p50_ms'], 1)} ms, p95 {_fmt(traffic['latency_p95_ms'], 1)} "
            "ms</p><h3>Predictions per window</h3>"
            + svg.bar_chart(xs, [w["predictions"] for w in windows])
            + "<h3>Latency (ms)</h3>"
            + svg.line_chart(xs, {"p50": [w["latency_p50_ms"] for w in windows],
                                  "p95": [w["latency_p95_ms"] for w in windows]}))


def sections(result: dict[str, Any]) -> str:
    return ("<h2>Alerts</h2>" + alerts_html(result) + "<h2>Drift per feature</h2>"
            + drift_html(result) + "<h2>Data quality</h2>" + quality_html(result)
            + "<h2>Logged data-quality warnings</h2>" + warnings_html(result)
            + "<h2>Performance</h2>" + performance_html(result)
            + "<h2>Prediction volume and latency</h2>" + traffic_html(result))


def render_html(result: dict[str, Any], title: str = "Monitoring report",
                parts: list[Any] | None = None) -> str:
    """The page: a task kind's sections (`parts`: ReportSection) or the drift sections."""
    if parts:
        body = "".join(f'<section id="{escape(p.key)}">'
                       + (f"<h2>{escape(p.title)}</h2>" if p.title else "") + p.html
                       + "</section>" for p in parts)
    else:
        body = sections(result)
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<link rel=icon href="data:,">'  # no favicon request
            f"<title>{escape(title)}"
            f"</title><style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
            f"<p class=muted>model version {escape(str(result.get('model_version', '?')))} · "
            f"{escape(str(result.get('source', '')))} · {result.get('rows', '?')} rows · "
            f"generated {escape(str(result.get('generated_at', '')))} in "
            f"{result.get('seconds', '?')} s</p>" + body + "</body></html>")


def write_reports(result: dict[str, Any], model: Any, folder: Path,
                  parts: list[Any] | None = None) -> dict[str, str]:
    """Write monitoring.json and monitoring.html (the task kind's report sections `parts`,
    else the drift page of `result`); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "monitoring.json", folder / "monitoring.html"
    json_path.write_text(json.dumps(clean_json(result), indent=1, default=_json_default))
    card = model.card
    title = f"Monitoring: {card.target or card.kind} ({card.task})"
    html_path.write_text(render_html(result, title, parts))
    out = {"path": str(json_path), "html": str(html_path)}
    keys = ("model_version", "rows", "drifted_features", "drift_share", "dataset_drift",
            "thresholds", "features")
    if not all(k in result for k in keys):
        return out
    # drift.json: the drift verdict alone, as earlier versions wrote it (scripts read it).
    drift = {k: result[k] for k in keys[:-1]}
    drift["features"] = [{k: v for k, v in f.items() if k != "histogram"}
                         for f in result["features"]]
    (folder / "drift.json").write_text(json.dumps(clean_json(drift), indent=1))
    return out


def clean_json(value: Any) -> Any:
    """NaN and infinities become null, so the file is strict JSON."""
    if isinstance(value, dict):
        return {k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)
