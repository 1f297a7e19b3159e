"""Live data quality against the model's data contract (its `Schema`): columns that stopped
arriving, missing-rate jumps, values outside the training range, categories training never saw,
and values that are not of the column's type. Computed from the same reduced `Window` as drift,
so the whole window is checked, not a sample."""

from __future__ import annotations

from typing import Any

import numpy as np

from fullcycle.data.schema import Schema
from fullcycle.monitor.columns import CategoricalColumn, NumericColumn, Window

EXAMPLES = 5


def _numeric_checks(col: NumericColumn, spec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    values = col.values
    if spec.role == "numeric" and len(values) and spec.minimum is not None:
        below = int(np.searchsorted(values, spec.minimum, side="left"))
        above = int(len(values) - np.searchsorted(values, spec.maximum, side="right"))
        out.update({"below_min": below, "above_max": above, "range": [spec.minimum, spec.maximum],
                    "out_of_range": below + above, "live_min": float(values[0]),
                    "live_max": float(values[-1])})
    return out


def _categorical_checks(col: CategoricalColumn, spec: Any) -> dict[str, Any]:
    known = set(spec.categories or [])
    if not known:
        return {}
    unseen = np.array([label not in known for label in col.labels], dtype=bool)
    order = np.argsort(-col.counts[unseen], kind="stable")
    examples = [str(v) for v in col.labels[unseen][order][:EXAMPLES]]
    return {"unseen": int(col.counts[unseen].sum()), "unseen_values": examples}


def check_quality(window: Window, schema: Schema, reference: dict[str, Any],
                  cfg: Any) -> dict[str, Any]:
    """Per-column quality findings and the alerts they raise (`cfg`: MonitorConfig)."""
    columns, alerts = [], []
    for name in window.absent:
        alerts.append({"kind": "quality", "feature": name, "check": "absent",
                       "message": f"{name}: the column is absent from the live data"})
    for spec in schema.features:
        col = window.columns.get(spec.name)
        if col is None:
            continue
        sketch = reference.get("features", {}).get(spec.name, {})
        ref_missing = sketch.get("missing", 0) / max(sketch.get("rows", 0), 1)
        row: dict[str, Any] = {"feature": spec.name, "role": spec.role, "rows": col.rows,
                               "missing_rate": col.missing / max(col.rows, 1),
                               "reference_missing_rate": ref_missing, "invalid": col.invalid,
                               # blanks where training had none: the model's imputer fills them
                               # (contract.missing: impute), a data-quality finding all the same
                               "imputed": col.missing if spec.missing_rate == 0 else 0}
        if isinstance(col, NumericColumn):
            row |= _numeric_checks(col, spec)
        else:
            row |= _categorical_checks(col, spec)
        row["issues"] = _issues(row, cfg)
        alerts += [{"kind": "quality", "feature": spec.name, "check": issue,
                    "message": _message(row, issue)} for issue in row["issues"]]
        columns.append(row)
    return {"rows": window.rows, "columns": columns, "absent": list(window.absent),
            "alerts": alerts}


def _issues(row: dict[str, Any], cfg: Any) -> list[str]:
    rows = max(row["rows"], 1)
    issues = []
    if row["rows"] >= cfg.min_rows and \
            row["missing_rate"] - row["reference_missing_rate"] >= cfg.missing_jump:
        issues.append("missing_rate")
    for key in ("invalid", "imputed", "out_of_range", "unseen"):
        count = row.get(key, 0)
        if count and count / rows > cfg.quality_share:
            issues.append(key)
    return issues


def _message(row: dict[str, Any], issue: str) -> str:
    name, rows = row["feature"], max(row["rows"], 1)
    if issue == "missing_rate":
        return (f"{name}: {row['missing_rate']:.1%} missing, was "
                f"{row['reference_missing_rate']:.1%} in training")
    if issue == "invalid":
        share = row["invalid"] / rows
        return f"{name}: {row['invalid']} values ({share:.1%}) are not {row['role']}"
    if issue == "imputed":
        share = row["imputed"] / rows
        return (f"{name}: {row['imputed']} values ({share:.1%}) missing where training had "
                "none; filled by the model's imputer")
    if issue == "out_of_range":
        lo, hi = row["range"]
        return (f"{name}: {row['out_of_range']} values ({row['out_of_range'] / rows:.1%}) outside "
                f"the training range [{lo:g}, {hi:g}] (live {row['live_min']:g} .. "
                f"{row['live_max']:g})")
    return (f"{name}: {row['unseen']} values ({row['unseen'] / rows:.1%}) are categories training "
            f"never saw, e.g. {', '.join(map(repr, row['unseen_values']))}")
