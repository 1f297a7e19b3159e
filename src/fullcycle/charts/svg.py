"""Charts as inline SVG, for every page fullcycle writes (evaluation and monitoring reports,
the dashboard): no JavaScript library, so a report is one small file that renders offline.

One style: every chart is a `<figure class="plot">` with a title that fits (wrapped, never
clipped), labelled axes with units, a legend when there is more than one series, and a colour
scale for colour-coded values. Data marks carry the class `mark`, which the browser test counts
to know the chart really drew something."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

W, H = 460, 320
MARKER = "fc-chart"  # the class every chart's <svg> carries: drawn by fullcycle.charts
LEFT, RIGHT, TOP, BOTTOM = 62, 16, 34, 46
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563",
           "#ca8a04", "#db2777", "#65a30d")


def num(v: float) -> str:
    """A pixel coordinate, short: one decimal, none when it is whole (pages carry thousands)."""
    text = f"{v:.1f}"
    return text[:-2] if text.endswith(".0") else text


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def fmt_tick(v: float) -> str:
    if abs(v) >= 1e9:
        return f"{v / 1e9:.3g}G"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.3g}M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.3g}k"
    if v != 0 and abs(v) < 1e-3:
        return f"{v:.2g}"
    return f"{v:,.6g}" if abs(v) >= 1000 else f"{v:.3g}"


def fmt_date(days: float) -> str:
    """Days since 1970-01-01 (how the profiles store datetimes) as an ISO date."""
    if not math.isfinite(days):
        return "n/a"
    return (dt.datetime(1970, 1, 1) + dt.timedelta(days=float(days))).strftime("%Y-%m-%d")


def fmt_share(v: float) -> str:
    return f"{v:.1%}" if math.isfinite(v) else "n/a"


def share_ticks(lo: float, hi: float, count: int = 5) -> Callable[[float], str]:
    """Percent tick labels with as many decimals as the tick step needs (0.05% steps: 2)."""
    ticks = nice_ticks(lo, hi, count)
    step = (ticks[1] - ticks[0]) * 100 if len(ticks) > 1 else 1.0
    digits = max(0, min(4, -math.floor(math.log10(step)) if step > 0 else 0))
    return lambda v: f"{v * 100:.{digits}f}%"


@dataclass
class Frame:
    """Maps data coordinates to pixels and draws axes."""

    xlo: float
    xhi: float
    ylo: float
    yhi: float
    width: int = W
    height: int = H
    left: int = LEFT
    bottom: int = BOTTOM

    @classmethod
    def fit(cls, xs: np.ndarray, ys: np.ndarray, pad: float = 0.04, **kw: int) -> Frame:
        xs, ys = _finite(xs), _finite(ys)
        xlo, xhi = (float(xs.min()), float(xs.max())) if len(xs) else (0.0, 1.0)
        ylo, yhi = (float(ys.min()), float(ys.max())) if len(ys) else (0.0, 1.0)
        if xhi == xlo:
            xlo, xhi = xlo - 0.5, xhi + 0.5
        if yhi == ylo:
            ylo, yhi = ylo - 0.5, yhi + 0.5
        dx, dy = (xhi - xlo) * pad, (yhi - ylo) * pad
        return cls(xlo - dx, xhi + dx, ylo - dy, yhi + dy, **kw)

    def x(self, v: float) -> float:
        return self.left + (v - self.xlo) / (self.xhi - self.xlo) * (
            self.width - self.left - RIGHT)

    def y(self, v: float) -> float:
        return self.height - self.bottom - (v - self.ylo) / (self.yhi - self.ylo) * (
            self.height - TOP - self.bottom)

    def axes(self, xlabel: str, ylabel: str, xticks: bool = True, *, yticks: bool = True,
             xfmt: Callable[[float], str] = fmt_tick, yfmt: Callable[[float], str] = fmt_tick,
             xcount: int = 5) -> str:
        """Background, grid, tick labels (`xfmt`/`yfmt` format them) and axis titles."""
        x0, x1 = self.left, self.width - RIGHT
        y0, y1 = self.height - self.bottom, TOP
        parts = [f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" class="bg"/>']
        grid = []  # one path for all grid lines: reports carry hundreds of charts
        for t in nice_ticks(self.ylo, self.yhi) if yticks else ():
            py = num(self.y(t))
            grid.append(f"M{x0} {py}H{x1}")
            parts.append(f'<text x="{x0 - 5}" y="{py}" class="tick ty">{yfmt(t)}</text>')
        if xticks:
            for t in nice_ticks(self.xlo, self.xhi, xcount):
                px = num(self.x(t))
                grid.append(f"M{px} {y1}V{y0}")
                parts.append(f'<text x="{px}" y="{y0 + 14}" class="tick tx">{xfmt(t)}</text>')
        if grid:
            parts.insert(1, f'<path d="{"".join(grid)}" class="grid"/>')
        if xlabel:
            parts.append(f'<text x="{num((x0 + x1) / 2)}" y="{self.height - 8}" '
                         f'class="label tx">{escape(xlabel)}</text>')
        if ylabel:
            parts.append(f'<text transform="translate(13 {num((y0 + y1) / 2)}) rotate(-90)" '
                         f'class="label tx">{escape(ylabel)}</text>')
        return "".join(parts)


def _finite(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype="float64").ravel()
    return a[np.isfinite(a)]


TITLE_CHAR_PX = 7.4  # width of one character of the 13px bold title, generously
TICK_CHAR_PX = 5.8  # of the 10px tick labels


def shorten(text: str, max_px: float, char_px: float = TICK_CHAR_PX) -> str:
    """`text` cut with an ellipsis to fit `max_px` (the full text goes in a <title>)."""
    limit = max(int(max_px / char_px), 4)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def label_text(x: float, y: float, text: str, max_px: float, anchor: str = "end",
               cls: str = "tick", extra: str = "") -> str:
    """A tick label that never overflows its room: shortened, with the full text on hover."""
    short = shorten(str(text), max_px)
    tip = f"<title>{escape(str(text))}</title>" if short != str(text) else ""
    return (f'<text x="{num(x)}" y="{num(y)}" class="{cls}" text-anchor="{anchor}"{extra}>'
            f"{tip}{escape(short)}</text>")


def _title_lines(title: str, width: int) -> list[str]:
    """The title wrapped to the chart's width: at most two lines, the second shortened."""
    limit = max(int((width - 16) / TITLE_CHAR_PX), 10)
    words, lines, line = title.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > limit:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    if len(lines) > 2:
        lines = [lines[0], " ".join(lines[1:])]
    return [shorten(text, width - 16, TITLE_CHAR_PX) for text in lines]


