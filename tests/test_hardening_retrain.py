"""Champion/challenger at both ends of the cycle (issue 18): `retrain` from the prediction log
works with the README's churn config (roles naming customerID, which the log does not hold),
and `train` does not make a worse model champion unless told `--promote always`."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import cli
from serve_support import CHURN, shared_workspace

# Trains and serves real models: slow on a busy machine, never stuck.
pytestmark = pytest.mark.timeout(1200)


def _workspace(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(shared_workspace(tmp_path_factory), ws)
    config = yaml.safe_load((ws / "fullcycle.yaml").read_text())
    config["data"]["roles"] = {"customerID": "identifier"}  # as in examples/churn.yaml
    config["train"]["max_trials"] = 1
    config["train"]["families"] = ["linear"]
    (ws / "fullcycle.yaml").write_text(yaml.safe_dump(config))
    return ws


def _champion(ws: Path) -> str | None:
    from fullcycle.registry.open import open_registry
    from fullcycle.workspace import Workspace

    workspace = Workspace.at(ws)
    return open_registry(workspace, workspace.load_config()).alias_version("champion")


def test_retrain_from_the_log_with_roles_naming_absent_columns(
        tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    from fullcycle.monitor.predlog import PredictionLog

    ws = _workspace(tmp_path_factory, tmp_path)
    frame = pd.read_csv(CHURN, dtype=str, keep_default_na=False)
    log = PredictionLog(f"sqlite:///{ws / 'predictions.db'}")
    records = frame.drop(columns=["customerID", "Churn"]).to_dict("records")  # inputs only
    ids = [uuid.uuid4().hex for _ in records]
    log.record(ids, records, ["No"] * len(ids), None, None, version="1", latency_ms=1.0,
               request_id="r")
    assert log.flush(timeout=120)
    for pid, label in zip(ids, frame["Churn"], strict=True):
        assert log.add_feedback(pid, label)
    log.close()
    result = cli("retrain", "-w", str(ws))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "customerID" not in result.stderr
    outcome = json.loads((ws / "reports" / "retrain.json").read_text())
    assert outcome["evidence"]["data"] == "prediction log + feedback"
    assert outcome["evidence"]["train_rows"] > 0


def test_a_worse_model_is_registered_not_promoted(tmp_path_factory: pytest.TempPathFactory,
                                                  tmp_path: Path) -> None:
    """The champion here is the serving reference model, fitted on every row: on any held-out
    part of those rows it beats a one-candidate linear model trained on the rest."""
    ws = _workspace(tmp_path_factory, tmp_path)
    before = _champion(ws)
    worse = cli("train", str(CHURN), "--target", "Churn", "-w", str(ws))
    assert worse.returncode == 0, worse.stdout + worse.stderr
    assert "registered as challenger" in " ".join(worse.stdout.split())
    assert "kept" in worse.stdout and _champion(ws) == before
    forced = cli("train", str(CHURN), "--target", "Churn", "-w", str(ws), "--promote", "always")
    assert forced.returncode == 0, forced.stderr
    assert _champion(ws) != before
