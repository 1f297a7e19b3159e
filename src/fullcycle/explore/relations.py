"""Relationships between columns: correlation and association matrices, mutual information with
the target, near-duplicate features, duplicated rows, and trends over time.

Matrices are computed on the relationship sample (all rows up to `RELATION_SAMPLE`), on at most
`MAX_MATRIX` columns of each kind; contingency tables are single `bincount`s over combined codes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fullcycle.explore.columns import TypedColumn, binned_codes, capped_codes
from fullcycle.explore.target import TargetInfo

MAX_MATRIX = 40
NEAR_DUPLICATE = 0.98
LN2 = np.log(2)


def mutual_information(a: np.ndarray, ka: int, b: np.ndarray, kb: int) -> float:
    """Mutual information in bits between two code vectors, with the Miller-Madow bias
    correction so that many-valued columns do not look informative by chance."""
    n = len(a)
    if not n:
        return 0.0
    joint = np.bincount(a.astype(np.int64) * kb + b, minlength=ka * kb).reshape(ka, kb) / n
    pa, pb = joint.sum(1), joint.sum(0)
    nz = joint > 0
    mi = float(np.sum(joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])))
    bias = (nz.sum() - (pa > 0).sum() - (pb > 0).sum() + 1) / (2 * n)
    return max(mi - bias, 0.0) / LN2


def entropy_bits(codes: np.ndarray, k: int) -> float:
    p = np.bincount(codes, minlength=k) / max(len(codes), 1)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def mi_codes(col: TypedColumn, stats: dict[str, Any],
             rows: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Codes of `rows` for mutual information: 20 quantile bins (+ missing) or top categories."""
    if col.kind == "categorical":
        codes, k, _ = capped_codes(col, rows=rows)
        return codes, k
    quantiles = stats.get("profile", {}).get("quantiles")
    if not quantiles or col.values is None:
        return None
    return binned_codes(col.values[rows], np.unique(np.asarray(quantiles)[::5]))


def rank_mutual_information(cols: list[TypedColumn], stats: dict[str, dict[str, Any]],
                            target: TargetInfo, rows: np.ndarray) -> list[dict[str, Any]]:
    """Features ranked by mutual information with the target, in bits and as a share of the
    target's entropy (uncertainty coefficient: 1 = the feature alone determines the target)."""
    assert target.mi_codes is not None
    keep = rows[~target.missing[rows]]
    t = target.mi_codes[keep]
    h = entropy_bits(t, target.mi_k)
    out = []
    for col in cols:
        coded = mi_codes(col, stats[col.name], keep)
        if coded is None:
            continue
        codes, k = coded
        mi = mutual_information(codes, k, t, target.mi_k)
        out.append({"feature": col.name, "mi": mi, "share": mi / h if h > 0 else 0.0})
    return sorted(out, key=lambda r: -r["mi"])


def _pick(cols: list[TypedColumn], ranking: list[dict[str, Any]]) -> list[TypedColumn]:
    """At most MAX_MATRIX columns: the most informative about the target first."""
    order = {r["feature"]: i for i, r in enumerate(ranking)}
    return sorted(cols, key=lambda c: order.get(c.name, len(order)))[:MAX_MATRIX]


def correlations(cols: list[TypedColumn], rows: np.ndarray,
                 ranking: list[dict[str, Any]]) -> dict[str, Any]:
    """Pearson and Spearman (numeric), Cramér's V (categorical), correlation ratio (mixed)."""
    numeric = _pick([c for c in cols if c.kind == "numeric"], ranking)
    categorical = _pick([c for c in cols if c.kind == "categorical"
                         and c.role in ("categorical", "boolean", "target")], ranking)
    out: dict[str, Any] = {}
    values = [c.values[rows] for c in numeric]  # type: ignore[index]
    names = [c.name for c in numeric]
    if len(numeric) >= 2:
        out["pearson"] = _square(names, pairwise_pearson(values))
        ranks = [pd.Series(v).rank(method="average").to_numpy() for v in values]
        out["spearman"] = _square(names, pairwise_pearson(ranks))
    coded = [capped_codes(c, rows=rows)[:2] for c in categorical]
    if len(categorical) >= 2:
        m = np.eye(len(coded))
        for i in range(len(coded)):
            for j in range(i + 1, len(coded)):
                m[i, j] = m[j, i] = cramers_v(coded[i][0], coded[i][1], coded[j][0], coded[j][1])
        out["cramers_v"] = _square([c.name for c in categorical], m)
    if numeric and categorical:
        m = _eta_matrix(values, coded)
        out["correlation_ratio"] = {"rows": names, "cols": [c.name for c in categorical],
                                    "values": _round(m)}
    return out


