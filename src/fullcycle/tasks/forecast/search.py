"""The forecast search: rolling-origin backtests of every candidate within the time budget,
an ensemble chosen on them, conformal intervals from their residuals, and the final fits.

Backtest window w (1 = latest) cuts each series `w * horizon` points before its end and
forecasts the next `horizon` points from the history before the cut; series too short for a
window sit it out. With many series the statistical models are backtested on a seeded sample
(the ensemble and the interval widths are chosen across series, so a few hundred are enough)
and fitted on every series at the end. Each model's cost is probed on a few series first and
the model is skipped when its backtest plus its final fit would not end within the budget."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fullcycle.errors import DataError
from fullcycle.tasks.forecast.data import Panel
from fullcycle.tasks.forecast.gbm import GBMForecaster, _mase_scale
from fullcycle.tasks.forecast.metrics import full_report
from fullcycle.tasks.forecast.models import (
    StatSpec,
    naive,
    seasonal_naive,
    stat_forecast,
    stat_specs,
)

log = logging.getLogger("fullcycle.forecast")
LEVELS = (80, 95)


@dataclass
class Windows:
    """The backtest rows: (series, window) pairs with their cut, truth and MASE scale."""

    series: np.ndarray
    window: np.ndarray
    cut: np.ndarray  # history length before the forecast origin's next point
    truth: np.ndarray  # (rows, horizon)
    scale: np.ndarray  # MASE scale of the history before the cut
    sample: np.ndarray  # bool: row belongs to the statistical models' sample


@dataclass
class SearchOutcome:
    models: list[str]
    weights: dict[str, float]
    backtest: dict[str, np.ndarray]  # model -> (rows, horizon) forecasts
    windows: Windows
    quantiles: dict[int, np.ndarray]  # level -> per-step half-width in MASE-scale units
    leaderboard: list[dict[str, Any]]
    coverage: dict[str, float]
    skipped: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    holdout: dict[str, Any] = field(default_factory=dict)  # latest window, chosen without it


def make_windows(panel: Panel, horizon: int, seasons: list[int], *, max_windows: int,
                 sample_size: int, seed: int) -> Windows:
    lengths = panel.lengths
    min_train = max(4, min(2 * seasons[0], 12))
    rng = np.random.default_rng(seed)
    n = len(lengths)
    chosen = np.zeros(n, bool)
    chosen[rng.permutation(n)[:sample_size]] = True
    rows: list[tuple[int, int, int]] = []
    for w in range(1, max_windows + 1):
        for i, length in enumerate(lengths):
            cut = int(length) - w * horizon
            # older windows only where the history left is at least half the series: windows
            # on scraps of history would favour the models that cope with little data, while
            # the real forecast has the whole history
            if (w == 1 and cut >= 2) or cut >= max(min_train, length // 2):
                rows.append((i, w, cut))
    if not rows:
        raise_short(panel, horizon)
    series = np.array([r[0] for r in rows])
    cuts = np.array([r[2] for r in rows])
    truth = np.vstack([panel.values[i][c:c + horizon] for i, _, c in rows])
    scale = np.array([_mase_scale(panel.values[i][:c], seasons[0]) for i, _, c in rows])
    return Windows(series=series, window=np.array([r[1] for r in rows]), cut=cuts,
                   truth=truth, scale=scale, sample=chosen[series])


def raise_short(panel: Panel, horizon: int) -> None:
    raise DataError(f"every series is shorter than horizon + 2 = {horizon + 2} points (longest: "
                    f"{int(panel.lengths.max())}); shorten problem.horizon or give more history")


def scaled_error(forecast: np.ndarray, win: Windows, rows: np.ndarray | None = None) -> float:
    """Mean over rows of the MASE of each backtest forecast."""
    sel = slice(None) if rows is None else rows
    err = np.abs(win.truth[sel] - forecast[sel]).mean(axis=1) / win.scale[sel]
    return float(np.mean(err))


def greedy_ensemble(backtest: dict[str, np.ndarray], win: Windows, rows: np.ndarray,
                    rounds: int = 20) -> dict[str, float]:
    """Caruana's forward selection with replacement on the backtest MASE."""
    names = list(backtest)
    scores = {n: scaled_error(backtest[n], win, rows) for n in names}
    best = min(names, key=lambda n: scores[n])
    counts = {best: 1}
    current = backtest[best][rows].copy()
    current_score = scores[best]
    for _ in range(rounds):
        total = sum(counts.values())
        trial = {n: (current * total + backtest[n][rows]) / (total + 1) for n in names}
        sub = Windows(win.series[rows], win.window[rows], win.cut[rows], win.truth[rows],
                      win.scale[rows], win.sample[rows])
        trial_scores = {n: scaled_error(f, sub) for n, f in trial.items()}
        pick = min(trial_scores, key=lambda n: trial_scores[n])
        if trial_scores[pick] >= current_score - 1e-9:
            break
        counts[pick] = counts.get(pick, 0) + 1
        current, current_score = trial[pick], trial_scores[pick]
    total = sum(counts.values())
    return {n: c / total for n, c in counts.items()}


