"""Per-series forecasters: the baselines in numpy and statsforecast's statistical models.

Every forecaster maps a list of histories (float arrays, oldest first) and a horizon to an
(n_series, horizon) array of point forecasts. Intervals are not asked of the models: they come
from the backtest residuals (conformal), the same way for every model and ensemble."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Forecaster = Callable[[list[np.ndarray], int], np.ndarray]


def naive(histories: list[np.ndarray], horizon: int) -> np.ndarray:
    return np.array([np.full(horizon, y[-1]) for y in histories], dtype=float)


def seasonal_naive(histories: list[np.ndarray], horizon: int, season: int) -> np.ndarray:
    """The value one season back; the last value for series shorter than a season."""
    out = np.empty((len(histories), horizon))
    steps = np.arange(horizon)
    for i, y in enumerate(histories):
        if season > 1 and len(y) >= season:
            out[i] = y[len(y) - season + steps % season]
        else:
            out[i] = y[-1]
    return out


def drift(histories: list[np.ndarray], horizon: int) -> np.ndarray:
    steps = np.arange(1, horizon + 1)
    out = np.empty((len(histories), horizon))
    for i, y in enumerate(histories):
        slope = (y[-1] - y[0]) / (len(y) - 1) if len(y) > 1 else 0.0
        out[i] = y[-1] + slope * steps
    return out


@dataclass(frozen=True)
class StatSpec:
    """A statsforecast model by name, with what it needs to be worth fitting."""

    name: str
    min_length: int  # shorter histories get the fallback (seasonal naive)
    cost: float  # relative cost per series, to order and budget the search


def stat_specs(seasons: list[int]) -> list[StatSpec]:
    """The statistical candidates for these seasonalities, cheapest first."""
    m = seasons[0]
    specs = [StatSpec("auto_theta", 4, 1.0), StatSpec("auto_ets", 4, 3.0),
             StatSpec("auto_ces", 4, 3.0)]
    if m <= 12:
        specs.append(StatSpec("auto_arima", 8, 8.0))
    if m >= 24 or len(seasons) > 1:
        specs.insert(0, StatSpec("mstl", 2 * max(seasons[:2]) + 1, 2.0))
    return specs


def _model(name: str, seasons: list[int]) -> object:
    from statsforecast.models import (
        MSTL,
        AutoARIMA,
        AutoCES,
        AutoETS,
        AutoTheta,
    )

    m = seasons[0]
    if name == "auto_ets":
        return AutoETS(season_length=m)
    if name == "auto_theta":
        return AutoTheta(season_length=m)
    if name == "auto_ces":
        return AutoCES(season_length=m)
    if name == "auto_arima":
        return AutoARIMA(season_length=m)
    if name == "mstl":
        return MSTL(season_length=seasons[:2], trend_forecaster=AutoETS(model="ZZN"))
    raise KeyError(name)


def stat_forecast(spec: StatSpec, histories: list[np.ndarray], horizon: int,
                  seasons: list[int], n_jobs: int = 1) -> np.ndarray:
    """Point forecasts of one statsforecast model; series too short for it, and series where
    it fails, get seasonal naive."""
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive

    out = seasonal_naive(histories, horizon, seasons[0])
    fit = [i for i, y in enumerate(histories) if len(y) >= spec.min_length]
    if not fit:
        return out
    lengths = np.array([len(histories[i]) for i in fit])
    frame = pd.DataFrame({
        "unique_id": np.repeat(np.arange(len(fit)), lengths),
        "ds": np.concatenate([np.arange(n) for n in lengths]),
        "y": np.concatenate([histories[i] for i in fit]).astype(float)})
    sf = StatsForecast(models=[_model(spec.name, seasons)], freq=1, n_jobs=n_jobs,
                       fallback_model=SeasonalNaive(season_length=max(seasons[0], 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sf.forecast(df=frame, h=horizon)
    column = [c for c in result.columns if c not in ("unique_id", "ds")][0]
    result = result.sort_values(["unique_id", "ds"], kind="stable")
    values = result[column].to_numpy(dtype=float).reshape(len(fit), horizon)
    good = np.isfinite(values).all(axis=1)
    rows = np.asarray(fit)
    out[rows[good]] = values[good]
    return out
