"""The forecast task kind: series in long format in, forecasts with intervals out.

    fullcycle train sales.csv --task forecast --target Weekly_Sales --time-column Date
        --series-id Store --horizon 8 [--time-budget 300] --workspace ws
    fullcycle predict --workspace ws --output forecast.csv [--horizon 4] [--input future.csv]

Training (training.py, search.py): rolling-origin backtests of naive, seasonal naive,
statsforecast's models and a global LightGBM within the budget, an ensemble chosen on them,
conformal 80%/95% intervals from their residuals. The latest window, scored with an ensemble
chosen on the older ones, is the test estimate. Monitoring compares the error on actuals that
arrive with the backtest's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from fullcycle.errors import ConfigError, DataError
from fullcycle.taskkind import (
    Detection,
    MonitorResult,
    PredictOptions,
    ReportSection,
    Route,
    TaskKind,
    TrainResult,
)
from fullcycle.tasks.forecast.data import parse_time, series_key
from fullcycle.tasks.forecast.metrics import METRIC_NAMES, full_report, register_metrics
from fullcycle.tasks.forecast.models import seasonal_naive
from fullcycle.tasks.forecast.refit import forecast_from
from fullcycle.tasks.forecast.report import eda_sections, evaluation_sections
from fullcycle.tasks.forecast.serving import ForecastFeedback, routes
from fullcycle.tasks.forecast.training import train_forecaster

if TYPE_CHECKING:
    from pydantic import BaseModel

    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset

Model = Any
register_metrics()
DEGRADED = 1.3  # alert when the latest window's MASE exceeds the backtest's by this factor


class ForecastKind(TaskKind):
    name: ClassVar[str] = "forecast"
    tasks: ClassVar[tuple[str, ...]] = ("forecast",)
    summary: ClassVar[str] = ("forecasts of one or many time series with intervals: "
                              "--time-column, --horizon, [--series-id]")
    row_wise: ClassVar[bool] = False

    def detect(self, frame: pd.DataFrame, config: Config) -> Detection | None:
        p = config.problem
        if p.horizon and p.time_column:
            return Detection(self.name, "forecast", 0.9,
                             f"horizon {p.horizon} and time column {p.time_column!r} given")
        return None

    def check_config(self, config: Config, columns: list[str]) -> None:
        p = config.problem
        if not p.time_column:
            raise ConfigError("forecast needs problem.time_column (--time-column): the column "
                              "of dates or times")
        if not p.horizon:
            raise ConfigError("forecast needs problem.horizon (--horizon): how many steps "
                              "ahead to forecast")
        for col in [p.time_column, *p.series_id]:
            if col not in columns:
                raise ConfigError(f"forecast column {col!r} (problem.time_column / series_id) "
                                  f"is not a column of the data (columns: "
                                  f"{', '.join(columns[:20])})")

    def metrics(self, task: str) -> list[str]:
        return list(METRIC_NAMES)

    def default_metric(self, task: str) -> str:
        return "mase"

    def train(self, dataset: Dataset, config: Config, *, reports: Path,
              progress: Callable[..., None] | None = None) -> TrainResult:
        return train_forecaster(self, dataset, config, reports=reports, progress=progress)

    def predict(self, model: Model, data: pd.DataFrame | None,
                options: PredictOptions) -> pd.DataFrame:
        options.refuse(("top_k", "include_seen"), "--top-k and --include-seen are for "
                       "recommendations; a forecast takes --horizon")
        return model.predictor.predict(horizon=options.horizon, future=data)

    def output_columns(self, model: Model) -> list[str]:
        info = model.card.task_info
        ids = list(info.get("series_id") or ["series_id"])
        return [*ids, info["time_column"], "prediction", "lo_80", "hi_80", "lo_95", "hi_95"]

    def routes(self) -> list[Route]:
        return routes()

    def feedback_request(self) -> type[BaseModel] | None:
        return ForecastFeedback

    def evaluate(self, model: Model, data: pd.DataFrame, config: Config
                 ) -> tuple[dict[str, float], list[ReportSection]]:
        predictor = model.predictor
        actuals = _actuals(predictor, data)
        if actuals is None:  # the saved holdout lies inside the training data: stored figures
            report = predictor.info["holdout"]
            source = "latest backtest window (" + str(report.get("note", "")) + ")"
        else:
            report = actuals
            source = str(data.attrs.get("source") or "actuals")
        metrics = {k: float(report[k]) for k in ("mase", "smape", "rmse", "wape",
                                                 "coverage_80", "coverage_95",
                                                 "mase_vs_seasonal_naive") if k in report}
        return metrics, evaluation_sections(predictor, report, source)

    def eda_sections(self, frame: pd.DataFrame, config: Config) -> list[ReportSection]:
        return eda_sections(frame, config)

    def monitor(self, model: Model, recent: pd.DataFrame, config: Config) -> MonitorResult:
        predictor = model.predictor
        if recent.attrs.get("prediction_log"):
            recent = _feedback_frame(predictor, recent)
        report = _actuals(predictor, recent)
        reference = float(predictor.info.get("backtest_mase", float("nan")))
        if report is None:
            signals: dict[str, Any] = {"actuals": 0, "backtest_mase": reference}
            alerts = [{"kind": "quality", "message": "no actuals fall in the forecast period "
                       f"of this model (it forecasts {predictor.horizon} steps after the "
                       "training data)"}]
        else:
            signals = {"actuals": int(report["n_actuals"]), "mase": report["mase"],
                       "backtest_mase": reference, "coverage_95": report.get("coverage_95"),
                       "seasonal_naive_mase": report.get("seasonal_naive_mase")}
            alerts = []
            if np.isfinite(reference) and report["mase"] > DEGRADED * reference:
                alerts.append({"kind": "performance", "message": (
                    f"MASE on the latest actuals {report['mase']:.3f} is more than "
                    f"{DEGRADED:.1f}x the backtest's {reference:.3f}: retrain")})
        rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in signals.items())
        section = ReportSection("forecast", "Forecast accuracy on actuals",
                                f"<table>{rows}</table>", data=signals)
        return MonitorResult(signals=signals, alerts=alerts, sections=[section])

    def split_recent(self, frame: pd.DataFrame, config: Config
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The last `horizon` points of every series are the window both models are scored
        on; the rest trains the challenger (and is the champion's history for its score)."""
        p = config.problem
        if not p.time_column or not p.horizon:
            raise ConfigError("retraining a forecaster needs problem.time_column and horizon")

        key = series_key(frame, list(p.series_id))
        order = parse_time(frame[p.time_column]).rank(method="first")
        rank = order.groupby(key).rank(ascending=False, method="first")
        held = (rank <= p.horizon).to_numpy()
        train, test = frame[~held], frame[held].copy()
        test.attrs["history"] = train
        return train, test

    def score(self, model: Model, holdout: pd.DataFrame, config: Config) -> dict[str, float]:
        """Metrics of `model`'s recipe (members and weights) forecasting `holdout` from the
        history before it (split_recent's), so champion and challenger see the same data."""
        predictor = model.predictor
        history = holdout.attrs.get("history")
        if history is not None and len(history):
            predictor = forecast_from(predictor, history, config)
        report = _actuals(predictor, holdout)
        if report is None:
            raise DataError("the holdout has no actuals in the model's forecast period")
        return {k: float(report[k]) for k in ("mase", "smape", "rmse", "wape",
                                              "coverage_80", "coverage_95") if k in report}