def blend(weights: dict[str, float], forecasts: dict[str, np.ndarray]) -> np.ndarray:
    return sum(w * forecasts[n] for n, w in weights.items())  # type: ignore[return-value]


def conformal(forecast: np.ndarray, win: Windows, rows: np.ndarray) -> dict[int, np.ndarray]:
    """Per-step half-widths (in MASE-scale units) from absolute backtest residuals, made
    non-decreasing over the horizon."""
    resid = np.abs(win.truth[rows] - forecast[rows]) / win.scale[rows][:, None]
    n = len(resid)
    out = {}
    for level in LEVELS:
        q = min(1.0, level / 100 * (n + 1) / max(n, 1))
        out[level] = np.maximum.accumulate(np.quantile(resid, q, axis=0))
    return out


def cross_coverage(forecast: np.ndarray, win: Windows, rows: np.ndarray) -> dict[str, float]:
    """Coverage of intervals calibrated on the other windows, measured on each window."""
    hits: dict[int, list[np.ndarray]] = {level: [] for level in LEVELS}
    windows = np.unique(win.window[rows])
    if len(windows) < 2:
        return {}
    for w in windows:
        test = rows[win.window[rows] == w]
        calib = rows[win.window[rows] != w]
        widths = conformal(forecast, win, calib)
        for level in LEVELS:
            half = widths[level][None, :] * win.scale[test][:, None]
            inside = np.abs(win.truth[test] - forecast[test]) <= half
            hits[level].append(inside.ravel())
    return {f"coverage_{lv}": float(np.mean(np.concatenate(hits[lv]))) for lv in LEVELS}


def warm_up() -> bool:
    """Import the model libraries now; False when statsforecast (the `forecast` extra) is
    missing, and the search goes on with the baselines and the global model."""
    import lightgbm  # noqa: F401

    try:
        import statsforecast.models  # noqa: F401
        from statsforecast import StatsForecast  # noqa: F401
    except ImportError:
        return False
    return True


def latest_window_report(backtest: dict[str, np.ndarray], win: Windows, rows: np.ndarray
                         ) -> dict[str, Any]:
    """The test estimate: the ensemble and intervals chosen on the older windows, scored on
    the latest one (the last `horizon` points of each series), next to seasonal naive."""
    test = rows[win.window[rows] == 1]
    older = rows[win.window[rows] > 1]
    if not len(older) or not len(test):
        older = rows
        note = "one backtest window only: the ensemble was chosen on the window it is scored on"
    else:
        note = "ensemble and intervals chosen on the older windows, scored on the latest"
    weights = greedy_ensemble(backtest, win, older)
    ens = blend(weights, backtest)
    widths = conformal(ens, win, older)
    scale = win.scale[test]
    bands = {lv: (ens[test] - widths[lv] * scale[:, None], ens[test] + widths[lv] * scale[:, None])
             for lv in LEVELS}
    report = full_report(win.truth[test], ens[test], backtest["seasonal_naive"][test], scale,
                         bands)
    report.update(note=note, weights=weights, series=[int(i) for i in win.series[test]])
    return report


Progress = Callable[[str], None]


