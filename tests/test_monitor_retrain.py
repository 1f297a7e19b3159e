"""Where retraining data comes from, on real stores: the prediction log (SQLite, WAL) joined
with its feedback, and a SQL query; and the time-ordered holdout split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from fullcycle.errors import DataError
from fullcycle.monitor.predlog import PredictionLog
from fullcycle.monitor.retrain import labelled_from_log, split_holdout


def test_log_with_feedback_becomes_training_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    log = PredictionLog(url)
    try:
        records = [{"age": 30 + i, "plan": "basic" if i % 2 else "pro"} for i in range(6)]
        ids = [f"p{i}" for i in range(6)]
        log.record(ids, records, ["yes"] * 6, np.full((6, 2), 0.5), ["no", "yes"],
                   version="1", latency_ms=3.0, request_id="r1")
        assert log.flush()
        for pid, label in [("p0", "no"), ("p3", "yes"), ("p5", "no")]:
            assert log.add_feedback(pid, label)
    finally:
        log.close()
    frame = labelled_from_log(url, "churn", ["age", "plan"])
    assert list(frame["churn"]) == ["no", "yes", "no"]  # only labelled rows, oldest first
    assert list(frame["age"]) == [30, 33, 35]
    assert {"age", "plan", "churn", "__time__"} == set(frame.columns)


def test_log_without_feedback_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    PredictionLog(url).close()
    with pytest.raises(DataError, match="no feedback labels"):
        labelled_from_log(url, "churn", ["age"])


def test_holdout_is_the_newest_rows() -> None:
    times = pd.date_range("2026-01-01", periods=100, freq="h", tz="UTC")
    frame = pd.DataFrame({"x": np.arange(100), "__time__": times}).sample(frac=1, random_state=0)
    train, holdout = split_holdout(frame, 0.3, 10)
    assert list(holdout["x"]) == list(range(70, 100)) and len(train) == 70
    assert "__time__" not in holdout.columns
    with pytest.raises(DataError, match="too few"):
        split_holdout(frame.head(20), 0.3, 10)


def test_sql_query_source(tmp_path: Path) -> None:
    from fullcycle.data.sources import read_source

    url = f"sqlite:///{tmp_path / 'new.db'}"
    engine = sa.create_engine(url)
    pd.DataFrame({"age": range(10), "churn": ["yes", "no"] * 5}).to_sql("rows", engine)
    engine.dispose()
    frame = read_source(url, query="SELECT age, churn FROM rows WHERE age >= 4")
    assert len(frame) == 6 and set(frame.columns) == {"age", "churn"}


def test_postgresql_log_with_feedback(postgres_url: str) -> None:
    """The same reader works on the PostgreSQL prediction log (serve.log_url)."""
    log = PredictionLog(postgres_url)
    try:
        ids = [f"pg{i}" for i in range(4)]
        log.record(ids, [{"age": 40 + i, "plan": "pro"} for i in range(4)], ["no"] * 4,
                   np.full((4, 2), 0.5), ["no", "yes"], version="7", latency_ms=2.0,
                   request_id="r-pg")
        assert log.flush()
        assert log.add_feedback("pg1", "yes") and log.add_feedback("pg2", "no")
    finally:
        log.close()
    frame = labelled_from_log(postgres_url, "churn", ["age", "plan"])
    assert list(frame["churn"]) == ["yes", "no"] and list(frame["age"]) == [41, 42]
