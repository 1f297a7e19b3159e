"""Shared helpers of the task-kind tests: the CLI run in this process, a real `fullcycle serve`
process on a loopback port, and a kind trained on a frame without the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from conftest import free_port


def run_cli(*args: str) -> int:
    """`fullcycle ARGS` in this process (a kind registered by the test is seen); the exit code."""
    from fullcycle.cli import main

    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"fullcycle serve exited with {process.returncode}: "
                                 + (process.stderr.read() if process.stderr else ""))
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("fullcycle serve did not become ready")


@contextmanager
def serving(workspace: Path, prelude: str = "",
            env: dict[str, str] | None = None) -> Iterator[str]:
    """A real `fullcycle serve` process (one worker, no reload) on a free loopback port, run
    with `python -c` so that `prelude` (say, importing the test module that registers a kind)
    runs first. Yields its URL once /ready answers; stops it at the end."""
    port = free_port()
    code = (f"{prelude}from fullcycle.cli import main; "
            f"main(['serve', '--workspace', {str(workspace)!r}, '--port', '{port}', "
            "'--host', '127.0.0.1', '--workers', '1', '--reload-seconds', '0'])")
    server = subprocess.Popen([sys.executable, "-c", code], env=env or dict(os.environ),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


def train_kind(kind: str, frame: pd.DataFrame, tmp_path: Path, seed: int,
               **problem: object) -> Any:
    """`get_kind(kind).train` on `frame` with `problem: {task: kind, **problem}`: the
    TrainResult."""
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    from fullcycle.taskkind import get_kind

    config = Config.from_dict({"seed": seed, "problem": {"task": kind, **problem}})
    dataset = Dataset.from_frame(frame, config=config.data, drop_duplicates=False)
    return get_kind(kind).train(dataset, config, reports=tmp_path)
