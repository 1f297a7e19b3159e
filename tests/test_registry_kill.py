"""Atomic registration: `fullcycle train` is SIGKILLed at two moments of registration — after
its model was uploaded and half-downloaded into the cache (no version yet), and after the
version exists but before the alias moved — and the registry is checked each time: the alias
still points at a verified artifact, nothing incomplete is listed or loadable, and the next
training works and tidies up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from fullcycle import Project

DATA = Path(__file__).parent / "data" / "churn_small.csv"


def write_config(root: Path) -> Path:
    path = root / "train.yaml"
    path.write_text(yaml.safe_dump({
        "project": "killme", "seed": 3, "data": {"source": str(DATA), "target": "Churn"},
        "split": {"cv_folds": 2}, "train": {"max_trials": 1, "families": ["linear"],
                  "promote": "always"}}))
    return path


def train_killed_at(stage: str, ws: Path, config: Path, tmp: Path) -> int:
    """Start `fullcycle train`, wait until it pauses at `stage` of registration, SIGKILL it."""
    marker = tmp / f"reached-{stage}"
    env = {**os.environ, "FULLCYCLE_TEST_PAUSE_AT": f"{stage}:{marker}"}
    proc = subprocess.Popen([sys.executable, "-m", "fullcycle", "train", "--config", str(config),
                             "--workspace", str(ws)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"train exited before {stage}: {proc.stdout.read() if proc.stdout else ''}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"train never reached {stage}")
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return proc.pid


def versions(project: Project) -> list[str]:
    found = project.registry.client.search_model_versions("name = 'killme'")
    return sorted(str(v.version) for v in found)


def test_sigkill_during_registration_leaves_no_half_registered_version(tmp_path: Path) -> None:
    from fullcycle.registry.inspect import list_versions

    ws, config = tmp_path / "ws", write_config(tmp_path)
    first = Project(yaml_config(config), ws)
    first.train()
    assert versions(first) == ["1"]

    # 1. killed while downloading its uploaded model back for verification: no version yet
    pid = train_killed_at("downloaded", ws, config, tmp_path)
    project = Project.open(ws)
    assert versions(project) == ["1"]
    assert project.registry.alias_version("champion") == "1"
    assert project.load_model("champion").version_label == "1"
    partials = list((ws / ".cache").glob(f".partial-{pid}-*"))
    assert partials, "the killed download left its partial folder (never read)"
    running = project.registry.client.search_runs(
        [project.registry.experiment_id()], filter_string="attributes.status = 'RUNNING'")
    assert len(running) == 1 and running[0].data.tags["fullcycle.pid"] == str(pid)

    # 2. killed after its version was created, before the alias moved
    train_killed_at("aliasing", ws, config, tmp_path)
    project = Project.open(ws)
    assert versions(project) == ["1", "2"]
    assert project.registry.alias_version("champion") == "1"
    rows = {r["version"]: r for r in list_versions(project.registry, include_incomplete=True)}
    assert rows["2"]["state"] == "ready" and rows["2"]["aliases"] == ""
    assert project.load_model("2").version_label == "2"  # complete and verified, not promoted

    # 3. the next training works, marks the dead runs FAILED and clears dead partials
    report = Project.open(ws).train()
    assert report.version == "3"
    project = Project.open(ws)
    assert project.registry.alias_version("champion") == "3"
    assert not list((ws / ".cache").glob(".partial-*"))
    client = project.registry.client
    exp = [project.registry.experiment_id()]
    assert not client.search_runs(exp, filter_string="attributes.status = 'RUNNING'")
    failed = client.search_runs(exp, filter_string="attributes.status = 'FAILED'")
    assert [r.data.tags["fullcycle.state"] for r in failed] == ["abandoned"]
    for row in list_versions(project.registry, include_incomplete=True):
        assert row["state"] == "ready"
        assert project.load_model(row["version"]).version_label == row["version"]


def yaml_config(path: Path):
    from fullcycle import Config

    return Config.load(path)
