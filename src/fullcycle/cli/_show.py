"""What commands print: tables, the `--json` object, and the live training display.

Tables have box characters only on a terminal; piped output gets plain aligned columns."""

from __future__ import annotations

import json
import math
import sys
from typing import TYPE_CHECKING, Any

from rich.table import Table

from fullcycle.cli._app import OUTPUT, console
from fullcycle.progress import TrainProgress

if TYPE_CHECKING:
    import pandas as pd

JSON_SCHEMA_VERSION = 1


def new_table(title: str | None = None, **kwargs: Any) -> Table:
    """A rich Table that is plain (no box characters) when stdout is not a terminal."""
    if not console.is_terminal:
        kwargs.setdefault("box", None)
        kwargs.setdefault("show_edge", False)
        kwargs.setdefault("pad_edge", False)
    kwargs.setdefault("header_style", "bold cyan")
    return Table(title=title, **kwargs)


def frame_table(frame: pd.DataFrame, title: str | None = None, max_rows: int = 20) -> Table:
    table = new_table(title)
    for col in frame.columns:
        table.add_column(str(col), justify="right" if frame[col].dtype.kind in "iuf" else "left")
    for _, row in frame.head(max_rows).iterrows():
        table.add_row(*[_fmt(v) for v in row])
    if len(frame) > max_rows:
        table.caption = f"{len(frame) - max_rows} more rows not shown"
    return table


def metrics_table(metrics: dict[str, float], title: str) -> Table:
    table = new_table(title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, _fmt(value))
    return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def result(text: str) -> None:
    """A result line, which `--quiet` keeps (with `--json` it goes to stderr)."""
    if OUTPUT.quiet and not OUTPUT.json:  # the console is silenced
        print(_plain(text))
        return
    console.print(text, highlight=False, soft_wrap=True)


def _plain(text: str) -> str:
    from rich.text import Text

    return Text.from_markup(text).plain


def emit(command: str, payload: dict[str, Any]) -> None:
    """`--json`: one object on stdout, `{"command": ..., "version": 1, ...payload}`. The shapes
    are documented in docs/cli-json.md and checked by tests/test_cli_conventions.py."""
    if not OUTPUT.json:
        return
    body = {"command": command, "schema_version": JSON_SCHEMA_VERSION, **payload}
    sys.stdout.write(json.dumps(_jsonable(body), indent=2, default=str) + "\n")
    sys.stdout.flush()


def _jsonable(value: Any) -> Any:
    """NaN and infinities become null (JSON has neither); numpy scalars become Python ones."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_jsonable(row) for row in frame.to_dict(orient="records")]


class TrainDisplay(TrainProgress):
    """Training progress in the CLI (fullcycle.progress.TrainProgress on the CLI's console).

    On a terminal: a bar over the time budget (or over max_trials), trials done, the best score
    so far and the candidate being fitted, redrawn 4 times a second from the clock, not only
    when a trial ends. Not on a terminal (CI, notebooks, pipes) or with --verbose: one log line
    per finished candidate. Nothing with --quiet; on stderr with --json."""

    def __init__(self, metric: str, budget: float, greater_is_better: bool,
                 max_trials: int | None = None) -> None:
        super().__init__(budget, metric=metric, greater_is_better=greater_is_better,
                         max_trials=max_trials, console=console,
                         live=console.is_terminal and not OUTPUT.quiet,
                         log=not OUTPUT.quiet and (OUTPUT.verbose or not console.is_terminal))


def attach_reports(project: Any, version: Any, paths: list[Any], folder: str) -> None:
    """Log reports as artifacts of the MLflow run of the model version they describe, so the
    MLflow UI shows them with that run. A model loaded from a folder has no run (nothing to
    do); a store that refuses is a note, not a failure of the command."""
    from pathlib import Path

    files = [Path(p) for p in paths if p and Path(p).is_file()]
    if not files or not str(version).isdigit():
        return
    try:
        run_id = project.registry.attach(str(version), files, folder)
    except Exception as exc:  # the report exists; MLflow is the extra copy
        console.print(f"[yellow]note:[/] reports not logged to MLflow: {exc}", highlight=False)
        return
    if OUTPUT.verbose:
        console.print(f"logged {len(files)} file(s) to MLflow run {run_id} ({folder}/)")


def print_train_summary(metadata: dict[str, Any]) -> None:
    """After training: what the final model is and the over/underfitting diagnosis, in words
    (from Model.metadata written by fullcycle.tasks.tabular.search.train)."""
    search = metadata.get("search") or {}
    if search:
        console.print(f"search: {search.get('finished', 0)} models scored, "
                      f"{search.get('pruned', 0)} pruned, {search.get('folds', 0)}-fold CV, "
                      f"{search.get('seconds', 0):.0f}s")
    for failure in search.get("failures") or []:  # e.g. a family whose extra is not installed
        from rich.markup import escape

        console.print(f"[yellow]note:[/] {escape(str(failure))}", highlight=False,
                      soft_wrap=True)
    for line in metadata.get("diagnosis") or []:
        console.print(f"[cyan]diagnosis:[/] {line}", soft_wrap=True)
    threshold = metadata.get("threshold_tuning")
    if threshold:
        console.print(f"decision threshold {threshold['threshold']:.3f} "
                      f"(tuned for {threshold['objective']} on out-of-fold predictions)")


def print_next_steps(workspace: Any, version: Any, paths: dict[str, Any]) -> None:
    """The end of `train`: where everything is and what to run next."""
    ws = str(workspace.root)
    console.print(f"\n[bold]workspace[/] {ws}")
    for name, path in paths.items():
        console.print(f"  {name:<12} {path}", highlight=False, soft_wrap=True)
    console.print(f"  {'mlflow':<12} mlflow ui --backend-store-uri {workspace.tracking_uri}",
                  highlight=False, soft_wrap=True)
    console.print("[bold]next[/]", highlight=False)
    for command, why in (
            (f"fullcycle evaluate -w {ws}", "metrics with intervals, charts, slices"),
            (f"fullcycle predict -w {ws} --input new.csv --output scored.csv", "score a file"),
            (f"fullcycle serve -w {ws}", "HTTP API with /docs"),
            (f"fullcycle models show {version} -w {ws}", "what was recorded")):
        console.print(f"  {command:<60} # {why}", highlight=False, soft_wrap=True)
