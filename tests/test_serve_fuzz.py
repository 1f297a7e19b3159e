"""Schemathesis against the server's own OpenAPI document: generated and edge-case requests on
every route get no 5xx, and every request the schema calls valid is accepted (the
typed schema tells the truth about the contract)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Server, need, start_server
from serve_support import shared_workspace

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
if not Path(SCHEMATHESIS).exists():
    SCHEMATHESIS = shutil.which("schemathesis") or SCHEMATHESIS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    os.environ.pop("FULLCYCLE_API_KEYS", None)
    log = tmp_path_factory.mktemp("fuzz-log") / "log.db"
    srv = start_server(shared_workspace(tmp_path_factory), "--log-url", f"sqlite:///{log}")
    yield srv
    srv.stop()


def _run(server: Server, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    need(Path(SCHEMATHESIS).exists(), "schemathesis")
    # cwd: Schemathesis keeps an example database in ./.schemathesis; not in the repository.
    return subprocess.run([SCHEMATHESIS, "run", f"{server.url}/openapi.json",
                           "--generation-deterministic", "--wait-for-schema", "30", *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd,
                          env={**os.environ, "SCHEMATHESIS_HOOKS": ""})


def test_no_server_error_on_any_generated_request(server: Server, tmp_path: Path) -> None:
    result = _run(server, "--checks", "not_a_server_error", "--max-examples", "25",
                  "--phases", "examples,coverage,fuzzing", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout
    # every route of the server, including /explain, /dashboard and /admin/reload
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", result.stdout)
    assert selected and len(set(selected.groups())) == 1 and int(selected[1]) >= 11, \
        result.stdout[-2000:]


def test_schema_valid_records_are_accepted(server: Server, tmp_path: Path) -> None:
    result = _run(server, "--checks", "not_a_server_error,positive_data_acceptance",
                  "--mode", "positive", "--max-examples", "40", "--phases", "examples,fuzzing",
                  "--include-path-regex", "^/predict$", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
