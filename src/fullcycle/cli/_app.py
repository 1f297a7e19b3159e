"""The Typer app and the options every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    name="fullcycle", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="From raw data to a versioned, served and monitored model.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = Console(stderr=False)
err_console = Console(stderr=True)

Workspace = Annotated[Path, typer.Option("--workspace", "-w", help="project folder (created if "
                                         "missing): config, MLflow store, models, reports")]
ModelRef = Annotated[str, typer.Option(
    "--model", "-m",
    help="model reference: champion, challenger, a version number, models:/NAME@ALIAS, or a path")]
Debug = Annotated[bool, typer.Option("--debug", help="show tracebacks")]


@app.callback()
def _root(debug: Debug = False) -> None:
    """fullcycle: define, collect, explore, train, evaluate, deploy and monitor a model."""
