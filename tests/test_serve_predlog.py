"""The prediction log on SQLite and on a real PostgreSQL server: batched background writes,
flush on close, feedback joined, inputs expanded by read_log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'log.db'}"
    return request.getfixturevalue("postgres_url")


def test_log_round_trip(log_url: str) -> None:
    import uuid

    from fullcycle.monitor.predlog import PredictionLog, read_log

    # The PostgreSQL database is shared by the test session: keep to this test's own rows.
    version = f"v-{uuid.uuid4().hex[:8]}"
    log = PredictionLog(log_url, flush_seconds=0.05)
    records = [{"tenure": i, "Contract": "One year", "note": None} for i in range(250)]
    probas = np.column_stack([np.linspace(0, 1, 250), 1 - np.linspace(0, 1, 250)])
    for start in range(0, 250, 50):  # five requests of 50 rows
        ids = [f"{version}-r{start}-{i}" for i in range(50)]
        log.record(ids, records[start:start + 50], ["No"] * 50, probas[start:start + 50],
                   ["No", "Yes"], version=version, latency_ms=1.5, request_id=f"r{start}")
    assert log.add_feedback(f"{version}-r100-3", "Yes") is True  # flushes first, so the id is found
    assert log.add_feedback("no-such-id", "Yes") is False
    log.close()
    frame = read_log(log_url)
    frame = frame[frame["model_version"] == version]
    assert len(frame) == 250 and frame["id"].is_unique
    assert list(frame.columns[:5]) == ["id", "time", "ts", "model_version", "prediction"]
    row = frame.set_index("id").loc[f"{version}-r100-3"]
    assert row["label"] == "Yes" and row["tenure"] == 103 and row["Contract"] == "One year"
    assert row["proba_No"] == pytest.approx(probas[103, 0])
    assert frame["label"].isna().sum() == 249
    newer = read_log(log_url, since=float(frame["ts"].max()))
    assert version not in set(newer.get("model_version", []))
