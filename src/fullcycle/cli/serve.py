"""Deployment commands: `serve` (HTTP server) and `package` (a deployable folder)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from fullcycle.cli._app import ModelRef, Workspace, app, console


def _config(workspace: Path):  # lazy import keeps --help fast
    from fullcycle.config import Config

    saved = workspace / "fullcycle.yaml"
    return Config.load(saved) if saved.exists() else Config()


@app.command()
def serve(
    workspace: Workspace = Path("workspace"),
    model: ModelRef = "champion",
    host: Annotated[str | None, typer.Option("--host", help="interface to bind")] = None,
    port: Annotated[int | None, typer.Option("--port", "-p", help="TCP port")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="worker processes "
                                                "(default serve.workers)")] = None,
    reload_seconds: Annotated[float | None, typer.Option(
        "--reload-seconds", help="poll the followed alias every N s (0 = only on "
        "POST /admin/reload)")] = None,
    log_url: Annotated[str | None, typer.Option("--log-url", help="prediction log database "
                                                "URL (default: SQLite in the workspace)")] = None,
    api_keys_file: Annotated[Path | None, typer.Option(
        "--api-keys-file", help="file with one API key per line")] = None,
    log_predictions: Annotated[bool | None, typer.Option(
        "--log/--no-log", help="write every prediction to the log (serve.log_predictions)")] = None,
    trust: Annotated[bool, typer.Option(
        "--trust", help="serve a model folder given by path (-m ./folder) even though no "
        "registered version has its content digest")] = False,
) -> None:
    """Serve a model over HTTP: POST /predict, /predict/file, /feedback; GET /health, /ready,
    /metadata, /metrics, /docs. An alias (champion) is followed on reload."""

    cfg = _config(workspace)
    serve_cfg = cfg.serve
    if trust:
        from fullcycle.registry.store import TRUST_ENV

        os.environ[TRUST_ENV] = "1"  # the worker processes inherit it
    for key, value in (("host", host), ("port", port), ("workers", workers),
                       ("reload_seconds", reload_seconds), ("log_url", log_url),
                       ("log_predictions", log_predictions),
                       ("api_keys_file", str(api_keys_file) if api_keys_file else None)):
        if value is not None:
            setattr(serve_cfg, key, value)
    os.environ.update(FULLCYCLE_SERVE_WORKSPACE=str(workspace.resolve()),
                      FULLCYCLE_SERVE_MODEL=str(Path(model).resolve()) if Path(model).is_dir()
                      else model,
                      FULLCYCLE_SERVE_CONFIG=json.dumps(cfg.model_dump(mode="json")))
    options = dict(host=serve_cfg.host, port=serve_cfg.port, log_level="warning",
                   access_log=False, timeout_graceful_shutdown=30)
    url = f"http://{serve_cfg.host}:{serve_cfg.port}"
    if serve_cfg.workers > 1:
        import shutil
        import tempfile

        from fullcycle.serve.workers import SHARED_ENV, run_workers

        # The workers add up their metrics and follow each other's reloads through this folder.
        shared = tempfile.mkdtemp(prefix="fullcycle-serve-")
        os.environ[SHARED_ENV] = shared
        console.print(f"serving {model} with {serve_cfg.workers} workers on {url}")
        try:
            run_workers("fullcycle.serve.app:app_from_env", serve_cfg.workers, **options)
        finally:
            shutil.rmtree(shared, ignore_errors=True)
        return
    from fullcycle.serve.app import app_from_env

    app_ = app_from_env()
    console.print(f"serving model version {app_.state.models.current.version} on {url} "
                  f"({app_.state.models.current.note})")
    from fullcycle.serve.workers import run_one

    run_one(app_, **options)


@app.command()
def package(
    ref: Annotated[str, typer.Argument(help="model reference: champion, a version, or a path")],
    out: Annotated[Path, typer.Argument(help="folder to write (must not exist, or be empty)")],
    workspace: Workspace = Path("workspace"),
) -> None:
    """Write a deployable folder: the model, fullcycle's code, locked requirements, a
    Dockerfile, a start script and a README. It runs without the workspace."""
    from fullcycle.deploy.package import package_model

    result = package_model(workspace, ref, out)
    console.print(f"wrote [bold]{out}[/] (model version {result['version']}, "
                  f"{result['requirements']} pinned requirements); run `{out}/start.sh` or "
                  f"`docker build -t model {out}`")
