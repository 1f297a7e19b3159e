"""`fullcycle package REF OUT` writes a folder that installs into a fresh virtual environment
and serves the model without the workspace.

The test does what the Dockerfile does: `pip install -r requirements.txt wheels/*.whl` into an
empty venv (pip's cache is warm from installing the project, so this is ~20 s and needs no new
downloads), then serves through `start.sh`. So a pin missing from the serving closure, or a
serving import of a package the closure leaves out (MLflow), fails here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import httpx
from conftest import cli, free_port
from serve_support import shared_workspace


def test_package_installs_into_fresh_venv_and_serves(tmp_path_factory, tmp_path: Path) -> None:
    ws = shared_workspace(tmp_path_factory)
    out = tmp_path / "deploy"
    result = cli("package", "champion", str(out), "--workspace", str(ws))
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("model/model.json", "model/pipeline.joblib", "model.sha256",
                 "requirements.txt", "Dockerfile", "start.sh", "README.md", "fullcycle.yaml"):
        assert (out / name).is_file(), name
    wheels = list((out / "wheels").glob("fullcycle-*-py3-none-any.whl"))
    assert len(wheels) == 1
    pins = dict(line.split("==") for line in (out / "requirements.txt").read_text().splitlines()
                if "==" in line)
    for name in ("fastapi", "uvicorn", "scikit-learn", "lightgbm", "pandas", "numpy"):
        assert pins[name] == metadata.version(name), name
    assert "pip install --no-cache-dir -r requirements.txt wheels/*.whl" in \
        (out / "Dockerfile").read_text()
    assert "127.0.0.1" not in (out / "start.sh").read_text()

    # the fresh venv must see only what the package installed (not a source tree on the path)
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    venv = tmp_path / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(venv)],
                   check=True, timeout=300)
    py = venv / "bin" / "python"
    install = subprocess.run([str(py), "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", "-r", str(out / "requirements.txt"),
                              str(wheels[0])], capture_output=True, text=True, timeout=900,
                             env=clean)
    assert install.returncode == 0, install.stdout + install.stderr
    where = subprocess.run([str(py), "-c", "import fullcycle, importlib.util as u; "
                            "print(fullcycle.__file__, u.find_spec('mlflow') is None)"],
                           capture_output=True, text=True, check=True,
                           env=clean).stdout.split()
    assert where[0].startswith(str(venv)), where  # fullcycle comes from the package, not the repo
    assert where[1] == "True", "the serving closure should not need MLflow"

    port = free_port()
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k not in ("FULLCYCLE_API_KEYS", "PYTHONPATH",
                                                            "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}:/usr/bin:/bin", PORT=str(port), HOST="127.0.0.1",
               FULLCYCLE_STATE=str(state))
    process = subprocess.Popen([str(out / "start.sh")], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(url + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        example = json.loads((out / "model" / "model.json").read_text())["card"][
            "input_example"]
        answer = httpx.post(url + "/predict", json=example, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"][0]["prediction"] in ("No", "Yes")
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert (state / "predictions.db").is_file()
    # The digest recorded beside the folder is checked before unpickling: a package whose
    # model no longer matches it does not serve.
    (out / "model.sha256").write_text("0" * 64 + "\n")
    refused = subprocess.run([str(out / "start.sh")], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "does not match" in refused.stderr
