"""Column roles and the data contract.

`infer_schema` looks at a raw frame and decides each column's role; `coerce_frame` turns raw
input (numbers stored as text, blanks, disguised missing markers) into the types the roles say.
The same `Schema` is saved inside every model and is what serving validates against."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from fullcycle.data.numbers import parse_numbers
from fullcycle.errors import ConfigError, DataError, did_you_mean

Role = Literal[
    "numeric", "categorical", "boolean", "datetime", "text", "identifier", "constant", "ignore"
]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]
FEATURE_ROLES = ("numeric", "categorical", "boolean", "datetime", "text")
MISSING_MARKERS = frozenset({"", " ", "?", "na", "n/a", "nan", "null", "none", "-", "--"})
TRUE_WORDS = frozenset({"true", "yes", "y", "t"})
FALSE_WORDS = frozenset({"false", "no", "n", "f"})


@dataclass
class ColumnSpec:
    name: str
    role: str
    dtype: str
    missing_rate: float = 0.0
    categories: list[str] | None = None  # categorical: values seen in training (top ones)
    minimum: float | None = None
    maximum: float | None = None
    note: str | None = None  # why the role was chosen, when it is not obvious
    format: str | None = None  # datetime: the layout found, e.g. %d/%m/%Y

    @property
    def is_feature(self) -> bool:
        return self.role in FEATURE_ROLES


@dataclass
class Schema:
    columns: list[ColumnSpec]
    target: str | None = None
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def features(self) -> list[ColumnSpec]:
        return [c for c in self.columns if c.is_feature and c.name != self.target]

    def by_role(self, role: str) -> list[str]:
        return [c.name for c in self.features if c.role == role]

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "columns": [asdict(c) for c in self.columns],
                "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Schema:
        return cls(columns=[ColumnSpec(**c) for c in raw["columns"]], target=raw.get("target"),
                   warnings=list(raw.get("warnings", [])))


def _as_text(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip()


def normalise_missing(series: pd.Series) -> pd.Series:
    """Disguised missing markers ('', ' ', '?', 'NA', 'null', ...) become real missing values."""
    if series.dtype.kind in "biufcmM":
        return series
    text = _as_text(series)
    return series.where(~text.str.lower().isin(MISSING_MARKERS).fillna(False), np.nan)


def to_numeric(series: pd.Series) -> pd.Series:
    if series.dtype.kind in "biuf":
        return series.astype("float64")
    if series.dtype.kind == "b":
        return series.astype("float64")
    text = _as_text(normalise_missing(series)).str.replace(",", "", regex=False)
    return pd.Series(parse_numbers(text), index=series.index, name=series.name)


def to_boolean(series: pd.Series) -> pd.Series:
    if series.dtype.kind in "biuf":
        return series.astype("float64")
    text = _as_text(normalise_missing(series)).str.lower()
    out = pd.Series(np.nan, index=series.index, dtype="float64")
    out[text.isin(TRUE_WORDS | {"1", "1.0"}).fillna(False).to_numpy(bool)] = 1.0
    out[text.isin(FALSE_WORDS | {"0", "0.0"}).fillna(False).to_numpy(bool)] = 0.0
    return out


# Common date layouts, tried in order; the first that parses (almost) every sampled value wins.
# Month-first comes before day-first when both parse everything (all days <= 12): say so.
DATE_FORMATS = ("ISO8601", "%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y",
                "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S",
                "%b %d, %Y", "%d %b %Y", "%B %d, %Y", "%d %B %Y", "%m/%d/%y", "%d/%m/%y")
ID_NAME = re.compile(r"(^|[_\s-])(id|uuid|guid|key|code)$|^id[_\s-]|Id$|ID$")


def to_datetime(series: pd.Series, fmt: str | None = None) -> pd.Series:
    """Datetimes; `fmt` is the layout schema inference found (None: guess per value)."""
    if series.dtype.kind == "M":
        return series
    clean = normalise_missing(series)
    try:
        return pd.to_datetime(clean, errors="coerce", format=fmt or "mixed")
    except (ValueError, TypeError):  # mixed time zones and the like: parse as UTC
        return pd.to_datetime(clean, errors="coerce", format=fmt or "mixed", utc=True)


def date_format(text: pd.Series) -> str | None:
    """The first common layout that parses >= 95% of the (non-missing, stripped) values."""
    sample = text.head(500)
    if not len(sample) or not sample.str.contains(r"\d", regex=True).all():
        return None
    if not sample.str.len().between(6, 35).all():
        return None
    for fmt in DATE_FORMATS:
        try:
            parsed = pd.to_datetime(sample, errors="coerce", format=fmt)
        except (ValueError, TypeError):
            continue
        if parsed.notna().mean() >= 0.95:
            return fmt
    return None


def to_category_text(series: pd.Series) -> pd.Series:
    """Categorical values as strings (numbers too), missing kept missing."""
    clean = normalise_missing(series)
    if clean.dtype.kind == "f":
        # 1.0 and 1 are the same category whether they came from a CSV or JSON.
        as_int = clean.dropna()
        if len(as_int) and (as_int == np.round(as_int)).all():
            clean = clean.astype("Int64")
    return clean.astype("string").astype(object).where(clean.notna(), np.nan)


@dataclass
class Guess:
    """A column's inferred role, what else it could be, and why."""

    role: str
    fallback: str = "categorical"  # the role when a cleaning switch keeps the column
    note: str | None = None
    warning: str | None = None
    format: str | None = None


