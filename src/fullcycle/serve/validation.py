"""Request validation from the model's data contract, and the typed OpenAPI schema it implies.

`RecordValidator` turns one JSON record into canonical values, one per feature in the
contract's order: floats for numeric and boolean columns (NaN = missing), strings or None for
categorical ones. The canonical values mean exactly what `fullcycle.data.schema.coerce_frame`
makes of the same value, so the fast path and `Model.predict` agree.

Every problem is collected (not just the first) as `{"loc", "msg", "type", "input"}` and answered
422. Unseen categories and out-of-range numbers are accepted and reported as warnings, because
the model handles them (unknown category -> infrequent/zero column; trees extrapolate flat)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from fullcycle.data.schema import FALSE_WORDS, MISSING_MARKERS, TRUE_WORDS, ColumnSpec, Schema
from fullcycle.errors import did_you_mean

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
NAN = float("nan")
TRUE_TEXT = TRUE_WORDS | {"1", "1.0"}
FALSE_TEXT = FALSE_WORDS | {"0", "0.0"}


class RequestInvalid(Exception):
    """A request that breaks the contract; `detail` is the list of problems."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(detail)} problem(s)")
        self.detail = detail


def problem(loc: list[Any], msg: str, kind: str, value: Any = None) -> dict[str, Any]:
    out = {"loc": loc, "msg": msg, "type": kind}
    if value is not None:
        out["input"] = value if isinstance(value, str | int | float | bool) else repr(value)[:80]
    return out


def _is_missing_text(value: str) -> bool:
    return value.strip().lower() in MISSING_MARKERS


def _numeric(value: Any) -> float | str:
    """float (NaN = missing) or an error message."""
    if value is None:
        return NAN
    if isinstance(value, bool):
        return "expected a number, got a boolean"
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return "expected a number within float range"
        if math.isinf(number):
            return "expected a finite number"
        return number
    if isinstance(value, str):
        if _is_missing_text(value):
            return NAN
        text = value.strip().replace(",", "")
        if NUMBER.match(text):
            return float(text)
        return "expected a number (or null / empty for missing)"
    return f"expected a number, got {type(value).__name__}"


def _boolean(value: Any) -> float | str:
    if value is None:
        return NAN
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
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


def _category(value: Any) -> str | None | tuple[str]:
    """The category as text, None for missing, or a 1-tuple holding an error message."""
    if value is None:
        return None
    if isinstance(value, str):
        return None if _is_missing_text(value) else value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return None
        if math.isinf(value):
            return ("expected a category (text), got an infinite number",)
        return str(int(value)) if value == round(value) else str(value)
    return (f"expected a category (text), got {type(value).__name__}",)


def _datetime(value: Any, fmt: str | None = None) -> Any:
    import pandas as pd

    if value is None:
        return None
    if not isinstance(value, str):
        return f"expected a date/time string, got {type(value).__name__}"
    if _is_missing_text(value):
        return None
    try:
        stamp = pd.to_datetime(value, errors="coerce", format=fmt or "mixed")
    except (ValueError, TypeError):
        stamp = pd.NaT
    if stamp is pd.NaT:
        return f"expected a date/time like {fmt or 'ISO 2024-05-01T12:30:00'}"
    return value  # kept as text: the pipeline's own coercion parses it the same way


@dataclass
class Column:
    spec: ColumnSpec
    nullable: bool
    known: frozenset[str]


