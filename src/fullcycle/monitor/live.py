"""Live data for monitoring: a window of the prediction log, or a file of recent rows.

Either way monitoring sees the same `LiveData`: the raw input rows, the model's output on them
(positive-class probability or predicted value), the true labels where they are known, and for
the log the time, latency and model version of every prediction."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.sources import read_source
from fullcycle.errors import DataError
from fullcycle.model import Model
from fullcycle.monitor.logged import logged_warnings
from fullcycle.monitor.predlog import read_log


@dataclass
class LiveData:
    source: str
    inputs: pd.DataFrame  # raw feature values as received
    scores: np.ndarray | None  # (n, k) class probabilities, or (n,) predicted values
    labels: pd.Series | None  # true labels (NaN where unknown)
    time: pd.Series | None = None  # UTC datetimes (log only)
    latency_ms: pd.Series | None = None
    model_version: pd.Series | None = None
    warnings: pd.Series | None = None  # per row: the logged data-quality warnings (log only)

    @property
    def rows(self) -> int:
        return len(self.inputs)

    def output(self) -> np.ndarray | None:
        """One number per row for prediction drift: the positive class, or the value."""
        if self.scores is None:
            return None
        return self.scores[:, -1] if self.scores.ndim == 2 else self.scores


def _parse_since(since: str | None) -> float | None:
    """'24h', '7d', '30min' (relative) or an ISO time -> Unix seconds."""
    if since is None:
        return None
    try:
        delta = pd.Timedelta(since)
    except ValueError:
        try:
            stamp = pd.Timestamp(since)
        except ValueError:
            raise DataError(f"--since {since!r}: give a duration such as 24h or 7d, or an ISO "
                            "time such as 2026-01-31T00:00") from None
        return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).timestamp()
    return (pd.Timestamp.now(tz="UTC") - delta).timestamp()


def from_log(url: str, model: Model, since: str | None = None) -> LiveData:
    """The prediction log (joined with feedback) as live data for `model`."""
    return from_log_frame(read_log_window(url, since), model,
                          source=f"prediction log {_masked(url)}")


def read_log_window(url: str, since: str | None = None) -> pd.DataFrame:
    """The prediction log joined with its feedback (oldest first), marked as such in
    `attrs` (`prediction_log`, `source`) so a task kind knows what it monitors."""
    log = read_log(url, since=_parse_since(since))
    if not len(log):
        raise DataError(f"the prediction log {_masked(url)} has no predictions"
                        + (f" since {since}" if since else "") + "; serve the model and send "
                        "traffic, or give recent rows with --input FILE")
    log.attrs.update({"prediction_log": True, "source": f"prediction log {_masked(url)}"})
    return log


def from_log_frame(log: pd.DataFrame, model: Model, source: str = "prediction log") -> LiveData:
    """A window of the prediction log (`read_log_window`) as live data for `model`."""
    features = [c.name for c in model.schema.features]
    inputs = pd.DataFrame({c: log[c] if c in log.columns else np.nan for c in features},
                          index=log.index)
    scores = _scores_from_log(log, model)
    return LiveData(source=source, inputs=inputs, scores=scores,
                    labels=log["label"] if "label" in log.columns else None, time=log["time"],
                    latency_ms=log.get("latency_ms"), model_version=log.get("model_version"),
                    warnings=logged_warnings(log))


def _scores_from_log(log: pd.DataFrame, model: Model) -> np.ndarray | None:
    classes = model.card.classes
    if classes:
        cols = [f"proba_{c}" for c in classes]
        if all(c in log.columns for c in cols):
            return log[cols].to_numpy(dtype="float64", na_value=np.nan)
        return None
    return pd.to_numeric(log["prediction"], errors="coerce").to_numpy(dtype="float64")


def from_frame(frame: pd.DataFrame, model: Model, source: str = "data frame") -> LiveData:
    """Recent rows from a file or frame: the model scores them; a target column gives labels."""
    if not len(frame):
        raise DataError(f"{source} has no rows to monitor")
    features = [c.name for c in model.schema.features]
    present = [c for c in features if c in frame.columns]
    if not present:
        raise DataError(f"{source} has none of the model's {len(features)} input columns "
                        f"(e.g. {', '.join(features[:5])}); is it the right file?")
    absent = [c for c in features if c not in frame.columns]
    # Absent columns are a quality finding, not a reason to skip scoring: score them as missing.
    scores = model.predict_scores(frame.assign(**{c: np.nan for c in absent}) if absent else frame)
    target = model.card.target
    labels = frame[target] if target and target in frame.columns else None
    return LiveData(source=source, inputs=frame[present], scores=scores, labels=labels)


def from_file(path: str | Path, model: Model) -> LiveData:
    return from_frame(read_source(str(path)), model, source=str(path))


def _masked(url: str) -> str:
    import re

    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def traffic_freq(time: pd.Series, buckets: int = 48) -> str:
    """The finest of a few readable window sizes that gives at most `buckets` windows."""
    span = (time.max() - time.min()).total_seconds()
    for freq in ("1min", "5min", "15min", "1h", "6h", "1D", "7D"):
        if span / pd.Timedelta(freq).total_seconds() <= buckets:
            return freq
    return "30D"


def summary_of_traffic(live: LiveData, freq: str | None = None) -> dict[str, Any] | None:
    """Prediction volume and latency percentiles per time window (log only)."""
    if live.time is None or not len(live.time):
        return None
    freq = freq or traffic_freq(live.time)
    frame = pd.DataFrame({"time": live.time.to_numpy(),
                          "latency": (live.latency_ms if live.latency_ms is not None
                                      else pd.Series(np.nan, index=live.time.index)).to_numpy()})
    windows = []
    for start, part in frame.groupby(pd.Grouper(key="time", freq=freq)):
        if not len(part):
            continue
        lat = part["latency"].dropna().to_numpy()
        windows.append({"start": pd.Timestamp(start).isoformat(), "predictions": int(len(part)),
                        "latency_p50_ms": float(np.percentile(lat, 50)) if len(lat) else None,
                        "latency_p95_ms": float(np.percentile(lat, 95)) if len(lat) else None})
    versions = (live.model_version.astype(str).value_counts().to_dict()
                if live.model_version is not None else {})
    lat = frame["latency"].dropna().to_numpy()
    return {"predictions": int(len(frame)), "window": freq,
            "first": pd.Timestamp(frame["time"].min()).isoformat(),
            "last": pd.Timestamp(frame["time"].max()).isoformat(), "windows": windows,
            "by_version": {str(k): int(v) for k, v in versions.items()},
            "latency_p50_ms": float(np.percentile(lat, 50)) if len(lat) else None,
            "latency_p95_ms": float(np.percentile(lat, 95)) if len(lat) else None}