def _numeric_guess(series: pd.Series, name: str, n: int, nunique: int) -> Guess:
    values = series.dropna()
    if series.dtype.kind == "b":
        return Guess("boolean")
    ints = series.dtype.kind in "iu" or bool((values == np.round(values)).all())
    if ints and nunique == n and n >= 50 and (_is_sequential(values) or ID_NAME.search(name)):
        return Guess("identifier", "numeric", "unique per row; excluded from features",
                     f"{name}: looks like an identifier (unique per row); not used as a feature")
    if nunique == 2 and set(values.unique()) <= {0, 1}:
        return Guess("boolean")
    return Guess("numeric")


def _text_guess(series: pd.Series, name: str, n: int, nunique: int) -> Guess:
    text = _as_text(series).dropna()
    lower = text.str.lower()
    if nunique == 2 and set(lower.unique()) <= (TRUE_WORDS | FALSE_WORDS):
        return Guess("boolean")
    numeric = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    share = float(numeric.notna().mean())
    if share >= 0.95:
        bad = text[numeric.isna()]
        warning = f"{name}: numbers stored as text; converted to numeric"
        if len(bad):
            examples = ", ".join(repr(v) for v in bad.unique()[:3])
            warning += f" ({len(bad)} non-numeric values such as {examples} become missing)"
        return Guess("numeric", note="numbers stored as text", warning=warning)
    fmt = date_format(text)
    if fmt:
        return Guess("datetime", note=f"dates as {fmt}", format=fmt)
    if n >= 50 and nunique / n > 0.95:
        if text.head(500).str.count(" ").mean() >= 3:
            return Guess("text")
        return Guess("identifier", "categorical", "unique per row; excluded from features",
                     f"{name}: looks like an identifier (unique per row); not used as a feature")
    if n >= 50 and nunique / n > 0.5 and text.str.count(" ").mean() >= 3:
        return Guess("text")
    if share >= 0.2:
        return Guess("categorical", note="mixed numbers and text",
                     warning=f"{name}: mixed types ({share:.0%} numbers, {1 - share:.0%} text); "
                     "treated as categorical; set data.roles to change it")
    return Guess("categorical")


def guess_role(series: pd.Series, name: str = "") -> Guess:
    """Role of a non-target column from its values (disguised missing already normalised)."""
    n = int(series.notna().sum())
    if n == 0:
        return Guess("constant", note="all missing",
                     warning=f"{name}: all missing; not used as a feature")
    nunique = int(series.nunique(dropna=True))
    kind = series.dtype.kind
    fallback = "numeric" if kind in "iufb" else "categorical"
    if nunique <= 1:
        return Guess("constant", fallback, note="one value",
                     warning=f"{name}: constant (one value); not used as a feature")
    if kind == "M":
        return Guess("datetime")
    if kind in "iufb":
        return _numeric_guess(series, name, n, nunique)
    return _text_guess(series, name, n, nunique)


