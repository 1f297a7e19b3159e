"""The data contract check: does new data fit what a model was trained on?

A model's `Schema` is its contract: column names and roles, allowed categories, observed ranges
and missing-value rates. `check_frame(frame, schema)` lists every violation; `ContractCheck`
does the same over chunks (for files too large to hold) and gives the same answer as one call
on the whole frame. Batch prediction, serving and `fullcycle validate` share these checks.

Severities: "error" means predictions would be wrong or impossible (a missing column, values of
the wrong type, no rows); "warning" means the model copes but the data moved (unseen categories,
values out of the training range, a jump in missing values, extra columns)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.schema import (
    FALSE_WORDS,
    TRUE_WORDS,
    ColumnSpec,
    Schema,
    normalise_missing,
    to_category_text,
    to_datetime,
    to_numeric,
)
from fullcycle.errors import ValidationError

CATEGORY_CAP = 1000  # schemas keep at most this many categories; beyond it "unseen" means nothing
MISSING_JUMP = 0.10  # absolute rise in the missing rate that counts as a jump
EXAMPLES = 3


@dataclass(frozen=True)
class Violation:
    column: str | None
    kind: str  # missing_column, wrong_type, unseen_category, out_of_range, missing_rate, ...
    severity: str  # "error" or "warning"
    message: str
    count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _ColumnTally:
    rows: int = 0
    missing: int = 0
    bad_type: int = 0
    bad_examples: Counter[str] = field(default_factory=Counter)
    unseen: int = 0
    unseen_examples: Counter[str] = field(default_factory=Counter)
    below: int = 0
    above: int = 0
    low: float = np.inf
    high: float = -np.inf


def _text(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip()


class ContractCheck:
    """Accumulates contract statistics chunk by chunk; `violations()` renders them."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.rows = 0
        self.columns: list[str] | None = None
        self.tallies: dict[str, _ColumnTally] = {c.name: _ColumnTally() for c in schema.features}

    def update(self, frame: pd.DataFrame) -> None:
        if self.columns is None:
            self.columns = [str(c) for c in frame.columns]
        self.rows += len(frame)
        for spec in self.schema.features:
            if spec.name in frame.columns:
                self._tally(spec, frame[spec.name], self.tallies[spec.name])

    def _tally(self, spec: ColumnSpec, raw: pd.Series, tally: _ColumnTally) -> None:
        clean = normalise_missing(raw)
        present = clean.notna()
        tally.rows += len(clean)
        tally.missing += int((~present).sum())
        if spec.role == "numeric":
            self._numeric(spec, clean, present, tally)
        elif spec.role == "boolean":
            words = _text(clean[present]).str.lower()
            ok = words.isin(TRUE_WORDS | FALSE_WORDS | {"1", "0", "1.0", "0.0"})
            self._bad(tally, clean[present][~ok.to_numpy(dtype=bool, na_value=False)])
        elif spec.role == "datetime":
            parsed = to_datetime(clean, spec.format)
            self._bad(tally, clean[present & parsed.isna()])
        elif spec.role == "categorical" and spec.categories is not None \
                and len(spec.categories) < CATEGORY_CAP:
            values = to_category_text(clean).dropna()
            unseen = values[~values.isin(set(spec.categories))]
            tally.unseen += len(unseen)
            tally.unseen_examples.update(unseen.astype(str).head(1000).tolist())

    def _numeric(self, spec: ColumnSpec, clean: pd.Series, present: pd.Series,
                 tally: _ColumnTally) -> None:
        numbers = to_numeric(clean)
        self._bad(tally, clean[present & numbers.isna()])
        values = numbers.dropna()
        if not len(values):
            return
        tally.low, tally.high = min(tally.low, values.min()), max(tally.high, values.max())
        if spec.minimum is not None:
            tally.below += int((values < spec.minimum).sum())
        if spec.maximum is not None:
            tally.above += int((values > spec.maximum).sum())

    @staticmethod
    def _bad(tally: _ColumnTally, bad: pd.Series) -> None:
        tally.bad_type += len(bad)
        tally.bad_examples.update(bad.astype(str).head(1000).tolist())

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
                             f"{t.bad_type} value(s) are not {_expected(spec)}, e.g. "
                             f"{_examples(t.bad_examples)}", t.bad_type))
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
        severity = "error" if rate == 1.0 else "warning"
        out.append(Violation(name, "missing_rate", severity,
                             f"missing in {rate:.1%} of rows vs {spec.missing_rate:.1%} in "
                             "training", t.missing))
    return out


def _expected(spec: ColumnSpec) -> str:
    return {"numeric": "numbers", "boolean": "true/false (yes/no, 1/0)",
            "datetime": f"dates{f' ({spec.format})' if spec.format else ''}"}.get(spec.role,
                                                                                   spec.role)


def check_frame(frame: pd.DataFrame, schema: Schema) -> list[Violation]:
    """Every way `frame` breaks the contract in `schema` (empty list: it fits)."""
    check = ContractCheck(schema)
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
