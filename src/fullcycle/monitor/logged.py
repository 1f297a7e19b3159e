"""Data-quality warnings recorded in the prediction log.

The server logs, with every prediction, the warnings its contract check raised for that row
(`missing_imputed`: a blank where training had none, filled by the model's imputer;
`unseen_category`; `out_of_range`). Monitoring counts them per column and kind over the window
and raises a quality alert when the share of logged rows that carried any warning is above
`monitor.warning_share`. A file monitored with `--input` has no such record (None)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

SHOWN = 5  # (column, kind) pairs named in the alert message


def logged_warnings(recent: Any) -> Any:
    """The `warnings` column of a prediction-log window (`read_log_window`), one entry per row
    (all None for a log written before the column existed); None for rows from a file."""
    import pandas as pd

    if not recent.attrs.get("prediction_log"):
        return None
    if "warnings" in recent.columns:
        return recent["warnings"]
    return pd.Series(None, index=recent.index, dtype=object)


def count_warnings(warnings: Iterable[Any] | None, rows: int, cfg: Any) -> dict[str, Any] | None:
    """Counts of the logged warnings of a window (`warnings`: one entry per logged row, a list
    of {"column", "type"} or None) and the alert they raise (`cfg`: MonitorConfig); None when
    the window does not come from the prediction log."""
    if warnings is None:
        return None
    pairs: Counter[tuple[str, str]] = Counter()
    warned = 0
    for entry in warnings:
        if not isinstance(entry, list) or not entry:  # None / NaN: the row had no warning
            continue
        warned += 1
        for item in entry:
            if isinstance(item, dict):
                pairs[(str(item.get("column")), str(item.get("type")))] += 1
    total = max(rows, 1)
    share = warned / total
    by_kind: Counter[str] = Counter()
    for (_, kind), count in pairs.items():
        by_kind[kind] += count
    out: dict[str, Any] = {
        "rows": rows, "warned_rows": warned, "warned_share": share,
        "threshold": cfg.warning_share,
        "counts": [{"column": column, "kind": kind, "count": count, "share": count / total}
                   for (column, kind), count in sorted(pairs.items(),
                                                       key=lambda p: (-p[1], p[0]))],
        "by_kind": dict(sorted(by_kind.items())), "alerts": []}
    if warned and share > cfg.warning_share:
        named = ", ".join(f"{c['kind']} {c['column']} {c['count']}"
                          for c in out["counts"][:SHOWN])
        more = len(out["counts"]) - SHOWN
        out["alerts"].append({
            "kind": "quality", "check": "logged_warnings", "message":
            f"{warned} of {rows} logged predictions ({share:.1%}) carried data-quality warnings, "
            f"above monitor.warning_share {cfg.warning_share:.1%}: {named}"
            + (f" and {more} more" if more > 0 else "")})
    return out