def pairwise_pearson(columns: list[np.ndarray], chunk: int = 100_000) -> np.ndarray:
    """Pearson correlation of every pair over the rows where both are present, from sums
    accumulated with matrix products on row chunks (memory bounded, BLAS speed)."""
    p = len(columns)
    n_ij = np.zeros((p, p))
    sx, sxx, sxy = np.zeros((p, p)), np.zeros((p, p)), np.zeros((p, p))
    # centred first: the one-pass sums then lose no precision on large, far-from-zero values
    centre = np.array([np.nanmean(c) if (~np.isnan(c)).any() else 0.0 for c in columns])
    for start in range(0, len(columns[0]), chunk):
        x = np.column_stack([c[start:start + chunk] for c in columns]) - centre
        m = (~np.isnan(x)).astype("float64")
        x = np.where(m > 0, x, 0.0)
        n_ij += m.T @ m
        sx += x.T @ m  # sx[i, j]: sum of column i over rows where j is present
        sxx += (x * x).T @ m
        sxy += x.T @ x
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = n_ij * sxy - sx * sx.T
        var = (n_ij * sxx - sx * sx) * (n_ij * sxx - sx * sx).T
        r = cov / np.sqrt(var)
    r[n_ij < 3] = np.nan
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0)


def _square(names: list[str], m: np.ndarray) -> dict[str, Any]:
    return {"rows": names, "cols": names, "values": _round(m)}


def _round(m: np.ndarray) -> list[list[float | None]]:
    return [[None if np.isnan(v) else round(float(v), 3) for v in row] for row in m]


def cramers_v(a: np.ndarray, ka: int, b: np.ndarray, kb: int) -> float:
    n = len(a)
    table = np.bincount(a.astype(np.int64) * kb + b, minlength=ka * kb).reshape(ka, kb)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    r, k = table.shape
    if n == 0 or min(r, k) < 2:
        return float("nan")
    expected = np.outer(table.sum(1), table.sum(0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(r, k) - 1))))


def correlation_ratio(x: np.ndarray, codes: np.ndarray) -> float:
    """eta: the share of a numeric column's spread explained by a categorical one (0..1)."""
    return float(_eta_matrix([x], [(codes, 0)])[0, 0])


