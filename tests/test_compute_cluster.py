"""Issue 21: the same commands on a real Dask cluster — a `dask scheduler` and two `dask worker`
processes on loopback, started here — including a worker killed in the middle of `predict`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import cli, free_port

pytestmark = pytest.mark.slow


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=handle,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _wait_workers(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout="60s", set_as_default=False) as client:
        client.wait_for_workers(n, timeout=120)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    pytest.importorskip("distributed")
    logs = tmp_path_factory.mktemp("dask-logs")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", str(port),
                        "--dashboard-address", ":0"], logs / "scheduler.log")
    workers = [_start(["worker", address, "--nthreads", "1", "--memory-limit", "1GB",
                       "--name", f"w{i}", "--dashboard-address", ":0"], logs / f"w{i}.log")
               for i in range(2)]
    try:
        _wait_workers(address, 2)
        yield {"address": address, "workers": workers, "scheduler": scheduler}
    finally:
        for proc in [*workers, scheduler]:
            _stop(proc)


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n).round(4), "b": rng.integers(0, 5, n),
                          "c": rng.choice(["x", "y", "z"], n)})
    noise = rng.normal(size=n) * 0.5
    frame["y"] = np.where(frame["a"] + (frame["c"] == "x") + noise > 0.5, "yes", "no")
    return frame


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("cluster-ws")
    _table(1500, 0).to_csv(root / "train.csv", index=False)
    scoring = pd.concat([_table(1500, 1)] * 40, ignore_index=True).drop(columns="y")
    scoring.to_csv(root / "score.csv", index=False)
    done = cli("train", str(root / "train.csv"), "--target", "y", "--max-trials", "1",
               "-w", str(root / "ws"), timeout=600)
    assert done.returncode == 0, done.stderr
    local = cli("predict", "-w", str(root / "ws"), "--input", str(root / "score.csv"),
                "--output", str(root / "local.csv"), timeout=600)
    assert local.returncode == 0, local.stderr
    return {"root": root, "ws": root / "ws", "score": root / "score.csv",
            "local": pd.read_csv(root / "local.csv")}


def _model(ws: Path):  # noqa: ANN202
    from fullcycle.project import Project

    return Project.open(ws).load_model("champion")


def test_predict_on_real_scheduler_matches_single_process(dask_cluster: dict,
                                                          trained: dict) -> None:
    from fullcycle.compute import connect
    from fullcycle.deploy.distributed import predict_on_cluster

    out_csv = trained["root"] / "cluster.csv"
    out_pq = trained["root"] / "cluster.parquet"
    with connect(dask_cluster["address"]) as session:
        assert len(session.workers) == 2
        block = trained["score"].stat().st_size // 8 + 1
        report = predict_on_cluster(session, _model(trained["ws"]), trained["score"], out_csv,
                                    blocksize=block)
        assert report.chunks >= 6  # really partitioned
    done = cli("predict", "-w", str(trained["ws"]), "--input", str(trained["score"]),
               "--output", str(out_pq), "--cluster", dask_cluster["address"], timeout=600)
    assert done.returncode == 0, done.stderr
    assert "scored on tcp://127.0.0.1" in done.stdout and "2 worker(s)" in done.stdout
    local = trained["local"]
    for got in (pd.read_csv(out_csv), pd.read_parquet(out_pq)):
        assert len(got) == len(local) == report.rows
        assert list(got.columns) == list(local.columns)
        assert (got["prediction"].to_numpy() == local["prediction"].to_numpy()).all()
        np.testing.assert_allclose(got.iloc[:, 1].to_numpy(), local.iloc[:, 1].to_numpy())
    assert not list(trained["root"].glob(".cluster*partial*"))


def test_worker_killed_during_predict_output_complete_and_correct(dask_cluster: dict,
                                                                  trained: dict) -> None:
    """SIGKILL one worker (nanny and all) once the first parts are written: the scheduler
    re-runs its partitions on the other worker and the output is whole and identical."""
    import threading

    from fullcycle.compute import connect
    from fullcycle.deploy.distributed import predict_on_cluster

    out = trained["root"] / "killed.csv"
    seen: dict[str, int] = {"parts": 0, "total": 0}
    killed = threading.Event()

    def on_part(rows: int, total: int) -> None:
        seen["parts"] += 1
        seen["total"] = total
        if seen["parts"] == 2 and not killed.is_set():
            _stop(dask_cluster["workers"][0])
            killed.set()

    with connect(dask_cluster["address"]) as session:
        report = predict_on_cluster(session, _model(trained["ws"]), trained["score"], out,
                                    blocksize=trained["score"].stat().st_size // 24 + 1,
                                    on_part=on_part)
    assert killed.is_set() and seen["total"] > 10
    got, local = pd.read_csv(out), trained["local"]
    assert report.rows == len(got) == len(local)
    assert (got["prediction"].to_numpy() == local["prediction"].to_numpy()).all()
    np.testing.assert_allclose(got.iloc[:, 1].to_numpy(), local.iloc[:, 1].to_numpy())


def test_unreachable_scheduler_is_one_clear_line(tmp_path: Path) -> None:
    from fullcycle.compute import connect
    from fullcycle.compute.cluster import ClusterError

    port = free_port()
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at "
                                           f"tcp://127.0.0.1:{port}"):
        with connect(f"127.0.0.1:{port}", timeout="3s"):
            pass


def test_version_mismatch_names_package_and_worker() -> None:
    from fullcycle.compute.cluster import version_mismatches

    problems = version_mismatches({"pandas": "3.1.1", "dask": "2026.8.0"},
                                  {"tcp://w:1": {"pandas": "2.2.3", "dask": "2026.8.0"}})
    assert problems == ["pandas: client 3.1.1, worker tcp://w:1 has 2.2.3"]


def test_bad_cluster_address_is_a_config_error() -> None:
    from fullcycle.compute import parse_address
    from fullcycle.errors import ConfigError

    assert parse_address("local").local_workers == 2
    assert parse_address("local:3").local_workers == 3
    assert parse_address("10.0.0.5:8786").scheduler == "tcp://10.0.0.5:8786"
    for bad in ("", "local:0", "http://x/y z"):
        with pytest.raises(ConfigError):
            parse_address(bad)