def figure(plot_id: str, title: str, body: str, *, width: int = W, height: int = H,
           caption: str = "") -> str:
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    lines = _title_lines(title, width)
    extra = 16 * (len(lines) - 1)  # a wrapped title pushes the chart down
    heading = "".join(f'<text x="{num(width / 2)}" y="{18 + 16 * i}" class="title tx">'
                      f'{escape(text)}</text>'
                      for i, text in enumerate(lines))
    inner = f'<g transform="translate(0 {extra})">{body}</g>' if extra else body
    return (f'<figure class="plot" id="plot-{escape(plot_id)}">'
            f'<svg class="{MARKER}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width} {height + extra}" '
            f'width="{width}" height="{height + extra}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>{heading}{inner}</svg>{cap}</figure>")


def legend(items: Sequence[tuple[str, str]], x: float, y: float, *, label_px: float = 170,
           step: int = 14) -> str:
    """Colour swatches with their names, one under the other."""
    out = []
    for i, (label, color) in enumerate(items):
        yy = y + i * step
        out.append(f'<rect x="{x}" y="{yy - 8}" width="10" height="10" fill="{color}"/>'
                   + label_text(x + 14, yy + 1, label, label_px, anchor="start"))
    return "".join(out)


def _downsample(xs: np.ndarray, ys: np.ndarray, limit: int = 300) -> tuple[np.ndarray, np.ndarray]:
    if len(xs) <= limit:
        return xs, ys
    keep = np.unique(np.linspace(0, len(xs) - 1, limit).astype(int))
    return xs[keep], ys[keep]


def line_chart(plot_id: str, title: str, series: Sequence[dict], *, xlabel: str, ylabel: str,
               diagonal: bool = False, unit_box: bool = False, caption: str = "",
               vline: float | None = None) -> str:
    """`series`: dicts with x, y, label and optional `band` (low, high) arrays for a shaded band."""
    xs = np.concatenate([np.asarray(s["x"], float) for s in series] or [np.zeros(1)])
    ys = np.concatenate([np.asarray(s["y"], float) for s in series] +
                        [np.asarray(b, float) for s in series for b in s.get("band", ())])
    frame = Frame(0, 1, 0, 1) if unit_box else Frame.fit(xs, ys)
    if unit_box:
        frame = Frame(-0.02, 1.02, -0.02, 1.02)
    body = [frame.axes(xlabel, ylabel)]
    if diagonal:
        lo, hi = max(frame.xlo, frame.ylo), min(frame.xhi, frame.yhi)
        body.append(f'<line x1="{num(frame.x(lo))}" y1="{num(frame.y(lo))}" '
                    f'x2="{num(frame.x(hi))}" y2="{num(frame.y(hi))}" class="ref"/>')
    if vline is not None and math.isfinite(vline):
        body.append(f'<line x1="{num(frame.x(vline))}" x2="{num(frame.x(vline))}" y1="{TOP}" '
                    f'y2="{H - BOTTOM}" class="ref"/>')
    for i, s in enumerate(series):
        color = s.get("color", PALETTE[i % len(PALETTE)])
        x, y = _downsample(np.asarray(s["x"], float), np.asarray(s["y"], float))
        ok = np.isfinite(x) & np.isfinite(y)
        if "band" in s:
            bx, lo_ = _downsample(np.asarray(s["x"], float), np.asarray(s["band"][0], float))
            _, hi_ = _downsample(np.asarray(s["x"], float), np.asarray(s["band"][1], float))
            edge = [f"{num(frame.x(a))},{num(frame.y(b))}" for a, b in zip(bx, hi_, strict=True)]
            edge += [f"{num(frame.x(a))},{num(frame.y(b))}"
                     for a, b in zip(bx[::-1], lo_[::-1], strict=True)]
            body.append(f'<polygon points="{" ".join(edge)}" fill="{color}" opacity="0.15"/>')
        pts = " ".join(f"{num(frame.x(a))},{num(frame.y(b))}" for a, b in zip(x[ok], y[ok],
                                                                                 strict=True))
        body.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2" '
                    'class="mark"/>')
        if s.get("markers"):
            body += [f'<circle cx="{num(frame.x(a))}" cy="{num(frame.y(b))}" r="3" '
                     f'fill="{color}" class="mark"/>' for a, b in zip(x[ok], y[ok], strict=True)]
    if len(series) > 1 or series and series[0].get("label"):
        body.append(legend([(s.get("label", ""), s.get("color", PALETTE[i % len(PALETTE)]))
                            for i, s in enumerate(series)], LEFT + 8, TOP + 12))
    return figure(plot_id, title, "".join(body), caption=caption)


