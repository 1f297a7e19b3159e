"""Training progress for the Python API and the CLI: the callback `Project.train` takes.

`Project.train(on_candidate=callback)` calls `callback(candidate, done, seconds_left)` after
each finished candidate (`candidate.name`, `.family`, `.params`, `.fold_scores`, `.score`,
`.std`, `.metric`, `.greater_is_better`) and, if the callback has one, `callback.started(name,
family)` when a candidate starts fitting. `TrainProgress()` is such a callback: a bar over the
time budget (or over max_trials) with trials done, the best score so far and the candidate
being fitted, redrawn 4 times a second from the clock; in Jupyter it draws in the cell's
output. `TrainProgress(live=False)` prints one line per finished candidate instead (logs, CI).

    from fullcycle.progress import TrainProgress
    with TrainProgress(budget=config.train.time_budget) as progress:
        report = project.train(on_candidate=progress)
"""

from __future__ import annotations

import time
from typing import Any


class TrainProgress:
    """A progress callback for `Project.train` (see the module docstring)."""

    def __init__(self, budget: float = 60.0, *, metric: str = "score",
                 greater_is_better: bool = True, max_trials: int | None = None,
                 live: bool | None = None, log: bool | None = None, console: Any = None) -> None:
        from rich.console import Console

        self.console = console or Console()
        self.metric, self.budget, self.greater = metric, budget, greater_is_better
        self.max_trials = max_trials
        self.best: float | None = None
        self.best_name = ""
        self.current = ""
        self.done = 0
        self.start = time.perf_counter()
        interactive = self.console.is_terminal or self.console.is_jupyter
        self.live_mode = interactive if live is None else live
        self.log_mode = (not self.live_mode) if log is None else log
        self.live: Any = None
        if self.live_mode:
            from rich.live import Live

            self.live = Live(self, console=self.console, transient=not self.console.is_jupyter,
                             refresh_per_second=4)

    def __enter__(self) -> TrainProgress:
        self.start = time.perf_counter()
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)

    def started(self, name: str, family: str = "") -> None:
        """Called by the search when a candidate starts fitting."""
        self.current = name

    def __call__(self, candidate: Any, done: int, left: float) -> None:
        # the candidate knows its metric and direction; the config may not name a metric
        self.metric = getattr(candidate, "metric", "") or self.metric
        self.greater = getattr(candidate, "greater_is_better", self.greater)
        if self.best is None or (candidate.score > self.best) == self.greater:
            self.best, self.best_name = candidate.score, candidate.name
        self.done, self.current = done, ""
        if self.log_mode:
            spread = getattr(candidate, "std", None)
            spread_text = f" ±{spread:.4f}" if isinstance(spread, float) else ""
            self.console.print(
                f"[{time.perf_counter() - self.start:5.0f}s] candidate {done}: "
                f"{candidate.name} {self.metric} {candidate.score:.4f}{spread_text} · best "
                f"{self.best:.4f} ({self.best_name})", highlight=False, soft_wrap=True)

    def _time_left(self) -> float:
        return max(self.budget - (time.perf_counter() - self.start), 0.0)

    def __rich__(self) -> Any:
        return self._render(self.done, self._time_left())

    def _render(self, done: int, left: float) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        if self.max_trials:
            bar = ProgressBar(total=self.max_trials, completed=min(done, self.max_trials),
                              width=24)
            clock = f"{done}/{self.max_trials} candidates"
        else:
            bar = ProgressBar(total=max(self.budget, 1e-9), completed=self.budget - left,
                              width=24)
            clock = f"time left {max(left, 0):.0f}s of {self.budget:.0f}s"
        best = "-" if self.best is None else f"{self.best:.4f} ({self.best_name})"
        table = Table.grid(padding=(0, 2))
        row: list[Any] = ["[bold]training[/]", bar, clock, f"trials {done}",
                          f"best {self.metric} {best}"]
        if self.current:
            row.append(f"[dim]fitting {self.current}[/]")
        table.add_row(*row)
        return table


def notebook_progress(budget: float, max_trials: int | None = None) -> TrainProgress | None:
    """In Jupyter, the progress `Project.train` shows when it is given no callback: a line per
    finished candidate in the cell's output (no live widget to start or stop). None elsewhere:
    a script stays quiet unless it asks."""
    from rich.console import Console

    console = Console()
    if not console.is_jupyter:
        return None
    return TrainProgress(budget, max_trials=max_trials, live=False, log=True, console=console)
