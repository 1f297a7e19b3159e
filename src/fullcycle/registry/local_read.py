"""Read-only registry lookups straight from a local SQLite MLflow store.

Creating an `MlflowClient` costs 1.5-2 s (MLflow's store modules, SQLAlchemy, a schema check),
which `fullcycle predict` and `fullcycle serve` paid only to turn "champion" into a version and
read its tags. These three reads need no MLflow: one query each on MLflow's own tables.

Anything unexpected (a server URI, a missing table or column, a model name held by several MLflow
workspaces) returns `UNAVAILABLE` and the caller asks MlflowClient instead, so a change in
MLflow's schema makes this slower, never wrong; the model folder itself is still checked against
the digest recorded with the version. A test compares these answers with MlflowClient's."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

UNAVAILABLE = object()  # "ask MLflow": this module could not answer


@dataclass
class VersionRow:
    """The fields of an MLflow ModelVersion that loading a model reads."""

    version: str
    status: str
    source: str
    run_id: str
    tags: dict[str, str] = field(default_factory=dict)


def _connect(tracking_uri: str) -> sqlite3.Connection | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    db = Path(tracking_uri.removeprefix("sqlite:///"))
    if not db.is_file():
        return None
    # Read-only, so a reader can never create, lock for writing or migrate the store.
    return sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def alias_version(tracking_uri: str, model: str, alias: str) -> str | None | object:
    """The version an alias points at, None when no version has it, or UNAVAILABLE."""
    rows: Any = _query(tracking_uri, "SELECT version FROM registered_model_aliases "
                  "WHERE name = ? AND alias = ?", (model, alias))
    if rows is UNAVAILABLE or len(rows) > 1:  # several MLflow workspaces: let MLflow decide
        return UNAVAILABLE
    return str(rows[0][0]) if rows else None


def model_version(tracking_uri: str, model: str, version: str) -> VersionRow | None | object:
    """A version's status, source, run and tags; None when it does not exist, or UNAVAILABLE."""
    rows: Any = _query(tracking_uri, "SELECT version, status, source, run_id FROM model_versions "
                  "WHERE name = ? AND version = ?", (model, int(version)))
    if rows is UNAVAILABLE or len(rows) > 1:
        return UNAVAILABLE
    if not rows:
        return None
    tags: Any = _query(tracking_uri, "SELECT key, value FROM model_version_tags "
                  "WHERE name = ? AND version = ?", (model, int(version)))
    if tags is UNAVAILABLE:
        return UNAVAILABLE
    number, status, source, run_id = rows[0]
    return VersionRow(str(number), str(status), str(source or ""), str(run_id or ""),
                      {str(k): str(v) for k, v in tags})


def artifact_location(tracking_uri: str, source: str) -> str | None | object:
    """Where a version's logged model keeps its artifacts (`models:/m-...` source), or
    UNAVAILABLE."""
    if not source.startswith("models:/"):
        return UNAVAILABLE
    rows = _query(tracking_uri, "SELECT artifact_location FROM logged_models WHERE model_id = ?",
                  (source.removeprefix("models:/"),))
    if not isinstance(rows, list) or len(rows) > 1:
        return UNAVAILABLE
    return str(rows[0][0]) if rows else None


def _query(tracking_uri: str, sql: str, args: tuple) -> list | object:
    try:
        conn = _connect(tracking_uri)
        if conn is None:
            return UNAVAILABLE
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()
    except (sqlite3.Error, ValueError, OSError):
        return UNAVAILABLE
