"""The forecast engine on small synthetic series: the panel (frequency, gaps, duplicates, wide
format, covariate roles), backtests that never see the future, the predictor's output and its
errors. No statsforecast model is fitted here (the families are limited to the fast ones), so
the file stays quick; test_forecast_cycle.py runs the whole product."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fullcycle.errors import DataError
from fullcycle.tasks.forecast.data import build_panel, season_lengths
from fullcycle.tasks.forecast.gbm import GBMForecaster
from fullcycle.tasks.forecast.predictor import ForecastPredictor
from fullcycle.tasks.forecast.search import Searcher


def weekly(n_series: int = 3, n: int = 80, seed: int = 0, fmt: str = "%Y-%m-%d"
           ) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for s in range(n_series):
        t = np.arange(n)
        y = 100 + 10 * s + 0.3 * t + 8 * np.sin(2 * np.pi * t / 52) + rng.normal(0, 1, n)
        promo = (rng.random(n) < 0.2).astype(int)
        frames.append(pd.DataFrame({
            "store": s + 1, "size": 1000 * (s + 1),
            "week": pd.date_range("2020-01-03", periods=n, freq="W-FRI").strftime(fmt),
            "sales": y + 15 * promo, "promo": promo}))
    return pd.concat(frames, ignore_index=True)


def test_panel_infers_frequency_and_roles() -> None:
    panel = build_panel(weekly(), target="sales", time_column="week", id_columns=["store"])
    assert panel.freq == "W-FRI" and season_lengths(panel.freq) == [52]
    assert panel.ids == ["1", "2", "3"] and list(panel.lengths) == [80, 80, 80]
    assert list(panel.static.columns) == ["size"] and list(panel.known) == ["promo"]
    monthly = pd.DataFrame({"t": pd.date_range("2000-01-01", periods=30, freq="MS"),
                            "y": np.arange(30.0)})
    assert season_lengths(build_panel(monthly, target="y", time_column="t",
                                      id_columns=[]).freq) == [12]


def test_gaps_are_filled_and_reported() -> None:
    frame = weekly(n_series=2)
    frame = frame.drop(index=[5, 6, 7, 90]).reset_index(drop=True)  # 3 weeks of store 1, 1 of 2
    panel = build_panel(frame, target="sales", time_column="week", id_columns=["store"])
    assert list(panel.lengths) == [80, 80]
    assert panel.filled == 4 and panel.filled_series == 2
    assert any("filled 4" in note for note in panel.notes)
    y = panel.values[0]
    assert np.isfinite(y).all() and min(y[4], y[8]) <= y[6] <= max(y[4], y[8])


def test_duplicate_timestamps_are_refused_with_their_rows() -> None:
    frame = weekly(n_series=2)
    frame = pd.concat([frame, frame.iloc[[10]]], ignore_index=True)
    with pytest.raises(DataError, match=r"repeat a timestamp.*rows \[10, 160\]"):
        build_panel(frame, target="sales", time_column="week", id_columns=["store"])


def test_day_first_dates_and_wide_format() -> None:
    panel = build_panel(weekly(fmt="%d-%m-%Y"), target="sales", time_column="week",
                        id_columns=["store"])
    assert panel.starts[0] == pd.Timestamp("2020-01-03") and panel.freq == "W-FRI"
    wide = pd.DataFrame({"day": pd.date_range("2021-01-01", periods=40, freq="D"),
                         "a": np.arange(40.0), "b": np.arange(40.0) * 2})
    panel = build_panel(wide, target="demand", time_column="day", id_columns=[])
    assert panel.ids == ["a", "b"] and panel.id_columns == ["series"]


def test_a_feature_at_the_origin_uses_nothing_after_it() -> None:
    """Rows built for origin o are identical whatever the series holds after o."""
    panel = build_panel(weekly(), target="sales", time_column="week", id_columns=["store"])
    model = GBMForecaster(horizon=6, seasons=[52])
    model.lags_ = model._lags(panel)
    origins, steps = np.full(6, 50), np.arange(1, 7)
    before, _ = model._rows(panel, 0, origins, steps)
    panel.values[0] = np.where(np.arange(80) > 50, 1e9, panel.values[0])  # the future explodes
    panel.past = {}
    after, _ = model._rows(panel, 0, origins, steps)
    np.testing.assert_array_equal(before, after)


def test_backtests_never_see_the_future() -> None:
    """Changing every value after a window's cut leaves that window's forecasts unchanged;
    a leaking model (features or training rows from after the cut) would move them."""
    frame = weekly(n_series=4, n=90)
    def run(panel_frame: pd.DataFrame) -> np.ndarray:
        panel = build_panel(panel_frame, target="sales", time_column="week",
                            id_columns=["store"])
        searcher = Searcher(panel=panel, horizon=6, seasons=[52], budget=120, seed=1,
                            families=["gbm"], max_windows=2)
        outcome, _, _ = searcher.run()
        latest = outcome.windows.window == 2  # the older window: its cut is 12 before the end
        return outcome.backtest["gbm"][latest]

    first = run(frame)
    later = frame.copy()
    t = later.groupby("store").cumcount()
    later.loc[t >= 90 - 12, "sales"] *= 5  # everything after window 2's cut
    np.testing.assert_allclose(run(later), first)


def test_predictor_output_and_covariate_errors() -> None:
    panel = build_panel(weekly(n_series=3, n=90), target="sales", time_column="week",
                        id_columns=["store"])
    searcher = Searcher(panel=panel, horizon=4, seasons=[52], budget=120, seed=0,
                        families=["gbm"], max_windows=2)
    outcome, finals, gbm = searcher.run()
    assert "seasonal_naive" in outcome.backtest and "gbm" in outcome.backtest
    predictor = ForecastPredictor(panel=panel, horizon=4, seasons=[52],
                                  weights={"gbm": 1.0}, forecasts={"gbm": np.zeros((3, 4))},
                                  quantiles=outcome.quantiles, gbm=gbm)
    with pytest.raises(DataError, match=r"known-future covariates \['promo'\]"):
        predictor.predict()
    future = pd.DataFrame({"store": np.repeat([1, 2, 3], 4),
                           "week": list(panel.future_times(0, 4).strftime("%Y-%m-%d")) * 3})
    with pytest.raises(DataError, match=r"\['promo'\]"):
        predictor.predict(future=future)
    out = predictor.predict(future=future.assign(promo=1), horizon=2, series=["2"])
    assert list(out.columns) == ["store", "week", "prediction", "lo_80", "hi_80", "lo_95",
                                 "hi_95"]
    assert list(out["week"]) == ["2021-09-24", "2021-10-01"]
    assert (out["lo_95"] <= out["lo_80"]).all() and (out["lo_80"] <= out["prediction"]).all()
    assert (out["prediction"] <= out["hi_80"]).all() and (out["hi_80"] <= out["hi_95"]).all()
    no_promo = predictor.predict(future=future.assign(promo=0), horizon=2, series=["2"])
    assert (out["prediction"] > no_promo["prediction"]).all()  # promotions lift sales
    with pytest.raises(DataError, match="unknown series"):
        predictor.predict(future=future.assign(promo=0), series=["9"])


def test_eda_sections_describe_the_series() -> None:
    from fullcycle.config import Config
    from fullcycle.tasks.forecast import ForecastKind

    frame = weekly(n_series=3, n=110).drop(index=[3, 4])
    frame.loc[frame["store"] == 3, "sales"] = 0.0  # an intermittent (all-zero) series
    config = Config.from_dict({"data": {"target": "sales"},
                               "problem": {"task": "forecast", "time_column": "week",
                                           "series_id": ["store"], "horizon": 4}})
    (section,) = ForecastKind().eda_sections(frame, config)
    assert section.data["series"] == 3 and section.data["filled"] == 2
    assert section.data["frequency"] == "W-FRI" and section.data["season_length"] == 52
    assert section.data["intermittent"] == 1
    assert section.data["seasonal_strength"] > 0.3 and section.data["trend_strength"] > 0.5
