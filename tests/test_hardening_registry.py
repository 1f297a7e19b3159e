"""Model integrity on every load (issue 18): a folder given by path loads only when the registry
recorded its digest (or with trust); the registry's own copy under mlartifacts/ is checked on
every load, not only the cache, and the refusal names a path that exists."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import cli
from serve_support import make_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory.mktemp("registry-ws"))


def _registry(ws: Path):
    from fullcycle.registry.open import open_registry
    from fullcycle.workspace import Workspace

    workspace = Workspace.at(ws)
    return open_registry(workspace, workspace.load_config())


def test_folder_by_path_needs_a_registered_digest_or_trust(ws: Path, tmp_path: Path) -> None:
    from fullcycle.errors import IntegrityError

    registry = _registry(ws)
    folder = next((ws / "models").iterdir())
    assert registry.load_path(folder).schema.features  # registered: its digest is known
    planted = tmp_path / "planted"
    shutil.copytree(folder, planted)
    meta = json.loads((planted / "model.json").read_text())
    meta["card"]["provenance"]["trained_at"] = "forged"  # both files consistent, content new
    (planted / "model.json").write_text(json.dumps(meta))
    with pytest.raises(IntegrityError, match="not a version registered in this workspace"):
        registry.load_path(planted)
    assert registry.load_path(planted, trust=True).schema.features
    out = tmp_path / "out.csv"
    refused = cli("validate", str(Path(__file__).parent / "data" / "churn_small.csv"),
                  "-w", str(ws), "-m", str(planted))
    assert refused.returncode == 2 and "--trust" in refused.stderr, refused.stderr
    trusted = cli("validate", str(Path(__file__).parent / "data" / "churn_small.csv"),
                  "-w", str(ws), "-m", str(planted), env={"FULLCYCLE_TRUST_MODEL_PATH": "1"})
    assert trusted.returncode in (0, 1), trusted.stderr
    assert not out.exists()


def test_tampered_registry_copy_is_refused_while_the_cache_is_intact(ws: Path) -> None:
    """Runs last in this module: it damages the module's workspace (the registry records the
    artifact location as an absolute path, so a copied workspace would still point here)."""
    from fullcycle.errors import IntegrityError

    copy = ws
    registry = _registry(copy)
    registry.load("champion")  # fills the verified cache
    pickles = list((copy / "mlartifacts").rglob("pipeline.joblib"))
    assert len(pickles) == 1
    with open(pickles[0], "ab") as handle:
        handle.write(b"planted")
    with pytest.raises(IntegrityError) as refused:
        _registry(copy).load("champion")
    named = re.search(r"model artifact (\S+)", str(refused.value))
    assert named and Path(named[1]).exists(), str(refused.value)
    assert ".partial-" not in str(refused.value)
