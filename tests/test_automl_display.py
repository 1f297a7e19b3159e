"""The live training line: best score so far in the candidate's own direction, trials, time."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from fullcycle.cli._show import TrainDisplay


def _text(display: TrainDisplay, done: int, left: float) -> str:
    out = io.StringIO()
    Console(file=out, width=200).print(display._render(done, left))
    return out.getvalue()


def test_live_line_tracks_the_best_score_for_lower_is_better_metrics() -> None:
    display = TrainDisplay("score", 60, True)  # the CLI may not know the metric yet
    for name, score in [("linear", 3.2), ("lightgbm", 2.9), ("knn", 3.5)]:
        display(SimpleNamespace(name=name, score=score, metric="rmse",
                                greater_is_better=False), 1, 30.0)
    text = _text(display, 3, 12.4)
    assert "best rmse 2.9000 (lightgbm)" in text
    assert "trials 3" in text and "time left 12s of 60s" in text
