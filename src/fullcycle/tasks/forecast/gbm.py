"""A global gradient-boosting forecaster: one LightGBM model across all series, direct
multi-horizon (the step ahead is a feature), on windows scaled by each series' recent level.

Every feature of a row with forecast origin `o` (the last observed point) and step `k` uses
values at or before `o` only: lags, seasonal-naive values, recent level and spread, past-only
covariates at `o`; plus what is known for the target time itself (calendar, known-future
covariates) and static covariates. Training rows are drawn from origins inside the history
with their targets also inside it, so a backtest that cuts the history at its origin never
lets the model see past that cut."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.tasks.forecast.data import Panel

MAX_ROWS = 120_000


def _calendar(times: pd.DatetimeIndex, freq: str) -> np.ndarray:
    """Calendar features of target times, by frequency."""
    base = pd.tseries.frequencies.to_offset(freq).rule_code.split("-")[0]
    cols: list[np.ndarray] = [np.asarray(times.month), np.asarray(times.quarter)]
    if base in ("W", "D", "B", "h", "min", "s"):
        cols.append(np.asarray(times.isocalendar().week, dtype=float))
    if base in ("D", "B", "h", "min", "s"):
        cols.append(np.asarray(times.dayofweek))
    if base in ("h", "min", "s"):
        cols.append(np.asarray(times.hour))
    return np.column_stack(cols).astype(float)


@dataclass
class GBMForecaster:
    """Direct multi-horizon LightGBM across series. Not a scikit-learn estimator (it fits a
    panel, not X, y), but it keeps the contract's spirit: settings in the constructor, fitted
    state in attributes ending in `_`."""

    horizon: int
    seasons: list[int]
    seed: int = 0
    n_jobs: int = 1
    n_estimators: int = 400
    lags_: int = 0
    model_: Any = None
    static_codes_: dict[str, dict[str, int]] = field(default_factory=dict)

    def _lags(self, panel: Panel) -> int:
        m = max(self.seasons[0], 1)
        return int(min(max(2 * m, self.horizon, 8), 60))

    def _rows(self, panel: Panel, i: int, origins: np.ndarray, steps: np.ndarray,
              ) -> tuple[np.ndarray, np.ndarray]:
        """Feature rows for series i at (origin, step) pairs; origin = index of the last
        observed point. Reads nothing after `origins`."""
        with warnings.catch_warnings():  # all-NaN windows at the start of a series are fine
            warnings.simplefilter("ignore", RuntimeWarning)
            return self._rows_of(panel, i, origins, steps)

    def _rows_of(self, panel: Panel, i: int, origins: np.ndarray, steps: np.ndarray,
                 ) -> tuple[np.ndarray, np.ndarray]:
        y = panel.values[i]
        lags = self.lags_
        # enough padding that no index goes below zero (numpy would wrap to the end)
        pad = max(lags, 2 * max(max(self.seasons), 1)) + 1
        yp = np.concatenate([np.full(pad, np.nan), y])
        o = origins + pad  # positions in yp
        m = max(self.seasons[0], 1)
        recent = yp[o[:, None] - np.arange(m)[None, :]]
        scale = np.nanmean(np.abs(recent), axis=1)
        fallback = np.nanmean(np.abs(y[: int(origins.max()) + 1])) or 1.0
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, fallback if fallback > 0 else 1.0)
        window = yp[o[:, None] - np.arange(lags)[None, :]] / scale[:, None]
        feats = [window, steps[:, None].astype(float), np.log1p(scale)[:, None],
                 (np.nanstd(recent, axis=1) / scale)[:, None]]
        for s in self.seasons:
            if s > 1:
                idx = o + 1 - s + (steps - 1) % s
                feats.append((yp[idx] / scale)[:, None])
        prev = yp[o[:, None] - m - np.arange(m)[None, :]]
        change = np.nanmean(recent, axis=1) - np.nanmean(prev, axis=1)
        feats.append((change / scale)[:, None])
        grid = pd.date_range(panel.starts[i], periods=len(y) + self.horizon, freq=panel.freq)
        feats.append(_calendar(grid[origins + steps], panel.freq))
        for col in sorted(panel.known):
            values = panel.known[col][i]
            feats.append(values[np.minimum(origins + steps, len(values) - 1)][:, None])
        for col in sorted(panel.past):
            feats.append(panel.past[col][i][origins][:, None])
        for col in panel.static.columns:
            code = self.static_codes_.get(col, {}).get(str(panel.static[col].iloc[i]), -1)
            feats.append(np.full((len(origins), 1), float(code)))
        return np.hstack(feats), scale

    def _training(self, panel: Panel, ends: np.ndarray, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        h = self.horizon
        min_hist = max(min(self.seasons[0], 8), 2)
        # origins with at least min_hist points before and a target inside [0, end)
        per_series = [max(int(end) - 1 - min_hist, 0) for end in ends]
        total = sum(per_series) * h
        keep = min(1.0, MAX_ROWS / max(total, 1))
        X, T, W = [], [], []
        for i, end in enumerate(ends):
            if per_series[i] <= 0:
                continue
            origins = np.arange(min_hist, int(end) - 1)
            origins = np.repeat(origins, h)
            steps = np.tile(np.arange(1, h + 1), per_series[i])
            ok = origins + steps < end
            origins, steps = origins[ok], steps[ok]
            if keep < 1.0:
                take = rng.random(len(origins)) < keep
                origins, steps = origins[take], steps[take]
            if not len(origins):
                continue
            rows, scale = self._rows(panel, i, origins, steps)
            y = panel.values[i]
            X.append(rows)
            T.append(y[origins + steps] / scale)
            mase = _mase_scale(y[: int(end)], self.seasons[0])
            W.append(np.full(len(origins), float(np.clip(np.median(scale) / mase, 0.05, 20))))
        if not X:
            return np.empty((0, 0)), np.empty(0), np.empty(0)
        return np.vstack(X), np.concatenate(T), np.concatenate(W)

    def fit(self, panel: Panel, ends: np.ndarray, deadline: float | None = None
            ) -> GBMForecaster:
        """Fit on every series' history before `ends` (exclusive); boosting stops early at
        `deadline` (time.perf_counter seconds) so one fit cannot overrun the budget."""
        import time

        import lightgbm as lgb

        rng = np.random.default_rng(self.seed)
        self.lags_ = self._lags(panel)
        self.static_codes_ = {
            c: {v: k for k, v in enumerate(sorted(map(str, panel.static[c].unique())))}
            for c in panel.static.columns}
        X, T, W = self._training(panel, ends, rng)
        if len(T) < 50:
            self.model_ = None
            return self
        self.model_ = lgb.LGBMRegressor(
            objective="l1", n_estimators=self.n_estimators, learning_rate=0.05, num_leaves=31,
            min_child_samples=20, subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
            random_state=self.seed, n_jobs=1, verbose=-1)  # OpenMP spins collapse on busy cores
        callbacks = []
        if deadline is not None:
            def stop_at_deadline(env: Any) -> None:
                if env.iteration > 10 and time.perf_counter() > deadline:
                    raise lgb.callback.EarlyStopException(env.iteration, [])
            callbacks.append(stop_at_deadline)
        self.model_.fit(X, T, sample_weight=W, callbacks=callbacks)
        return self

    def predict(self, panel: Panel, ends: np.ndarray, rows: list[int] | None = None
                ) -> np.ndarray:
        """Forecasts of `horizon` steps after `ends` for the series `rows` (default: all)."""
        h = self.horizon
        rows = list(range(len(panel.ids))) if rows is None else rows
        out = np.empty((len(rows), h))
        if self.model_ is None:
            for r, i in enumerate(rows):
                out[r] = panel.values[i][int(ends[i]) - 1]
            return out
        blocks, scales = [], []
        for i in rows:
            origins = np.full(h, int(ends[i]) - 1)
            feats, scale = self._rows(panel, i, origins, np.arange(1, h + 1))
            blocks.append(feats)
            scales.append(scale)
        pred = self.model_.predict(np.vstack(blocks)) * np.concatenate(scales)
        return pred.reshape(len(rows), h)


def _mase_scale(y: np.ndarray, m: int) -> float:
    """Mean absolute seasonal difference (MASE's denominator); 1-step when too short."""
    y = y[np.isfinite(y)]
    lag = m if len(y) > m else 1
    if len(y) <= lag:
        return 1.0
    scale = float(np.mean(np.abs(y[lag:] - y[:-lag])))
    if scale > 0:
        return scale
    level = float(np.mean(np.abs(y)))
    return level if level > 0 else 1.0
