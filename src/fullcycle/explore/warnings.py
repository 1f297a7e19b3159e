"""Data-quality warnings, ranked by severity.

Each check is a small function of the computed statistics that returns `Finding`s; `rank` orders
them: high (fix before modelling), medium (decide what to do), low (worth knowing), info."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fullcycle.explore.columns import TypedColumn
from fullcycle.explore.target import TargetInfo

SEVERITIES = ("high", "medium", "low", "info")


@dataclass
class Finding:
    severity: str
    kind: str
    column: str | None
    message: str
    score: float = 0.0  # orders findings of the same severity (bigger first)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Facts:
    """Everything the checks read."""

    rows: int
    columns: dict[str, TypedColumn]
    stats: dict[str, dict[str, Any]]
    relations: dict[str, dict[str, Any]]
    ranking: list[dict[str, Any]]
    target: TargetInfo | None
    duplicates: dict[str, Any]
    near_duplicates: list[dict[str, Any]]
    trends: dict[str, Any] | None
    na_absent: dict[str, str]  # column -> evidence sentence
    target_error: str | None = None


def rank(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), -f.score, f.column or ""))


def collect(facts: Facts) -> list[Finding]:
    found: list[Finding] = []
    for check in (_types, _missing, _identity, _shape, _target_checks, _leakage, _rows,
                  _redundancy, _time):
        found.extend(check(facts))
    return rank(found)


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%" if share >= 0.001 else f"{100 * share:.2g}%"


def _types(facts: Facts) -> list[Finding]:
    out = []
    for name, col in facts.columns.items():
        s = facts.stats[name]
        if col.role == "numeric" and col.disguised + col.raw_missing < s["missing"]:
            bad = s["missing"] - col.disguised - col.raw_missing
            out.append(Finding("high", "unparseable", name,
                               f"{bad} values are not numbers in a numeric column; they are "
                               "treated as missing", bad / facts.rows))
        if s.get("stored_as_text"):
            out.append(Finding("medium", "stored_as_text", name,
                               "numbers stored as text (read as strings); converted to numeric "
                               "for the analysis; convert them at the source", 1.0))
        if col.disguised and name not in facts.na_absent:
            out.append(Finding("medium", "disguised_missing", name,
                               f"{col.disguised} disguised missing values (blank, '?', 'NA', "
                               "'null'...) are really missing", col.disguised / facts.rows))
    return out


def _missing(facts: Facts) -> list[Finding]:
    out = []
    for name, evidence in facts.na_absent.items():
        share = facts.stats[name]["missing"] / facts.rows
        out.append(Finding("medium", "na_means_absent", name,
                           f"missing ('NA') in {_pct(share)} of rows, which probably means "
                           f"'none / not present' rather than unknown: {evidence}. Encode it as "
                           "its own category or an 'absent' indicator instead of imputing",
                           share))
    for name, s in facts.stats.items():
        if name in facts.na_absent or not s["missing"] or facts.columns[name].role == "constant":
            continue
        share = s["missing"] / facts.rows
        severity = "high" if share >= 0.5 else "medium" if share >= 0.05 else "low"
        out.append(Finding(severity, "missing", name,
                           f"{s['missing']} missing values ({_pct(share)} of rows)", share))
    return out


def _identity(facts: Facts) -> list[Finding]:
    out = []
    for name, col in facts.columns.items():
        s = facts.stats[name]
        present = facts.rows - s["missing"]
        if col.role == "identifier":
            out.append(Finding("medium", "identifier", name,
                               "looks like an identifier (a distinct value on almost every row); "
                               "not used as a feature", 1.0))
        elif col.role == "constant":
            out.append(Finding("medium", "constant", name,
                               "constant or entirely missing; carries no information", 1.0))
        elif col.role == "text":
            out.append(Finding("info", "text", name,
                               f"free text ({s['distinct']} distinct values); summarised by its "
                               "most frequent values only", 0.0))
        elif present and _top_share(s) >= 0.99:
            out.append(Finding("low", "near_constant", name,
                               f"near-constant: one value covers {_pct(_top_share(s))} of the "
                               "non-missing rows", _top_share(s)))
        if col.role == "categorical" and s["distinct"] >= 50:
            ratio = s["distinct"] / max(present, 1)
            out.append(Finding("medium" if ratio > 0.5 else "low", "high_cardinality", name,
                               f"high cardinality: {s['distinct']} distinct values "
                               f"({s.get('singletons', 0)} seen once); consider grouping rare "
                               "values or target encoding", ratio))
    return out


def _top_share(s: dict[str, Any]) -> float:
    present = s["rows"] - s["missing"]
    if s["kind"] == "categorical":
        return float(s.get("top_share", 0.0))
    return s.get("mode_count", 0) / present if present else 0.0


def _shape(facts: Facts) -> list[Finding]:
    out = []
    for name, s in facts.stats.items():
        if s["kind"] != "numeric" or "skew" not in s or s["distinct"] <= 2:
            continue
        present = s["rows"] - s["missing"]
        if abs(s["skew"]) >= 2:
            hint = "; a log transform may help" if s["min"] >= 0 else ""
            out.append(Finding("low", "skew", name, f"highly skewed (skewness {s['skew']:.1f})"
                               + hint, abs(s["skew"]) / 100))
        far = s.get("far_outliers", 0) / max(present, 1)
        if far >= 0.01 and s["q3"] > s["q1"]:  # with IQR 0 every non-typical value is 'far'

            out.append(Finding("low", "outliers", name,
                               f"{s['far_outliers']} extreme values ({_pct(far)}) beyond 3 IQR "
                               f"of the quartiles", far))
    return out


def _target_checks(facts: Facts) -> list[Finding]:
    if facts.target_error:
        return [Finding("high", "target", None, facts.target_error, 1.0)]
    target = facts.target
    if target is None:
        return []
    out = []
    missing = int(target.missing.sum())
    if missing:
        out.append(Finding("medium", "target_missing", target.name,
                           f"{missing} rows have no target value; they are dropped for training",
                           missing / facts.rows))
    if target.codes is not None:  # a target of classes
        counts = np.bincount(target.codes[target.codes >= 0], minlength=len(target.labels))
        share = counts.min() / max(counts.sum(), 1)
        rarest = target.labels[int(counts.argmin())]
        if share < 0.2:
            severity = "high" if share < 0.02 else "medium" if share < 0.1 else "low"
            out.append(Finding(severity, "imbalance", target.name,
                               f"class imbalance: {rarest!r} is {_pct(share)} of rows; use a "
                               "stratified split and a metric that respects the minority "
                               "(ROC AUC, average precision, balanced accuracy)", 1 - share))
    elif target.values is not None:
        y = target.values[~target.missing]
        skew = float(((y - y.mean()) ** 3).mean() / y.std() ** 3) if len(y) > 2 and y.std() else 0
        if abs(skew) >= 2:
            out.append(Finding("low", "target_skew", target.name,
                               f"the target is skewed (skewness {skew:.1f}); consider predicting "
                               "its logarithm", abs(skew) / 100))
    return out


def _leakage(facts: Facts) -> list[Finding]:
    out = []
    for row in facts.ranking:
        name = row["feature"]
        rel = facts.relations.get(name, {})
        strength = max(row["share"], 2 * rel.get("auc", 0.5) - 1, abs(rel.get("spearman", 0)))
        if strength >= 0.9:
            detail = (f"AUC {rel['auc']:.3f} alone" if "auc" in rel else
                      f"Spearman {rel['spearman']:.3f} with the target" if "spearman" in rel
                      else "")
            out.append(Finding("high", "leakage", name,
                               f"leakage suspect: this column alone almost determines the target "
                               f"({_pct(row['share'])} of its entropy; {detail}). Check it is "
                               "known at prediction time", strength))
    return out


def _rows(facts: Facts) -> list[Finding]:
    d, out = facts.duplicates, []
    if d.get("conflict_groups"):
        out.append(Finding("high", "conflicting_duplicates", None,
                           f"{d['conflict_groups']} groups of identical feature rows "
                           f"({d['conflict_rows']} rows) have different targets: label noise, or "
                           "a feature that would tell them apart is missing", 1.0))
    if d.get("duplicate_rows"):
        share = d["duplicate_rows"] / facts.rows
        out.append(Finding("medium" if share >= 0.01 else "low", "duplicates", None,
                           f"{d['duplicate_rows']} duplicated rows ({_pct(share)}); training "
                           "drops them", share))
    elif d.get("duplicate_features"):
        share = d["duplicate_features"] / facts.rows
        out.append(Finding("low", "duplicates", None,
                           f"{d['duplicate_features']} rows repeat another row in every column "
                           "but the identifier(s)", share))
    return out


def _redundancy(facts: Facts) -> list[Finding]:
    return [Finding("medium", "near_duplicate", p["a"],
                    f"near-duplicate of {p['b']} ({p['measure'].replace('_', ' ')} "
                    f"{p['value']:.3f}); one of the two is probably redundant", abs(p["value"]))
            for p in facts.near_duplicates[:30]]


def _time(facts: Facts) -> list[Finding]:
    trends = facts.trends
    if not trends:
        return []
    out = []
    column = trends["column"]
    target = trends.get("target")
    if target and target["rho"] is not None and abs(target["rho"]) >= 0.7:
        means = [m for m in target["means"] if m is not None]
        out.append(Finding("medium", "time_trend", column,
                           f"the target trends over {column} (Spearman {target['rho']:.2f}, from "
                           f"{means[0]:.3g} to {means[-1]:.3g}); validate on a time split",
                           abs(target["rho"])))
    for feat in trends["features"][:10]:
        if feat["rho"] is not None and abs(feat["rho"]) >= 0.9:
            out.append(Finding("low", "time_trend", feat["feature"],
                               f"trends over {column} (Spearman {feat['rho']:.2f}); a model "
                               "trained on the past may see other values in the future",
                               abs(feat["rho"])))
    return out


def na_means_absent(columns: dict[str, TypedColumn], target: TargetInfo | None,
                    rows: np.ndarray) -> dict[str, str]:
    """Columns whose missing values most likely mean 'none' (Ames: PoolQC 'NA' = no pool).

    Evidence, checked on the sample rows: missing exactly where a count/area column is 0 (pool
    quality missing iff pool area is 0), or the literal token 'NA' written for most of a
    categorical column's missing rows together with a pattern shared by other columns, a
    missingness that changes the target, or a majority of rows."""
    masks = {n: c.missing[rows] for n, c in columns.items() if c.role != "constant"}
    n = len(rows)
    candidates = {k: m for k, m in masks.items() if 0.01 <= m.mean() < 1.0}
    zeros = {k: (c.values[rows] == 0) for k, c in columns.items()
             if c.kind == "numeric" and c.values is not None and k not in candidates}
    groups: dict[bytes, list[str]] = {}
    for name, mask in candidates.items():
        groups.setdefault(np.packbits(mask).tobytes(), []).append(name)
    y = target.numeric()[rows] if target is not None else None
    out: dict[str, str] = {}
    for name, mask in candidates.items():
        col = columns[name]
        pair = next((z for z, zm in zeros.items()
                     if zm.sum() >= 0.5 * mask.sum() and (zm == mask).mean() >= 0.98), None)
        if pair is not None:
            out[name] = f"it is missing exactly where {pair} is 0"
            continue
        if col.kind != "categorical" or col.na_token < 0.5 * mask.sum() * len(col.missing) / n:
            continue
        together = [o for o in groups[np.packbits(mask).tobytes()] if o != name]
        if together:
            out[name] = f"written as 'NA', missing on the same rows as {', '.join(together[:4])}"
        elif mask.mean() >= 0.4:
            out[name] = "written as 'NA', and it is the most common value"
        elif y is not None and _informative(mask, y):
            out[name] = "written as 'NA', and those rows have a clearly different target"
    return out


def _informative(mask: np.ndarray, y: np.ndarray) -> bool:
    ok = ~np.isnan(y)
    a, b = y[ok & mask], y[ok & ~mask]
    if len(a) < 10 or len(b) < 10:
        return False
    spread = float(np.nanstd(y)) or 1.0
    return abs(float(a.mean()) - float(b.mean())) >= 0.25 * spread
