"""The forecast routes: `POST /forecast` and the `/feedback` body.

    POST /forecast  {"series": ["1", "2"] (omitted: all), "horizon": 8,
                     "covariates": [{"Store": 1, "Date": "2012-11-02", "Holiday_Flag": 0}, ...]}
      -> {"id", "model_version", "forecasts": [{"series_id", "time", "prediction", "lo_80",
          "hi_80", "lo_95", "hi_95"}]}
    POST /feedback  {"id": "<the /forecast answer's id>", "series_id": "1",
                     "time": "2012-11-02", "value": 1532000.5}
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from fullcycle.taskkind import Route

Id = str | int


class ForecastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    series: list[Id] | None = Field(None, max_length=100_000,
                                    description="series ids (several id columns: joined by |); "
                                    "omitted: every series")
    horizon: int | None = Field(None, ge=1, description="steps ahead (default: the trained "
                                "horizon, the most it can be)")
    covariates: list[dict[str, Any]] = Field(
        default_factory=list, max_length=1_000_000,
        description="rows of known-future covariates: series id columns, time, covariates")


class ForecastFeedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(..., min_length=1, description="the `id` of the /forecast answer")
    series_id: Id = Field(..., description="the series (several id columns: joined by |)")
    time: str = Field(..., min_length=4, description="the time of the actual (ISO 8601)")
    value: float = Field(..., description="the actual value")


def forecast(model: Any, body: ForecastRequest) -> dict[str, Any]:
    predictor = model.predictor
    future = pd.DataFrame(body.covariates) if body.covariates else None
    series = [str(s) for s in body.series] if body.series is not None else None
    frame = predictor.predict(horizon=body.horizon, series=series, future=future)
    ids = frame[predictor.panel.id_columns].astype(str).agg("|".join, axis=1) \
        if predictor.panel.id_columns else pd.Series("all", index=frame.index)
    time_col = predictor.panel.time_column
    records = [{"series_id": sid, "time": t, "prediction": float(p), "lo_80": float(a),
                "hi_80": float(b), "lo_95": float(c), "hi_95": float(d)}
               for sid, t, p, a, b, c, d in zip(ids, frame[time_col], frame["prediction"],
                                                frame["lo_80"], frame["hi_80"], frame["lo_95"],
                                                frame["hi_95"], strict=True)]
    return {"forecasts": records}


def routes() -> list[Route]:
    return [Route("/forecast", ForecastRequest, forecast,
                  "Forecasts with 80% and 95% intervals for some or all series")]
