"""The data contract check: does new data fit what a model was trained on?

A model's `Schema` is its contract: column names and roles, allowed categories, observed ranges
and missing-value rates. `check_frame(frame, schema)` lists every violation; `ContractCheck`
does the same over chunks (for files too large to hold) and gives the same answer as one call
on the whole frame. Batch prediction, serving and `fullcycle validate` share these checks.

Severities: "error" means predictions would be wrong or impossible (a missing column, values of
the wrong type, no rows); "warning" means the model copes but the data moved (unseen categories,
values out of the training range, a jump in missing values, extra columns)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.schema import FALSE_WORDS, MISSING_MARKERS, TRUE_WORDS, ColumnSpec, Schema
from fullcycle.errors import ValidationError

CATEGORY_CAP = 1000  # schemas keep at most this many categories; beyond it "unseen" means nothing
MISSING_JUMP = 0.10  # absolute rise in the missing rate that counts as a jump
EXAMPLES = 3
MISSING_POLICIES = ("impute", "strict")
NAN = float("nan")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
NOT_FINITE = re.compile(r"^[+-]?(inf|infinity)$", re.IGNORECASE)
TRUE_TEXT = TRUE_WORDS | {"1", "1.0"}
FALSE_TEXT = FALSE_WORDS | {"0", "0.0"}
FINITE_MSG = "expected a finite number (infinity and numbers beyond float range are refused)"
REQUIRED_MSG = ("value required: this column had no missing values in training "
                "(contract.missing: strict)")
IMPUTED_MSG = ("missing, although this column had no missing values in training; filled by "
               "the model's imputer (set contract.missing: strict to refuse)")


@dataclass(frozen=True)
class Violation:
    column: str | None
    kind: str  # missing_column, wrong_type, missing_imputed, unseen_category, out_of_range, ...
    severity: str  # "error" or "warning"
    message: str
    count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the per-value rules: ONE definition of what a value means ----------------------------------
# Every entry point (validate, predict, the server, Project.predict) applies these functions, to
# each distinct value of a column (vectorised, below) or to each value of a JSON record. Each
# returns the canonical value (float, NaN = missing; text or None for categories) or a message.
def is_missing_text(value: str) -> bool:
    return value.strip().lower() in MISSING_MARKERS


def numeric_value(value: Any) -> float | str:
    """float (NaN = missing) or an error message. NaN itself means missing; infinities and
    overflow (1e400, as a JSON number or as text) are refused."""
    if value is None:
        return NAN
    if isinstance(value, bool | np.bool_):
        return "expected a number, got a boolean"
    if isinstance(value, str):
        if is_missing_text(value):
            return NAN
        text = value.strip().replace(",", "")
        if NUMBER.match(text):
            number = float(text)
            return FINITE_MSG if math.isinf(number) else number
        return FINITE_MSG if NOT_FINITE.match(text) else \
            "expected a number (or empty for missing)"
    if isinstance(value, int | float | np.integer | np.floating | Decimal):
        try:
            number = float(value)
        except (OverflowError, ValueError):
            return FINITE_MSG
        if math.isnan(number):
            return NAN
        return FINITE_MSG if math.isinf(number) else number
    return f"expected a number, got {type(value).__name__}"


def boolean_value(value: Any) -> float | str:
    if value is None:
        return NAN
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        if value != value:
            return NAN
        if value in (0, 1):
            return float(value)
        return "expected true/false (or 0/1)"
    if isinstance(value, str):
        text = value.strip().lower()
        if text in MISSING_MARKERS:
            return NAN
        if text in TRUE_TEXT:
            return 1.0
        if text in FALSE_TEXT:
            return 0.0
        return "expected true/false, yes/no or 0/1"
    return f"expected a boolean, got {type(value).__name__}"


def category_value(value: Any) -> str | None | tuple[str]:
    """The category as text, None for missing, or a 1-tuple holding an error message."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.isascii() and not _unicode(value):
            return ("expected text (valid Unicode: a lone surrogate is not)",)
        return None if is_missing_text(value) else value
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if value != value:
            return None
        if math.isinf(value):
            return ("expected a category (text), got an infinite number",)
        return str(int(value)) if value == round(value) else str(float(value))
    if isinstance(value, pd.Timestamp | Decimal):
        return str(value)
    return (f"expected a category (text), got {type(value).__name__}",)


