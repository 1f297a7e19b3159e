"""The command line: one command per stage, plus `run` (the whole cycle) and `demo`.

Every command is a thin layer over `fullcycle.Project`. Exit codes: 0 done; 2 a usage or user
error (one line on stderr that says what to do; `--debug` shows the traceback); 1 an internal
error; 130 interrupted; commands document their own result codes (validate, evaluate, monitor)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import warnings

import typer

from fullcycle.cli._app import GLOBAL_FLAGS, app, console, err_console  # noqa: F401
from fullcycle.errors import FullcycleError

# Each public module of this package registers its commands on `app` when imported: a stage
# adds a command by adding a module, without touching this file.
for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["app", "main"]


def _click_class(name: str) -> type[BaseException]:
    """Click's exception class as Typer uses it. Typer 0.2x vendors its own click copy
    (`typer._click`), whose classes differ from an installed `click`'s; `typer.BadParameter`
    is that copy's, so its ancestors are the classes Typer raises."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == name:
            return cls
    raise LookupError(name)


ClickException = _click_class("ClickException")
UsageError = _click_class("UsageError")


def _hoist_global_flags(argv: list[str]) -> list[str]:
    """`fullcycle train --json` means `fullcycle --json train`: global flags go first."""
    head: list[str] = []
    rest: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            rest.extend(argv[i:])
            break
        (head if arg in GLOBAL_FLAGS else rest).append(arg)
    return head + rest


def _usage_line(exc: BaseException) -> str:
    """One line: click's message, plus where to look."""
    message = " ".join(str(getattr(exc, "format_message", lambda: str(exc))()).split())
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", "") or "fullcycle"
    end = "" if message.endswith((".", "?", "!")) else "."
    return f"{message}{end} See '{command} --help'."


def _bare(argv: list[str]) -> bool:
    """No command: not even --help or --version, nor a shell asking for completions."""
    if "_FULLCYCLE_COMPLETE" in os.environ or any(not a.startswith("-") for a in argv):
        return False
    return not {"-h", "--help", "--version", "--show-completion", "--install-completion"} & set(
        argv)


COMPLETION_SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def _named_completion(argv: list[str]) -> None:
    """`--show-completion bash`: the script for the shell named. Typer's option is a flag that
    detects the parent process instead, so under `make` or cron it sees `sh` and fails."""
    if len(argv) == 2 and argv[0] == "--show-completion" and argv[1] in COMPLETION_SHELLS:
        from typer._completion_shared import get_completion_script

        print(get_completion_script(prog_name="fullcycle", complete_var="_FULLCYCLE_COMPLETE",
                                    shell=argv[1]))
        raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    argv = _hoist_global_flags(list(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in argv
    if not debug:
        # Third-party import-time chatter (urllib3 via MLflow) is noise on a terminal.
        warnings.filterwarnings("ignore", message="SOCKS support in urllib3")
    _named_completion(argv)
    if _bare(argv):
        err_console.print("error: no command given. Run 'fullcycle --help' for the commands, or "
                          "'fullcycle demo' for the whole cycle on bundled data.",
                          highlight=False, soft_wrap=True)
        raise SystemExit(2)
    try:
        # Without standalone mode click returns (not raises) the code of `typer.Exit(n)`.
        code = app(args=argv, standalone_mode=False, prog_name="fullcycle")
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except FullcycleError as exc:
        if debug:
            raise
        from rich.markup import escape

        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                          soft_wrap=True)
        raise SystemExit(2) from None
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("[yellow]aborted[/]")
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except UsageError as exc:  # typo'd command, missing or malformed option
        if debug:
            raise
        err_console.print(f"error: {_usage_line(exc)}", highlight=False, soft_wrap=True,
                          markup=False)
        raise SystemExit(2) from None
    except ClickException as exc:
        exc.show()  # type: ignore[attr-defined]
        raise SystemExit(exc.exit_code) from None  # type: ignore[attr-defined]
    except Exception as exc:  # bugs
        if debug:
            raise
        err_console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
                          "Run again with --debug for the traceback, and please report it.",
                          highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
