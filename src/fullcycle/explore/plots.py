"""Plot specifications: small JSON documents the report's inline SVG renderer draws.

Choice: a ~250-line hand-written SVG renderer (assets/report.js) rather than Plotly or Vega-Lite.
Embedding plotly.js costs 3.5-4.6 MB per file and Vega-Lite with Vega ~1 MB; the Telco report must
stay under 5 MB and a 500-column report must open fast. The specs hold aggregates (bins, counts,
quartiles), never rows, so a plot costs hundreds of bytes, and it is drawn only when its section
is opened."""

from __future__ import annotations

import math
from typing import Any


def sig(value: Any, digits: int = 6) -> Any:
    """Round floats (recursively) to `digits` significant digits; NaN becomes null."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return float(f"{value:.{digits}g}")
    if isinstance(value, list | tuple):
        return [sig(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: sig(v, digits) for k, v in value.items()}
    return value


def distribution(stats: dict[str, Any]) -> dict[str, Any] | None:
    """Histogram (numeric, datetime) or bar chart of the top categories."""
    if stats["role"] in ("identifier", "constant"):
        return None  # one bar per row, or a single bar: nothing to see
    if stats["kind"] == "categorical":
        top = stats.get("top", [])
        if not top:
            return None
        labels = [t[0] for t in top] + (["(other)"] if stats.get("rest") else [])
        values = [t[1] for t in top] + ([stats["rest"]] if stats.get("rest") else [])
        return {"type": "bars", "labels": labels, "values": values, "horizontal": True,
                "title": "most frequent values", "unit": "rows"}
    hist = stats.get("hist")
    if not hist:
        return None
    title = "values" if "values" in hist else "histogram"
    dates = stats["kind"] == "datetime"  # days since 1970: keep the digits of the day
    return sig({"type": "hist", "title": title, "dates": dates, **hist}, 10 if dates else 6)


def relation(rel: dict[str, Any], target: str) -> dict[str, Any] | None:
    kind = rel.get("type")
    if kind == "box":
        return sig({"type": "box", "boxes": rel["boxes"], "title": f"by {target} class"})
    if kind == "means":
        return sig({"type": "line", "labels": rel["labels"], "values": rel["means"],
                    "counts": rel["counts"], "overall": rel["overall"],
                    "title": f"mean {target} per bin"})
    if kind in ("rate", "catmeans"):
        title = (f"share of {target} = {rel['positive']} per category" if kind == "rate"
                 else f"mean {target} per category")
        return sig({"type": "bars", "labels": rel["labels"], "values": rel["means"],
                    "counts": rel["counts"], "overall": rel["overall"], "horizontal": True,
                    "title": title, "unit": "rate" if kind == "rate" else "mean"})
    if kind == "stack":
        return sig({"type": "stack", "labels": rel["labels"], "classes": rel["classes"],
                    "shares": rel["shares"], "counts": rel["counts"],
                    "title": f"{target} classes per category"})
    return None


def target_plot(summary: dict[str, Any], name: str) -> dict[str, Any]:
    if summary["type"] == "classes":
        return {"type": "bars", "labels": summary["labels"], "values": summary["counts"],
                "horizontal": True, "title": f"class balance of {name}", "unit": "rows"}
    if summary["edges"] is None:
        return {"type": "bars", "labels": ["all"], "values": summary["counts"], "unit": "rows"}
    return sig({"type": "hist", "edges": summary["edges"], "counts": summary["counts"],
                "title": f"distribution of {name}"})


def ranking_plot(ranking: list[dict[str, Any]], limit: int = 40) -> dict[str, Any]:
    top = ranking[:limit]
    return sig({"type": "bars", "labels": [r["feature"] for r in top],
                "values": [r["mi"] for r in top], "horizontal": True, "unit": "bits",
                "title": "mutual information with the target"})


def missing_plot(stats: dict[str, dict[str, Any]], limit: int = 40) -> dict[str, Any] | None:
    rates = sorted(((s["missing"] / max(s["rows"], 1), name) for name, s in stats.items()
                    if s["missing"]), reverse=True)[:limit]
    if not rates:
        return None
    return sig({"type": "bars", "labels": [n for _, n in rates], "values": [r for r, _ in rates],
                "horizontal": True, "unit": "share", "title": "missing share per column"})


def heatmap(matrix: dict[str, Any], title: str, signed: bool) -> dict[str, Any]:
    return {"type": "heat", "rows": matrix["rows"], "cols": matrix["cols"],
            "values": matrix["values"], "signed": signed}


def trend_plot(trends: dict[str, Any], target: str | None) -> dict[str, Any]:
    series = []
    if target and trends.get("target"):
        series.append({"name": f"mean {target}", "values": trends["target"]["means"]})
    for feat in trends["features"][:3]:
        series.append({"name": f"mean {feat['feature']}", "values": feat["means"],
                       "scaled": True})
    return {"type": "trend", "starts": sig(trends["starts"], 10), "counts": trends["counts"],
            "series": sig(series), "title": f"over {trends['column']}"}
