"""Report sections of the forecast kind: evaluation (metrics against seasonal naive, error by
step, history + forecast + interval of the best, median and worst series) and EDA (lengths,
gaps, trend and seasonality strength, autocorrelation, intermittency)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fullcycle.charts.small import line_chart
from fullcycle.taskkind import ReportSection
from fullcycle.tasks.forecast.data import build_panel, season_lengths

if TYPE_CHECKING:
    from fullcycle.config import Config


def _table(rows: list[tuple[str, Any]]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return html.escape(str(v))

    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{fmt(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def evaluation_sections(predictor: Any, report: dict[str, Any], source: str
                        ) -> list[ReportSection]:
    keys = ("mase", "seasonal_naive_mase", "mase_vs_seasonal_naive", "smape",
            "seasonal_naive_smape", "rmse", "seasonal_naive_rmse", "wape",
            "seasonal_naive_wape", "coverage_80", "coverage_95")
    rows = [(k, report[k]) for k in keys if k in report]
    steps = report.get("mase_by_step", [])
    by_step = line_chart([str(i + 1) for i in range(len(steps))], {"MASE by step": steps},
                         ylabel="MASE", bounded=False)
    weights = predictor.weights
    members = ", ".join(f"{n} {w:.2f}" for n, w in sorted(weights.items(), key=lambda x: -x[1]))
    metrics_html = (f"<p>{html.escape(source)}; ensemble: {html.escape(members)}</p>"
                    + _table(rows) + by_step)
    data = {"forecast": {k: v for k, v in report.items() if k not in ("series",)}}
    sections = [ReportSection("forecast", "Forecast accuracy", metrics_html, data=data),
                ReportSection("forecast_series", "Best, median and worst series",
                              _series_plots(predictor, report))]
    board = predictor.info.get("leaderboard", [])
    if board:
        table = _table([(r["model"], r["mase"]) for r in board])
        sections.append(ReportSection("forecast_backtest", "Backtest MASE by model", table))
    return sections


def _series_plots(predictor: Any, report: dict[str, Any]) -> str:
    per = report.get("mase_by_series") or []
    series = report.get("series") or []
    if not per or len(per) != len(series):
        return "<p>no per-series figures</p>"
    order = np.argsort(per)
    picks = {"best": order[0], "median": order[len(order) // 2], "worst": order[-1]}
    fc = predictor.predict(stored=True)
    h = predictor.horizon
    out = []
    for label, pos in picks.items():
        i = int(series[int(pos)])
        y = predictor.panel.values[i][-4 * h:]
        block = fc.iloc[i * h:(i + 1) * h]
        xs = [str(j) for j in range(len(y) + h)]
        pad: list[float | None] = [None] * len(y)
        lines = {"history": [*map(float, y), *([None] * h)],
                 "forecast": [*pad, *block["prediction"].astype(float)],
                 "95% interval (high)": [*pad, *block["hi_95"].astype(float)]}
        name = html.escape(predictor.panel.ids[i])
        out.append(f"<h4>{label}: series {name} (MASE {per[int(pos)]:.3f})</h4>"
                   + line_chart(xs, lines, bounded=False))
    return "".join(out)


def eda_sections(frame: pd.DataFrame, config: Config) -> list[ReportSection]:
    """Series lengths, gaps, trend and seasonal strength, lag autocorrelation, intermittency."""
    p = config.problem
    target = getattr(config.data, "target", None) or _guess_target(frame, config)
    if not p.time_column or target is None:
        return []
    try:
        panel = build_panel(frame, target=target, time_column=p.time_column,
                            id_columns=list(p.series_id), freq=p.frequency,
                            options=dict(p.options))
    except Exception as exc:  # EDA reports the problem instead of failing
        return [ReportSection("series", "Time series", f"<p>{html.escape(str(exc))}</p>")]
    m = season_lengths(panel.freq, p.season_length)[0]
    lengths = panel.lengths
    stats = [_series_stats(y, m) for y in panel.values]
    frame_stats = pd.DataFrame(stats)
    rows = [("series", len(panel.ids)), ("frequency", panel.freq), ("season length", m),
            ("length min / median / max", f"{lengths.min()} / {int(np.median(lengths))} / "
             f"{lengths.max()}"),
            ("values filled (gaps)", f"{panel.filled} in {panel.filled_series} series"),
            ("trend strength (median)", float(frame_stats["trend"].median())),
            ("seasonal strength (median)", float(frame_stats["seasonal"].median())),
            (f"autocorrelation lag 1 / lag {m} (median)",
             f"{frame_stats['acf1'].median():.3f} / {frame_stats['acfm'].median():.3f}"),
            ("intermittent series (> 30% zeros)", int((frame_stats["zeros"] > 0.3).sum()))]
    data = {"series": len(panel.ids), "frequency": panel.freq, "season_length": m,
            "filled": panel.filled, "lengths": [int(lengths.min()), int(lengths.max())],
            "trend_strength": float(frame_stats["trend"].median()),
            "seasonal_strength": float(frame_stats["seasonal"].median()),
            "intermittent": int((frame_stats["zeros"] > 0.3).sum())}
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in panel.notes)
    return [ReportSection("series", "Time series", _table(rows) + notes, data=data)]


def _guess_target(frame: pd.DataFrame, config: Config) -> str | None:
    return None


def _series_stats(y: np.ndarray, m: int) -> dict[str, float]:
    """Hyndman's strengths from a moving-average decomposition, ACF, zero share."""
    n = len(y)
    out = {"trend": np.nan, "seasonal": np.nan, "acf1": np.nan, "acfm": np.nan,
           "zeros": float(np.mean(y == 0)) if n else np.nan}
    if n < 4:
        return out
    window = max(m, 2)
    trend = pd.Series(y).rolling(window, center=True, min_periods=1).mean().to_numpy()
    detrended = y - trend
    if m > 1 and n >= 2 * m:
        seasonal = pd.Series(detrended).groupby(np.arange(n) % m).transform("mean").to_numpy()
    else:
        seasonal = np.zeros(n)
    resid = detrended - seasonal
    var_r = np.var(resid)
    for name, part in (("trend", trend), ("seasonal", seasonal)):
        total = float(np.var(part + resid))
        out[name] = float(max(0.0, 1 - var_r / total)) if total else 0.0
    centred = y - y.mean()
    denom = float(np.sum(centred ** 2)) or 1.0
    out["acf1"] = float(np.sum(centred[1:] * centred[:-1]) / denom)
    if n > m:
        out["acfm"] = float(np.sum(centred[m:] * centred[:-m]) / denom)
    return out