def _actuals(predictor: Any, data: pd.DataFrame) -> dict[str, Any] | None:
    """Forecasts against actuals in `data` (rows in the forecast period), or None."""
    panel = predictor.panel
    missing = [c for c in [*panel.id_columns, panel.time_column, panel.target]
               if c not in data.columns]
    if missing:
        raise DataError(f"the actuals have no column(s) {missing} (columns: "
                        f"{list(data.columns)[:20]})")
    h = predictor.horizon
    fc = predictor.predict(future=data if predictor.known_future else None)
    key = series_key(data, panel.id_columns).to_numpy()
    times = parse_time(data[panel.time_column]).to_numpy()
    values = pd.to_numeric(data[panel.target], errors="coerce").to_numpy(float)
    index = {s: i for i, s in enumerate(panel.ids)}
    truth = np.full((len(panel.ids), h), np.nan)
    for k, t, v in zip(key, times, values, strict=True):
        i = index.get(str(k))
        if i is None:
            continue
        grid = panel.future_times(i, h)
        pos = grid.get_indexer([pd.Timestamp(t)])[0]
        if pos >= 0:
            truth[i, pos] = v
    if not np.isfinite(truth).any():
        return None
    shape = (len(panel.ids), h)
    point = fc["prediction"].to_numpy(float).reshape(shape)
    bands = {lv: (fc[f"lo_{lv}"].to_numpy(float).reshape(shape),
                  fc[f"hi_{lv}"].to_numpy(float).reshape(shape)) for lv in (80, 95)}
    naive = seasonal_naive(panel.values, h, predictor.seasons[0])
    rows = np.isfinite(truth).any(axis=1)
    report = full_report(truth[rows], point[rows], naive[rows], predictor.scales[rows],
                         {lv: (lo[rows], hi[rows]) for lv, (lo, hi) in bands.items()})
    report["n_actuals"] = int(np.isfinite(truth).sum())
    report["series"] = [int(i) for i in np.flatnonzero(rows)]
    return report


def _feedback_frame(predictor: Any, log: pd.DataFrame) -> pd.DataFrame:
    """Actuals from the prediction log's feedback ({series_id, time, value})."""
    panel = predictor.panel
    rows = []
    for label in log.get("label", pd.Series(dtype=object)).dropna():
        if isinstance(label, dict) and {"series_id", "time", "value"} <= set(label):
            rows.append(label)
    frame = pd.DataFrame(rows, columns=["series_id", "time", "value"])
    parts = frame["series_id"].astype(str).str.split("|", expand=True) if len(frame) else \
        pd.DataFrame(columns=range(max(len(panel.id_columns), 1)))
    out = pd.DataFrame({panel.time_column: frame["time"], panel.target: frame["value"]})
    for j, col in enumerate(panel.id_columns):
        out[col] = parts[j] if j in parts else np.nan
    return out
