"""Charts of aggregates (the EDA report's): box plots per class, a mean per ordered category,
shares stacked per category, and means over time. Same frame, ticks, labels and palette as
`charts.svg`; every mark carries a <title> with its exact figures."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

from fullcycle.charts.svg import (
    BOTTOM,
    PALETTE,
    RIGHT,
    TICK_CHAR_PX,
    TOP,
    Frame,
    W,
    figure,
    fmt_date,
    fmt_share,
    fmt_tick,
    label_text,
    legend,
    num,
)


def _label_room(labels: Sequence[str], width: int) -> int:
    longest = max((len(str(label)) for label in labels), default=4)
    return int(min(max(longest * TICK_CHAR_PX + 12, 60), width * 0.35))


def boxes(plot_id: str, title: str, items: Sequence[Mapping[str, Any]], *, xlabel: str,
          width: int = W, caption: str = "", xfmt: Callable[[float], str] = fmt_tick) -> str:
    """One horizontal box per group: whiskers (`lo`..`hi`), quartile box (`q1`..`q3`), median
    line and mean dot; `label` and `n` name the group."""
    n = len(items)
    row = 30
    height = TOP + BOTTOM + row * max(n, 1)
    left = _label_room([str(b["label"]) for b in items], width)
    ends = [float(b[k]) for b in items for k in ("lo", "hi", "mean")]
    ends = [v for v in ends if math.isfinite(v)] or [0.0, 1.0]
    frame = Frame.fit(np.array(ends), np.array([0.0, 1.0]), width=width, height=height,
                      left=left)
    body = [frame.axes(xlabel, "", yticks=False, xcount=3 if xfmt is fmt_date else 4,
                       xfmt=xfmt)]
    for i, b in enumerate(items):
        y, mid, color = TOP + row * i + 5, TOP + row * i + row / 2, PALETTE[i % len(PALETTE)]
        tip = (f"{b['label']} (n={int(b['n']):,}): min {xfmt(b['min'])} · q1 "
               f"{xfmt(b['q1'])} · median {xfmt(b['median'])} · q3 {xfmt(b['q3'])}"
               f" · max {xfmt(b['max'])} · mean {xfmt(b['mean'])}")
        x1, x3 = frame.x(b["q1"]), frame.x(b["q3"])
        body.append(
            label_text(left - 6, mid + 3, str(b["label"]), left - 10)
            + f'<line x1="{num(frame.x(b["lo"]))}" x2="{num(frame.x(b["hi"]))}" '
            f'y1="{num(mid)}" y2="{num(mid)}" stroke="{color}"/>'
            f'<rect x="{num(x1)}" y="{y}" width="{num(max(x3 - x1, 1))}" height="{row - 10}" '
            f'fill="{color}" fill-opacity="0.35" stroke="{color}" class="mark">'
            f"<title>{escape(tip)}</title></rect>"
            f'<line x1="{num(frame.x(b["median"]))}" x2="{num(frame.x(b["median"]))}" '
            f'y1="{y}" y2="{y + row - 10}" stroke="{color}" stroke-width="2"/>'
            f'<circle cx="{num(frame.x(b["mean"]))}" cy="{num(mid)}" r="3" fill="#111">'
            f"<title>mean {xfmt(b['mean'])}</title></circle>")
    note = "Box: middle half of the rows; line: median; dot: mean; whiskers: 1.5 IQR"
    return figure(plot_id, title, "".join(body), width=width, height=height,
                  caption=f"{caption} ({note})" if caption else note)


def category_line(plot_id: str, title: str, labels: Sequence[str], values: Sequence[float | None],
                  *, ylabel: str, xlabel: str = "", counts: Sequence[int] | None = None,
                  ref: float | None = None, ref_label: str = "overall", width: int = W) -> str:
    """A value per ordered category (the target's mean per bin of a feature), joined by a line;
    names under the axis, turned when they would not fit side by side."""
    n = len(labels)
    vals = np.array([np.nan if v is None else float(v) for v in values])
    room = (width - 62 - RIGHT) / max(n, 1)
    turned = max((len(str(s)) for s in labels), default=0) * TICK_CHAR_PX > room - 4
    bottom = 84 if turned else BOTTOM
    ys = np.append(vals, ref) if ref is not None else vals
    frame = Frame.fit(np.array([0.0, 1.0]), ys, width=width, height=260 if turned else 240,
                      bottom=bottom)
    frame.xlo, frame.xhi = -0.5, n - 0.5
    body = [frame.axes(xlabel, ylabel, xticks=False)]
    if ref is not None and math.isfinite(ref):
        ry = num(frame.y(ref))
        body.append(f'<line x1="{frame.left}" x2="{width - RIGHT}" y1="{ry}" y2="{ry}" '
                    f'class="ref"><title>{escape(ref_label)}: {fmt_tick(ref)}</title></line>')
    ok = np.flatnonzero(np.isfinite(vals))
    points = " ".join(f"{num(frame.x(float(i)))},{num(frame.y(vals[i]))}" for i in ok)
    body.append(f'<polyline points="{points}" fill="none" stroke="{PALETTE[0]}" '
                'stroke-width="2"/>')
    base = frame.height - bottom + 12
    for i, name in enumerate(labels):
        x = frame.x(i)
        turn = f' transform="rotate(-35 {num(x)} {num(base)})"' if turned else ""
        body.append(label_text(x, base + (0 if turned else 2), str(name),
                               70 if turned else room - 4,
                               anchor="end" if turned else "middle", extra=turn))
        if math.isfinite(vals[i]):
            rows = f" ({counts[i]:,} rows)" if counts is not None else ""
            body.append(f'<circle cx="{num(x)}" cy="{num(frame.y(vals[i]))}" r="3.5" '
                        f'fill="{PALETTE[0]}" class="mark"><title>{escape(str(name))}: '
                        f"{fmt_tick(vals[i])}{rows}</title></circle>")
    caption = (f"Dashed line: {ref_label} {fmt_tick(ref)}"
               if ref is not None and math.isfinite(ref) else "")
    return figure(plot_id, title, "".join(body), width=width, height=frame.height,
                  caption=caption)


def stacked_hbar(plot_id: str, title: str, labels: Sequence[str], classes: Sequence[str],
                 shares: Sequence[Sequence[float]], *, counts: Sequence[int] | None = None,
                 xlabel: str = "share of rows", width: int = W) -> str:
    """One bar per category split into the shares of each class (they add up to 100%), with a
    legend of the classes under the axis."""
    n = len(labels)
    per_line = max(int((width - 20) // 110), 1)
    legend_rows = math.ceil(min(len(classes), 10) / per_line)
    height = TOP + BOTTOM + 22 * max(n, 1) + 16 * legend_rows
    left = _label_room(labels, width)
    frame = Frame(0.0, 1.0, 0, n, width=width, height=height, left=left,
                  bottom=BOTTOM + 16 * legend_rows)
    body = [frame.axes("", "", yticks=False, xfmt=lambda v: f"{v:.0%}", xcount=4),
            f'<text x="{num((left + width - RIGHT) / 2)}" y="{height - frame.bottom + 30}" '
            f'class="label" text-anchor="middle">{escape(xlabel)}</text>']
    for i, (label, row) in enumerate(zip(labels, shares, strict=True)):
        y, start = TOP + 22 * i + 4, 0.0
        rows = f" of {counts[i]:,} rows" if counts is not None else ""
        body.append(label_text(left - 6, y + 10, str(label), left - 10))
        for k, share in enumerate(row):
            share = float(share or 0.0)
            a, b = frame.x(start), frame.x(start + share)
            body.append(f'<rect x="{num(a)}" y="{y}" width="{num(max(b - a, 0))}" '
                        f'height="14" fill="{PALETTE[k % len(PALETTE)]}" class="mark"><title>'
                        f"{escape(str(label))} → {escape(str(classes[k]))}: {fmt_share(share)}"
                        f"{rows}</title></rect>")
            start += share
    top = height - 16 * legend_rows - 2
    for r in range(legend_rows):
        chunk = list(enumerate(classes[:10]))[r * per_line:(r + 1) * per_line]
        for j, (k, name) in enumerate(chunk):
            body.append(legend([(str(name), PALETTE[k % len(PALETTE)])],
                               10 + 110 * j, top + 16 * r, label_px=90))
    return figure(plot_id, title, "".join(body), width=width, height=height)


def trend(plot_id: str, title: str, starts: Sequence[float], counts: Sequence[int],
          series: Sequence[Mapping[str, Any]], *, width: int = W,
          xfmt: Callable[[float], str] = fmt_date) -> str:
    """Means per period (`starts`: the periods' starts, days since 1970) as lines, over grey
    bars of the rows per period. One line keeps its own units; several are each scaled to their
    own range (0 = lowest mean, 1 = highest), and the legend gives each range."""
    starts_a = np.asarray(starts, float)
    step = float(np.median(np.diff(starts_a))) if len(starts_a) > 1 else 1.0
    lines = [(str(s["name"]), np.array([np.nan if v is None else float(v) for v in s["values"]]))
             for s in series]
    scaled = len(lines) > 1
    legend_rows = len(lines) + 1
    height = 250 + 14 * legend_rows
    finite = np.concatenate([v[np.isfinite(v)] for _, v in lines] or [np.zeros(0)])
    ys = np.array([0.0, 1.0]) if scaled or not len(finite) else finite
    frame = Frame.fit(np.array([starts_a[0], starts_a[-1] + step]), ys, pad=0.0, width=width,
                      height=height, bottom=BOTTOM + 14 * legend_rows)
    if not scaled:
        pad = (frame.yhi - frame.ylo) * 0.08
        frame.ylo, frame.yhi = frame.ylo - pad, frame.yhi + pad
    ylabel = "each line scaled to its own range" if scaled else lines[0][0] if lines else ""
    body = [frame.axes("", ylabel, xfmt=xfmt, xcount=3)]
    peak = max(max(counts, default=1), 1)
    for c, s in zip(counts, starts_a, strict=True):
        top = frame.y(frame.ylo + (frame.yhi - frame.ylo) * 0.35 * c / peak)
        body.append(f'<rect x="{num(frame.x(s) + 1)}" y="{num(top)}" '
                    f'width="{num(max(frame.x(s + step) - frame.x(s) - 2, 0.5))}" '
                    f'height="{num(frame.y(frame.ylo) - top)}" fill="#d1d5db">'
                    f"<title>from {xfmt(s)}: {c:,} rows</title></rect>")
    items = [("rows per period (grey bars)", "#d1d5db")]
    for k, (name, vals) in enumerate(lines):
        ok = np.isfinite(vals)
        lo, hi = (float(vals[ok].min()), float(vals[ok].max())) if ok.any() else (0.0, 1.0)
        shown = (vals - lo) / (hi - lo) if scaled and hi > lo else (
            np.where(ok, 0.5, np.nan) if scaled else vals)
        xs = starts_a + step / 2
        color = PALETTE[k % len(PALETTE)]
        pts = " ".join(f"{num(frame.x(x))},{num(frame.y(v))}" for x, v, good
                       in zip(xs, shown, ok, strict=True) if good)
        body.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        body += [f'<circle cx="{num(frame.x(x))}" cy="{num(frame.y(v))}" r="3" fill="{color}" '
                 f'class="mark"><title>{escape(name)} from {xfmt(s)}: {fmt_tick(raw)}</title>'
                 "</circle>" for x, s, v, raw, good in zip(xs, starts_a, shown, vals, ok,
                                                            strict=True) if good]
        items.append((f"{name} ({fmt_tick(lo)} – {fmt_tick(hi)})" if scaled else name, color))
    body.append(legend(items, 10, height - 14 * legend_rows + 4, label_px=width - 40,
                       step=14))
    return figure(plot_id, title, "".join(body), width=width, height=height)
