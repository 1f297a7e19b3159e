"""Issue 21: the same commands on a real Dask cluster — a `dask scheduler` and two `dask worker`
processes on loopback, started here — including a worker killed in the middle of `predict`."""

from __future__ import annotations

import json
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

# Every test here starts processes; on a busy 2-core machine a CLI call takes 20-60 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # closed with the process
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
                          "c": rng.choice(["x", "y", "z"], n),
                          # 30 levels: LightGBM splits it natively (float32 codes on the workers)
                          "d": rng.choice([f"d{i}" for i in range(30)], n)})
    noise = rng.normal(size=n) * 0.5
    frame["y"] = np.where(frame["a"] + (frame["c"] == "x") + frame["d"].isin(["d1", "d7"])
                          + noise > 0.5, "yes", "no")
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


def _model(ws: Path):
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


def test_skip_on_the_cluster_matches_single_process(dask_cluster: dict, trained: dict) -> None:
    """`--on-error skip --cluster`: the same scored rows, the same rejects file (row numbers
    counted from the input's start across partitions) and the same imputation counts as
    `--on-error skip` in one process."""
    root = trained["root"]
    frame = pd.read_csv(trained["score"])
    frame["b"] = frame["b"].astype(object)
    bad = [3, 17_000, 41_999, 59_999]  # spread over the first, middle and last partitions
    frame.loc[bad, "b"] = ["many", "x", "12abc", "1.2.3"]
    frame.loc[[5, 30_000], "a"] = np.nan  # blanks where training had none: imputed, counted
    source = root / "dirty.csv"
    frame.to_csv(source, index=False)
    outputs = {}
    for where, extra in (("here", []), ("cli", ["--cluster", dask_cluster["address"]])):
        done = cli("predict", "-w", str(trained["ws"]), "--input", str(source), "--output",
                   str(root / f"skip-{where}.csv"), "--on-error", "skip", "--json", *extra,
                   "--chunk-rows", "7000", timeout=600)
        assert done.returncode == 0, done.stderr
        outputs[where] = json.loads(done.stdout)
    from fullcycle.compute import connect
    from fullcycle.deploy.distributed import predict_on_cluster

    with connect(dask_cluster["address"]) as session:  # many partitions, as on big data
        report = predict_on_cluster(session, _model(trained["ws"]), source,
                                    root / "skip-cluster.csv", on_error="skip",
                                    blocksize=source.stat().st_size // 8 + 1)
    assert report.chunks >= 6
    assert outputs["here"]["rejected"] == outputs["cli"]["rejected"] == report.rejected == 4
    assert outputs["here"]["imputed"] == outputs["cli"]["imputed"] == dict(report.imputed) \
        == {"a": 2}
    for where in ("cli", "cluster"):
        pd.testing.assert_frame_equal(pd.read_csv(root / f"skip-{where}.csv"),
                                      pd.read_csv(root / "skip-here.csv"))
        rejects = pd.read_csv(root / f"skip-{where}.rejects.csv")
        pd.testing.assert_frame_equal(rejects, pd.read_csv(root / "skip-here.rejects.csv"))
        assert rejects["row"].tolist() == [i + 1 for i in bad]
    assert not list(root.glob(".skip-cluster*partial*"))


def test_train_predict_monitor_through_the_cli_on_the_cluster(dask_cluster: dict,
                                                              trained: dict) -> None:
    """train -> predict -> explore -> monitor with --cluster: the model is the same kind of
    Model as on one machine (it scores here without Dask) and records the cluster run."""
    import json

    root, address = trained["root"], dask_cluster["address"]
    big = pd.concat([_table(1500, s) for s in range(2, 12)], ignore_index=True)
    big.to_csv(root / "big.csv", index=False)
    ws = root / "cluster-ws"
    done = cli("train", str(root / "big.csv"), "--target", "y", "--max-trials", "2",
               "--cluster", address, "-w", str(ws), timeout=900)
    assert done.returncode == 0, done.stderr
    assert "training rows and" in done.stdout and "kept the" in done.stdout
    card = json.loads((ws / "models" / "fullcycle-latest" / "model.json").read_text())["card"]
    run = card["task_info"]["cluster"]
    assert run["rows_train"] + run["rows_test"] == len(big) and run["workers"] == 2
    # Optuna trials on the workers: two rounds of one per worker thread, the search's own
    # settings scored beside them on the same folds
    tuning = card["task_info"]["cluster_tuning"]
    assert tuning["trials"] == 3 and tuning["rounds"] == 2 and "tuned LightGBM" in done.stdout
    assert tuning["cv_roc_auc_best"] >= tuning["cv_roc_auc_searched"] > 0.8
    # the fingerprint is the whole file's, as `fullcycle inspect` computes it on one machine
    from fullcycle.data.fingerprint import fingerprint

    assert card["provenance"]["data_fingerprint"] == fingerprint(pd.read_csv(root / "big.csv"))
    scored = cli("predict", "-w", str(ws), "--input", str(trained["score"]), "--output",
                 str(root / "c.csv"), "--cluster", address, timeout=600)
    assert scored.returncode == 0, scored.stderr
    here = cli("predict", "-w", str(ws), "--input", str(trained["score"]), "--output",
               str(root / "h.csv"), timeout=600)
    assert here.returncode == 0, here.stderr
    pd.testing.assert_frame_equal(pd.read_csv(root / "c.csv"), pd.read_csv(root / "h.csv"))
    explored = cli("explore", str(root / "big.csv"), "--target", "y", "-w", str(ws),
                   "--cluster", address, timeout=600)
    assert explored.returncode == 0, explored.stderr
    assert (ws / "reports" / "eda.html").is_file()
    watched = cli("monitor", "-w", str(ws), "--input", str(trained["score"]), "--cluster",
                  address, "--json", timeout=600)
    assert watched.returncode in (0, 1, 4), watched.stderr  # alerts are exit bits, not errors
    assert "read on tcp://127.0.0.1" in watched.stdout


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


def test_database_sources_on_a_cluster_say_what_to_do(tmp_path: Path) -> None:
    import sqlite3

    from fullcycle.compute.frames import TableSource, read_partitions
    from fullcycle.errors import ConfigError, DataError

    with pytest.raises(DataError, match="a query cannot be split. Create a view or table"):
        read_partitions("postgresql://u:p@127.0.0.1/db", sql=TableSource(query="select 1"))
    with pytest.raises(DataError, match="save the data to Parquet, or drop --cluster"):
        read_partitions("https://example.org/table.html")
    db = tmp_path / "k.db"
    with sqlite3.connect(db) as con:
        con.execute("create table t (id integer, name text)")
        con.executemany("insert into t values (?, ?)", [(1, "a"), (None, "b")])
    with pytest.raises(ConfigError, match="'id' is empty in 1 row"):
        read_partitions(f"sqlite:///{db}", sql=TableSource(table="t", key="id"))


def test_train_from_a_database_table_on_the_cluster(dask_cluster: dict, tmp_path: Path) -> None:
    """A SQLite table read by the workers in rowid ranges (many partitions): the rows match
    what one process reads, and `train --cluster` trains on all of them, with the data version
    `fullcycle inspect` gives the table."""
    import sqlite3

    from fullcycle.compute.frames import TableSource, read_partitions, typed
    from fullcycle.data.fingerprint import fingerprint
    from fullcycle.data.sources import read_source

    frame = pd.concat([_table(1500, s) for s in range(4)], ignore_index=True)
    frame.loc[[7, 4000], "a"] = np.nan
    db = tmp_path / "rows.db"
    with sqlite3.connect(db) as con:
        frame.to_sql("rows", con, index=False)
    url = f"sqlite:///{db}"
    parts = read_partitions(url, sql=TableSource(table="rows", rows_per_part=700))
    assert parts.npartitions >= 8
    from distributed import Client

    with Client(dask_cluster["address"], set_as_default=False) as client:
        got = typed(client.compute(parts, sync=True)).reset_index(drop=True)
    here = read_source(url, table="rows")
    pd.testing.assert_frame_equal(got, here)
    ws = tmp_path / "ws"
    done = cli("train", url, "--table", "rows", "--target", "y", "--max-trials", "1",
               "--cluster", dask_cluster["address"], "-w", str(ws), timeout=900)
    assert done.returncode == 0, done.stderr
    card = json.loads((ws / "models" / "fullcycle-latest" / "model.json").read_text())["card"]
    run = card["task_info"]["cluster"]
    assert run["rows_train"] + run["rows_test"] == len(frame)
    assert card["provenance"]["data_fingerprint"] == fingerprint(here)


def test_single_process_path_never_imports_dask() -> None:
    """No switch, no Dask: the CLI, the facade, batch scoring and the tabular kind import
    without it (the single-process path pays nothing for the cluster feature)."""
    code = ("import sys, fullcycle, fullcycle.cli, fullcycle.project, fullcycle.deploy.batch, "
            "fullcycle.tasks.tabular.kind, fullcycle.compute; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"



def test_a_short_full_data_fit_keeps_the_searched_total_shrinkage() -> None:
    from fullcycle.tasks.tabular.full_fit import MAX_LEARNING_RATE, FullFit, full_fit_params

    searched = FullFit("lightgbm", {"learning_rate": 0.05, "n_estimators": 300,
                                    "num_leaves": 31})
    long = full_fit_params(searched, 300)
    assert long["learning_rate"] == 0.05 and long["n_estimators"] == 300
    short = full_fit_params(searched, 100)  # a third of the rounds: three times the rate
    assert short["learning_rate"] == pytest.approx(0.15) and short["num_leaves"] == 31
    assert full_fit_params(searched, 12)["learning_rate"] == MAX_LEARNING_RATE
    assert full_fit_params(FullFit(), 50)["n_estimators"] == 50  # defaults: no search ran
    assert full_fit_params(FullFit("xgboost"), 50)["max_depth"] == 6  # each family its own


def test_a_worker_dying_during_the_full_data_fit_is_a_clear_error() -> None:
    """lightgbm.dask pins its tasks to the workers holding the rows: one that dies (killed at
    its memory limit, say) would leave the fit waiting forever. The watch names it instead."""
    import threading

    from fullcycle.compute import connect
    from fullcycle.compute.cluster import ClusterError
    from fullcycle.tasks.tabular.full_fit import fit_watched

    never = threading.Event()
    with connect("local:2") as session:
        holders = sorted(session.client.scheduler_info(n_workers=-1)["workers"])
        assert len(holders) == 2
        pid = session.client.run(os.getpid, workers=[holders[0]])[holders[0]]

        def fit() -> None:  # a fit waiting on its workers, as lightgbm.dask's gather does
            os.kill(pid, signal.SIGKILL)
            never.wait(600)

        with pytest.raises(ClusterError, match=f"worker {holders[0]} left the cluster"):
            fit_watched(session, holders, fit)
        assert fit_watched(session, [], lambda: 42) == 42


def test_category_codes_reach_lightgbm_as_float32_and_the_model_reads_categories() -> None:
    """The full-data fit hands LightGBM float32 codes (a category column would make it copy
    every row as float64); the local model then reads the preprocessing's category columns
    and scores exactly as on the codes."""
    import lightgbm as lgb
    from lightgbm.basic import _data_from_pandas

    from fullcycle.tasks.tabular.full_fit import adopt_categories, categorical_names, float32_codes

    rng = np.random.default_rng(3)
    n, levels = 4000, [f"l{i}" for i in range(40)]
    native = pd.DataFrame({
        "num": rng.normal(size=n), "count": rng.integers(0, 9, n).astype("int64"),
        "cat": pd.Categorical(rng.choice([*levels, None], n), categories=levels)})
    y = ((native["cat"].cat.codes % 3 == 0) ^ (native["num"] > 0.3)).astype(int)
    codes = float32_codes(native)
    assert set(codes.dtypes) == {np.dtype("float32")}
    assert codes["cat"].isna().sum() == native["cat"].isna().sum() > 0
    matrix = _data_from_pandas(codes, "auto", "auto", None)[0]
    assert matrix.dtype == np.float32  # on `native` itself LightGBM builds float64
    assert _data_from_pandas(native, "auto", "auto", None)[0].dtype == np.float64

    model = lgb.LGBMClassifier(n_estimators=30, verbose=-1, random_state=0)
    model.fit(codes, y, categorical_feature=categorical_names(native))
    trees = str(model.booster_.dump_model()["tree_info"])
    assert "'decision_type': '=='" in trees  # the codes are split as categories
    on_codes = model.predict_proba(codes)
    adopt_categories(model, native)
    np.testing.assert_array_equal(model.predict_proba(native), on_codes)
    # levels in another order are mapped back to the preprocessing's codes
    shuffled = native.assign(cat=native["cat"].cat.reorder_categories(levels[::-1]))
    np.testing.assert_array_equal(model.predict_proba(shuffled), on_codes)
    import pickle

    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict_proba(native),
                                  on_codes)


def test_xgboost_ranked_best_on_the_sample_trains_on_every_row(dask_cluster: dict,
                                                               tmp_path: Path) -> None:
    """The family that trains on all rows is the sample search's best of those with a Dask
    trainer: here XGBoost (the only family searched), through xgboost.dask on the real workers,
    with the 30-level column as categories. The result scores on one machine without Dask."""
    big = pd.concat([_table(1500, s) for s in range(20, 26)], ignore_index=True)
    big.to_csv(tmp_path / "big.csv", index=False)
    (tmp_path / "fullcycle.yaml").write_text("train:\n  families: [xgboost]\n")
    ws = tmp_path / "ws"
    done = cli("train", str(tmp_path / "big.csv"), "--target", "y", "--max-trials", "1",
               "--cluster", dask_cluster["address"], "-c", str(tmp_path / "fullcycle.yaml"),
               "-w", str(ws), timeout=900)
    assert done.returncode == 0, done.stderr
    assert "full-data XGBoost" in done.stdout, done.stdout
    run = json.loads((ws / "models" / "fullcycle-latest" / "model.json").read_text()
                     )["card"]["task_info"]["cluster"]
    assert run["full_data_family"] == "xgboost"
    assert run["rows_full_data_fit"] == run["rows_train"]  # 1 GB workers hold these rows
    assert run["test_roc_auc_full_data_model"] > 0.8  # a real model, not a constant
    here = cli("predict", "-w", str(ws), "--input", str(tmp_path / "big.csv"), "--output",
               str(tmp_path / "p.csv"), timeout=600)
    assert here.returncode == 0, here.stderr
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(big)


def test_the_full_data_fit_is_planned_within_the_workers_memory() -> None:
    """Each worker's share of the float32 matrix, times what the family copies, must fit in its
    memory: else the compact family (XGBoost) with its own searched settings, else a share of
    the rows that fits, else none."""
    from fullcycle.tasks.tabular.full_fit import (
        IMBALANCE,
        MATRIX_COPIES,
        MEMORY_SHARE,
        WORKER_BASE_BYTES,
        FullFit,
        plan_for_memory,
    )

    best = FullFit("lightgbm", {"num_leaves": 15})
    others = {"lightgbm": best, "xgboost": FullFit("xgboost", {"max_depth": 4})}
    gib = 2**30
    assert plan_for_memory(best, others, 1_000_000, 30, [3 * gib] * 2).fit == best
    assert plan_for_memory(best, others, 10**9, 30, []).fit == best  # no limits known
    switched = plan_for_memory(best, others, 5_000_000, 47, [3 * gib] * 2)
    assert switched.fit == others["xgboost"] and switched.fraction == 1.0
    assert "LightGBM on all 5,000,000 rows needs" in str(switched.note)
    part = plan_for_memory(best, others, 40_000_000, 47, [3 * gib] * 2)
    assert part.fit.family == "xgboost" and 0.05 < part.fraction < 1
    room = MEMORY_SHARE * 3 * gib - WORKER_BASE_BYTES
    held = 40_000_000 * part.fraction / 2 * IMBALANCE * 47 * 4 * MATRIX_COPIES["xgboost"]
    assert held == pytest.approx(room)  # the most the workers hold, no more
    assert "trains on" in str(part.note) and "add workers" in str(part.note)
    none = plan_for_memory(best, {}, 10**10, 47, [3 * gib] * 2)
    assert none.fraction == 0 and none.fit == FullFit("xgboost") and "kept" in str(none.note)