class RecordValidator:
    """Validates records against a schema; reusable and thread-safe (read-only after init)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.columns = [Column(spec=c, nullable=c.missing_rate > 0,
                               known=frozenset(c.categories or [])) for c in schema.features]
        self.names = [c.spec.name for c in self.columns]
        # Columns the contract knows but the model ignores (ids, the target) may be sent.
        self.ignored = frozenset(c.name for c in schema.columns) - set(self.names)
        self.allowed = frozenset(self.names) | self.ignored

    def record(self, record: Any, row: int, problems: list[dict[str, Any]],
               warnings: list[dict[str, Any]]) -> list[Any]:
        """Canonical values for one record; problems and warnings are appended."""
        if not isinstance(record, dict):
            problems.append(problem(["body", row], "expected a JSON object (one record)",
                                    "type_error", record))
            return []
        for key in record:
            if key not in self.allowed:
                problems.append(problem(["body", row, key], "extra field not allowed; the model "
                                        "has no such input." + did_you_mean(str(key), self.names),
                                        "extra_forbidden"))
        values: list[Any] = []
        for col in self.columns:
            name = col.spec.name
            if name not in record:
                problems.append(problem(["body", row, name], "field required (send null for a "
                                        "missing value)" if col.nullable else "field required",
                                        "missing"))
                values.append(None)
                continue
            values.append(self._value(col, record[name], row, problems, warnings))
        return values

    def _value(self, col: Column, raw: Any, row: int, problems: list[dict[str, Any]],
               warnings: list[dict[str, Any]]) -> Any:
        spec, loc = col.spec, ["body", row, col.spec.name]
        role = spec.role
        if role == "numeric":
            value = _numeric(raw)
        elif role == "boolean":
            value = _boolean(raw)
        elif role == "datetime":
            value = _datetime(raw, getattr(spec, "format", None))
            if isinstance(value, str) and value.startswith("expected"):
                problems.append(problem(loc, value, "type_error", raw))
                return None
            if value is None and not col.nullable:
                problems.append(problem(loc, "value required: this column had no missing "
                                        "values in training", "missing_not_allowed", raw))
            return value
        else:
            value = _category(raw)
            if isinstance(value, tuple):
                value = value[0]
                problems.append(problem(loc, value, "type_error", raw))
                return None
        if isinstance(value, str) and role != "categorical" and role != "text":
            problems.append(problem(loc, value, "type_error", raw))
            return None
        missing = value is None or (isinstance(value, float) and value != value)
        if missing:
            if not col.nullable:
                problems.append(problem(loc, "value required: this column had no missing values "
                                        "in training", "missing_not_allowed", raw))
            return value
        if role == "categorical" and col.known and value not in col.known:
            warnings.append({"loc": loc, "msg": "category not seen in training; predicted as "
                             "an infrequent/unknown category", "type": "unseen_category",
                             "input": value})
        elif role == "numeric" and spec.minimum is not None and spec.maximum is not None and \
                not spec.minimum <= value <= spec.maximum:
            warnings.append({"loc": loc, "msg": f"outside the training range [{spec.minimum:g}, "
                             f"{spec.maximum:g}]", "type": "out_of_range", "input": value})
        return value

    def records(self, payload: Any, max_rows: int) -> tuple[list[list[Any]], list[dict[str, Any]]]:
        """The canonical rows of a request body, or RequestInvalid."""
        if isinstance(payload, dict):
            payload = [payload]
        if not isinstance(payload, list) or not payload:
            raise RequestInvalid([problem(["body"], "expected a JSON object or a non-empty list "
                                          "of objects (one per record)", "type_error")])
        if len(payload) > max_rows:
            raise RequestInvalid([problem(["body"], f"{len(payload)} records; at most {max_rows} "
                                          "per request (serve.max_rows)", "too_long")])
        problems: list[dict[str, Any]] = []
        warnings: list[dict[str, Any]] = []
        rows = [self.record(r, i, problems, warnings) for i, r in enumerate(payload)]
        if problems:
            raise RequestInvalid(problems[:100])
        return rows, warnings


def _any_case(text: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else "\\?" if c == "?" else c
                   for c in text)


# Whitespace as str.strip() sees it (what the coercion strips), spelled out for any regex engine.
_SPACE = "[" + "".join(f"\\u{c:04x}" for c in range(0x3001) if chr(c).isspace()) + "]*"
MISSING_PATTERN = "^" + _SPACE + "(" + "|".join(_any_case(m.strip()) for m in
                                                sorted(MISSING_MARKERS) if m.strip()) \
    + ")?" + _SPACE + "$"


# --- OpenAPI -----------------------------------------------------------------------------------
def record_schema(schema: Schema, example: dict[str, Any] | None) -> dict[str, Any]:
    """JSON Schema of one input record, from the contract (types, nullability, categories,
    training ranges)."""
    props: dict[str, Any] = {}
    required: list[str] = []
    for spec in schema.features:
        prop = _property(spec)
        if spec.missing_rate == 0 and prop.get("type") == "string":
            prop["not"] = {"pattern": MISSING_PATTERN}  # markers mean missing, not allowed here
        if spec.missing_rate > 0:
            prop = {"anyOf": [prop, {"type": "null"}], "description": prop.pop("description", "")
                    + " Missing allowed (null)."}
        props[spec.name] = prop
        required.append(spec.name)
    out: dict[str, Any] = {"type": "object", "properties": props, "required": required,
                           "additionalProperties": False,
                           "description": "One record. Columns the model ignores ("
                           + ", ".join(sorted({c.name for c in schema.columns} - set(required)))
                           + ") are also accepted and ignored."}
    if example:
        out["example"] = example
    return out


def _property(spec: ColumnSpec) -> dict[str, Any]:
    if spec.role == "numeric":
        desc = "Number (numeric text accepted)."
        if spec.minimum is not None:
            desc += f" Seen in training: {spec.minimum:g} to {spec.maximum:g}; values outside " \
                    "are accepted and reported."
        return {"type": "number", "description": desc, "x-training-min": spec.minimum,
                "x-training-max": spec.maximum}
    if spec.role == "boolean":
        return {"anyOf": [{"type": "boolean"}, {"type": "integer", "enum": [0, 1]}],
                "description": "true/false or 0/1."}
    if spec.role == "datetime":
        return {"type": "string", "format": "date-time", "description": "ISO date/time."}
    cats = spec.categories or []
    shown = ", ".join(repr(c) for c in cats[:20]) + (" ..." if len(cats) > 20 else "")
    return {"type": "string", "description": f"Category seen in training: {shown}. Unseen "
            "categories are accepted, counted and reported.", "examples": cats[:20]}
