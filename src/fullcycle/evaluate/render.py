"""The evaluation page of any task kind as one self-contained HTML page (inline CSS and SVG, no
scripts), the shared table and number formatting, and the JSON twin with NaN written as null.
A kind's own sections are rendered in its folder (the supervised table's:
tasks/tabular/evaluate/render.py)."""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

import numpy as np

from fullcycle.evaluate.plots import CSS

PAGE_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#111;background:#f3f4f6}
header{background:#111827;color:#fff;padding:16px 28px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;color:#d1d5db}
main{padding:8px 28px 40px;max-width:1500px}
section{background:#fff;border-radius:8px;padding:12px 18px;margin:14px 0;
 box-shadow:0 1px 2px rgba(0,0,0,.06)}
h2{font-size:18px;margin:6px 0 10px} h3{font-size:15px;margin:12px 0 6px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f9fafb}
.pass{color:#15803d;font-weight:bold}.fail{color:#b91c1c;font-weight:bold}
.flag{background:#fef2f2}.note{color:#374151;font-size:14px}
.verdict{font-size:17px;padding:8px 12px;border-radius:6px;display:inline-block}
.verdict.pass{background:#dcfce7}.verdict.fail{background:#fee2e2}
.muted{color:#6b7280}
"""


def _f(v: Any, digits: int = 4) -> str:
    if v is None:
        return "–"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            return "–"
        small_or_big = abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3)
        return f"{v:.{digits}g}" if small_or_big else f"{v:.{digits}f}"
    return escape(str(v))


def table(rows: list[dict[str, Any]], columns: list[str] | None = None, *,
          flag: str | None = None) -> str:
    if not rows:
        return '<p class="muted">none</p>'
    columns = columns or list(rows[0].keys())
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        f'<tr{" class=flag" if flag and r.get(flag) else ""}>'
        + "".join(f"<td>{_f(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(heading: str, subtitle: str, sections: list[tuple[str, str, str]]) -> str:
    """The evaluation page of any task kind: (id, title, html) sections under a header."""
    body = "".join(f'<section id="{sid}"><h2>{escape(title)}</h2>{html}</section>'
                   for sid, title, html in sections)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>'
            f'{escape(heading.replace("Evaluation of model", "Evaluation:"))}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{PAGE_CSS}{CSS}</style></head><body><header><h1>{escape(heading)}"
            f'</h1><p>{escape(subtitle)}</p></header><main>{body}</main></body></html>')


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(_clean(result), indent=1)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (str, int)) or value is None:
        return value
    return str(value)
