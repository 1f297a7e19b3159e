"""The EDA report's charts, drawn by fullcycle.charts (the module every page uses) from the
analysis' aggregates (bins, counts, quartiles, never rows).

Each function returns one SVG figure, or "" when there is nothing to draw. The report keeps
each figure in a <template> that is inserted when its section is first opened
(`charts.lazy`), so a 500-column report lays out only what is shown."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fullcycle.charts import summary, svg
from fullcycle.charts.svg import fmt_date, fmt_share, fmt_tick

COLUMN_WIDTH = 340  # two charts beside a column's statistics table
WIDE = 460


def _rows(labels: list[Any], values: list[Any], counts: list[Any] | None = None,
          show: Any = fmt_tick) -> list[str]:
    """Hover texts: 'label: value (n rows)'."""
    return [f"{lab}: {show(v) if v is not None else 'n/a'}"
            + (f" ({counts[i]:,} rows)" if counts is not None else "")
            for i, (lab, v) in enumerate(zip(labels, values, strict=True))]


def _values(values: list[Any]) -> list[float]:
    return [math.nan if v is None else float(v) for v in values]


def distribution(pid: str, stats: dict[str, Any], name: str) -> str:
    """Histogram (numeric, datetime) or bars of the most frequent categories."""
    if stats["role"] in ("identifier", "constant"):
        return ""  # one bar per row, or a single bar: nothing to see
    if stats["kind"] == "categorical":
        top = stats.get("top", [])
        if not top:
            return ""
        labels = [str(t[0]) for t in top] + (["(other)"] if stats.get("rest") else [])
        values = [t[1] for t in top] + ([stats["rest"]] if stats.get("rest") else [])
        return svg.hbar(pid, f"most frequent values of {name}", labels, values, xlabel="rows",
                        width=COLUMN_WIDTH, show_values=True, fmt=_count,
                        tips=_rows(labels, values, show=_count))
    hist = stats.get("hist")
    if not hist:
        return ""
    dates = stats["kind"] == "datetime"  # days since 1970
    if "values" in hist:  # few distinct values: one bar each, in value order
        labels = [fmt_date(v) if dates else fmt_tick(v) for v in hist["values"]]
        return svg.hbar(pid, f"values of {name}", labels, hist["counts"], xlabel="rows",
                        width=COLUMN_WIDTH, show_values=True, fmt=_count)
    return svg.histogram_counts(pid, f"distribution of {name}", hist["edges"], hist["counts"],
                                xlabel=name, dates=dates, width=COLUMN_WIDTH)


def _count(v: float) -> str:
    return f"{v:,.0f}" if math.isfinite(v) else "n/a"


def relation(pid: str, rel: dict[str, Any], target: str, name: str, dates: bool = False) -> str:
    """The column against the target; `dates`: the column is a datetime (days since 1970)."""
    kind = rel.get("type")
    if kind == "box":
        return summary.boxes(pid, f"{name} by {target} class", rel["boxes"], xlabel=name,
                             width=COLUMN_WIDTH, xfmt=fmt_date if dates else fmt_tick)
    if kind == "means":
        return summary.category_line(pid, f"mean {target} per bin of {name}", rel["labels"],
                                     rel["means"], counts=rel["counts"], ref=rel["overall"],
                                     ref_label=f"overall mean {target}", ylabel=f"mean {target}",
                                     xlabel=name, width=COLUMN_WIDTH)
    if kind in ("rate", "catmeans"):
        rate = kind == "rate"
        title = (f"share of {target} = {rel['positive']} per {name}" if rate
                 else f"mean {target} per {name}")
        show = fmt_share if rate else fmt_tick
        return svg.hbar(pid, title, [str(s) for s in rel["labels"]], _values(rel["means"]),
                        xlabel=f"share with {target} = {rel['positive']}" if rate
                        else f"mean {target}", width=COLUMN_WIDTH, fmt=show, show_values=True,
                        ref=rel["overall"], ref_label="overall", zero=True if rate else None,
                        tips=_rows(rel["labels"], rel["means"], rel["counts"], show))
    if kind == "stack":
        return summary.stacked_hbar(pid, f"{target} classes per {name}",
                                    [str(s) for s in rel["labels"]],
                                    [str(c) for c in rel["classes"]], rel["shares"],
                                    counts=rel["counts"], width=COLUMN_WIDTH)
    return ""


def target_plot(pid: str, summary_: dict[str, Any], name: str) -> str:
    if summary_["type"] == "classes":
        labels = [str(s) for s in summary_["labels"]]
        return svg.hbar(pid, f"class balance of {name}", labels, summary_["counts"],
                        xlabel="rows", width=WIDE, show_values=True, fmt=_count)
    if summary_["edges"] is None:
        return svg.hbar(pid, f"{name}", ["all"], summary_["counts"], xlabel="rows",
                        width=WIDE, show_values=True, fmt=_count)
    return svg.histogram_counts(pid, f"distribution of {name}", summary_["edges"],
                                summary_["counts"], xlabel=name, width=WIDE)


def ranking_plot(pid: str, ranking: list[dict[str, Any]], limit: int = 40) -> str:
    top = ranking[:limit]
    return svg.hbar(pid, "mutual information with the target", [r["feature"] for r in top],
                    [r["mi"] for r in top], xlabel="bits", width=WIDE, show_values=True,
                    fmt=lambda v: f"{v:.3f}")


def missing_plot(pid: str, stats: dict[str, dict[str, Any]], limit: int = 40) -> str:
    rates = sorted(((s["missing"] / max(s["rows"], 1), name) for name, s in stats.items()
                    if s["missing"]), reverse=True)[:limit]
    if not rates:
        return ""
    return svg.hbar(pid, "missing share per column", [n for _, n in rates],
                    [r for r, _ in rates], xlabel="share of rows missing", width=WIDE,
                    fmt=fmt_share, show_values=True)


def _corr(v: float) -> str:
    """-0.42 as -.42: two digits that fit a small cell."""
    return f"{round(v, 2) + 0.0:.2f}".replace("0.", ".", 1)  # + 0.0: no "-.00"


def heatmap(pid: str, matrix: dict[str, Any], title: str, signed: bool) -> str:
    """A correlation matrix (`signed`: -1..1, red to blue) or an association matrix (0..1),
    with a colour scale and the value in each cell. A symmetric matrix is drawn below its
    diagonal only (the diagonal is 1 and the upper half repeats the lower)."""
    values = np.array([[math.nan if v is None else v for v in row] for row in matrix["values"]],
                      dtype=float)
    rows, cols = [str(r) for r in matrix["rows"]], [str(c) for c in matrix["cols"]]
    square = rows == cols and len(rows) > 2
    if square:
        values, rows, cols = values[1:, :-1], rows[1:], cols[:-1]
    return svg.heatmap(pid, title, values, rows, col_labels=cols, fmt=_corr, xlabel="",
                       ylabel="", diverging=signed, limits=(-1.0, 1.0) if signed else (0.0, 1.0),
                       scale_label="correlation" if signed else "strength of association",
                       lower=square)


def trend_plot(pid: str, trends: dict[str, Any], target: str | None) -> str:
    series = []
    if target and trends.get("target"):
        series.append({"name": f"mean {target}", "values": trends["target"]["means"]})
    for feat in trends["features"][:3]:
        series.append({"name": f"mean {feat['feature']}", "values": feat["means"]})
    return summary.trend(pid, f"means per period of {trends['column']}", trends["starts"],
                         trends["counts"], series)
