"""Connecting to a Dask scheduler, or starting a LocalCluster, with errors a person can act on.

    with connect("tcp://10.0.0.5:8786") as session:      # an existing scheduler
        session.client.submit(...)
    with connect("local:2", worker_memory="3GB") as s:    # a LocalCluster of 2 workers

What can go wrong is said in one line each: the scheduler does not answer, the workers run other
versions of Python/Dask/pandas/fullcycle than this client, or no worker is connected."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fullcycle.errors import ConfigError, FullcycleError

LOCAL = re.compile(r"^local(?::(\d+))?$")
CONNECT_TIMEOUT = "60s"  # a busy scheduler (or client machine) can take over 20 s to answer
# Packages whose versions must agree between the client and every worker: a model pickled by
# one scikit-learn and unpickled by another is the classic silent failure of a cluster.
MUST_MATCH = ("python", "dask", "distributed", "pandas", "numpy", "scikit-learn", "lightgbm",
              "xgboost", "fullcycle")
DISTRIBUTIONS = {"xgboost": ("xgboost", "xgboost-cpu")}  # one module, two wheels on PyPI


class ClusterError(FullcycleError):
    """The Dask cluster cannot be reached or cannot run the work."""

    http_status = 503


@dataclass(frozen=True)
class Address:
    local_workers: int | None  # LocalCluster with this many workers; None: a scheduler address
    scheduler: str | None


def parse_address(text: str) -> Address:
    """`local`, `local:N`, or a scheduler address (tcp://host:port, tls://..., host:port)."""
    text = (text or "").strip()
    match = LOCAL.match(text)
    if match:
        n = int(match.group(1) or 2)
        if n < 1:
            raise ConfigError(f"--cluster {text!r}: a local cluster needs at least one worker")
        return Address(local_workers=n, scheduler=None)
    if not text:
        raise ConfigError("--cluster is empty; give a scheduler address (tcp://host:8786) or "
                          "local[:N]")
    if "://" not in text:
        text = f"tcp://{text}"
    if not re.match(r"^(tcp|tls|ucx|inproc|ws|wss)://[^\s/]+$", text):
        raise ConfigError(f"--cluster {text!r} is not a scheduler address; write "
                          "tcp://host:8786, or local[:N] for a cluster on this machine")
    return Address(local_workers=None, scheduler=text)


@dataclass
class ClusterSession:
    client: Any  # distributed.Client
    address: str
    cluster: Any = None  # the LocalCluster we started, closed with the session

    @property
    def workers(self) -> dict[str, dict[str, Any]]:
        """worker address -> {name, memory_limit, nthreads}."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return {addr: {"name": w.get("name"), "memory_limit": w.get("memory_limit"),
                       "nthreads": w.get("nthreads")} for addr, w in info.items()}

    def describe(self) -> str:
        workers = self.workers
        memory = sum(int(w["memory_limit"] or 0) for w in workers.values())
        return (f"{self.address}: {len(workers)} worker(s), "
                f"{sum(int(w['nthreads'] or 0) for w in workers.values())} thread(s), "
                f"{memory / 2**30:.1f} GiB")


@contextlib.contextmanager
def connect(address: str, *, worker_memory: str | None = None, min_workers: int = 1,
            timeout: str = CONNECT_TIMEOUT) -> Iterator[ClusterSession]:
    """A connected session, closed on exit (a LocalCluster we started is shut down).
    `timeout`: how long to wait for the scheduler and its first workers."""
    parsed = parse_address(address)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError("--cluster needs Dask: pip install 'fullcycle[scale]' (dask "
                          "distributed)") from None
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None
    if parsed.local_workers is not None:
        cluster = LocalCluster(n_workers=parsed.local_workers, threads_per_worker=1,
                               processes=True, memory_limit=worker_memory or "auto",
                               dashboard_address=":0",
                               silence_logs=logging.CRITICAL)
        client = Client(cluster)
    else:
        client = _client(parsed.scheduler or address, timeout)
    session = ClusterSession(client=client, address=parsed.scheduler or address, cluster=cluster)
    try:
        _check(session, min_workers, timeout)
        yield session
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


def _client(scheduler: str, timeout: str) -> Any:
    from distributed import Client

    try:
        return Client(scheduler, timeout=timeout)
    except OSError as exc:  # TimeoutError is an OSError
        raise ClusterError(
            f"cannot reach the Dask scheduler at {scheduler} within {timeout} "
            f"({type(exc).__name__}); check the address and that `dask scheduler` runs there "
            "and its port is open, or use --cluster local[:N]") from None


def _check(session: ClusterSession, min_workers: int, timeout: str) -> None:
    client = session.client
    try:
        client.wait_for_workers(min_workers, timeout=timeout)
    except (TimeoutError, OSError):
        raise ClusterError(f"the Dask scheduler at {session.address} has no worker connected "
                           f"(waited {timeout}); start workers with `dask worker "
                           f"{session.address}`") from None
    problems = version_mismatches(package_versions(), client.run(package_versions))
    if problems:
        raise ClusterError("the Dask workers do not run the same software as this client: "
                           + "; ".join(problems) + ". Install the same versions everywhere "
                           "(the project's lock file) and restart the workers")


def package_versions() -> dict[str, str]:
    """Versions of MUST_MATCH in this process (also run on every worker)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in MUST_MATCH[1:]:
        found[name] = ""
        for dist in DISTRIBUTIONS.get(name, (name,)):
            try:
                found[name] = version(dist)
                break
            except PackageNotFoundError:
                continue
    return found


def version_mismatches(client: dict[str, str], workers: dict[str, dict[str, str]]) -> list[str]:
    """'package: client X, worker W has Y' for every package that differs."""
    out = []
    for worker, theirs in sorted(workers.items()):
        for name in MUST_MATCH:
            mine, other = client.get(name, ""), theirs.get(name, "")
            if mine != other:
                out.append(f"{name}: client {mine or 'missing'}, worker {worker} has "
                           f"{other or 'missing'}")
    return out
