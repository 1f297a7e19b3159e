"""A model's recipe (its ensemble members and weights, its interval widths) refitted on other
history: how retraining scores the champion on the same window as the challenger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fullcycle.tasks.forecast.data import Roles, build_panel
from fullcycle.tasks.forecast.gbm import GBMForecaster
from fullcycle.tasks.forecast.models import naive, seasonal_naive, stat_forecast, stat_specs
from fullcycle.tasks.forecast.predictor import ForecastPredictor

if TYPE_CHECKING:
    from fullcycle.config import Config


def forecast_from(predictor: ForecastPredictor, history: pd.DataFrame, config: Config
                  ) -> ForecastPredictor:
    old = predictor.panel
    roles = Roles(static=list(old.static.columns), known=sorted(old.known),
                  past=sorted(old.past))
    keep = [*old.id_columns, old.time_column, old.target, *roles.static, *roles.known,
            *roles.past]
    panel = build_panel(history[[c for c in keep if c in history.columns]], target=old.target,
                        time_column=old.time_column, id_columns=list(old.id_columns),
                        freq=old.freq, roles=roles)
    h, seasons = predictor.horizon, predictor.seasons
    full = list(panel.values)
    forecasts: dict[str, np.ndarray] = {}
    gbm = None
    for name in predictor.weights:
        if name == "naive":
            forecasts[name] = naive(full, h)
        elif name == "seasonal_naive":
            forecasts[name] = seasonal_naive(full, h, seasons[0])
        elif name == "gbm":
            gbm = GBMForecaster(horizon=h, seasons=seasons, seed=config.seed).fit(
                panel, panel.lengths)
            forecasts[name] = gbm.predict(panel, panel.lengths)
        else:
            spec = next(s for s in stat_specs(seasons) if s.name == name)
            forecasts[name] = stat_forecast(spec, full, h, seasons, n_jobs=2)
    info: dict[str, Any] = dict(predictor.info)
    return ForecastPredictor(panel=panel, horizon=h, seasons=seasons,
                             weights=dict(predictor.weights), forecasts=forecasts,
                             quantiles=predictor.quantiles, gbm=gbm,
                             nonnegative=predictor.nonnegative, info=info)