def _unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def datetime_value(value: Any, fmt: str | None = None) -> Any:
    """The value (kept as given: the pipeline parses it), None for missing, or a message
    starting with 'expected'."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | np.datetime64):
        return value
    if not isinstance(value, str):
        return f"expected a date/time string, got {type(value).__name__}"
    if is_missing_text(value):
        return None
    try:
        stamp = pd.to_datetime(value, errors="coerce", format=fmt or "mixed")
    except (ValueError, TypeError, OverflowError):
        stamp = pd.NaT
    if stamp is pd.NaT:
        return f"expected a date/time like {fmt or 'ISO 2024-05-01T12:30:00'}"
    return value


def describe(row: int, column: str, value: Any, msg: str) -> str:
    """How a refused value is named everywhere: 1-based data row, column, value, reason."""
    return f"row {row}, column {column!r}: {safe_value(value)!r}: {msg}"


def safe_value(value: Any) -> Any:
    """A value that JSON and messages can carry: non-finite floats and odd objects as text."""
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return str(float(value))
    if isinstance(value, str):
        return value[:80].encode("utf-8", "backslashreplace").decode("utf-8")
    if value is None or isinstance(value, bool | int | float):
        return value
    return repr(value)[:80]


@dataclass
class ColumnResult:
    """One column checked: canonical values, which rows are refused and why, which are
    missing (not refused), which hold an unseen category."""

    values: np.ndarray
    bad: np.ndarray  # bool per row: refused
    reasons: dict[int, str]  # row position -> reason, for the first refused rows
    missing: np.ndarray  # bool per row: missing (refused too under contract.missing: strict)
    unseen: np.ndarray  # bool per row: category not seen in training
    imputed: bool = False  # missing rows here are filled by the model although training had none
    errors: dict[int, str] = field(default_factory=dict)  # factorized code -> reason
    codes: np.ndarray | None = None

    def reason(self, i: int) -> str:
        """Why row position `i` (a refused one) was refused."""
        if i in self.reasons:
            return self.reasons[i]
        if self.codes is not None and int(self.codes[i]) in self.errors:
            return self.errors[int(self.codes[i])]
        return REQUIRED_MSG if self.missing[i] else FINITE_MSG

    def first_problems(self, series: pd.Series, column: str, offset: int,
                       limit: int = EXAMPLES) -> list[str]:
        return [describe(offset + i + 1, column, series.iloc[i], self.reasons[i])
                for i in sorted(self.reasons)[:limit]]


def check_column(series: pd.Series, spec: ColumnSpec, *, missing: str = "impute") -> ColumnResult:
    """Apply the value rules to every distinct value of `series` (vectorised by factorising, so
    a million rows with a few thousand distinct values cost a few thousand calls)."""
    role = spec.role
    numeric = role in ("numeric", "boolean")
    nullable = spec.missing_rate > 0 or missing != "strict"
    n = len(series)
    if role == "numeric" and series.dtype.kind in "iuf":
        values = series.to_numpy(dtype="float64", na_value=NAN)
        bad = np.isinf(values)
        reasons = {int(i): FINITE_MSG for i in np.flatnonzero(bad)[:EXAMPLES]}
        absent = np.isnan(values)
        unseen = np.zeros(n, dtype=bool)
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        lookup: list[Any] = []
        errors: dict[int, str] = {}
        for k, raw in enumerate(uniques.tolist()):
            value = _rule(role, raw, spec)
            if isinstance(value, tuple) or (role != "categorical" and role != "text"
                                            and isinstance(value, str)
                                            and value.startswith("expected")):
                errors[k] = value[0] if isinstance(value, tuple) else value
                value = NAN if numeric else None
            lookup.append(value)
        table = np.array(lookup + [NAN if numeric else None],
                         dtype="float64" if numeric else object)
        values = table[codes]  # code -1 -> the last entry, missing
        bad = np.isin(codes, list(errors)) if errors else np.zeros(n, dtype=bool)
        reasons = {int(i): errors[codes[i]] for i in np.flatnonzero(bad)[:EXAMPLES]}
        absent = (np.isnan(values) if numeric else pd.isna(values)) & ~bad
        known = set(spec.categories or [])
        if role == "categorical" and known and len(known) < CATEGORY_CAP:
            fresh = [k for k, v in enumerate(lookup) if v is not None and k not in errors
                     and v not in known]
            unseen = np.isin(codes, fresh) if fresh else np.zeros(n, dtype=bool)
        else:
            unseen = np.zeros(n, dtype=bool)
    if not nullable:
        result = _refuse_missing(values, bad, reasons, absent, unseen)
    else:
        result = ColumnResult(values, bad, reasons, absent, unseen,
                              imputed=spec.missing_rate == 0)
    if role != "numeric" or series.dtype.kind not in "iuf":
        result.errors, result.codes = errors, codes
    return result


def _refuse_missing(values: np.ndarray, bad: np.ndarray, reasons: dict[int, str],
                    absent: np.ndarray, unseen: np.ndarray) -> ColumnResult:
    for i in np.flatnonzero(absent)[:EXAMPLES]:
        reasons.setdefault(int(i), REQUIRED_MSG)
    reasons = dict(sorted(reasons.items())[:EXAMPLES])
    return ColumnResult(values, bad | absent, reasons, absent, unseen)


def _rule(role: str, raw: Any, spec: ColumnSpec) -> Any:
    if role == "numeric":
        return numeric_value(raw)
    if role == "boolean":
        return boolean_value(raw)
    if role == "datetime":
        return datetime_value(raw, spec.format)
    return category_value(raw)


@dataclass
class _ColumnTally:
    rows: int = 0
    missing: int = 0
    imputed: int = 0
    bad_type: int = 0
    problems: list[str] = field(default_factory=list)
    bad_examples: Counter[str] = field(default_factory=Counter)
    unseen: int = 0
    unseen_examples: Counter[str] = field(default_factory=Counter)
    below: int = 0
    above: int = 0
    low: float = np.inf
    high: float = -np.inf


class ContractCheck:
    """Accumulates contract statistics chunk by chunk; `violations()` renders them. The row
    checks are `check_column`'s, the same ones `predict` and the server apply."""

    def __init__(self, schema: Schema, *, missing: str = "impute") -> None:
        if missing not in MISSING_POLICIES:
            raise ValueError(f"contract.missing must be one of {MISSING_POLICIES}")
        self.schema = schema
        self.missing = missing
        self.rows = 0
        self.columns: list[str] | None = None
        self.tallies: dict[str, _ColumnTally] = {c.name: _ColumnTally() for c in schema.features}

    def update(self, frame: pd.DataFrame) -> None:
        if self.columns is None:
            self.columns = [str(c) for c in frame.columns]
        offset = self.rows
        self.rows += len(frame)
        for spec in self.schema.features:
            if spec.name in frame.columns:
                self._tally(spec, frame[spec.name], self.tallies[spec.name], offset)

    def _tally(self, spec: ColumnSpec, raw: pd.Series, tally: _ColumnTally, offset: int) -> None:
        result = check_column(raw, spec, missing=self.missing)
        tally.rows += len(raw)
        tally.missing += int(result.missing.sum())
        if result.imputed:
            tally.imputed += int(result.missing.sum())
        bad = int(result.bad.sum())
        if bad:
            tally.bad_type += bad
            if len(tally.problems) < EXAMPLES:
                tally.problems += result.first_problems(raw, spec.name, offset)
                tally.problems = tally.problems[:EXAMPLES]
            tally.bad_examples.update(raw[result.bad].astype(str).head(1000).tolist())
        if result.unseen.any():
            tally.unseen += int(result.unseen.sum())
            tally.unseen_examples.update(raw[result.unseen].astype(str).head(1000).tolist())
        if spec.role == "numeric":
            values = result.values[~result.bad & ~result.missing]
            if len(values):
                tally.low = min(tally.low, float(values.min()))
                tally.high = max(tally.high, float(values.max()))
                if spec.minimum is not None:
                    tally.below += int((values < spec.minimum).sum())
                if spec.maximum is not None:
                    tally.above += int((values > spec.maximum).sum())

    def violations(self) -> list[Violation]:
        out: list[Violation] = []
        if self.rows == 0:
            return [Violation(None, "no_rows", "error", "the data has no rows", 0)]
        present = set(self.columns or [])
        missing = [c.name for c in self.schema.features if c.name not in present]
        for name in missing:
            out.append(Violation(name, "missing_column", "error",
                                 f"column {name!r} is missing; the model needs it (empty values "
                                 "are allowed)", self.rows))
        known = set(self.schema.names)
        for name in sorted(present - known):
            out.append(Violation(name, "extra_column", "warning",
                                 f"column {name!r} is not in the model's contract; it is ignored",
                                 self.rows))
        for spec in self.schema.features:
            if spec.name in present:
                out.extend(_render(spec, self.tallies[spec.name]))
        return out


