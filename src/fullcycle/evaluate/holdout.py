"""The held-out rows of a training run, kept on disk so evaluation can later use the untouched
test set (training only holds them in memory)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fullcycle.errors import DataError

HOLDOUT_FILE = "test_rows.parquet"


def save_holdout(frame: pd.DataFrame, reports: Path) -> Path:
    """Write the raw held-out rows (target included) to `reports/test_rows.parquet`."""
    path = reports / HOLDOUT_FILE
    try:
        frame.reset_index(drop=True).to_parquet(path, index=False)
    except (TypeError, ValueError, ImportError):
        # Mixed-type object columns cannot go to Arrow; text keeps every value as it was read.
        frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object}) \
            .reset_index(drop=True).to_parquet(path, index=False)
    return path


def load_holdout(reports: Path) -> pd.DataFrame:
    path = reports / HOLDOUT_FILE
    if not path.is_file():
        raise DataError(f"{path} does not exist: this workspace has no saved test rows. Train "
                        "again with this fullcycle (`fullcycle train`), or pass --data FILE with "
                        "labelled rows to evaluate on.")
    return pd.read_parquet(path)