def _eta_matrix(values: list[np.ndarray], coded: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """eta for every numeric x categorical pair: per pair, one weighted bincount of the centred
    values (group sums); counts are shared while the numeric column has no missing value."""
    out = np.full((len(values), len(coded)), np.nan)
    all_counts = [np.bincount(codes) for codes, _ in coded]
    for i, v in enumerate(values):
        ok = ~np.isnan(v)
        dense = bool(ok.all())
        x = v if dense else v[ok]
        if len(x) < 3:
            continue
        centred = x - x.mean()
        total = float(np.dot(centred, centred))
        if total <= 0:
            continue
        for j, (codes, _) in enumerate(coded):
            c = codes if dense else codes[ok]
            counts = all_counts[j] if dense else np.bincount(c)
            sums = np.bincount(c, weights=centred)
            used = counts > 0
            between = float((sums[used] ** 2 / counts[used]).sum())
            out[i, j] = np.sqrt(min(between / total, 1.0))
    return out


def near_duplicates(matrices: dict[str, Any]) -> list[dict[str, Any]]:
    """Pairs of columns that carry (almost) the same information."""
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for measure in ("pearson", "spearman", "cramers_v", "correlation_ratio"):
        m = matrices.get(measure)
        if not m:
            continue
        square = m["rows"] == m["cols"]
        for i, a in enumerate(m["rows"]):
            for j, b in enumerate(m["cols"]):
                v = m["values"][i][j]
                if (square and j <= i) or a == b or v is None or abs(v) < NEAR_DUPLICATE:
                    continue
                key = tuple(sorted((a, b)))
                pairs.setdefault(key, {"a": key[0], "b": key[1], "measure": measure, "value": v})
    return sorted(pairs.values(), key=lambda p: -abs(p["value"]))


def row_hashes(cols: list[TypedColumn]) -> np.ndarray:
    """One 64-bit hash per row over the typed columns (order-sensitive, missing-aware)."""
    n = len(cols[0].codes if cols[0].codes is not None else cols[0].values)  # type: ignore[arg-type]
    h = np.full(n, np.uint64(1469598103934665603))
    prime = np.uint64(1099511628211)
    with np.errstate(over="ignore"):
        for col in cols:
            if col.codes is not None:
                part = col.codes.astype(np.int64).view(np.uint64)
            else:
                v = np.where(np.isnan(col.values), -7.77e307, col.values)  # type: ignore[arg-type]
                part = v.view(np.uint64)
            h = (h ^ part) * prime
            h ^= h >> np.uint64(29)
    return h


def _distinct(hashes: np.ndarray) -> int:
    # a sort beats numpy's hash-based unique on millions of distinct 64-bit values
    ordered = np.sort(hashes)
    return int(np.count_nonzero(ordered[1:] != ordered[:-1]) + 1) if len(ordered) else 0


def duplicates(all_cols: list[TypedColumn], feature_cols: list[TypedColumn],
               target: TargetInfo | None) -> dict[str, Any]:
    """Exact duplicate rows, duplicates ignoring identifier columns, and identical feature rows
    whose targets disagree (a label-noise or missing-feature signal)."""
    n = len(all_cols[0].missing)
    full = row_hashes(all_cols)
    out = {"rows": n, "duplicate_rows": n - _distinct(full)}
    if not feature_cols:
        return out | {"duplicate_features": 0, "conflict_groups": 0, "conflict_rows": 0}
    feats = row_hashes(feature_cols)
    out["duplicate_features"] = n - _distinct(feats)
    out["conflict_groups"] = out["conflict_rows"] = 0
    if target is not None and out["duplicate_features"]:
        t = target.codes if target.codes is not None else target.values
        frame = pd.DataFrame({"h": feats, "t": t})[~target.missing]
        dup = frame[frame["h"].duplicated(keep=False)]
        per_group = dup.drop_duplicates()["h"].value_counts()
        conflicting = per_group[per_group > 1].index
        out["conflict_groups"] = int(len(conflicting))
        out["conflict_rows"] = int(dup["h"].isin(conflicting).sum())
    return out


def time_trends(when: TypedColumn, cols: list[TypedColumn], target: TargetInfo | None,
                periods: int = 20) -> dict[str, Any] | None:
    """Rows, target mean and feature means per period of the datetime column; a Spearman rank
    correlation of each mean with time says whether it trends."""
    assert when.values is not None
    t = when.values
    ok = ~np.isnan(t)
    if ok.sum() < 50 or np.nanmin(t) == np.nanmax(t):
        return None
    edges = np.linspace(np.nanmin(t), np.nanmax(t), periods + 1)
    codes = np.clip(np.searchsorted(edges[1:-1], t, side="right"), 0, periods - 1)
    codes = np.where(ok, codes, periods)
    counts = np.bincount(codes, minlength=periods + 1)[:periods]
    out: dict[str, Any] = {"column": when.name, "starts": edges[:-1].tolist(),
                           "counts": counts.tolist(), "features": []}
    valid = counts >= max(10, 0.002 * ok.sum())
    if target is not None:
        means, rho = _trend(codes, target.numeric(), periods, valid)
        out["target"] = {"means": means, "rho": rho}
    for col in cols:
        if col.kind == "numeric" and col is not when:
            means, rho = _trend(codes, col.values, periods, valid)  # type: ignore[arg-type]
            out["features"].append({"feature": col.name, "means": means, "rho": rho})
    out["features"].sort(key=lambda f: -abs(f["rho"] or 0))
    return out


def _trend(codes: np.ndarray, y: np.ndarray, periods: int,
           valid: np.ndarray) -> tuple[list[float | None], float | None]:
    ok = ~np.isnan(y)
    counts = np.bincount(codes[ok], minlength=periods + 1)[:periods]
    sums = np.bincount(codes[ok], weights=y[ok], minlength=periods + 1)[:periods]
    means = np.divide(sums, counts, out=np.full(periods, np.nan), where=counts > 0)
    use = valid & ~np.isnan(means)
    rho = None
    if use.sum() >= 5 and np.nanstd(means[use]) > 0:
        rho = float(pd.Series(means[use]).corr(pd.Series(np.flatnonzero(use)), method="spearman"))
    return [None if np.isnan(v) else float(v) for v in means], rho
