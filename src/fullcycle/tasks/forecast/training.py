"""Training a forecast Model: panel, search within the budget, ensemble, card."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fullcycle.card import ModelCard, Provenance, TrainingSummary
from fullcycle.errors import ConfigError
from fullcycle.model import Model
from fullcycle.taskkind import TaskKind, TrainResult
from fullcycle.tasks.forecast.data import Panel, build_panel, season_lengths
from fullcycle.tasks.forecast.predictor import ForecastPredictor
from fullcycle.tasks.forecast.search import Searcher

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset

SEARCH_SHARE = 0.85  # of the time budget; the rest covers reading, the card and saving
FAMILIES = ("naive", "seasonal_naive", "auto_theta", "auto_ets", "auto_ces", "auto_arima",
            "mstl", "gbm")


def panel_for(frame: pd.DataFrame, config: Config, *, target: str,
              time_format: str | None = None) -> Panel:
    p = config.problem
    if not p.time_column:
        raise ConfigError("forecast needs problem.time_column (--time-column)")
    return build_panel(frame, target=target, time_column=p.time_column,
                       id_columns=list(p.series_id), freq=p.frequency,
                       time_format=time_format, options=dict(p.options))


def fit_predictor(panel: Panel, config: Config, budget: float,
                  progress: Callable[[str], None] | None = None
                  ) -> tuple[ForecastPredictor, Any]:
    """Search and final fits on a panel: the predictor and the search outcome."""
    p = config.problem
    if not p.horizon:
        raise ConfigError("forecast needs problem.horizon (--horizon): how many steps ahead")
    seasons = season_lengths(panel.freq, p.season_length)
    wanted = [f for f in config.train.families if f in FAMILIES]
    searcher = Searcher(panel=panel, horizon=int(p.horizon), seasons=seasons, budget=budget,
                        seed=config.seed, families=wanted or None, progress=progress)
    outcome, finals, gbm = searcher.run()
    nonneg = bool(all(np.nanmin(y) >= 0 for y in panel.values))
    info = {"leaderboard": outcome.leaderboard, "coverage_backtest": outcome.coverage,
            "holdout": outcome.holdout, "skipped": outcome.skipped,
            "windows": int(outcome.windows.window.max()),
            "backtest_mase": min(r["mase"] for r in outcome.leaderboard
                                 if r["model"] == "ensemble")}
    predictor = ForecastPredictor(panel=panel, horizon=int(p.horizon), seasons=seasons,
                                  weights=outcome.weights, forecasts=finals,
                                  quantiles=outcome.quantiles, gbm=gbm, nonnegative=nonneg,
                                  info=info)
    return predictor, outcome


def train_forecaster(kind: TaskKind, dataset: Dataset, config: Config, *, reports: Path,
                     progress: Callable[..., None] | None = None) -> TrainResult:
    t0 = time.perf_counter()
    p = config.problem
    target = dataset.schema.target
    if target is None:
        raise ConfigError("forecast needs --target: the column to forecast")
    fmt = None
    if p.time_column and p.time_column in dataset.schema.names:
        fmt = dataset.schema[p.time_column].format
    panel = panel_for(dataset.frame, config, target=target, time_format=fmt)

    def say(text: str) -> None:
        if progress is not None:
            try:
                progress(text)
            except TypeError:
                pass

    budget = float(config.train.time_budget) * SEARCH_SHARE - (time.perf_counter() - t0)
    predictor, outcome = fit_predictor(panel, config, max(budget, 5.0), say)
    hold = outcome.holdout
    test = {k: float(hold[k]) for k in ("mase", "smape", "rmse", "wape", "coverage_80",
                                        "coverage_95", "mase_vs_seasonal_naive",
                                        "seasonal_naive_mase") if k in hold}
    board = pd.DataFrame(outcome.leaderboard)
    seasons = predictor.seasons
    task_info = {"horizon": predictor.horizon, "frequency": panel.freq, "seasons": seasons,
                 "time_column": panel.time_column, "series_id": panel.id_columns,
                 "series": len(panel.ids), "known_future": predictor.known_future,
                 "past_only": sorted(panel.past), "static": list(panel.static.columns),
                 "ensemble": outcome.weights, "filled": panel.filled,
                 "backtest_windows": int(outcome.windows.window.max()),
                 "backtest_coverage": outcome.coverage,
                 "backtest_mase": predictor.info["backtest_mase"]}
    seconds = time.perf_counter() - t0
    card = ModelCard(
        kind=kind.name, task="forecast", target=target, metric="mase",
        schema=dataset.schema, success=dict(p.success),
        provenance=Provenance(data_fingerprint=dataset.fingerprint, data_source=dataset.source,
                              seed=config.seed, rows_train=int(len(dataset.frame))),
        training=TrainingSummary(
            best_candidate=_describe(outcome.weights), family="forecast ensemble",
            cv_score=float(predictor.info["backtest_mase"]), test_metrics=test,
            leaderboard=outcome.leaderboard,
            search={"trials": len(outcome.backtest), "finished": len(outcome.backtest),
                    "folds": task_info["backtest_windows"], "seconds": round(seconds, 2),
                    "train_seconds": round(seconds, 2), "skipped": outcome.skipped,
                    "validation": "rolling-origin backtest, windows of `horizon` steps"}),
        input_example={}, task_info=task_info)
    model = Model(predictor, card)
    reports.mkdir(parents=True, exist_ok=True)
    files = {"candidates": reports / "candidates.json", "forecast": reports / "forecast.json"}
    files["candidates"].write_text(json.dumps(
        [{"model": r["model"], "mean": r["mase"]} for r in outcome.leaderboard]))
    files["forecast"].write_text(json.dumps({"holdout": hold, "backtest": outcome.leaderboard,
                                             "coverage": outcome.coverage}, default=float))
    notes = list(panel.notes)
    notes.append(f"ensemble {_describe(outcome.weights)}; latest-window MASE "
                 f"{test.get('mase', float('nan')):.3f} vs seasonal naive "
                 f"{test.get('seasonal_naive_mase', float('nan')):.3f}; 95% coverage "
                 f"{test.get('coverage_95', float('nan')):.1%}")
    if outcome.skipped:
        notes.append(f"not fitted within the time budget: {', '.join(outcome.skipped)}")
    _, holdout = kind.split_recent(dataset.frame, config)  # the latest window, for evaluate
    holdout.attrs.clear()
    return TrainResult(model=model, leaderboard=board, test_metrics=test,
                       verdict=_verdict(p.success, test), holdout=holdout, notes=notes,
                       report_files=files)


def _describe(weights: dict[str, float]) -> str:
    return " + ".join(f"{w:.2f}·{n}" for n, w in sorted(weights.items(), key=lambda x: -x[1]))


def _verdict(success: dict[str, str], metrics: dict[str, float]) -> dict[str, Any]:
    import operator
    import re

    ops = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
    criteria = []
    for name, rule in success.items():
        match = re.match(r"\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*$", rule)
        value = metrics.get(name)
        ok = bool(match and value is not None and ops[match.group(1)](value, float(match.group(2))))
        criteria.append({"metric": name, "rule": rule, "value": value, "passed": ok})
    return {"passed": all(c["passed"] for c in criteria), "criteria": criteria}
