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

import httpx
import pytest
from conftest import Server, need, start_server
from serve_support import shared_workspace

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
if not Path(SCHEMATHESIS).exists():
    SCHEMATHESIS = shutil.which("schemathesis") or SCHEMATHESIS


KEY = "fuzz-key-" + "k" * 24
# Schemathesis makes a few hundred requests per run; on a machine at load 5+ that outlasts the
# suite's default per-test timeout without anything being wrong.
pytestmark = pytest.mark.timeout(1500)


@pytest.fixture(scope="module", params=["keys-off", "keys-on"])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("fuzz-log") / "log.db"
    keys = KEY if request.param == "keys-on" else ""
    srv = start_server(shared_workspace(tmp_path_factory), "--log-url", f"sqlite:///{log}",
                       env={"FULLCYCLE_API_KEYS": keys}, timeout=180)
    srv.key = keys  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def _run(server: Server, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    need(Path(SCHEMATHESIS).exists(), "schemathesis")
    key = getattr(server, "key", "")
    # Deterministic (fixed seed, no example database reuse) and patient: a request may take
    # seconds on a machine with load 5+ on 2 cores, which is not what this test is about.
    # cwd: Schemathesis keeps an example database in ./.schemathesis; not in the repository.
    schema = cwd / "openapi.json"  # fetched with the key: the document itself is protected
    schema.write_text(httpx.get(f"{server.url}/openapi.json", headers={"X-API-Key": key},
                                timeout=120).text)
    return subprocess.run([SCHEMATHESIS, "run", str(schema), "--url", server.url,
                           "--generation-deterministic", "--seed", "18", "--workers", "1",
                           "--request-timeout", "120",
                           *(["-H", f"X-API-Key: {key}"] if key else []), *args],
                          capture_output=True, text=True, timeout=1200, cwd=cwd,
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
