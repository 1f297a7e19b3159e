"""Long-format time series: parse, check, regularise and describe a panel of series.

A `Panel` holds each series as a float array on a regular time grid (gaps filled and counted),
the series-id values, the frequency, and the covariates sorted by what is known when:
static (constant within a series), known in the future (calendar flags, prices, promotions;
needed for the forecast steps) and past-only (known up to the forecast origin only)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.schema import date_format, normalise_missing, to_datetime
from fullcycle.errors import ConfigError, DataError

KEY = "__series__"
# Seasons by frequency family: the first is the main one; the others feed MSTL and the GBM.
SEASONS = {"h": [24, 168], "min": [60, 1440], "s": [60], "D": [7, 365], "B": [5],
           "W": [52], "M": [12], "MS": [12], "ME": [12], "Q": [4], "QS": [4], "QE": [4],
           "Y": [1], "YS": [1], "YE": [1], "A": [1], "AS": [1]}


@dataclass
class Panel:
    """Series on a regular grid. `values[i]` is series `ids[i]`, first point at `starts[i]`."""

    ids: list[str]
    id_values: pd.DataFrame  # one row per series: the id columns' values
    id_columns: list[str]
    time_column: str
    target: str
    freq: str  # pandas offset alias ("W-FRI", "MS", "h")
    starts: list[pd.Timestamp]
    values: list[np.ndarray]
    static: pd.DataFrame  # index = ids; static covariates
    known: dict[str, list[np.ndarray]] = field(default_factory=dict)  # aligned with values
    past: dict[str, list[np.ndarray]] = field(default_factory=dict)
    filled: int = 0  # timestamps added by gap filling
    filled_series: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(v) for v in self.values])

    def times(self, i: int, start: int = 0, stop: int | None = None) -> pd.DatetimeIndex:
        n = len(self.values[i]) if stop is None else stop
        return pd.date_range(self.starts[i], periods=n, freq=self.freq)[start:]

    def future_times(self, i: int, horizon: int) -> pd.DatetimeIndex:
        n = len(self.values[i])
        return pd.date_range(self.starts[i], periods=n + horizon, freq=self.freq)[n:]


def series_key(frame: pd.DataFrame, id_columns: list[str]) -> pd.Series:
    """One string key per row from the id columns ("1", "store|dept")."""
    if not id_columns:
        return pd.Series("all", index=frame.index)
    parts = [frame[c].astype(str) for c in id_columns]
    key = parts[0]
    for part in parts[1:]:
        key = key + "|" + part
    return key


def parse_time(column: pd.Series, fmt: str | None = None) -> pd.Series:
    """Datetimes in one layout (the schema's, or the first common one that fits)."""
    if column.dtype.kind == "M":
        return column.dt.tz_localize(None) if getattr(column.dt, "tz", None) else column
    if column.dtype.kind in "iu":
        raise DataError(f"time column {column.name!r} holds integers; give dates or times "
                        "(2024-01-31, 2024-01-31 13:00)")
    text = normalise_missing(column).astype("string").str.strip()
    fmt = fmt or date_format(text.dropna().astype(str))
    parsed = to_datetime(text.astype(object), fmt)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    bad = parsed.isna() & text.notna()
    if bad.any():
        rows = [int(r) for r in np.flatnonzero(bad.to_numpy())[:5]]
        raise DataError(f"time column {column.name!r}: {int(bad.sum())} values are not dates "
                        f"(rows {rows}, e.g. {text[bad].iloc[0]!r}); fix or drop them")
    if parsed.isna().any():
        raise DataError(f"time column {column.name!r} has {int(parsed.isna().sum())} missing "
                        "values; every row needs its time")
    return parsed


def infer_freq(key: pd.Series, times: pd.Series) -> str:
    """The pandas frequency of the series: `pd.infer_freq` on the longest series, else the
    most common step between consecutive timestamps."""
    counts = key.value_counts()
    votes: dict[str, int] = {}
    for name in counts.index[:20]:
        stamps = pd.DatetimeIndex(np.sort(times[key == name].unique()))
        if len(stamps) >= 3:
            with warnings.catch_warnings():  # pandas 3 warns that this will be an offset
                warnings.simplefilter("ignore")
                found = pd.infer_freq(stamps)
            if found:
                votes[found] = votes.get(found, 0) + 1
    if votes:
        return max(votes, key=lambda f: votes[f])
    frame = pd.DataFrame({"k": key.to_numpy(), "t": times.to_numpy()}).sort_values(["k", "t"])
    steps = frame.groupby("k")["t"].diff().dropna()
    steps = steps[steps > pd.Timedelta(0)]
    if steps.empty:
        raise DataError("cannot infer the frequency: no series has two distinct timestamps; "
                        "set problem.frequency (D, W-FRI, MS, QS, h)")
    step = steps.mode().iloc[0]
    days = step / pd.Timedelta(days=1)
    for low, high, alias in ((27, 32, "MS"), (88, 93, "QS"), (364, 367, "YS")):
        if low <= days <= high:
            return alias
    return str(pd.tseries.frequencies.to_offset(step).freqstr)


def season_lengths(freq: str, given: int | list[int] | None = None) -> list[int]:
    """Season lengths in steps: the ones given, else the frequency's usual ones."""
    if given is not None:
        return [given] if isinstance(given, int) else [int(g) for g in given]
    offset = pd.tseries.frequencies.to_offset(freq)
    base = offset.rule_code.split("-")[0]
    multiple = max(int(getattr(offset, "n", 1)), 1)
    seasons = SEASONS.get(base, SEASONS.get(base.rstrip("E"), [1]))
    out = [s // multiple for s in seasons if s % multiple == 0 and s // multiple > 1]
    return out or [1]


def melt_wide(frame: pd.DataFrame, time_column: str, target: str) -> pd.DataFrame:
    """Wide format (a time column and one numeric column per series) to long format."""
    value_columns = [c for c in frame.columns if c != time_column]
    numeric = [c for c in value_columns if pd.api.types.is_numeric_dtype(frame[c])]
    if len(numeric) != len(value_columns) or not numeric:
        raise DataError(f"target {target!r} is not a column and the other columns are not all "
                        "numeric series; give long format (series id, time, target columns)")
    long = frame.melt(id_vars=[time_column], value_vars=numeric, var_name="series",
                      value_name=target)
    return long


def refuse_duplicates(frame: pd.DataFrame, key: pd.Series, time_column: str) -> None:
    dup = pd.DataFrame({"k": key.to_numpy(), "t": frame[time_column].to_numpy()}).duplicated(
        keep=False).to_numpy()
    if dup.any():
        rows = [int(r) for r in np.flatnonzero(dup)[:10]]
        first = frame.iloc[rows[0]]
        raise DataError(f"{int(dup.sum())} rows repeat a timestamp within their series (rows "
                        f"{rows}; e.g. series {key.iloc[rows[0]]!r} at {first[time_column]}); "
                        "aggregate or drop the duplicates so each series has one value per time")


@dataclass
class Roles:
    """Covariates by when they are known."""

    static: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    past: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def covariate_roles(frame: pd.DataFrame, key: pd.Series, columns: list[str],
                    options: dict[str, Any]) -> Roles:
    """Static when constant within every series; known-future when named in
    `problem.options.known_future` or a 0/1 flag (holidays, promotions); past-only otherwise."""
    roles = Roles()
    named_known = [str(c) for c in options.get("known_future", [])]
    named_past = [str(c) for c in options.get("past_only", [])]
    for name in named_known + named_past:
        if name not in columns:
            raise ConfigError(f"problem.options names covariate {name!r}, which is not a column; "
                              f"covariates: {columns}")
    for col in columns:
        values = frame[col]
        constant = bool((values.groupby(key).nunique(dropna=False) <= 1).all())
        numeric = pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
        if col in named_known:
            roles.known.append(col)
        elif col in named_past:
            roles.past.append(col)
        elif constant:
            roles.static.append(col)
        elif not numeric:
            roles.ignored.append(col)
        elif set(pd.unique(values.dropna())) <= {0, 1}:
            roles.known.append(col)
        else:
            roles.past.append(col)
    for col in roles.known + roles.past:
        if not (pd.api.types.is_numeric_dtype(frame[col])
                or pd.api.types.is_bool_dtype(frame[col])):
            raise DataError(f"covariate {col!r} varies over time but is not numeric; encode it "
                            "as numbers or drop it")
    return roles


def build_panel(frame: pd.DataFrame, *, target: str, time_column: str,
                id_columns: list[str], freq: str | None = None, time_format: str | None = None,
                options: dict[str, Any] | None = None, roles: Roles | None = None) -> Panel:
    """Check and regularise a long (or wide) frame into a Panel."""
    for name, what in ((time_column, "problem.time_column"),):
        if name not in frame.columns:
            raise ConfigError(f"{what} {name!r} is not a column; columns: "
                              f"{list(frame.columns)[:20]}")
    if target not in frame.columns:
        frame = melt_wide(frame, time_column, target)
        id_columns = ["series"]
    missing = [c for c in id_columns if c not in frame.columns]
    if missing:
        raise ConfigError(f"problem.series_id {missing} not among the columns "
                          f"{list(frame.columns)[:20]}")
    frame = frame.copy()
    frame[time_column] = parse_time(frame[time_column], time_format)
    y = pd.to_numeric(frame[target], errors="coerce")
    if y.isna().all():
        raise DataError(f"target {target!r} has no numeric values to forecast")
    frame[target] = y
    key = series_key(frame, id_columns)
    refuse_duplicates(frame, key, time_column)
    freq = freq or infer_freq(key, frame[time_column])
    others = [c for c in frame.columns if c not in (*id_columns, time_column, target)]
    roles = roles or covariate_roles(frame, key, others, options or {})
    frame = frame.assign(**{KEY: key.to_numpy()}).sort_values([KEY, time_column], kind="stable")
    return _regularise(frame, target, time_column, id_columns, freq, roles)


def _regularise(frame: pd.DataFrame, target: str, time_column: str, id_columns: list[str],
                freq: str, roles: Roles) -> Panel:
    ids, starts, values = [], [], []
    known: dict[str, list[np.ndarray]] = {c: [] for c in roles.known}
    past: dict[str, list[np.ndarray]] = {c: [] for c in roles.past}
    filled = filled_series = 0
    for name, group in frame.groupby(KEY, sort=False):
        stamps = pd.DatetimeIndex(group[time_column])
        grid = pd.date_range(stamps[0], stamps[-1], freq=freq)
        if len(grid) == 0 or not stamps.isin(grid).all():
            off = stamps[~stamps.isin(grid)][:3] if len(grid) else stamps[:3]
            raise DataError(f"series {name!r}: timestamps {list(map(str, off))} are off the "
                            f"{freq!r} grid; set problem.frequency or align the times")
        block = group.set_index(time_column).reindex(grid)
        y = block[target].astype(float)
        holes = int(y.isna().sum())
        if holes:
            filled += holes
            filled_series += 1
            y = y.interpolate(limit_direction="both")
        ids.append(str(name))
        starts.append(grid[0])
        values.append(y.to_numpy(dtype=float))
        for col in roles.known:
            known[col].append(block[col].astype(float).ffill().bfill().fillna(0).to_numpy())
        for col in roles.past:
            past[col].append(block[col].astype(float).ffill().bfill().fillna(0).to_numpy())
    first = frame.drop_duplicates(KEY).set_index(KEY)
    id_values = first.loc[ids, id_columns].reset_index(drop=True) if id_columns else \
        pd.DataFrame(index=range(len(ids)))
    static = first.loc[ids, roles.static] if roles.static else pd.DataFrame(index=ids)
    static.index = ids
    notes = []
    if filled:
        notes.append(f"filled {filled} missing timestamps or values in {filled_series} series "
                     "by linear interpolation")
    if roles.ignored:
        notes.append(f"ignored covariates {roles.ignored}: they vary over time and are not "
                     "numeric")
    return Panel(ids=ids, id_values=id_values, id_columns=id_columns, time_column=time_column,
                 target=target, freq=freq, starts=starts, values=values, static=static,
                 known=known, past=past, filled=filled, filled_series=filled_series, notes=notes)
