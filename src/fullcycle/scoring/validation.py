"""Request validation from the model's data contract, and the typed OpenAPI schema it implies.

`RecordValidator` turns one JSON record into canonical values, one per feature in the
contract's order: floats for numeric and boolean columns (NaN = missing), strings or None for
categorical ones. The canonical values mean exactly what `fullcycle.data.schema.coerce_frame`
makes of the same value, so the fast path and `Model.predict` agree.

Every problem is collected (not just the first) as `{"loc", "msg", "type", "input"}` and answered
422. Unseen categories and out-of-range numbers are accepted and reported as warnings, because
the model handles them (unknown category -> infrequent/zero column; trees extrapolate flat)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from fullcycle.data.contract import (
    IMPUTED_MSG,
    REQUIRED_MSG,
    boolean_value,
    category_value,
    datetime_value,
    is_missing_text,
    numeric_value,
    safe_value,
)
from fullcycle.data.schema import MISSING_MARKERS, ColumnSpec, Schema
from fullcycle.errors import did_you_mean

NAN = float("nan")
# The value rules live in the data contract (one definition for validate, predict, the server).
_numeric, _boolean, _category, _datetime = numeric_value, boolean_value, category_value, \
    datetime_value
_is_missing_text = is_missing_text


class RequestInvalid(Exception):
    """A request that breaks the contract; `detail` is the list of problems."""

    def __init__(self, detail: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(detail)} problem(s)")
        self.detail = detail


def problem(loc: list[Any], msg: str, kind: str, value: Any = None) -> dict[str, Any]:
    """One 422 entry. The input is echoed JSON-safe: NaN, infinity, lone surrogates and odd
    objects as text, so the answer itself always serialises."""
    out = {"loc": [safe_value(part) for part in loc], "msg": msg, "type": kind}
    if value is not None:
        out["input"] = safe_value(value)
    return out


@dataclass
class Column:
    spec: ColumnSpec
    nullable: bool  # a missing value is accepted (training had some, or contract.missing: impute)
    known: frozenset[str]
    imputed: bool = False  # accepted missing values are filled although training had none


class RecordValidator:
    """Validates records against a schema; reusable and thread-safe (read-only after init)."""

    def __init__(self, schema: Schema, *, missing: str = "impute") -> None:
        self.schema = schema
        self.missing = missing
        strict = missing == "strict"
        self.columns = [Column(spec=c, nullable=c.missing_rate > 0 or not strict,
                               known=frozenset(c.categories or []),
                               imputed=c.missing_rate == 0 and not strict)
                        for c in schema.features]
        self.names = [c.spec.name for c in self.columns]
        # Columns the contract knows but the model ignores (ids, the target) may be sent.
        self.ignored = frozenset(c.name for c in schema.columns) - set(self.names)
        self.allowed = frozenset(self.names) | self.ignored

    def record(self, record: Any, row: int, problems: list[dict[str, Any]],
               warnings: list[dict[str, Any]]) -> list[Any]:
        """Canonical values for one record; problems and warnings are appended."""
        if not isinstance(record, dict):
            problems.append(problem(["body", row], "expected a JSON object (one record)",
                                    "type_error", repr(record)[:80]))
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
        value: Any
        if role == "numeric":
            value = _numeric(raw)
        elif role == "boolean":
            value = _boolean(raw)
        elif role == "datetime":
            value = _datetime(raw, getattr(spec, "format", None))
            if isinstance(value, str) and value.startswith("expected"):
                problems.append(problem(loc, value, "type_error", raw))
                return None
            if value is None:
                self._missing(col, loc, raw, problems, warnings)
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
            self._missing(col, loc, raw, problems, warnings)
            return value
        if role == "categorical" and col.known and value not in col.known:
            warnings.append(problem(loc, "category not seen in training; predicted as an "
                                    "infrequent/unknown category", "unseen_category", value))
        elif role == "numeric" and spec.minimum is not None and spec.maximum is not None and \
                not spec.minimum <= value <= spec.maximum:
            warnings.append(problem(loc, f"outside the training range [{spec.minimum:g}, "
                                    f"{spec.maximum:g}]", "out_of_range", value))
        return value

    @staticmethod
    def _missing(col: Column, loc: list[Any], raw: Any, problems: list[dict[str, Any]],
                 warnings: list[dict[str, Any]]) -> None:
        if not col.nullable:
            problems.append(problem(loc, REQUIRED_MSG, "missing_not_allowed", raw))
        elif col.imputed:
            warnings.append(problem(loc, IMPUTED_MSG, "missing_imputed", raw))

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
def contract_example(schema: Schema) -> dict[str, Any]:
    """A synthetic record of typical values from the contract alone (the middle of the training
    range, the most frequent category): for /docs and /metadata, never a real training row."""
    row: dict[str, Any] = {}
    for spec in schema.features:
        value: Any = None
        if spec.role == "numeric" and spec.minimum is not None and spec.maximum is not None:
            middle = (float(spec.minimum) + float(spec.maximum)) / 2
            integral = float(spec.minimum).is_integer() and float(spec.maximum).is_integer()
            value = int(round(middle)) if integral else round(middle, 2)
        elif spec.role == "boolean":
            value = False
        elif spec.role == "datetime":
            value = "2024-01-01T00:00:00"
        elif spec.categories:
            value = spec.categories[0]  # categories are kept most frequent first
        elif spec.role == "text":
            value = "text"
        row[spec.name] = value
    return row


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


def parse_json(body: bytes) -> Any:
    """A request body as JSON, or RequestInvalid (422) naming the body."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise RequestInvalid([problem(["body"], "body is not valid JSON (UTF-8)",
                                      "json_invalid")]) from None


def columns_of(roles: list[str], rows: list[list[Any]]) -> list[np.ndarray]:
    """Canonical rows -> one array per feature (float for numbers/booleans, object otherwise)."""
    out = []
    for i, role in enumerate(roles):
        numeric = role in ("numeric", "boolean")
        out.append(np.array([r[i] for r in rows], dtype="float64" if numeric else object))
    return out


def rows_to_columns(validator: Any, rows: list[list[Any]]) -> list[np.ndarray]:
    return columns_of([c.spec.role for c in validator.columns], rows)
