"""Schema inference (roles, numbers as text, disguised missing, dates, mixed types, identifiers,
overrides), the cleaning switches and the leakage check, and the data contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fullcycle.config import DataConfig
from fullcycle.data import ContractCheck, Dataset, check_frame, infer_schema, raise_for_violations
from fullcycle.data.schema import coerce_frame
from fullcycle.errors import ConfigError, ValidationError

N = 120


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    amount = rng.uniform(10, 100, N).round(2)
    return pd.DataFrame({
        "order_id": [f"ORD-{i:05d}-{rng.integers(1000)}" for i in range(N)],
        "row": np.arange(1, N + 1),
        "amount_text": [f"{a:,.2f}" if i % 10 else " " for i, a in enumerate(amount * 30)],
        "iso_day": pd.date_range("2024-01-01", periods=N, freq="D").strftime("%Y-%m-%d"),
        "eu_day": pd.date_range("2024-01-01", periods=N, freq="D").strftime("%d/%m/%Y"),
        "mixed": [str(i) if i % 2 else f"code-{i % 7}" for i in range(N)],
        "flag": ["yes", "no"] * (N // 2),
        "city": rng.choice(["Paris", "Lyon", "?", "Nice"], N),
        "same": ["x"] * N,
        "empty": [""] * N,
        "y": rng.choice(["a", "b"], N),
    })


def test_roles_inferred() -> None:
    schema = infer_schema(_frame(), target="y")
    roles = {c.name: c.role for c in schema.columns}
    assert roles == {"order_id": "identifier", "row": "identifier", "amount_text": "numeric",
                     "iso_day": "datetime", "eu_day": "datetime", "mixed": "categorical",
                     "flag": "boolean", "city": "categorical", "same": "constant",
                     "empty": "constant", "y": "target"}
    assert schema["eu_day"].format == "%d/%m/%Y"
    assert schema["iso_day"].format == "ISO8601"
    assert schema["amount_text"].note == "numbers stored as text"
    assert schema["city"].missing_rate == pytest.approx(
        (_frame()["city"] == "?").mean())
    assert "?" not in schema["city"].categories
    assert "mixed: mixed types (50% numbers, 50% text); treated as categorical; set data.roles " \
           "to change it" in schema.warnings
    typed = coerce_frame(_frame(), schema)
    assert typed["eu_day"].iloc[12] == pd.Timestamp("2024-01-13")
    assert typed["amount_text"].isna().sum() == N // 10  # the ' ' cells
    assert typed["amount_text"].iloc[1] > 1000  # '1,234.56' is a number


def test_role_overrides_and_their_errors() -> None:
    schema = infer_schema(_frame(), target="y", overrides={"mixed": "text", "row": "numeric"})
    assert schema["mixed"].role == "text" and schema["row"].role == "numeric"
    assert schema["row"].note == "role set by data.roles (inferred: identifier)"
    with pytest.raises(ConfigError) as err:
        infer_schema(_frame(), overrides={"citty": "categorical"})
    assert str(err.value).startswith("data.roles names column 'citty', which is not in the "
                                     "data. Did you mean 'city'?")
    with pytest.raises(ConfigError) as role:
        infer_schema(_frame(), overrides={"city": "categoric"})
    assert str(role.value).startswith("data.roles.city: unknown role 'categoric'. Did you mean "
                                      "'categorical'?")


def test_cleaning_steps_are_recorded_and_switchable() -> None:
    frame = pd.concat([_frame(), _frame().head(3)], ignore_index=True)
    on = Dataset.from_frame(frame, target="y")
    assert len(on.frame) == N
    assert on.cleaning == [
        "missing target: none [data.drop_missing_target]",
        "duplicates: dropped 3 duplicate rows [data.drop_duplicates]",
        "constant columns: excluded: same, empty [data.drop_constant]",
        "identifier columns: excluded: order_id, row [data.exclude_identifiers]",
        "leakage check: suspects: none [data.leakage_check]",
    ]
    assert "same" not in [c.name for c in on.schema.features]
    off = Dataset.from_frame(frame, target="y", config=DataConfig(
        drop_duplicates=False, drop_constant=False, exclude_identifiers=False,
        leakage_check=False))
    assert len(off.frame) == N + 3
    assert off.schema["same"].role == "categorical"
    assert off.schema["row"].role == "numeric"
    assert off.cleaning[-1] == "leakage check: switched off [data.leakage_check]"
    assert on.fingerprint == Dataset.from_frame(frame.iloc[::-1], target="y").fingerprint


def test_leakage_suspects_reported_loudly() -> None:
    rng = np.random.default_rng(1)
    y = rng.choice(["churned", "stayed"], 400)
    frame = pd.DataFrame({
        "tenure": rng.integers(1, 72, 400),
        "noise": rng.normal(size=400),
        "cancel_reason": np.where(y == "churned", rng.choice(["price", "service"], 400), "none"),
        "days_since_cancel": np.where(y == "churned", rng.integers(1, 30, 400), -1),
        "y": y,
    })
    dataset = Dataset.from_frame(frame, target="y")
    assert [s.column for s in dataset.leakage] == ["cancel_reason", "days_since_cancel"]
    assert dataset.schema.warnings[0].startswith(
        "POSSIBLE TARGET LEAKAGE: 'cancel_reason' alone predicts 'y' almost perfectly "
        "(accuracy gain 1.000 out of fold)")
    assert dataset.cleaning[-1] == ("leakage check: suspects: cancel_reason, days_since_cancel "
                                    "[data.leakage_check]")
    regression = frame.assign(price=frame["tenure"] * 10.0, copy=frame["tenure"] * 10.0 + 1)
    reg = Dataset.from_frame(regression.drop(columns=["y", "cancel_reason",
                                                      "days_since_cancel"]), target="price")
    assert {s.column for s in reg.leakage} == {"tenure", "copy"}


def _model_schema() -> tuple[pd.DataFrame, object]:
    frame = pd.DataFrame({"n": np.arange(100.0) % 50, "c": ["a", "b", "c", "d"] * 25,
                          "b": ["yes", "no"] * 50, "d": ["2024-01-02"] * 50 + ["2024-03-04"] * 50,
                          "y": [0, 1] * 50})
    return frame, infer_schema(frame, target="y")


def test_contract_violations_every_kind() -> None:
    frame, schema = _model_schema()
    new = pd.DataFrame({"n": ["5", "abc", "250", "-3", None, None], "c": ["a", "zz", "a", "b",
                                                                          "a", "a"],
                        "b": ["yes", "maybe", "no", "no", "yes", "no"],
                        "d": ["2024-01-02", "not a date", "", "", "", ""], "extra": 1})
    found = [(v.column, v.kind, v.severity, v.count, v.message)
             for v in check_frame(new, schema)]
    imputed = ("value(s) missing, although this column had no missing values in training; "
               "filled by the model's imputer (set contract.missing: strict to refuse)")
    assert found == [
        ("extra", "extra_column", "warning", 6,
         "column 'extra' is not in the model's contract; it is ignored"),
        ("n", "wrong_type", "error", 1, "1 value(s) refused; first: row 2, column 'n': 'abc': "
         "expected a number (or empty for missing)"),
        ("n", "missing_imputed", "warning", 2, f"2 {imputed}"),
        ("n", "out_of_range", "warning", 1, "1 value(s) below the training minimum 0 (lowest -3)"),
        ("n", "out_of_range", "warning", 1,
         "1 value(s) above the training maximum 49 (highest 250)"),
        ("n", "missing_rate", "warning", 2, "missing in 33.3% of rows vs 0.0% in training"),
        ("c", "unseen_category", "warning", 1,
         "1 value(s) in categories not seen in training, e.g. 'zz'"),
        ("b", "wrong_type", "error", 1, "1 value(s) refused; first: row 2, column 'b': 'maybe': "
         "expected true/false, yes/no or 0/1"),
        ("d", "wrong_type", "error", 1, "1 value(s) refused; first: row 2, column 'd': "
         "'not a date': expected a date/time like ISO8601"),
        ("d", "missing_imputed", "warning", 4, f"4 {imputed}"),
        ("d", "missing_rate", "warning", 4, "missing in 66.7% of rows vs 0.0% in training"),
    ]
    strict = [(v.column, v.kind, v.count) for v in check_frame(new, schema, missing="strict")
              if v.severity == "error"]
    assert strict == [("n", "wrong_type", 3), ("b", "wrong_type", 1), ("d", "wrong_type", 5)]
    missing = check_frame(new.drop(columns=["c"]), schema)
    assert missing[0].kind == "missing_column" and missing[0].severity == "error"
    with pytest.raises(ValidationError) as err:
        raise_for_violations(missing, "batch.csv")
    assert str(err.value).startswith("batch.csv breaks the model's data contract: c: column 'c' "
                                     "is missing; the model needs it")
    assert check_frame(frame, schema) == []


def test_contract_in_chunks_equals_whole() -> None:
    frame, schema = _model_schema()
    new = frame.assign(n=frame["n"] * 3 - 50, c=["a", "q"] * 50).astype({"n": object})
    new.loc[7, "n"] = "seven"
    check = ContractCheck(schema)
    for start in range(0, 100, 13):
        check.update(new.iloc[start:start + 13])
    assert check.violations() == check_frame(new, schema)
