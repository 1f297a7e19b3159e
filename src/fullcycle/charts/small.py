"""Small charts for tables and dashboards (monitoring report, /dashboard): the same style as
`charts.svg` at table-cell size, still with axes, category names and units."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from fullcycle.charts.svg import MARKER, PALETTE, fmt_tick, label_text, nice_ticks, num, shorten

REF_COLOR = "#8aa4c8"  # training reference
CUR_COLOR = "#e0603c"  # live window
STYLE = 'font-family="sans-serif"'



def overlay(hist: dict[str, Any] | None, width: int = 240, height: int = 84) -> str:
    """Reference (blue) and live (orange) shares on the same bins, as paired bars, with a share
    axis and the bins named underneath (category names, or the numeric range)."""
    if not hist:
        return ""
    ref, cur = [float(v) for v in hist["reference"]], [float(v) for v in hist["current"]]
    n = len(ref)
    if not n:
        return ""
    left, bottom, top_pad = 30, 18, 4
    peak = max(max(ref), max(cur), 1e-9)
    plot_w, plot_h = width - left - 2, height - bottom - top_pad
    step = plot_w / n
    parts = [f'<line x1="{left}" x2="{left}" y1="{top_pad}" y2="{top_pad + plot_h}" '
             'stroke="#9ca3af"/>',
             f'<line x1="{left}" x2="{width - 2}" y1="{top_pad + plot_h}" '
             f'y2="{top_pad + plot_h}" stroke="#9ca3af"/>',
             f'<text x="{left - 3}" y="{top_pad + 7}" font-size="9" text-anchor="end">'
             f"{peak:.0%}</text>",
             f'<text x="{left - 3}" y="{top_pad + plot_h}" font-size="9" text-anchor="end">0%'
             "</text>"]
    labels = hist.get("labels")
    for i in range(n):
        for j, (vals, color, who) in enumerate(((ref, REF_COLOR, "training"),
                                                (cur, CUR_COLOR, "live"))):
            h = vals[i] / peak * plot_h
            x = left + i * step + j * step / 2
            name = str(labels[i]) if labels else _bin_name(hist, i)
            parts.append(f'<rect x="{num(x)}" y="{num(top_pad + plot_h - h)}" '
                         f'width="{num(max(step / 2 - 0.5, 0.5))}" height="{num(h)}" '
                         f'fill="{color}" class="mark"><title>{escape(name)}: {who} '
                         f"{vals[i]:.1%}</title></rect>")
    base = top_pad + plot_h + 11
    if labels:
        room = step if n <= 6 else plot_w / 2
        shown = range(n) if n <= 6 else (0, n - 1)
        for i in shown:
            anchor = "middle" if n <= 6 else ("start" if i == 0 else "end")
            x = left + (i + 0.5) * step if n <= 6 else (left if i == 0 else width - 2)
            parts.append(label_text(x, base, str(labels[i]), room - 2, anchor=anchor,
                                    extra=' font-size="9"'))
    else:
        edges = hist.get("edges") or [0, 1]
        parts.append(f'<text x="{left}" y="{base}" font-size="9">{fmt_tick(edges[0])}</text>'
                     f'<text x="{width - 2}" y="{base}" font-size="9" text-anchor="end">'
                     f"{fmt_tick(edges[-1])}</text>")
    title = ("categories: " + ", ".join(map(str, labels))) if labels else (
        f"range {fmt_tick(hist['edges'][0])} .. {fmt_tick(hist['edges'][-1])}")
    return (f'<svg class="dist {MARKER}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" {STYLE}><title>{escape(title)} '
            "(blue: training, orange: live)</title>" + "".join(parts) + "</svg>")


def _bin_name(hist: dict[str, Any], i: int) -> str:
    edges = hist.get("edges")
    if not edges or i + 1 >= len(edges):
        return f"bin {i + 1}"
    return f"{fmt_tick(edges[i])} .. {fmt_tick(edges[i + 1])}"


def _domain(values: list[float], bounded: bool) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if bounded:  # a score between 0 and 1: never an axis beyond them
        pad = max((hi - lo) * 0.2, 0.02)
        return max(0.0, lo - pad), min(1.0, hi + pad)
    if hi - lo < 1e-12:
        pad = abs(hi) * 0.1 or 0.5
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


def line_chart(xs: Sequence[str], series: dict[str, list[float | None]],
               reference: float | None = None, width: int = 640, height: int = 190,
               colors: tuple[str, ...] = (CUR_COLOR, "#3c7be0", "#3ca060"),
               ylabel: str = "", bounded: bool | None = None) -> str:
    """Lines over ordered x labels (time windows), with y ticks, the first/last x labels, a
    legend and an optional dashed reference level. `bounded`: the values are scores in [0, 1]
    (None: decide from the values)."""
    values = [float(v) for vals in series.values() for v in vals
              if v is not None and math.isfinite(v)]
    if reference is not None and math.isfinite(reference):
        values.append(float(reference))
    if not xs or not values:
        return ""
    if bounded is None:
        bounded = all(0.0 <= v <= 1.0 for v in values)
    lo, hi = _domain(values, bounded)
    left, right, top, bottom = 52, 12, 22, 30

    def px(i: int) -> float:
        return left + (i * (width - left - right) / max(len(xs) - 1, 1))

    def py(v: float) -> float:
        return height - bottom - (v - lo) / (hi - lo) * (height - top - bottom)

    parts = [f'<rect x="{left}" y="{top}" width="{width - left - right}" '
             f'height="{height - top - bottom}" fill="#fafafa" stroke="#d1d5db"/>']
    for t in nice_ticks(lo, hi, 4):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{num(py(t))}" '
                     f'y2="{num(py(t))}" stroke="#e5e7eb"/><text x="{left - 4}" '
                     f'y="{num(py(t) + 3)}" font-size="10" text-anchor="end">{fmt_tick(t)}'
                     "</text>")
    if ylabel:
        parts.append(f'<text transform="translate(11 {(top + height - bottom) / 2}) '
                     f'rotate(-90)" font-size="10" text-anchor="middle">{escape(ylabel)}</text>')
    marks = sorted({0, len(xs) // 2, len(xs) - 1})
    for i in marks:
        anchor = "start" if i == 0 else ("end" if i == len(xs) - 1 else "middle")
        parts.append(f'<text x="{num(px(i))}" y="{height - bottom + 14}" font-size="10" '
                     f'text-anchor="{anchor}">{escape(shorten(str(xs[i]), 200))}</text>')
    if reference is not None and math.isfinite(reference):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{num(py(reference))}" '
                     f'y2="{num(py(reference))}" stroke="#555" stroke-dasharray="4 3">'
                     f"<title>reference {reference:.4g}</title></line>")
    legend = []
    for k, ((name, vals), color) in enumerate(zip(series.items(), colors, strict=False)):
        points = [(px(i), py(float(v))) for i, v in enumerate(vals)
                  if v is not None and math.isfinite(v)]
        legend.append(f'<rect x="{left + 110 * k}" y="6" width="10" height="10" '
                      f'fill="{color}"/><text x="{left + 110 * k + 14}" y="15" font-size="11">'
                      f"{escape(shorten(name, 90))}</text>")
        if not points:
            continue
        path = " ".join(f"{num(x)},{num(y)}" for x, y in points)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}" '
                     f'class="mark"><title>{escape(name)}</title></polyline>')
        parts += [f'<circle cx="{num(x)}" cy="{num(y)}" r="3" fill="{color}"/>'
                  for x, y in points]
    if reference is not None:
        legend.append(f'<line x1="{width - 150}" x2="{width - 130}" y1="11" y2="11" '
                      'stroke="#555" stroke-dasharray="4 3"/><text x="'
                      f'{width - 126}" y="15" font-size="11">at training</text>')
    return (f'<svg class="{MARKER}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" '
            f"{STYLE}>" + "".join(parts + legend) + "</svg>")


def bar_chart(xs: Sequence[str], values: Sequence[float], width: int = 640, height: int = 150,
              ylabel: str = "predictions") -> str:
    """Counts per ordered x label, with a count axis from zero and the first/last labels."""
    if not xs:
        return ""
    left, right, top, bottom = 52, 12, 8, 30
    peak = max(max(values), 1e-9)
    ticks = nice_ticks(0, peak, 3)
    peak = max(peak, ticks[-1])
    plot_h = height - top - bottom
    step = (width - left - right) / len(xs)
    parts = []
    for t in ticks:
        y = height - bottom - t / peak * plot_h
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{num(y)}" y2="{num(y)}" '
                     f'stroke="#e5e7eb"/><text x="{left - 4}" y="{num(y + 3)}" font-size="10" '
                     f'text-anchor="end">{fmt_tick(t)}</text>')
    for i, (x, v) in enumerate(zip(xs, values, strict=True)):
        h = v / peak * plot_h
        parts.append(f'<rect x="{num(left + i * step)}" y="{num(height - bottom - h)}" '
                     f'width="{num(max(step - 2, 1))}" height="{num(h)}" fill="{PALETTE[0]}" '
                     f'class="mark"><title>{escape(str(x))}: {v:g}</title></rect>')
    parts.append(f'<text transform="translate(11 {(top + height - bottom) / 2}) rotate(-90)" '
                 f'font-size="10" text-anchor="middle">{escape(ylabel)}</text>'
                 f'<text x="{left}" y="{height - bottom + 14}" font-size="10">'
                 f"{escape(str(xs[0]))}</text><text x=\"{width - right}\" "
                 f'y="{height - bottom + 14}" font-size="10" text-anchor="end">'
                 f"{escape(str(xs[-1]))}</text>")
    return (f'<svg class="{MARKER}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" '
            f"{STYLE}>" + "".join(parts) + "</svg>")
