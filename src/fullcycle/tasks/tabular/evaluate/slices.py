"""Error analysis by slice: the model's metric on each categorical feature's top values and on
quantile bins of each numeric feature, with the slices clearly worse than the whole flagged; and
the fairness table for the columns the user names as sensitive."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.schema import Schema, coerce_frame
from fullcycle.problem import Problem

TOP_VALUES = 6
BINS = 4


def slice_masks(X: pd.DataFrame, schema: Schema, columns: list[str] | None = None,
                ) -> list[tuple[str, str, np.ndarray]]:
    """(feature, slice label, row mask) for every slice of every feature."""
    typed = coerce_frame(X, schema, require_all=False)
    out: list[tuple[str, str, np.ndarray]] = []
    for spec in schema.features:
        if columns is not None and spec.name not in columns:
            continue
        col = typed[spec.name]
        if spec.role == "numeric" and col.nunique(dropna=True) > BINS:
            values = col.to_numpy(dtype="float64")
            edges = np.unique(np.nanquantile(values, np.linspace(0, 1, BINS + 1)))
            for lo, hi in zip(edges[:-1], edges[1:], strict=True):
                last = hi == edges[-1]
                mask = (values >= lo) & ((values <= hi) if last else (values < hi))
                out.append((spec.name, f"[{lo:.4g}, {hi:.4g}{']' if last else ')'}", mask))
            if np.isnan(values).any():
                out.append((spec.name, "missing", np.isnan(values)))
        elif spec.role in ("numeric", "boolean", "categorical"):
            # a boolean's slices are named by the data's own values (Yes/No), not 0.0/1.0
            source = X[spec.name] if spec.role == "boolean" and spec.name in X else col
            text = source.astype("string").str.strip().fillna("missing")
            for value in text.value_counts().index[:TOP_VALUES]:
                out.append((spec.name, str(value), (text == value).to_numpy()))
    return out


def _slice_score(problem: Problem, y: np.ndarray, scores: np.ndarray, pred: np.ndarray,
                 labels: np.ndarray | None) -> dict[str, float]:
    metric = problem.scorer
    arg = pred if metric.needs == "label" else scores
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            primary = metric(y, arg, labels)
        except ValueError:
            primary = float("nan")  # e.g. ROC-AUC on a slice with one class
    out = {problem.metric: float(primary)}
    if problem.is_classification:
        out["error_rate"] = float(np.mean(pred != y))
    else:
        out["mae"] = float(np.mean(np.abs(pred - y)))
    return out


def slice_table(problem: Problem, schema: Schema, X: pd.DataFrame, y: np.ndarray,
                scores: np.ndarray, pred: np.ndarray, *, min_rows: int = 20,
                columns: list[str] | None = None) -> pd.DataFrame:
    """One row per slice: size, primary metric, error rate / MAE, and `flag` for slices whose
    error is clearly worse than on all rows (beyond the sampling noise of a slice that size)."""
    labels = np.arange(len(problem.labels)) if problem.is_classification else None
    overall = _slice_score(problem, y, scores, pred, labels)
    error_key = "error_rate" if problem.is_classification else "mae"
    rows = []
    for feature, label, mask in slice_masks(X, schema, columns):
        n = int(mask.sum())
        if n < min_rows:
            continue
        score = _slice_score(problem, y[mask], scores[mask], pred[mask], labels)
        rows.append({"feature": feature, "slice": label, "rows": n, **score})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    # Worse than overall by more than ~2.5 standard errors of the error measure at that size:
    # the error rate (MAE) is comparable across slices, a within-slice AUC is not.
    err = table[error_key].to_numpy()
    if problem.is_classification:
        rate = overall[error_key]
        se = np.sqrt(max(rate * (1 - rate), 1e-6) / table["rows"].to_numpy())
    else:
        se = np.std(np.abs(pred - y)) / np.sqrt(table["rows"].to_numpy())
    table["flag"] = err > overall[error_key] + 2.5 * se
    table["gap"] = err - overall[error_key]
    return table.sort_values(["flag", "gap"], ascending=[False, False], ignore_index=True)


def fairness_table(problem: Problem, schema: Schema, X: pd.DataFrame, y: np.ndarray,
                   pred: np.ndarray, columns: list[str]) -> list[dict[str, Any]]:
    """Per group of each sensitive column: rows, accuracy (or MAE), selection rate, TPR and FPR
    (binary), and the ratio of the lowest to the highest selection rate (disparate impact)."""
    out = []
    for column in columns:
        groups = []
        for _, label, mask in slice_masks(X, schema, [column]):
            yt, yp = y[mask], pred[mask]
            row: dict[str, Any] = {"group": label, "rows": int(mask.sum())}
            if problem.is_classification:
                row["accuracy"] = float(np.mean(yt == yp))
                if problem.task == "binary":
                    pos = len(problem.labels) - 1
                    row["selection_rate"] = float(np.mean(yp == pos))
                    row["tpr"] = float(np.mean(yp[yt == pos] == pos)) if (yt == pos).any() else None
                    row["fpr"] = float(np.mean(yp[yt != pos] == pos)) if (yt != pos).any() else None
            else:
                row["mae"] = float(np.mean(np.abs(yt - yp)))
                row["mean_prediction"] = float(np.mean(yp))
            groups.append(row)
        rates = [g["selection_rate"] for g in groups if g.get("selection_rate") is not None]
        ratio = (min(rates) / max(rates)) if rates and max(rates) > 0 else None
        out.append({"column": column, "groups": groups, "disparate_impact": ratio})
    return out
