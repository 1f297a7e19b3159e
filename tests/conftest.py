"""Shared fixtures. Components the tests need are started here, for real: a PostgreSQL server in
a temporary folder, headless Chromium, `fullcycle serve` on a loopback port. In CI (CI=true) a
missing component is a failure, never a skip."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

DATA = Path(__file__).parent / "data"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def need(condition: bool, what: str) -> None:
    """Skip locally when a component is missing; fail in CI, where .ci/run installs it."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is missing; .ci/run must install it")
    pytest.skip(f"{what} is missing")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(*args: str, cwd: Path | None = None, env: dict | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real `fullcycle` command line in a subprocess."""
    return subprocess.run([sys.executable, "-m", "fullcycle", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- a trained workspace, shared by the tests that only read it ---------------------------------
def train_workspace(root: Path, data: Path, target: str, *extra: str) -> Path:
    result = cli("train", str(data), "--target", target, "--workspace", str(root),
                 "--max-trials", "3", *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.fixture(scope="session")
def churn_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with a champion trained on the small churn sample (deterministic mode)."""
    return train_workspace(tmp_path_factory.mktemp("churn-ws"), DATA / "churn_small.csv", "Churn")


@pytest.fixture(scope="session")
def housing_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_workspace(tmp_path_factory.mktemp("housing-ws"), DATA / "housing_small.csv",
                           "median_house_value")


# --- fullcycle serve on a loopback port -----------------------------------------------------------
class Server:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process, self.port = process, port
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_server(workspace: Path, *extra: str, env: dict | None = None,
                 timeout: float = 60) -> Server:
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "fullcycle", "serve", "--workspace", str(workspace),
         "--port", str(port), *extra],
        stdout=log, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})
    server = Server(process, port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {Path(log.name).read_text()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not start in {timeout}s: {Path(log.name).read_text()}")


@pytest.fixture()
def churn_server(churn_workspace: Path) -> Iterator[Server]:
    server = start_server(churn_workspace)
    yield server
    server.stop()


# --- PostgreSQL, started for the test run --------------------------------------------------------
def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server on a free loopback port; yields a SQLAlchemy URL with a password
    (user `fullcycle`, password `s3cret-pw`, database `fullcycle`)."""
    bindir = _pg_bin()
    need(bindir is not None, "PostgreSQL server (Debian package postgresql)")
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="fc-pg-"))
    shutil.chown(root, "postgres", "postgres")
    port = free_port()
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    pwfile = root / "pw"
    pwfile.write_text("pg-admin-pw\n")
    shutil.chown(pwfile, "postgres", "postgres")
    init = subprocess.run([*as_pg, str(bindir / "initdb"), "-D", str(root / "data"), "-A", "md5",
                           "-U", "postgres", f"--pwfile={pwfile}"], capture_output=True, text=True)
    assert init.returncode == 0, init.stdout + init.stderr
    subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-w", "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "-l",
                    str(root / "log"), "start"], check=True, capture_output=True, text=True)
    try:
        import sqlalchemy as sa

        admin = sa.create_engine(f"postgresql+psycopg://postgres:pg-admin-pw@127.0.0.1:{port}/postgres",
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE USER fullcycle PASSWORD 's3cret-pw'"))
            conn.execute(sa.text("CREATE DATABASE fullcycle OWNER fullcycle"))
        admin.dispose()
        yield f"postgresql+psycopg://fullcycle:s3cret-pw@127.0.0.1:{port}/fullcycle"
    finally:
        subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast",
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


# --- headless Chromium ----------------------------------------------------------------------
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A Playwright browser driving Debian's Chromium."""
    need(Path(CHROMIUM).exists(), "Chromium (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser: object, url: str,
              screenshot: Path | None = None) -> tuple[object, list[str]]:
    """Open a URL; return the page and the console errors seen while loading it."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=False)
    return page, errors