def _looks_like(series: pd.Series) -> str:
    return guess_role(series).role


def _is_sequential(values: pd.Series) -> bool:
    ordered = np.sort(values.to_numpy())
    steps = np.diff(ordered)
    return bool(len(steps) and (steps == steps[0]).mean() > 0.9)


def _check_overrides(frame: pd.DataFrame, overrides: dict[str, str]) -> None:
    for name, role in overrides.items():
        if name not in frame.columns:
            raise ConfigError(f"data.roles names column {name!r}, which is not in the data."
                              + did_you_mean(name, map(str, frame.columns)))
        if role not in ROLES:
            raise ConfigError(f"data.roles.{name}: unknown role {role!r}."
                              + did_you_mean(role, ROLES))


def infer_schema(
    frame: pd.DataFrame, target: str | None = None, overrides: dict[str, str] | None = None,
    *, exclude_identifiers: bool = True, drop_constant: bool = True,
) -> Schema:
    """Decide each column's role; overrides from the config win. With `exclude_identifiers` or
    `drop_constant` off, such columns keep their underlying role and stay features."""
    overrides = dict(overrides or {})
    _check_overrides(frame, overrides)
    columns: list[ColumnSpec] = []
    warnings: list[str] = []
    for name in frame.columns:
        raw = frame[name]
        clean = normalise_missing(raw)
        disguised = int(clean.isna().sum() - raw.isna().sum())
        if disguised:
            warnings.append(f"{name}: {disguised} disguised missing values (blank/'?'/'NA') "
                            "treated as missing")
        guess = Guess("target") if name == target else guess_role(clean, str(name))
        keep = ((guess.role == "identifier" and not exclude_identifiers)
                or (guess.role == "constant" and not drop_constant))
        if keep:
            guess = Guess(guess.fallback, note=f"{guess.note}; kept as a feature by the config")
        role = overrides.get(name) or guess.role
        spec = ColumnSpec(name=str(name), role=role, dtype=str(raw.dtype),
                          missing_rate=float(clean.isna().mean()) if len(clean) else 0.0,
                          note=guess.note, format=guess.format if role == "datetime" else None)
        if name in overrides:
            spec.note = f"role set by data.roles (inferred: {guess.role})"
        elif guess.warning:
            warnings.append(guess.warning)
        _fill_contract(spec, clean)
        columns.append(spec)
    return Schema(columns=columns, target=target, warnings=warnings)


def _fill_contract(spec: ColumnSpec, clean: pd.Series) -> None:
    if spec.role == "numeric":
        values = to_numeric(clean).dropna()
        if len(values):
            spec.minimum, spec.maximum = float(values.min()), float(values.max())
    elif spec.role in ("categorical", "boolean"):
        counts = to_category_text(clean).value_counts()
        spec.categories = [str(v) for v in counts.index[:1000]]


def coerce_frame(frame: pd.DataFrame, schema: Schema, *, require_all: bool = True) -> pd.DataFrame:
    """Raw input -> typed feature frame, in the schema's column order.

    Missing feature columns are an error when `require_all`; otherwise they are filled missing."""
    features = schema.features
    absent = [c.name for c in features if c.name not in frame.columns]
    if absent and require_all:
        raise DataError(
            f"input is missing {len(absent)} column(s) the model needs: {', '.join(absent[:10])}"
            + (" ..." if len(absent) > 10 else "") + ". Add them (empty values are allowed)."
        )
    out: dict[str, pd.Series] = {}
    empty = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for spec in features:
        col = frame[spec.name] if spec.name in frame.columns else empty
        if spec.role == "numeric":
            out[spec.name] = to_numeric(col)
        elif spec.role == "boolean":
            out[spec.name] = to_boolean(col)
        elif spec.role == "datetime":
            out[spec.name] = to_datetime(col, spec.format)
        else:
            out[spec.name] = to_category_text(col)
    return pd.DataFrame(out, index=frame.index)
