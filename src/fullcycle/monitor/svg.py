"""Small inline SVG charts for the monitoring report and the dashboard: no JavaScript, no
network, a few hundred bytes each."""

from __future__ import annotations

from html import escape
from typing import Any

REF_COLOR = "#8aa4c8"
CUR_COLOR = "#e0603c"


def _num(value: float) -> str:
    return f"{value:.1f}"


def overlay(hist: dict[str, Any] | None, width: int = 220, height: int = 60) -> str:
    """Reference (blue) and live (orange) shares on the same bins, as paired bars."""
    if not hist:
        return ""
    ref, cur = hist["reference"], hist["current"]
    n = len(ref)
    if not n:
        return ""
    top = max(max(ref), max(cur), 1e-9)
    step = width / n
    bars = []
    for i in range(n):
        for j, (vals, color) in enumerate(((ref, REF_COLOR), (cur, CUR_COLOR))):
            h = vals[i] / top * (height - 4)
            x = i * step + j * step / 2
            bars.append(f'<rect x="{_num(x)}" y="{_num(height - h)}" width="{_num(step / 2)}" '
                        f'height="{_num(h)}" fill="{color}"/>')
    labels = hist.get("labels")
    title = ("categories: " + ", ".join(map(str, labels))) if labels else (
        f"range {hist['edges'][0]:.4g} .. {hist['edges'][-1]:.4g}")
    return (f'<svg class="dist" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img"><title>{escape(title)} (blue: training, orange: live)</title>'
            + "".join(bars) + "</svg>")


def line_chart(xs: list[str], series: dict[str, list[float | None]],
               reference: float | None = None, width: int = 640, height: int = 180,
               colors: tuple[str, ...] = (CUR_COLOR, "#3c7be0", "#3ca060")) -> str:
    """Lines over ordered x labels, with an optional dashed reference level."""
    values = [v for vals in series.values() for v in vals if v is not None]
    if reference is not None:
        values.append(reference)
    if not xs or not values:
        return ""
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    pad, left = 14, 48

    def px(i: int) -> float:
        return left + (i * (width - left - pad) / max(len(xs) - 1, 1))

    def py(v: float) -> float:
        return height - pad - (v - lo) / (hi - lo) * (height - 2 * pad)

    parts = [f'<text x="2" y="{_num(py(hi) + 4)}" font-size="10">{hi:.4g}</text>',
             f'<text x="2" y="{_num(py(lo) + 4)}" font-size="10">{lo:.4g}</text>']
    if reference is not None:
        parts.append(f'<line x1="{left}" x2="{width - pad}" y1="{_num(py(reference))}" '
                     f'y2="{_num(py(reference))}" stroke="#555" stroke-dasharray="4 3"/>')
    for (name, vals), color in zip(series.items(), colors, strict=False):
        points = [(px(i), py(v)) for i, v in enumerate(vals) if v is not None]
        if not points:
            continue
        path = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}">'
                     f"<title>{escape(name)}</title></polyline>")
        parts += [f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3" fill="{color}"/>'
                  for x, y in points]
    legend = " ".join(f'<tspan fill="{c}">&#9632; {escape(n)}</tspan>'
                      for n, c in zip(series, colors, strict=False))
    parts.append(f'<text x="{left}" y="11" font-size="11">{legend}</text>')
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
            + "".join(parts) + "</svg>")


def bar_chart(xs: list[str], values: list[float], width: int = 640, height: int = 140) -> str:
    if not xs:
        return ""
    top = max(max(values), 1e-9)
    step = (width - 10) / len(xs)
    bars = []
    for i, (x, v) in enumerate(zip(xs, values, strict=True)):
        h = v / top * (height - 24)
        bars.append(f'<rect x="{_num(5 + i * step)}" y="{_num(height - 12 - h)}" '
                    f'width="{_num(max(step - 2, 1))}" height="{_num(h)}" fill="{REF_COLOR}">'
                    f"<title>{escape(x)}: {v:g}</title></rect>")
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
            + "".join(bars) + f'<text x="5" y="{height - 1}" font-size="10">{escape(xs[0])}'
            f'</text><text x="{width - 5}" y="{height - 1}" font-size="10" text-anchor="end">'
            f"{escape(xs[-1])}</text></svg>")
