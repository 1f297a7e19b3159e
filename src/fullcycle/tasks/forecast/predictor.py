"""The fitted forecaster a forecast Model carries: the ensemble's forecasts from the end of the
training data, conformal half-widths, and the global model to redo its part when the caller
brings known-future covariates. Predicting is a lookup plus, at most, one LightGBM call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.errors import ConfigError, DataError
from fullcycle.tasks.forecast.data import Panel, parse_time, series_key
from fullcycle.tasks.forecast.gbm import GBMForecaster, _mase_scale

OUTPUT = ["prediction", "lo_80", "hi_80", "lo_95", "hi_95"]


@dataclass
class ForecastPredictor:
    panel: Panel
    horizon: int
    seasons: list[int]
    weights: dict[str, float]
    forecasts: dict[str, np.ndarray]  # model -> (n_series, horizon) from the end of the data
    quantiles: dict[int, np.ndarray]  # level -> per-step half-width in MASE-scale units
    gbm: GBMForecaster | None = None
    scales: np.ndarray = field(default_factory=lambda: np.empty(0))
    nonnegative: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    future: np.ndarray = field(default_factory=lambda: np.empty((0, 0), "datetime64[ns]"))

    def __post_init__(self) -> None:
        if not len(self.scales):
            self.scales = np.array([_mase_scale(y, self.seasons[0]) for y in self.panel.values])
        if not self.future.size:  # the forecast times, computed once: predict only slices
            self.future = np.vstack([
                self.panel.future_times(i, self.horizon).to_numpy(dtype="datetime64[ns]")
                for i in range(len(self.panel.ids))])

    @property
    def known_future(self) -> list[str]:
        return sorted(self.panel.known) if self.gbm is not None else []

    def _rows(self, series: list[str] | None) -> list[int]:
        if series is None:
            return list(range(len(self.panel.ids)))
        index = {s: i for i, s in enumerate(self.panel.ids)}
        unknown = [s for s in series if str(s) not in index]
        if unknown:
            raise DataError(f"unknown series {unknown[:5]}; the model knows {len(index)} series, "
                            f"e.g. {self.panel.ids[:3]}")
        return [index[str(s)] for s in series]

    def _gbm_with(self, future: pd.DataFrame, horizon: int) -> np.ndarray:
        """The global model's forecasts with the caller's known-future covariates."""
        assert self.gbm is not None  # only called when the ensemble holds it
        panel = self.panel
        missing = [c for c in self.known_future if c not in future.columns]
        if missing:
            raise DataError(f"the model needs known-future covariates {missing} for the "
                            f"forecast steps; add them to the input (columns: "
                            f"{list(future.columns)[:20]})")
        key = series_key(future, panel.id_columns)
        times = parse_time(future[panel.time_column])
        known = {c: [np.asarray(v, float).copy() for v in panel.known[c]]
                 for c in panel.known}
        for i, name in enumerate(panel.ids):
            grid = panel.future_times(i, self.horizon)
            part = future[key.to_numpy() == name]
            stamps = pd.DatetimeIndex(times[key.to_numpy() == name])
            for col in known:
                ahead = pd.Series(part[col].astype(float).to_numpy(), index=stamps)
                ahead = ahead[~ahead.index.duplicated()].reindex(grid)
                base = known[col][i][: len(panel.values[i])]
                fill = ahead.ffill().fillna(base[-1] if len(base) else 0.0).to_numpy()
                known[col][i] = np.concatenate([base, fill])
        view = Panel(**{**panel.__dict__, "known": known})
        return self.gbm.predict(view, view.lengths)[:, :horizon]

    def predict(self, *, horizon: int | None = None, series: list[str] | None = None,
                future: pd.DataFrame | None = None, stored: bool = False) -> pd.DataFrame:
        """Forecasts of every (or the named) series. `stored`: without future covariates, the
        forecasts made at training (covariates carried forward) instead of an error — for
        reports, never for the batch or the server."""
        h = self.horizon if horizon is None else int(horizon)
        if h < 1 or h > self.horizon:
            raise ConfigError(f"horizon {h} is outside 1..{self.horizon}, the horizon this model "
                              "was trained for; retrain with a longer problem.horizon")
        parts = dict(self.forecasts)
        if "gbm" in self.weights and self.known_future and not (stored and future is None):
            if future is None:
                raise DataError(f"the model needs known-future covariates {self.known_future} "
                                "for the forecast steps; pass them with --input FUTURE.csv "
                                "(series id, time and those columns)")
            parts["gbm"] = self._gbm_with(future, self.horizon)
        point = sum(w * parts[n][:, :h] for n, w in self.weights.items())
        rows = self._rows(series)
        return self._frame(np.asarray(point)[rows], rows, h)

    def _frame(self, point: np.ndarray, rows: list[int], h: int) -> pd.DataFrame:
        panel = self.panel
        out: dict[str, Any] = {}
        for col in panel.id_columns:
            out[col] = np.repeat(panel.id_values[col].to_numpy()[rows], h)
        future = getattr(self, "future", None)  # absent from predictors pickled before it
        if future is None or not future.size:
            future = np.vstack([panel.future_times(i, self.horizon).to_numpy(
                dtype="datetime64[ns]") for i in range(len(panel.ids))])
        stamps = future[rows, :h].ravel()
        out[panel.time_column] = pd.DatetimeIndex(stamps).strftime(_iso(panel.freq))
        flat = point.ravel()
        scale = np.repeat(self.scales[rows], h)
        out["prediction"] = flat
        for level in (80, 95):
            half = np.tile(self.quantiles[level][:h], len(rows)) * scale
            lo, hi = flat - half, flat + half
            if self.nonnegative:
                lo = np.maximum(lo, 0.0)
            out[f"lo_{level}"], out[f"hi_{level}"] = lo, hi
        if self.nonnegative:
            out["prediction"] = np.maximum(flat, 0.0)
        frame = pd.DataFrame(out)
        if not panel.id_columns:
            frame.insert(0, "series_id", "all")
        return frame


def _iso(freq: str) -> str:
    base = pd.tseries.frequencies.to_offset(freq).rule_code.split("-")[0]
    return "%Y-%m-%dT%H:%M:%S" if base in ("h", "min", "s", "ms") else "%Y-%m-%d"