def scatter(plot_id: str, title: str, x: np.ndarray, y: np.ndarray, *, xlabel: str, ylabel: str,
            diagonal: bool = False, hline: float | None = None, caption: str = "",
            colors: Sequence[str] | None = None, limit: int = 1500, seed: int = 0,
            legend_items: Sequence[tuple[str, str]] | None = None) -> str:
    """Dots (a seeded sample of `limit` when there are more); `colors`: one per point, named
    by `legend_items` (label, colour)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if len(ok) > limit:  # a sample keeps the file small; the shape of the cloud survives
        ok = np.sort(np.random.default_rng(seed).choice(ok, limit, replace=False))
    frame = Frame.fit(np.concatenate([x[ok], y[ok]]) if diagonal else x[ok],
                      np.concatenate([x[ok], y[ok]]) if diagonal else y[ok])
    if diagonal:
        frame = Frame(min(frame.xlo, frame.ylo), max(frame.xhi, frame.yhi),
                      min(frame.xlo, frame.ylo), max(frame.xhi, frame.yhi))
    body = [frame.axes(xlabel, ylabel)]
    if diagonal:
        body.append(f'<line x1="{num(frame.x(frame.xlo))}" y1="{num(frame.y(frame.ylo))}" '
                    f'x2="{num(frame.x(frame.xhi))}" y2="{num(frame.y(frame.yhi))}" '
                    'class="ref"/>')
    if hline is not None:
        body.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{num(frame.y(hline))}" '
                    f'y2="{num(frame.y(hline))}" class="ref"/>')
    for j in ok:
        color = colors[int(j)] if colors is not None else PALETTE[0]
        body.append(f'<circle cx="{num(frame.x(x[j]))}" cy="{num(frame.y(y[j]))}" r="2.2" '
                    f'fill="{color}" fill-opacity="0.5" class="mark"/>')
    if legend_items:
        body.append(legend(legend_items, LEFT + 8, TOP + 12))
    return figure(plot_id, title, "".join(body), caption=caption)


def histogram(plot_id: str, title: str, values: np.ndarray, *, xlabel: str, bins: int = 30,
              caption: str = "", vline: float | None = None) -> str:
    values = _finite(values)
    counts, edges = np.histogram(values, bins=bins) if len(values) else (np.zeros(1), np.arange(2))
    return histogram_counts(plot_id, title, edges, counts, xlabel=xlabel, caption=caption,
                            vline=vline)


def histogram_counts(plot_id: str, title: str, edges: Sequence[float] | np.ndarray,
                     counts: Sequence[float] | np.ndarray,
                     *, xlabel: str, caption: str = "", vline: float | None = None,
                     dates: bool = False, width: int = W, ylabel: str = "rows") -> str:
    """Bars of counts over bins (`edges` has one more entry than `counts`); `dates`: the edges
    are days since 1970 and the axis shows dates."""
    cnt = np.asarray(counts, float)
    edge = np.asarray(edges, float)
    frame = Frame(float(edge[0]), float(edge[-1]), 0.0, float(max(cnt.max(initial=0), 1)) * 1.05,
                  width=width)
    name = fmt_date if dates else fmt_tick
    body = [frame.axes(xlabel, ylabel, xfmt=name, xcount=3 if dates else 5)]
    for c, a, b in zip(cnt, edge[:-1], edge[1:], strict=True):
        top = frame.y(c)
        body.append(f'<rect x="{num(frame.x(a))}" y="{num(top)}" '
                    f'width="{num(max(frame.x(b) - frame.x(a) - 1, 0.5))}" '
                    f'height="{num(frame.y(0) - top)}" class="mark bar">'
                    f"<title>{name(a)} – {name(b)}: {c:,.0f} {escape(ylabel)}</title></rect>")
    if vline is not None:
        body.append(f'<line x1="{num(frame.x(vline))}" x2="{num(frame.x(vline))}" y1="{TOP}" '
                    f'y2="{frame.height - BOTTOM}" class="ref"/>')
    return figure(plot_id, title, "".join(body), width=width, caption=caption)


def bar_domain(values: np.ndarray, errors: np.ndarray, zero: bool | None) -> tuple[float, float]:
    """The value axis of a bar chart. Counts and shares start at zero; scores that all lie in a
    narrow band far from zero (0.824-0.848) get an axis around the band, so the differences
    are visible (the caption says where the axis starts)."""
    lo_v = float(np.nanmin(values - errors)) if len(values) else 0.0
    hi_v = float(np.nanmax(values + errors)) if len(values) else 1.0
    if not (math.isfinite(lo_v) and math.isfinite(hi_v)):
        return 0.0, 1.0
    spread = hi_v - lo_v
    narrow = lo_v > 0 and spread < 0.5 * lo_v
    if zero is False or (zero is None and narrow):
        pad = max(spread * 0.25, abs(hi_v) * 1e-3, 1e-12)
        ticks = nice_ticks(lo_v - pad, hi_v + pad)
        return (ticks[0] if ticks[0] <= lo_v else lo_v - pad), hi_v + pad
    lo, hi = min(0.0, lo_v), max(0.0, hi_v)
    return lo, (hi + (hi - lo) * 0.05) or 1.0


def hbar(plot_id: str, title: str, labels: Sequence[str], values: Sequence[float], *,
         xlabel: str, errors: Sequence[float] | None = None, caption: str = "",
         highlight: Sequence[bool] | None = None, zero: bool | None = True, width: int = W,
         fmt: Callable[[float], str] | None = None, show_values: bool = False,
         ref: float | None = None, ref_label: str = "overall",
         tips: Sequence[str] | None = None) -> str:
    """Horizontal bars, first label on top; `errors` draws ± whiskers. `zero`: True to start
    the axis at zero (counts), False to fit the values, None to decide (see bar_domain).
    `fmt` formats values and ticks (e.g. `fmt_share`); `show_values` writes each value at the
    end of its bar; `ref` draws a dashed reference line (named in the caption); `tips` are the
    hover texts of the bars."""
    n = len(labels)
    height = TOP + BOTTOM + 22 * max(n, 1)
    vals = np.asarray(values, float)
    errs = np.zeros(n) if errors is None else np.nan_to_num(np.asarray(errors, float))
    has_ref = ref is not None and math.isfinite(ref)
    lo, hi = bar_domain(np.append(vals, ref or 0.0) if has_ref else vals,
                        np.append(errs, 0.0) if has_ref else errs, zero)
    show = fmt or (lambda v: f"{v:.4g}")
    longest = max((len(str(label)) for label in labels), default=4)
    left = int(min(max(longest * TICK_CHAR_PX + 12, 70), 200, width * 0.4))
    room = max((len(show(v)) for v in vals if math.isfinite(v)), default=0) * TICK_CHAR_PX + 8
    frame = Frame(lo, hi, 0, n, width=width - int(room if show_values else 0), height=height,
                  left=left)
    base = frame.xlo if frame.xlo > 0 else 0.0
    xcount = 4 if width < W else 5
    ticks_fmt = share_ticks(frame.xlo, frame.xhi, xcount) if fmt is fmt_share else (
        fmt or fmt_tick)
    body = [frame.axes(xlabel, "", yticks=False, xfmt=ticks_fmt, xcount=xcount)]
    for i, (label, v) in enumerate(zip(labels, vals, strict=True)):
        y = TOP + 22 * i + 4
        color = "mark bar hl" if highlight is not None and highlight[i] else "mark bar"
        a, b = sorted((frame.x(base), frame.x(v if math.isfinite(v) else base)))
        tip = tips[i] if tips is not None else f"{label}: {show(v)}"
        body.append(label_text(left - 6, y + 10, str(label), left - 10)
                    + f'<rect x="{num(a)}" y="{y}" '
                    f'width="{num(max(b - a, 1))}" height="14" class="{color}">'
                    f"<title>{escape(tip)}</title></rect>")
        if show_values and math.isfinite(v):
            body.append(f'<text x="{num(b + 4)}" y="{y + 11}" class="tick">{show(v)}</text>')
        if errors is not None and errs[i] > 0:
            body.append(f'<line x1="{num(frame.x(v - errs[i]))}" '
                        f'x2="{num(frame.x(v + errs[i]))}" y1="{y + 7}" y2="{y + 7}" '
                        'stroke="#111" stroke-width="1.5"/>')
    if ref is not None and has_ref:
        rx = num(frame.x(ref))
        body.append(f'<line x1="{rx}" x2="{rx}" y1="{TOP}" y2="{height - BOTTOM}" class="ref">'
                    f"<title>{escape(ref_label)}: {show(ref)}</title></line>")
        note = f"dashed line: {ref_label} {show(ref)}"
        caption = f"{caption} ({note})" if caption else note.capitalize()
    if base > 0:
        note = f"axis starts at {ticks_fmt(base)}, not 0, so that the differences show"
        caption = f"{caption} ({note})" if caption else note.capitalize()
    return figure(plot_id, title, "".join(body), width=width, height=height, caption=caption)


def color_scale(value: float, lo: float, hi: float, diverging: bool = False) -> str:
    """Sequential (white to blue) or diverging (red, white, blue) colour of `value`."""
    if not math.isfinite(value) or hi <= lo:
        return "#f3f4f6"
    t = min(max((value - lo) / (hi - lo), 0.0), 1.0)
    if diverging:  # lo..0 red, 0..hi blue
        u = 2 * t - 1
        if u < 0:
            return _hex(255 - 35 * -u, 255 - 180 * -u, 255 - 180 * -u)
        return _hex(255 - 218 * u, 255 - 156 * u, 255 - 20 * u)
    return _hex(255 - 218 * t, 255 - 156 * t, 255 - 20 * t)


def _hex(r: float, g: float, b: float) -> str:
    return f"#{int(r):02x}{int(g):02x}{int(b):02x}"


def color_bar(x: float, y: float, height: float, lo: float, hi: float, *, diverging: bool,
              label: str, gid: str = "scale") -> str:
    """A vertical colour scale with ticks, beside a heatmap: a gradient through the same colours
    as `color_scale` (linear in each half, so its ends and middle are the stops). `gid` names
    the gradient; it must be unique in the page."""
    stops = (1.0, 0.5, 0.0) if diverging else (1.0, 0.0)
    gradient = "".join(f'<stop offset="{1 - f:g}" stop-color="'
                       f'{color_scale(lo + (hi - lo) * f, lo, hi, diverging)}"/>' for f in stops)
    gid = escape(gid)
    parts = [f'<linearGradient id="{gid}" x1="0" x2="0" y1="0" y2="1">{gradient}'
             f'</linearGradient><rect x="{num(x)}" y="{num(y)}" width="12" '
             f'height="{num(height)}" fill="url(#{gid})" stroke="#9ca3af"/>']
    for t in nice_ticks(lo, hi, 4):
        ty = y + (hi - t) / (hi - lo) * height if hi > lo else y
        parts.append(f'<text x="{num(x + 16)}" y="{num(ty)}" class="tick" '
                     f'dominant-baseline="middle">{fmt_tick(t)}</text>')
    parts.append(f'<text transform="translate({num(x + 52)} {num(y + height / 2)}) '
                 f'rotate(90)" class="label" text-anchor="middle">{escape(label)}</text>')
    return "".join(parts)


def heatmap(plot_id: str, title: str, matrix: np.ndarray, labels: Sequence[str], *,
            fmt: str | Callable[[float], str] = "{:.0f}", xlabel: str = "predicted",
            ylabel: str = "actual", caption: str = "", col_labels: Sequence[str] | None = None,
            scale_label: str = "rows", diverging: bool = False,
            limits: tuple[float, float] | None = None, lower: bool = False) -> str:
    """A grid with a colour scale and the value in each cell: a confusion matrix (rows =
    actual, columns = predicted) or, with `diverging`, a correlation matrix (-1..1).
    `limits`: the ends of the colour scale (default: from the values). `lower`: draw only the
    cells on and below the diagonal (a symmetric matrix says everything there)."""
    show = fmt.format if isinstance(fmt, str) else fmt
    matrix = np.asarray(matrix, float)
    cols = list(col_labels) if col_labels is not None else list(labels)
    k, m = len(labels), len(cols)
    cell = max(22, min(70, 320 // max(k, m, 1)))
    longest = max((len(str(label)) for label in labels), default=4)
    left = int(min(max(longest * TICK_CHAR_PX + 14, 60), 150))
    top = 40
    col_px = max((len(str(c)) for c in cols), default=0) * TICK_CHAR_PX
    turned = min(col_px, 100) if col_px > cell else 0  # names turned 40 degrees, up to 100 px
    bottom = int(24 + turned * 0.65) if turned else 40
    left = max(left, int(turned * 0.77 - cell / 2 + 4))  # the first name leans left
    bar = max(cell * k, 130)  # the colour scale needs room for its ticks and name
    width, height = left + cell * m + 90, top + max(cell * k + bottom, bar) + 10
    finite = matrix[np.isfinite(matrix)] if matrix.size else np.zeros(1)
    if limits is not None:
        lo, hi = limits
    elif diverging:
        lim = float(np.max(np.abs(finite))) if finite.size else 1.0
        lo, hi = -(lim or 1.0), (lim or 1.0)
    else:
        lo, hi = 0.0, float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    body = []
    for i in range(k):
        body.append(label_text(left - 6, top + cell * i + cell / 2, str(labels[i]), left - 10,
                               extra=' dominant-baseline="middle"'))
    for j in range(m):
        x = left + cell * j + cell / 2
        if turned:
            body.append(label_text(x, top + cell * k + 12, str(cols[j]), turned, anchor="end",
                                   extra=f' transform="rotate(-40 {num(x)} '
                                   f'{num(top + cell * k + 12)})"'))
        else:
            body.append(label_text(x, top + cell * k + 14, str(cols[j]), cell, anchor="middle"))
    for i in range(k):
        for j in range(i + 1 if lower else m):
            v = float(matrix[i, j])
            fill = color_scale(v, lo, hi, diverging)
            dark = math.isfinite(v) and abs(v) > 0.6 * max(abs(lo), abs(hi))
            body.append(f'<rect x="{left + cell * j}" y="{top + cell * i}" width="{cell - 1}" '
                        f'height="{cell - 1}" fill="{fill}" class="mark">'
                        f'<title>{escape(str(labels[i]))} / {escape(str(cols[j]))}: '
                        f'{show(v) if math.isfinite(v) else "n/a"}</title></rect>')
            cx, cy = left + cell * j + cell / 2, top + cell * i + cell / 2
            size = "cell" if cell >= 34 else "cell-s"  # a CSS font outranks font-size=
            if math.isfinite(v):  # centred and coloured by the class: pages carry thousands
                body.append(f'<text x="{num(cx)}" y="{num(cy)}" '
                            f'class="{size}{" on" if dark else ""}">{show(v)}</text>')
    body.append(color_bar(left + cell * m + 14, top, bar, lo, hi, diverging=diverging,
                          gid=f"scale-{plot_id}",
                          label=scale_label))
    body.append(f'<text x="{left + cell * m / 2}" y="{height - 6}" class="label" '
                f'text-anchor="middle">{escape(xlabel)}</text>'
                f'<text transform="translate(14 {top + cell * k / 2}) rotate(-90)" class="label" '
                f'text-anchor="middle">{escape(ylabel)}</text>')
    return figure(plot_id, title, "".join(body), width=max(width, 240), height=height,
                  caption=caption)


def beeswarm(plot_id: str, title: str, names: Sequence[str], contributions: np.ndarray,
             values: np.ndarray, *, caption: str = "", seed: int = 0) -> str:
    """SHAP summary: one row per feature, each dot one prediction at its contribution, coloured
    from blue (low feature value) to red (high); grey where the feature is not numeric."""
    k = len(names)
    height = TOP + BOTTOM + 26 * max(k, 1)
    left = 170
    flat = _finite(contributions)
    lim = float(np.max(np.abs(flat))) if len(flat) else 1.0
    frame = Frame(-lim * 1.05 or -1, lim * 1.05 or 1, 0, k, height=height)
    span = W - left - RIGHT
    px = (lambda v: left + (v - frame.xlo) / (frame.xhi - frame.xlo) * span)  # noqa: E731
    rng = np.random.default_rng(seed)
    body = [f'<rect x="{left}" y="{TOP}" width="{span}" height="{height - TOP - BOTTOM}" '
            f'class="bg"/><line x1="{num(px(0))}" x2="{num(px(0))}" y1="{TOP}" '
            f'y2="{height - BOTTOM}" class="ref"/>']
    for t in nice_ticks(frame.xlo, frame.xhi):
        body.append(f'<text x="{num(px(t))}" y="{height - BOTTOM + 14}" class="tick" '
                    f'text-anchor="middle">{fmt_tick(t)}</text>')
    for i, name in enumerate(names):
        y0 = TOP + 26 * i + 13
        body.append(label_text(left - 6, y0 + 3, str(name), left - 10))
        col = np.asarray(values[:, i], float)
        ok = np.isfinite(col)
        lo, hi = np.nanpercentile(col[ok], [5, 95]) if ok.any() else (0.0, 1.0)
        jitter = rng.uniform(-8, 8, len(col))
        for j, c in enumerate(contributions[:, i]):
            if not math.isfinite(c):
                continue
            if ok[j] and hi > lo:
                t = min(max((col[j] - lo) / (hi - lo), 0.0), 1.0)
                color = f"rgb({int(40 + 200 * t)},{int(90 - 40 * t)},{int(230 - 190 * t)})"
            else:
                color = "#9ca3af"
            body.append(f'<circle cx="{num(px(c))}" cy="{num(y0 + jitter[j])}" r="2" '
                        f'fill="{color}" fill-opacity="0.7" class="mark"/>')
    body.append(f'<text x="{left + span / 2}" y="{height - 8}" class="label" '
                f'text-anchor="middle">SHAP value (contribution to the raw output)</text>')
    return figure(plot_id, title, "".join(body), height=height, caption=caption)


def strip(plot_id: str, title: str, groups: Sequence[str], values: Sequence[np.ndarray], *,
          ylabel: str, caption: str = "", seed: int = 0) -> str:
    """Dots per category (dependence of a categorical feature)."""
    k = len(groups)
    frame = Frame.fit(np.array([-0.5, k - 0.5]),
                      np.concatenate([np.asarray(v, float) for v in values] or [np.zeros(1)]))
    frame.xlo, frame.xhi = -0.5, k - 0.5
    body = [frame.axes("", ylabel, xticks=False)]
    rng = np.random.default_rng(seed)
    for i, (g, v) in enumerate(zip(groups, values, strict=True)):
        room = (frame.x(1) - frame.x(0)) if k > 1 else W - LEFT - RIGHT
        body.append(label_text(frame.x(i), H - BOTTOM + 14, str(g), room - 4, anchor="middle"))
        for c in np.asarray(v, float):
            if math.isfinite(c):
                body.append(f'<circle cx="{num(frame.x(i + rng.uniform(-0.25, 0.25)))}" '
                            f'cy="{num(frame.y(c))}" r="2" fill="{PALETTE[0]}" '
                            'fill-opacity="0.5" class="mark"/>')
    return figure(plot_id, title, "".join(body), caption=caption)


CSS = """
figure.plot{display:inline-block;width:min-content;margin:8px;vertical-align:top;background:#fff;
 border:1px solid #e5e7eb;border-radius:6px;padding:4px}
figure.plot figcaption{font-size:12px;color:#4b5563;max-width:460px;padding:2px 6px}
svg .bg{fill:#fafafa;stroke:#d1d5db}
svg .bar{fill:#2563eb}
svg .bar.hl{fill:#dc2626}
svg .grid{stroke:#e5e7eb;fill:none}
svg .ref{stroke:#6b7280;stroke-dasharray:4 3}
svg .tick{font:10px sans-serif;fill:#374151}
svg .tx{text-anchor:middle}
svg .ty{text-anchor:end;dominant-baseline:middle}
svg .cell{font:11px sans-serif}
svg .cell-s{font:8px sans-serif}
svg .cell,svg .cell-s{text-anchor:middle;dominant-baseline:middle;fill:#111}
svg .cell.on,svg .cell-s.on{fill:#fff}
svg .label{font:11px sans-serif;fill:#111}
svg .title{font:bold 13px sans-serif;fill:#111}
"""
