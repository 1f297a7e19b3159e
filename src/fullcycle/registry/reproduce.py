"""Retrain a registered version from what its run recorded (data snapshot, config, seed) and
compare the metrics. Nothing is registered: reproduction is a check, not a new model."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.errors import IntegrityError, ModelError
from fullcycle.provenance import code_version
from fullcycle.registry.store import ModelRegistry
from fullcycle.registry.tracking import CONFIG, SNAPSHOT, final_metrics
from fullcycle.taskkind import resolve_task

SKIP_METRICS = ("train_seconds",)  # wall-clock time is never expected to match


@dataclass
class Reproduction:
    version: str
    run_id: str
    deterministic: bool
    data_matches: bool
    code: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return self.data_matches and bool(self.rows) and all(r["match"] for r in self.rows)


def reproduce(registry: ModelRegistry, ref: str, *, tolerance: float = 0.0) -> Reproduction:
    mv = registry.checked_version(ref)
    run = registry.client.get_run(mv.run_id)
    with tempfile.TemporaryDirectory(prefix="fc-reproduce-") as tmp:
        config, dataset = _recorded_inputs(registry, run, Path(tmp))
        recorded_fp = run.data.tags.get("fullcycle.data_fingerprint", "")
        kind, _, _ = resolve_task(config, dataset.frame)
        outcome = kind.train(dataset, config, reports=Path(tmp) / "reports")
    now = final_metrics(outcome, outcome.model.card.metric)
    rows = []
    for key, before in sorted(run.data.metrics.items()):
        if key in SKIP_METRICS or key not in now or key.startswith("candidate_"):
            continue
        after = now[key]
        rows.append({"metric": key, "recorded": before, "reproduced": after,
                     "match": abs(after - before) <= tolerance * max(1.0, abs(before))})
    return Reproduction(
        version=str(mv.version), run_id=mv.run_id,
        deterministic=config.train.max_trials is not None,
        data_matches=dataset.fingerprint == recorded_fp,
        code={"recorded": run.data.tags.get("mlflow.source.git.commit") or
              run.data.tags.get("fullcycle.version", "?"),
              "now": code_version()["git_commit"] or code_version()["fullcycle"]},
        rows=rows)


def _recorded_inputs(registry: ModelRegistry, run: Any, tmp: Path) -> tuple[Any, Any]:
    import pandas as pd
    import yaml

    tags = run.data.tags
    if tags.get("fullcycle.snapshot") != SNAPSHOT:
        why = tags.get("fullcycle.snapshot") or "this run recorded no data snapshot"
        raise ModelError(f"run {run.info.run_id} cannot be reproduced: {why} (set "
                         "registry.log_data_snapshot: true before training)")
    client = registry.client
    config_path = Path(client.download_artifacts(run.info.run_id, CONFIG, str(tmp)))
    snapshot = Path(client.download_artifacts(run.info.run_id, SNAPSHOT, str(tmp)))
    expected = tags.get("fullcycle.snapshot_sha256", "")
    actual = hashlib.sha256(snapshot.read_bytes()).hexdigest()
    if actual != expected:
        raise IntegrityError(f"the data snapshot of run {run.info.run_id} does not match its "
                             f"recorded SHA-256 (expected {expected[:12]}…, found {actual[:12]}…)"
                             "; it was modified and will not be used")
    config = Config.from_dict(yaml.safe_load(config_path.read_text()), where=f"run {CONFIG}")
    config.data.source = str(snapshot)
    frame = pd.read_parquet(snapshot)
    dataset = Dataset.from_frame(frame, target=config.data.target, roles=config.data.roles,
                                 source=f"runs:/{run.info.run_id}/{SNAPSHOT}",
                                 drop_duplicates=config.data.drop_duplicates)
    return config, dataset