def _examples(counter: Counter[str]) -> str:
    return ", ".join(repr(v) for v, _ in counter.most_common(EXAMPLES))


def _render(spec: ColumnSpec, t: _ColumnTally) -> list[Violation]:
    out: list[Violation] = []
    name = spec.name
    if t.bad_type:
        out.append(Violation(name, "wrong_type", "error",
                             f"{t.bad_type} value(s) refused; first: " + "; ".join(t.problems),
                             t.bad_type))
    if t.imputed:
        out.append(Violation(name, "missing_imputed", "warning",
                             f"{t.imputed} value(s) {IMPUTED_MSG}", t.imputed))
    if t.unseen:
        out.append(Violation(name, "unseen_category", "warning",
                             f"{t.unseen} value(s) in categories not seen in training, e.g. "
                             f"{_examples(t.unseen_examples)}", t.unseen))
    if t.below:
        out.append(Violation(name, "out_of_range", "warning",
                             f"{t.below} value(s) below the training minimum {spec.minimum:g} "
                             f"(lowest {t.low:g})", t.below))
    if t.above:
        out.append(Violation(name, "out_of_range", "warning",
                             f"{t.above} value(s) above the training maximum {spec.maximum:g} "
                             f"(highest {t.high:g})", t.above))
    rate = t.missing / t.rows if t.rows else 0.0
    if rate - spec.missing_rate >= MISSING_JUMP:
        # a warning, never an error: the rows themselves were judged above, and predict scores
        # what validate passes (missing values are imputed or, under strict, refused per row)
        out.append(Violation(name, "missing_rate", "warning",
                             f"missing in {rate:.1%} of rows vs {spec.missing_rate:.1%} in "
                             "training", t.missing))
    return out


def _expected(spec: ColumnSpec) -> str:
    return {"numeric": "numbers", "boolean": "true/false (yes/no, 1/0)",
            "datetime": f"dates{f' ({spec.format})' if spec.format else ''}"}.get(spec.role,
                                                                                   spec.role)


def check_frame(frame: pd.DataFrame, schema: Schema, *, missing: str = "impute"
                ) -> list[Violation]:
    """Every way `frame` breaks the contract in `schema` (empty list: it fits)."""
    check = ContractCheck(schema, missing=missing)
    check.update(frame)
    return check.violations()


def errors_only(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity == "error"]


def raise_for_violations(violations: list[Violation], where: str = "input") -> None:
    """Raise a ValidationError listing the error-level violations, if any."""
    errors = errors_only(violations)
    if not errors:
        return
    lines = "; ".join(f"{v.column or '(table)'}: {v.message}" for v in errors[:10])
    more = f" and {len(errors) - 10} more" if len(errors) > 10 else ""
    raise ValidationError(f"{where} breaks the model's data contract: {lines}{more}",
                          violations=[v.to_dict() for v in violations])
