"""Interactions: a table of (user, item[, rating or weight][, time]) rows turned into a sparse
user x item matrix with stable id <-> index maps.

Duplicate user-item pairs are aggregated by one documented rule:
- no rating column: the value is the number of times the pair occurs (a count);
- explicit ratings (few distinct values, at most 10): the latest rating when a time column is
  given, otherwise the mean of the pair's ratings;
- implicit weights (plays, clicks, amounts: anything else): the sum.

Ids are kept as strings inside (so `"42"` from JSON and `42` from a CSV are the same user);
`ids_numeric` remembers whether every id of a column was an integer, so batch output writes them
back as integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fullcycle.errors import ConfigError, DataError

EXPLICIT_MAX_VALUES = 11  # a rating scale has at most this many distinct values (0..10)


def id_string(value: Any) -> str:
    """One id as a string (the request path: no pandas)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def id_strings(values: Any) -> np.ndarray:
    """Ids as strings, with integral floats written without '.0' (a column with a blank reads
    as float: 42.0 is user 42)."""
    if isinstance(values, list | tuple) and len(values) <= 16:
        return np.array([id_string(v) for v in values], dtype=str)
    series = pd.Series(values)
    if pd.api.types.is_float_dtype(series):
        whole = series.notna() & (series == np.floor(series.fillna(0)))
        out = series.astype(object)
        out[whole] = series[whole].astype("int64").astype(str)
        out[~whole] = series[~whole].astype(str)
        return out.to_numpy(dtype=object).astype(str)
    return series.astype(str).to_numpy(dtype=object).astype(str)


def all_integers(values: np.ndarray) -> bool:
    """True when every id string is a plain (optionally signed) integer."""
    if len(values) == 0:
        return False
    return bool(pd.Series(values).str.fullmatch(r"-?\d{1,18}").all())


def feedback_kind(ratings: pd.Series) -> str:
    """'explicit' for a rating scale (few distinct non-negative values up to 10), else
    'implicit' (counts, plays, amounts)."""
    values = pd.to_numeric(ratings, errors="coerce").dropna()
    if values.empty:
        return "implicit"
    if values.nunique() <= EXPLICIT_MAX_VALUES and values.min() >= 0 and values.max() <= 10:
        return "explicit"
    return "implicit"


@dataclass
class Interactions:
    """Aggregated interactions: `matrix[u, i]` is the value of user u and item i (0: none)."""

    users: np.ndarray  # index -> user id (str)
    items: np.ndarray  # index -> item id (str)
    matrix: sp.csr_matrix  # users x items, float32, aggregated values
    feedback: str  # "explicit", "implicit" or "count"
    users_numeric: bool
    items_numeric: bool
    last_time: float | None = None  # newest timestamp (seconds), when a time column is given

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)


def _to_seconds(values: pd.Series, column: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float)
    parsed = pd.to_datetime(values, errors="coerce", utc=True)
    if parsed.isna().mean() > 0.5:
        raise DataError(f"time column {column!r} is neither numbers nor dates (e.g. "
                        f"{values.iloc[0]!r}); give a column of timestamps or drop "
                        "--time-column")
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=float)


def clean_frame(frame: pd.DataFrame, user: str, item: str, rating: str | None,
                time: str | None) -> pd.DataFrame:
    """The columns we use, ids as strings, rows with a missing id or rating dropped."""
    for role, column in (("user", user), ("item", item), ("rating", rating), ("time", time)):
        if column is not None and column not in frame.columns:
            raise ConfigError(f"the {role} column {column!r} is not in the data (columns: "
                              f"{', '.join(map(str, frame.columns[:20]))}); set "
                              f"problem.{role}_column / --{role}-column to one of them")
    out = pd.DataFrame({"user": frame[user], "item": frame[item]})
    if rating is not None:
        out["value"] = pd.to_numeric(frame[rating], errors="coerce")
    if time is not None:
        out["time"] = _to_seconds(frame[time], time)
    out = out.dropna(subset=[c for c in ("user", "item", "value") if c in out])
    if out.empty:
        raise DataError("no interactions left after dropping rows with a missing user, item "
                        "or rating")
    out["user"] = id_strings(out["user"].to_numpy())
    out["item"] = id_strings(out["item"].to_numpy())
    return out


def aggregate(frame: pd.DataFrame, feedback: str) -> pd.DataFrame:
    """One row per (user, item) by the rule in the module docstring."""
    keys = ["user", "item"]
    if feedback == "count":
        return frame.groupby(keys, sort=False).size().rename("value").reset_index()
    if feedback == "explicit":
        if "time" in frame:
            latest = frame.sort_values("time", kind="stable")
            return latest.groupby(keys, sort=False)["value"].last().reset_index()
        return frame.groupby(keys, sort=False)["value"].mean().reset_index()
    return frame.groupby(keys, sort=False)["value"].sum().reset_index()


def build_interactions(frame: pd.DataFrame, user: str, item: str, rating: str | None = None,
                       time: str | None = None, feedback: str | None = None) -> Interactions:
    """Interactions of a raw table (see the module docstring for the aggregation rule)."""
    clean = clean_frame(frame, user, item, rating, time)
    kind = feedback or ("count" if rating is None else feedback_kind(clean["value"]))
    if kind == "implicit" and (clean["value"] < 0).any():
        raise DataError(f"the weight column {rating!r} has negative values; implicit weights "
                        "(plays, clicks) must be >= 0")
    last = float(np.nanmax(clean["time"])) if "time" in clean else None
    agg = aggregate(clean, kind)
    users = pd.Index(pd.unique(agg["user"]))
    items = pd.Index(pd.unique(agg["item"]))
    rows, cols = users.get_indexer(agg["user"]), items.get_indexer(agg["item"])
    values = agg["value"].to_numpy(dtype=np.float32)
    # a zero weight still is an interaction (seen); keep it visible to the sparse matrix
    values = np.where(values == 0, np.float32(1e-6), values)
    matrix = sp.csr_matrix((values, (rows, cols)), shape=(len(users), len(items)),
                           dtype=np.float32)
    matrix.sort_indices()
    u_ids, i_ids = users.to_numpy().astype(str), items.to_numpy().astype(str)
    return Interactions(users=u_ids, items=i_ids, matrix=matrix, feedback=kind,
                        users_numeric=all_integers(u_ids), items_numeric=all_integers(i_ids),
                        last_time=last)


def holdout_split(matrix: sp.csr_matrix, share: float, seed: int
                  ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Per-user random holdout: for each user with >= 2 interactions, round(share * n)
    (at least 1, at most n - 1) of them go to the second matrix; users with one stay whole."""
    rng = np.random.default_rng(seed)
    coo = matrix.tocoo()
    order = np.lexsort((rng.random(coo.nnz), coo.row))  # shuffled within each user
    row, col, val = coo.row[order], coo.col[order], coo.data[order]
    counts = np.bincount(row, minlength=matrix.shape[0])
    n_test = np.where(counts < 2, 0, np.clip(np.round(share * counts), 1, counts - 1))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(row)) - starts[row]
    test = pos < n_test[row]
    shape = matrix.shape
    train = sp.csr_matrix((val[~test], (row[~test], col[~test])), shape=shape, dtype=np.float32)
    held = sp.csr_matrix((val[test], (row[test], col[test])), shape=shape, dtype=np.float32)
    return train, held
