"""Content fingerprints: the data version.

Choice: the fingerprint does not depend on row order (it is a multiset hash: the sum of per-row
hashes modulo 2**64, plus the row count and the column names/types). The same rows read from a CSV
or from a database query with another ORDER BY are the same data version. Column order does
matter only through names: columns are hashed in sorted-name order, so reordering them does not
change the fingerprint either."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def _canonical(series: pd.Series) -> pd.Series:
    # Same value, same hash, whatever the reader's dtype: numbers as float64, the rest as text.
    if series.dtype.kind in "biuf":
        return series.astype("float64")
    if series.dtype.kind == "M":
        return series.astype("int64", errors="ignore")
    return series.astype("string").fillna("\x00<NA>")


def fingerprint(frame: pd.DataFrame) -> str:
    """A 16-hex-digit content hash of a frame, independent of row and column order."""
    cols = sorted(map(str, frame.columns))
    canon = pd.DataFrame({c: _canonical(frame[c]) for c in cols})
    row_hashes = pd.util.hash_pandas_object(canon, index=False).to_numpy(dtype=np.uint64)
    total = int(row_hashes.sum(dtype=np.uint64))  # wraps modulo 2**64 by design
    meta = "|".join(f"{c}:{canon[c].dtype.kind}" for c in cols) + f"|rows={len(frame)}"
    digest = hashlib.sha256(f"{meta}|{total}".encode()).hexdigest()
    return digest[:16]
