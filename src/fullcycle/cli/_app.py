"""The Typer app, the consoles, and the options every command shares.

Output conventions (one place, so every command follows them):
- `--json` (any command that reports): one JSON object is written to stdout at the end (see
  `_show.emit`, docs/cli-json.md); the human output goes to stderr; errors stay one line there.
- `--quiet`: only errors and the final result lines; `--verbose`: notes and per-candidate lines.
- When stdout is not a terminal, tables have no box characters and lines are not wrapped.
These flags may be given before or after the command (`fullcycle train --json` or
`fullcycle --json train`); `main()` moves them in front of the command."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from fullcycle.config import Config

app = typer.Typer(
    name="fullcycle", no_args_is_help=False, add_completion=True, pretty_exceptions_enable=False,
    help="From raw data to a versioned, served and monitored model.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _make_console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    # Piped (CI logs, notebooks, `| tee`): no hard wrap at 80 columns, no colour codes.
    return Console(stderr=stderr, soft_wrap=not tty, width=None if tty else 200,
                   highlight=tty)


console = _make_console(stderr=False)
err_console = _make_console(stderr=True)


@dataclass
class Output:
    """How much to print, and in which form; set once from the global flags."""

    json: bool = False
    quiet: bool = False
    verbose: bool = False

    @property
    def tty(self) -> bool:
        return console.is_terminal and not self.json


OUTPUT = Output()

# Flags that belong to the whole program but are accepted after the command name too.
GLOBAL_FLAGS = {"--json": "json", "--quiet": "quiet", "-q": "quiet", "--verbose": "verbose",
                "-v": "verbose", "--debug": "debug"}


def set_output(*, json: bool = False, quiet: bool = False, verbose: bool = False) -> None:
    OUTPUT.json, OUTPUT.quiet, OUTPUT.verbose = json, quiet, verbose
    # JSON owns stdout: the human output moves to stderr (plain, as when piped);
    # --quiet keeps only what commands print with `result()`.
    if json:
        console.file = sys.stderr
        console.soft_wrap, console.no_color = True, True
    console.quiet = quiet


Workspace = Annotated[Path, typer.Option("--workspace", "-w", help="project folder (created if "
                                         "missing): config, MLflow store, models, reports")]
ModelRef = Annotated[str, typer.Option(
    "--model", "-m",
    help="model reference: champion, challenger, a version number, models:/NAME@ALIAS, or a path")]
Debug = Annotated[bool, typer.Option("--debug", help="show tracebacks")]


def _version(value: bool) -> None:
    if value:
        from fullcycle import __version__

        typer.echo(f"fullcycle {__version__}")
        raise typer.Exit()


@app.callback(epilog="Run `fullcycle COMMAND --help` for a command's options; `fullcycle demo` "
              "runs the whole cycle on bundled data.")
def _root(
    debug: Debug = False,
    json_: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout "
                                        "instead of tables (train, evaluate, models, monitor, "
                                        "validate, inspect)")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print only the result and "
                                        "errors")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="print notes and a line per "
                                          "candidate")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """fullcycle: define, collect, explore, train, evaluate, deploy and monitor a model."""
    set_output(json=json_, quiet=quiet, verbose=verbose)


def load_config(config: Path | None, workspace: Path, *, prefer_cwd: bool = False) -> Config:
    """The config a command uses: --config; else (for commands that start a project, like
    `train`) ./fullcycle.yaml as written by `fullcycle init`; else the workspace's saved
    config; else ./fullcycle.yaml; else the defaults."""
    from fullcycle.config import Config

    if config is not None:
        return Config.load(config)
    local, saved = Path("fullcycle.yaml"), workspace / "fullcycle.yaml"
    order = [local, saved] if prefer_cwd else [saved, local]
    for path in order:
        if path.is_file():
            if path == local and not OUTPUT.quiet:
                err_console.print(f"[dim]config: {path.resolve()}[/]", highlight=False)
            return Config.load(path)
    return Config()  # type: ignore[call-arg]  # pydantic fields have defaults
