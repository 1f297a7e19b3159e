"""The prediction log: every prediction the server (or a batch run) makes, and the true labels
that arrive later as feedback.

Written off the request path: a request puts one tuple on a queue (no I/O, no JSON); a
background thread drains the queue in batches of up to `batch_size` requests and inserts them in
one transaction. `close()` drains everything before returning, so a graceful shutdown (SIGTERM ->
uvicorn finishes in-flight requests -> lifespan shutdown -> close) loses no row.

SQLite (WAL, `synchronous=NORMAL`, 30 s busy timeout, so several worker processes can share the
file) by default; any SQLAlchemy URL, PostgreSQL in production (`serve.log_url`).

Tables (read them with `read_log`):

    predictions(
        id            TEXT PRIMARY KEY,   -- the prediction id returned to the client
        ts            DOUBLE PRECISION,   -- Unix seconds (UTC) when the request was answered
        model_version TEXT,               -- the registry version that made the prediction
        inputs        TEXT,               -- JSON object: the record as the client sent it
        prediction    TEXT,               -- JSON: the predicted label or value
        probabilities TEXT NULL,          -- JSON object class -> probability (classification)
        latency_ms    DOUBLE PRECISION,   -- server time of the whole request this row was in
        request_id    TEXT,               -- rows of one request share it
        source        TEXT,               -- 'http' (POST /predict) or 'file' (POST /predict/file)
        warnings      TEXT NULL           -- JSON list of {column, type}: data-quality warnings
                                          -- of this row (missing_imputed, unseen_category, ...)
    )
    feedback(
        prediction_id TEXT PRIMARY KEY,   -- predictions.id; the latest label sent wins
        label         TEXT,               -- JSON: the true label or value
        ts            DOUBLE PRECISION
    )
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from fullcycle.errors import ConfigError

log = logging.getLogger("fullcycle.serve")
_STOP = object()


def _engine(url: str) -> Any:
    import sqlalchemy as sa

    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except Exception as exc:  # bad URL or missing driver
        raise ConfigError(f"serve.log_url {url!r} is not a usable database URL ({exc})") from None


def _tables(metadata: Any) -> tuple[Any, Any]:
    import sqlalchemy as sa

    predictions = sa.Table(
        "predictions", metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("ts", sa.Float(53), nullable=False, index=True),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("prediction", sa.Text, nullable=False),
        sa.Column("probabilities", sa.Text),
        sa.Column("latency_ms", sa.Float(53), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("warnings", sa.Text),
    )
    feedback = sa.Table(
        "feedback", metadata,
        sa.Column("prediction_id", sa.String(64), primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("ts", sa.Float(53), nullable=False),
    )
    return predictions, feedback


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def dumps(value: Any) -> str:
    """Strict JSON: NaN and infinities become null (the log is read by other tools)."""
    try:
        return json.dumps(value, default=str, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), default=str, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _add_warnings_column(engine: Any) -> None:
    """Logs written before the warnings column existed get it (NULL for old rows)."""
    import sqlalchemy as sa

    columns = {c["name"] for c in sa.inspect(engine).get_columns("predictions")}
    if "warnings" not in columns:
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE predictions ADD COLUMN warnings TEXT")


class PredictionLog:
    """`log.record(...)` from the request path; `log.close()` at shutdown."""

    def __init__(self, url: str, *, batch_size: int = 512, flush_seconds: float = 0.2) -> None:
        import sqlalchemy as sa

        self.url = url
        self.engine = _engine(url)
        self.metadata = sa.MetaData()
        self.predictions, self.feedback = _tables(self.metadata)
        self.metadata.create_all(self.engine)
        _add_warnings_column(self.engine)
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        self._insert_sql = ("INSERT INTO predictions (id, ts, model_version, inputs, prediction, "
                            "probabilities, latency_ms, request_id, source, warnings) VALUES ("
                            + ", ".join([mark] * 10) + ")")
        self.batch_size, self.flush_seconds = batch_size, flush_seconds
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.written = 0  # rows committed
        self.failed = 0  # rows lost to database errors (logged)
        self.pending = 0  # requests queued, not yet committed
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    # --- request path ------------------------------------------------------------------------
    def record(self, ids: Sequence[str], records: Sequence[Any], predictions: Sequence[Any],
               probabilities: np.ndarray | None, labels: Sequence[str] | None, *,
               version: str, latency_ms: float, request_id: str, source: str = "http",
               warnings: Sequence[dict[str, Any]] | None = None) -> None:
        """Queue one request's predictions; cheap (no serialisation here). `warnings` are the
        validator's (loc = ["body", row, column]); each row keeps its own."""
        with self._lock:
            self.pending += 1
        self.queue.put((ids, records, predictions, probabilities, labels, version, time.time(),
                        latency_ms, request_id, source, warnings))

    # --- writer thread -----------------------------------------------------------------------
    def _rows(self, item: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        ids, records, preds, probas, labels, version, ts, latency, request_id, source, \
            warnings = item
        probas_list = probas.tolist() if probas is not None and labels is not None else None
        per_row: dict[int, list[dict[str, Any]]] = {}
        for warning in warnings or ():
            loc = warning.get("loc") or []
            if len(loc) >= 3 and isinstance(loc[1], int):
                per_row.setdefault(loc[1], []).append({"column": loc[2],
                                                       "type": warning.get("type")})
        rows = []
        for i, pid in enumerate(ids):
            proba = dumps(dict(zip(labels, probas_list[i], strict=True))) \
                if probas_list is not None else None
            rows.append((pid, ts, version, dumps(records[i]), dumps(_plain(preds[i])), proba,
                         latency, request_id, source,
                         dumps(per_row[i]) if i in per_row else None))
        return rows

    def _run(self) -> None:
        stop = False
        while not stop:
            try:
                first = self.queue.get(timeout=self.flush_seconds)
            except queue.Empty:
                continue
            # Gather for up to flush_seconds: one transaction per batch, not per request, and
            # few wake-ups of this thread (each one takes the GIL from the event loop).
            batch = [first]
            deadline = time.monotonic() + self.flush_seconds
            while len(batch) < self.batch_size and first is not _STOP:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    item = self.queue.get(timeout=left)
                except queue.Empty:
                    break
                batch.append(item)
                if item is _STOP:
                    break
            if any(item is _STOP for item in batch):
                stop = True
                batch = [item for item in batch if item is not _STOP]
                while True:  # take whatever is still queued
                    try:
                        item = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not _STOP:
                        batch.append(item)
            self._write(batch)

    def _write(self, batch: list[tuple[Any, ...]]) -> None:
        rows = [row for item in batch for row in self._rows(item)]
        try:
            if rows:
                # The driver's executemany: SQLAlchemy's per-row Python work stays out of it.
                with self.engine.begin() as conn:
                    conn.exec_driver_sql(self._insert_sql, rows)
            written, failed = len(rows), 0
        except Exception as exc:  # the log must not take the server down
            log.error("prediction log: could not write %d rows: %s", len(rows), exc)
            written, failed = 0, len(rows)
        with self._idle:
            self.written += written
            self.failed += failed
            self.pending -= len(batch)
            self._idle.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far is committed."""
        end = time.monotonic() + timeout
        with self._idle:
            while self.pending > 0:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float = 60.0) -> None:
        if self._thread.is_alive():
            self.queue.put(_STOP)
            self._thread.join(timeout)
        self.engine.dispose()

    # --- feedback ----------------------------------------------------------------------------
    def add_feedback(self, prediction_id: str, label: Any) -> bool:
        """Record the true label; False when no such prediction was logged."""
        import sqlalchemy as sa

        self.flush(timeout=10)
        with self.engine.begin() as conn:
            found = conn.execute(sa.select(self.predictions.c.id).where(
                self.predictions.c.id == prediction_id)).first()
            if found is None:
                return False
            conn.execute(self.feedback.delete().where(
                self.feedback.c.prediction_id == prediction_id))
            conn.execute(self.feedback.insert(), {"prediction_id": prediction_id,
                                                  "label": dumps(label), "ts": time.time()})
        return True


def read_log(url: str, since: float | str | None = None, *, limit: int | None = None) -> Any:
    """The prediction log as a DataFrame, one row per prediction, oldest first.

    Columns: `id, time (UTC datetime), ts, model_version, prediction, proba_<class>...,
    latency_ms, request_id, source, label, feedback_time`, then one column per input field
    (prefixed `input_` only when a name collides). `label` is the feedback (NaN until it
    arrives). `since`: Unix seconds or an ISO time; only newer rows."""
    import pandas as pd
    import sqlalchemy as sa

    engine = _engine(url)
    try:
        predictions, feedback = _tables(sa.MetaData())
        query = sa.select(predictions, feedback.c.label, feedback.c.ts.label("feedback_ts")) \
            .select_from(predictions.outerjoin(feedback, feedback.c.prediction_id ==
                                               predictions.c.id)).order_by(predictions.c.ts)
        if since is not None:
            query = query.where(predictions.c.ts > _seconds(since))
        if limit:
            query = query.limit(limit)
        if not sa.inspect(engine).has_table("predictions"):
            return pd.DataFrame(columns=["id", "time", "ts", "model_version", "prediction"])
        _add_warnings_column(engine)  # a log from before the column: selectable all the same
        with engine.connect() as conn:
            raw = pd.read_sql(query, conn)
    finally:
        engine.dispose()
    return _expand(raw)


def _seconds(since: float | str) -> float:
    import pandas as pd

    if isinstance(since, int | float):
        return float(since)
    stamp = pd.Timestamp(since)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).timestamp()


def _expand(raw: Any) -> Any:
    import pandas as pd

    def loads(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else np.nan

    out = pd.DataFrame({"id": raw["id"], "time": pd.to_datetime(raw["ts"], unit="s", utc=True),
                        "ts": raw["ts"], "model_version": raw["model_version"],
                        "prediction": raw["prediction"].map(loads)})
    probas = pd.DataFrame([loads(p) if isinstance(p, str) else {} for p in raw["probabilities"]])
    for col in probas.columns:
        out[f"proba_{col}"] = probas[col].to_numpy()
    out["latency_ms"] = raw["latency_ms"]
    out["request_id"], out["source"] = raw["request_id"], raw["source"]
    if "warnings" in raw.columns:  # data-quality warnings of the row (None: none)
        out["warnings"] = raw["warnings"].map(lambda v: json.loads(v) if isinstance(v, str)
                                              else None)
    out["label"] = raw["label"].map(loads)
    out["feedback_time"] = pd.to_datetime(raw["feedback_ts"], unit="s", utc=True)
    inputs = pd.DataFrame([json.loads(v) for v in raw["inputs"]])
    for col in inputs.columns:
        name = f"input_{col}" if col in out.columns else col
        out[name] = inputs[col].to_numpy()
    return out.reset_index(drop=True)
