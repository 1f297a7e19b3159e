"""The command line: one command per stage, plus `run` (the whole cycle) and `demo`.

Every command is a thin layer over `fullcycle.Project`. A `FullcycleError` is printed as one line
and exits 2; `--debug` shows the traceback instead."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import warnings

import typer

from fullcycle.cli._app import app, console, err_console  # noqa: F401 - console re-exported
from fullcycle.errors import FullcycleError

# Each public module of this package registers its commands on `app` when imported: a stage
# adds a command by adding a module, without touching this file.
for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if not debug:
        # Third-party import-time chatter (urllib3 via MLflow) is noise on a terminal.
        warnings.filterwarnings("ignore", message="SOCKS support in urllib3")
    try:
        # Without standalone mode click returns (not raises) the code of `typer.Exit(n)`.
        code = app(args=argv, standalone_mode=False, prog_name="fullcycle")
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except FullcycleError as exc:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("[yellow]aborted[/]")
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:  # click's usage errors, and bugs
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        if debug:
            raise
        err_console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
                      "Run again with --debug for the traceback, and please report it.",
                      highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
