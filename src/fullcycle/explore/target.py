"""The target and each column's relation to it.

Aggregates (per-category rates, binned means, mutual information) use every row; per-class box
plots and single-feature AUCs use the report's sample, whose size the report states."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.charts.svg import fmt_date
from fullcycle.data.schema import normalise_missing, to_numeric
from fullcycle.explore.columns import TypedColumn, binned_codes, capped_codes
from fullcycle.problem import Problem

MAX_CLASSES_SHOWN = 10
TARGET_BINS = 20


@dataclass
class TargetInfo:
    name: str
    problem: Problem
    missing: np.ndarray  # bool per row
    codes: np.ndarray | None = None  # classification: index into labels, -1 missing
    values: np.ndarray | None = None  # regression
    labels: list[str] = field(default_factory=list)
    mi_codes: np.ndarray | None = None  # classes, or regression quantile bins; missing last
    mi_k: int = 0
    _numeric: np.ndarray | None = field(default=None, repr=False)

    @property
    def task(self) -> str:
        return self.problem.task

    @property
    def classes(self) -> bool:
        """A target of classes (codes and labels), not of numbers."""
        return self.codes is not None

    @property
    def positive(self) -> str | None:
        """The positive class of a two-class target (rates and single-feature AUCs of it)."""
        return self.problem.positive_class

    def numeric(self) -> np.ndarray:
        """Target as numbers: a numeric target's values, the positive-class indicator (two
        classes), or the class index (more); NaN where missing. Computed once (every column
        asks)."""
        if self.values is not None:
            return self.values
        if self._numeric is None:
            assert self.codes is not None
            out = self.codes.astype("float64")
            if self.positive is not None:
                out = (self.codes == len(self.labels) - 1).astype("float64")
            out[self.missing] = np.nan
            self._numeric = out
        return self._numeric


def make_target(raw: pd.Series, problem: Problem) -> TargetInfo:
    if problem.labels:  # classes: index into the problem's labels
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        text = normalise_missing(pd.Series(uniques))
        if text.dtype.kind == "f" and (text.dropna() == np.round(text.dropna())).all():
            text = text.astype("Int64")
        text = text.astype("string").str.strip()
        index = {label: i for i, label in enumerate(problem.labels)}
        per_unique = np.append(text.map(index).fillna(-1).to_numpy(dtype=np.int64), -1)
        cls = per_unique[codes].astype(np.int32)
        missing = cls < 0
        k = len(problem.labels)
        mi = np.where(missing, k, cls).astype(np.int32)
        return TargetInfo(problem.target, problem, missing,
                          codes=cls, labels=list(problem.labels), mi_codes=mi, mi_k=k + 1)
    values = to_numeric(raw).to_numpy(dtype="float64")
    missing = np.isnan(values)
    edges = np.unique(np.nanquantile(values, np.linspace(0, 1, TARGET_BINS + 1)))
    mi, k = binned_codes(values, edges)
    return TargetInfo(problem.target, problem, missing, values=values, mi_codes=mi, mi_k=k)


def relation(col: TypedColumn, stats: dict[str, Any], target: TargetInfo,
             sample: np.ndarray) -> dict[str, Any]:
    """How one column relates to the target: plot data plus a single-feature strength."""
    if col.kind == "categorical":
        return _categorical_relation(col, target)
    if "profile" not in stats or "bin_edges" not in stats["profile"]:
        return {}
    if target.classes:
        return _numeric_by_class(col, target, sample)
    out = _binned_means(col, stats, target)
    assert col.values is not None and target.values is not None
    x, y = col.values[sample], target.values[sample]
    ok = ~np.isnan(x) & ~np.isnan(y)
    if ok.sum() > 2 and np.ptp(x[ok]) > 0:
        out["spearman"] = float(pd.Series(x[ok]).corr(pd.Series(y[ok]), method="spearman"))
    return out


def _numeric_by_class(col: TypedColumn, target: TargetInfo, sample: np.ndarray) -> dict[str, Any]:
    assert col.values is not None and target.codes is not None
    x, y = col.values[sample], target.codes[sample]
    ok = ~np.isnan(x) & (y >= 0)
    x, y = x[ok], y[ok]
    counts = np.bincount(y, minlength=len(target.labels))
    shown = np.argsort(-counts, kind="stable")[:MAX_CLASSES_SHOWN]
    boxes = []
    for cls in sorted(shown):
        part = np.sort(x[y == cls])
        if not len(part):
            continue
        q1, med, q3 = np.quantile(part, [0.25, 0.5, 0.75])
        lo_fence, hi_fence = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
        inside = part[(part >= lo_fence) & (part <= hi_fence)]
        boxes.append({"label": target.labels[cls], "n": len(part), "q1": float(q1),
                      "median": float(med), "q3": float(q3), "mean": float(part.mean()),
                      "lo": float(inside.min()), "hi": float(inside.max()),
                      "min": float(part[0]), "max": float(part[-1])})
    out: dict[str, Any] = {"type": "box", "boxes": boxes}
    if target.positive is not None and len(x) and 0 < counts[-1] < len(x):
        out["auc"] = _auc(x, y == len(target.labels) - 1)
    return out


def _auc(x: np.ndarray, positive: np.ndarray) -> float:
    """Single-feature ROC AUC (Mann-Whitney U from mid-ranks), folded to >= 0.5."""
    ranks = pd.Series(x).rank(method="average").to_numpy()
    n1 = int(positive.sum())
    n0 = len(x) - n1
    auc = (ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    return float(max(auc, 1 - auc))


def _binned_means(col: TypedColumn, stats: dict[str, Any], target: TargetInfo) -> dict[str, Any]:
    assert col.values is not None
    y = target.numeric()
    edges = np.asarray(stats["profile"]["bin_edges"])
    codes, k = binned_codes(col.values, edges)
    ok = ~np.isnan(y)
    counts = np.bincount(codes[ok], minlength=k)
    sums = np.bincount(codes[ok], weights=y[ok], minlength=k)
    name = fmt_date if col.kind == "datetime" else _fmt  # datetimes are days since 1970
    labels = [f"{name(a)}–{name(b)}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    labels.append("(missing)")
    keep = counts > 0
    means = np.divide(sums, counts, out=np.full(k, np.nan), where=counts > 0)
    return {"type": "means", "labels": [lab for lab, kp in zip(labels, keep, strict=True) if kp],
            "means": means[keep].tolist(), "counts": counts[keep].tolist(),
            "overall": float(np.nanmean(y)) if ok.any() else None}


def _categorical_relation(col: TypedColumn, target: TargetInfo) -> dict[str, Any]:
    codes, k, names = capped_codes(col, top=20)
    ok = ~target.missing
    counts = np.bincount(codes[ok], minlength=k)
    keep = counts > 0
    if target.classes and target.positive is None:
        assert target.codes is not None
        m = len(target.labels)
        joint = np.bincount(codes[ok] * m + target.codes[ok], minlength=k * m).reshape(k, m)
        shares = joint / np.maximum(counts[:, None], 1)
        return {"type": "stack", "labels": [n for n, kp in zip(names, keep, strict=True) if kp],
                "classes": target.labels, "shares": np.round(shares[keep], 4).tolist(),
                "counts": counts[keep].tolist()}
    y = target.numeric()
    sums = np.bincount(codes[ok], weights=y[ok], minlength=k)
    means = np.divide(sums, counts, out=np.full(k, np.nan), where=counts > 0)
    return {"type": "rate" if target.positive is not None else "catmeans",
            "labels": [n for n, kp in zip(names, keep, strict=True) if kp],
            "means": means[keep].tolist(), "counts": counts[keep].tolist(),
            "overall": float(np.nanmean(y[ok])) if ok.any() else None,
            "positive": target.positive}


def target_summary(target: TargetInfo) -> dict[str, Any]:
    """Class balance, or the target's distribution."""
    if target.classes:
        assert target.codes is not None
        counts = np.bincount(target.codes[target.codes >= 0], minlength=len(target.labels))
        return {"type": "classes", "labels": target.labels, "counts": counts.tolist(),
                "missing": int(target.missing.sum())}
    y = target.values[~target.missing] if target.values is not None else np.zeros(0)
    edges = np.linspace(y.min(), y.max(), 31) if len(y) and y.min() < y.max() else None
    counts = np.histogram(y, bins=edges)[0] if edges is not None else np.array([len(y)])
    return {"type": "distribution", "edges": None if edges is None else edges.tolist(),
            "counts": counts.tolist(), "missing": int(target.missing.sum()),
            "mean": float(y.mean()) if len(y) else None,
            "median": float(np.median(y)) if len(y) else None,
            "std": float(y.std()) if len(y) else None,
            "skew": float(pd.Series(y).skew()) if len(y) > 2 else 0.0}


def _fmt(value: float) -> str:
    return f"{value:.4g}"
