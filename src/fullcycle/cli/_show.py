"""Rich renderings shared by commands: tables and the live training display."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.live import Live
from rich.table import Table

from fullcycle.cli._app import console

if TYPE_CHECKING:
    import pandas as pd


def frame_table(frame: pd.DataFrame, title: str | None = None, max_rows: int = 20) -> Table:
    table = Table(title=title, header_style="bold cyan")
    for col in frame.columns:
        table.add_column(str(col), justify="right" if frame[col].dtype.kind in "iuf" else "left")
    for _, row in frame.head(max_rows).iterrows():
        table.add_row(*[_fmt(v) for v in row])
    if len(frame) > max_rows:
        table.caption = f"{len(frame) - max_rows} more rows not shown"
    return table


def metrics_table(metrics: dict[str, float], title: str) -> Table:
    table = Table(title=title, header_style="bold cyan")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, _fmt(value))
    return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


class TrainDisplay:
    """Live line: trials done, best score so far, time left."""

    def __init__(self, metric: str, budget: float, greater_is_better: bool) -> None:
        self.metric, self.budget, self.greater = metric, budget, greater_is_better
        self.best: float | None = None
        self.best_name = ""
        self.start = time.perf_counter()
        self.live = Live(self._render(0, budget), console=console, transient=True,
                         refresh_per_second=4)

    def __enter__(self) -> TrainDisplay:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.live.__exit__(*exc)

    def __call__(self, candidate: Any, done: int, left: float) -> None:
        # the candidate knows its metric and direction; the config may not name a metric
        self.metric = getattr(candidate, "metric", "") or self.metric
        self.greater = getattr(candidate, "greater_is_better", self.greater)
        if self.best is None or (candidate.score > self.best) == self.greater:
            self.best, self.best_name = candidate.score, candidate.name
        self.live.update(self._render(done, left))

    def _render(self, done: int, left: float) -> Table:
        table = Table.grid(padding=(0, 2))
        best = "-" if self.best is None else f"{self.best:.4f} ({self.best_name})"
        table.add_row("[bold]training[/]", f"trials {done}", f"best {self.metric} {best}",
                      f"time left {max(left, 0):.0f}s of {self.budget:.0f}s")
        return table


def print_train_summary(metadata: dict[str, Any]) -> None:
    """After training: what the final model is and the over/underfitting diagnosis, in words
    (from Model.metadata written by fullcycle.automl.train)."""
    search = metadata.get("search") or {}
    if search:
        console.print(f"search: {search.get('finished', 0)} models scored, "
                      f"{search.get('pruned', 0)} pruned, {search.get('folds', 0)}-fold CV, "
                      f"{search.get('seconds', 0):.0f}s")
    for line in metadata.get("diagnosis") or []:
        console.print(f"[cyan]diagnosis:[/] {line}")
    threshold = metadata.get("threshold_tuning")
    if threshold:
        console.print(f"decision threshold {threshold['threshold']:.3f} "
                      f"(tuned for {threshold['objective']} on out-of-fold predictions)")
