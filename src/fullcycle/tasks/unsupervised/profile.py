"""Words about rows in the original units and categories: how a group of rows (a cluster)
differs from the rest, and what makes one row unusual (an anomaly).

`ColumnStats` keeps a small reference of the training columns (median and spread of numbers,
frequencies of categories), so a served model explains a row without the training data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.charts import svg
from fullcycle.charts.svg import PALETTE
from fullcycle.data.schema import Schema
from fullcycle.tasks.unsupervised.prep import feature_columns


def _num(col: pd.Series) -> pd.Series:
    return pd.to_numeric(col, errors="coerce")


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "missing"
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


@dataclass
class ColumnStats:
    """Per feature column: numbers' median, quartiles and spread; categories' shares."""

    numeric: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)
    categories: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def fit(cls, frame: pd.DataFrame, schema: Schema) -> ColumnStats:
        stats = cls()
        for spec, col in feature_columns(frame, schema):
            if spec.role == "numeric":
                x = _num(col).dropna()
                if len(x):
                    q1, med, q3 = (float(v) for v in x.quantile([0.25, 0.5, 0.75]))
                    spread = (q3 - q1) / 1.349 or float(x.std() or 0) or 1.0
                    stats.numeric[spec.name] = (med, q1, q3, spread)
            elif spec.role in ("categorical", "boolean"):
                shares = col.astype("string").fillna("(missing)").value_counts(normalize=True)
                stats.categories[spec.name] = {str(k): float(v)
                                               for k, v in shares.head(200).items()}
        return stats

    def unusual(self, row: pd.Series, top: int = 3) -> list[str]:
        """The columns that make `row` unusual, most unusual first, in words."""
        found: list[tuple[float, str]] = []
        for name, (med, q1, q3, spread) in self.numeric.items():
            value = _num(pd.Series([row.get(name)])).iloc[0]
            if pd.isna(value):
                continue
            z = (float(value) - med) / spread
            if abs(z) >= 2:
                side = "high" if z > 0 else "low"
                found.append((abs(z), f"{name} = {_fmt(float(value))} is {side} (typical "
                              f"{_fmt(q1)} to {_fmt(q3)})"))
        for name, shares in self.categories.items():
            value = row.get(name)
            text = "(missing)" if value is None or pd.isna(value) else str(value)
            share = shares.get(text, 0.0)
            if share < 0.05:
                found.append((-np.log10(max(share, 1e-4)) * 1.5,
                              f"{name} = {text} is rare ({share:.1%} of training rows)"))
        found.sort(key=lambda t: -t[0])
        return [text for _, text in found[:top]]


def describe_group(frame: pd.DataFrame, inside: np.ndarray, schema: Schema,
                   top: int = 3) -> list[str]:
    """How the rows where `inside` is True differ from the others, strongest first."""
    found: list[tuple[float, str]] = []
    rest = ~inside
    if not rest.any() or not inside.any():
        return ["all rows"]
    for spec, col in feature_columns(frame, schema):
        if spec.role == "numeric":
            x = _num(col)
            sd = float(x.std() or 0)
            if sd <= 0:
                continue
            a, b = float(x[inside].mean()), float(x[rest].mean())
            d = (a - b) / sd
            if abs(d) >= 0.3 and np.isfinite(d):
                word = "higher" if d > 0 else "lower"
                found.append((abs(d), f"{spec.name} {word}: {_fmt(a)} on average vs "
                              f"{_fmt(b)} elsewhere"))
        elif spec.role in ("categorical", "boolean"):
            text = col.astype("string").fillna("(missing)")
            share_in = text[inside].value_counts(normalize=True)
            share_out = text[rest].value_counts(normalize=True)
            if share_in.empty:
                continue
            lift = (share_in - share_out.reindex(share_in.index).fillna(0)).sort_values()
            level = str(lift.index[-1])
            diff = float(lift.iloc[-1])
            if diff >= 0.1:
                found.append((diff * 2.5, f"{spec.name} = {level} more often: "
                              f"{share_in[level]:.0%} vs {share_out.get(level, 0.0):.0%} "
                              "elsewhere"))
    found.sort(key=lambda t: -t[0])
    return [text for _, text in found[:top]] or ["close to the overall averages"]


def projection(A: np.ndarray, seed: int, limit: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """Rows (a sample of at most `limit`) projected on their first two principal components;
    returns (row indices, n x 2 coordinates)."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(A), size=limit, replace=False)) if len(A) > limit \
        else np.arange(len(A))
    X = A[idx] - A[idx].mean(0)
    if X.shape[1] == 1:
        return idx, np.column_stack([X[:, 0], np.zeros(len(X))])
    _, _, vt = np.linalg.svd(X, full_matrices=False)
    return idx, X @ vt[:2].T


def scatter_svg(xy: np.ndarray, groups: np.ndarray, labels: dict[int, str]) -> str:
    """Rows on their first two principal components, coloured by group (-1: grey), drawn by
    fullcycle.charts like every other chart."""
    if len(xy) == 0:
        return ""

    def colour(g: int) -> str:
        return "#9ca3af" if g < 0 else PALETTE[int(g) % len(PALETTE)]

    return svg.scatter("clusters", "rows on their first two principal components", xy[:, 0],
                       xy[:, 1], xlabel="first principal component",
                       ylabel="second principal component",
                       colors=[colour(int(g)) for g in groups],
                       legend_items=[(text, colour(g)) for g, text in sorted(labels.items())])


def histogram_svg(values: np.ndarray, threshold: float | None, bins: int = 40) -> str:
    """Scores in [0, 1] with the decision threshold as a dashed line (fullcycle.charts)."""
    shown = threshold if threshold is not None and threshold <= 1 else None
    return svg.histogram_counts(
        "anomaly-scores", "anomaly scores", np.linspace(0, 1, bins + 1),
        np.histogram(np.clip(values, 0, 1), bins=bins, range=(0, 1))[0],
        xlabel="anomaly score (share of training rows less unusual)", vline=shown,
        caption=f"Dashed line: the threshold {shown:.4f}" if shown is not None else "")


def table_html(rows: list[dict[str, Any]]) -> str:
    import html

    if not rows:
        return "<p>(none)</p>"
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in cols)
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