@dataclass
class Searcher:
    panel: Panel
    horizon: int
    seasons: list[int]
    budget: float
    seed: int = 0
    n_jobs: int = 2
    max_windows: int = 3
    sample_rows: int = 600
    families: list[str] | None = None  # None: every candidate
    progress: Progress | None = None
    start: float = field(default_factory=time.perf_counter)
    rates: dict[str, float] = field(default_factory=dict)  # seconds per series fit, measured

    def _say(self, text: str) -> None:
        log.info(text)
        if self.progress:
            self.progress(text)

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.start)

    def _wanted(self, name: str) -> bool:
        return self.families is None or name in self.families

    def run(self) -> tuple[SearchOutcome, dict[str, np.ndarray], GBMForecaster | None]:
        panel, h, m = self.panel, self.horizon, self.seasons[0]
        n = len(panel.ids)
        # imports are not the models' cost: keep them out of the rate estimates
        stats_ok = warm_up()
        if not stats_ok:
            self._say("statsforecast is not installed (pip install 'fullcycle[forecast]'): "
                      "searching the baselines and the global model only")
        sample = min(n, max(100, self.sample_rows // self.max_windows))
        win = make_windows(panel, h, self.seasons, max_windows=self.max_windows,
                           sample_size=sample, seed=self.seed)
        rows = np.flatnonzero(win.sample)
        hist = [panel.values[i][:c] for i, c in zip(win.series, win.cut, strict=True)]
        backtest: dict[str, np.ndarray] = {}
        seconds: dict[str, float] = {}
        skipped: list[str] = []
        backtest["naive"] = naive(hist, h)
        backtest["seasonal_naive"] = seasonal_naive(hist, h, m)
        reserve: dict[str, float] = {}  # estimated final-fit seconds of each model kept
        gbm: GBMForecaster | None = None
        order = self._order()
        for name in order:
            if not self._wanted(name) or (name != "gbm" and not stats_ok):
                continue
            if self.left() - sum(reserve.values()) < 0.1 * self.budget:
                skipped.append(name)
                self._say(f"skipped {name}: the budget is spent")
                continue
            t0 = time.perf_counter()
            if name == "gbm":
                fitted = self._backtest_gbm(win, rows, reserve)
                if fitted is None:
                    skipped.append("gbm")
                    continue
                backtest["gbm"] = fitted
            else:
                spec = next(s for s in stat_specs(self.seasons) if s.name == name)
                guess = self._guess_seconds(spec, len(rows) + n)
                if guess > self.left() - sum(reserve.values()):
                    skipped.append(name)
                    self._say(f"skipped {name}: ~{guess:.0f}s expected from the models "
                              "fitted so far")
                    continue
                result = self._backtest_stat(spec, hist, rows, n, reserve)
                if result is None:
                    skipped.append(name)
                    continue
                backtest[name] = result
            seconds[name] = time.perf_counter() - t0
            self._say(f"backtested {name} in {seconds[name]:.1f}s: MASE "
                      f"{scaled_error(backtest[name], win, rows):.3f}")
        weights = greedy_ensemble(backtest, win, rows)
        ens = blend(weights, backtest)
        quantiles = conformal(ens, win, rows)
        coverage = cross_coverage(ens, win, rows)
        board = self._leaderboard(backtest, weights, ens, win, rows)
        holdout = latest_window_report(backtest, win, rows)
        finals = self._finals(weights, reserve)
        gbm = finals.pop("__gbm__", None)  # type: ignore[assignment]
        outcome = SearchOutcome(models=list(weights), weights=weights, backtest=backtest,
                                windows=win, quantiles=quantiles, leaderboard=board,
                                coverage=coverage, skipped=skipped, seconds=seconds,
                                holdout=holdout)
        return outcome, finals, gbm  # type: ignore[return-value]

    def _order(self) -> list[str]:
        """AutoTheta first (cheap, strong on short and seasonal series), then the global
        model, then the other statistical models, cheapest first."""
        stats = [s.name for s in sorted(stat_specs(self.seasons), key=lambda s: s.cost)]
        return [stats[0], "gbm", *stats[1:]]

    def _backtest_gbm(self, win: Windows, rows: np.ndarray, reserve: dict[str, float]
                      ) -> np.ndarray | None:
        lengths = self.panel.lengths
        out = np.full(win.truth.shape, np.nan)
        windows = sorted(np.unique(win.window))
        fit_seconds = 0.0
        for k, w in enumerate(windows):
            free = self.left() - sum(reserve.values()) - 5
            # this fit, the other windows and the final fit share what is free
            allowed = free / (len(windows) - k + 1)
            if allowed < max(fit_seconds * 0.5, 2.0):
                self._say(f"skipped gbm: {free:.0f}s left")
                return None
            t0 = time.perf_counter()
            model = GBMForecaster(horizon=self.horizon, seasons=self.seasons, seed=self.seed,
                                  n_jobs=self.n_jobs)
            model.fit(self.panel, np.maximum(lengths - w * self.horizon, 0),
                      deadline=t0 + allowed)
            these = np.flatnonzero(win.window == w)
            ends = np.zeros(len(lengths), int)
            ends[win.series[these]] = win.cut[these]
            out[these] = model.predict(self.panel, ends, list(win.series[these]))
            fit_seconds = max(fit_seconds, time.perf_counter() - t0)
        reserve["gbm"] = fit_seconds * 1.3
        return out

    def _guess_seconds(self, spec: StatSpec, fits: int) -> float:
        """Seconds for `fits` series fits, from the rate of a cheaper model measured here."""
        known = [(self.rates[s.name] / s.cost) for s in stat_specs(self.seasons)
                 if s.name in self.rates]
        return min(known) * spec.cost * fits if known else 0.0

    def _backtest_stat(self, spec: StatSpec, hist: list[np.ndarray], rows: np.ndarray,
                       n_series: int, reserve: dict[str, float]) -> np.ndarray | None:
        """Backtest in chunks, the first small and single-process; after each chunk the
        measured rate says whether the rest and the final fit still end within the budget."""
        h, seasons = self.horizon, self.seasons
        out = np.full((len(hist), h), np.nan)
        first = min(len(rows), 16)
        bounds = [0, first, *range(first + 200, len(rows), 200), len(rows)]
        spent, done = 0.0, 0
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            if hi <= lo:
                continue
            chunk = rows[lo:hi]
            jobs = self.n_jobs if len(chunk) > 64 else 1
            t0 = time.perf_counter()
            out[chunk] = stat_forecast(spec, [hist[r] for r in chunk], h, seasons, n_jobs=jobs)
            spent += time.perf_counter() - t0
            done += len(chunk)
            rate = spent / done
            need = rate * (len(rows) - done) + rate * n_series * 1.4
            if need > self.left() - sum(reserve.values()) - 5:
                self._say(f"skipped {spec.name}: ~{need:.0f}s more needed, "
                          f"{self.left():.0f}s left")
                return None
        self.rates[spec.name] = spent / max(done, 1)
        reserve[spec.name] = self.rates[spec.name] * n_series * 1.4
        return out

    def _leaderboard(self, backtest: dict[str, np.ndarray], weights: dict[str, float],
                     ens: np.ndarray, win: Windows, rows: np.ndarray) -> list[dict[str, Any]]:
        base = scaled_error(backtest["seasonal_naive"], win, rows)
        board = []
        for name, fc in {**backtest, "ensemble": ens}.items():
            score = scaled_error(fc, win, rows)
            board.append({"model": name, "mase": score,
                          "relative_to_seasonal_naive": score / base if base else float("nan"),
                          "weight": weights.get(name, 1.0 if name == "ensemble" else 0.0)})
        return sorted(board, key=lambda r: r["mase"])

    def _finals(self, weights: dict[str, float], reserve: dict[str, float]
                ) -> dict[str, Any]:
        """Forecasts from the end of every series by each model of the ensemble; a model
        whose final fit would overrun the budget leaves the ensemble (weights renormalised)."""
        panel, h = self.panel, self.horizon
        finals: dict[str, Any] = {}
        full = list(panel.values)
        # statistical models first (they cannot be cut short), the global model last: its
        # boosting stops at the deadline, so it takes whatever time is left
        for name in sorted(weights, key=lambda n: (n == "gbm", reserve.get(n, 0.0))):
            others = sum(reserve.get(n, 0.0) for n in weights if n not in finals and n != name)
            t0 = time.perf_counter()
            if name == "naive":
                finals[name] = naive(full, h)
            elif name == "seasonal_naive":
                finals[name] = seasonal_naive(full, h, self.seasons[0])
            elif finals and name != "gbm" and reserve.get(name, 0.0) > self.left() - others:
                self._say(f"dropped {name} from the ensemble: its final fit would overrun")
                continue
            elif name == "gbm" and reserve.get(name, 0.0) / 3 > self.left() - others:
                self._say(f"dropped {name} from the ensemble: its final fit would overrun")
                continue
            elif name == "gbm":
                model = GBMForecaster(horizon=h, seasons=self.seasons, seed=self.seed,
                                      n_jobs=self.n_jobs)
                # at least a third of a backtest fit: a few seconds over the budget beat
                # dropping the model or boosting only a handful of trees
                room = max(self.left() - others, reserve.get("gbm", 5.0) / 3)
                model.fit(panel, panel.lengths, deadline=t0 + room)
                finals["__gbm__"] = model
                finals[name] = model.predict(panel, panel.lengths)
            else:
                spec = next(s for s in stat_specs(self.seasons) if s.name == name)
                finals[name] = stat_forecast(spec, full, h, self.seasons, n_jobs=self.n_jobs)
            self._say(f"fitted {name} on every series in {time.perf_counter() - t0:.1f}s")
        kept = {n: w for n, w in weights.items() if n in finals}
        if not kept:  # nothing fitted in time: the baseline always is
            finals["seasonal_naive"] = seasonal_naive(full, h, self.seasons[0])
            kept = {"seasonal_naive": 1.0}
        total = sum(kept.values())
        weights.clear()
        weights.update({n: w / total for n, w in kept.items()})
        return finals
