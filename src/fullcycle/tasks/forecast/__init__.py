"""The forecast task kind (see kind.py): time series in long format, rolling-origin
backtests, statistical and global gradient-boosting models, ensembles, conformal intervals."""

from fullcycle.tasks.forecast.kind import ForecastKind

__all__ = ["ForecastKind"]
