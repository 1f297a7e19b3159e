"""Shared helpers of the serving tests: a workspace whose champion is the serving reference
pipeline (contract coercion + impute + one-hot + scale + LightGBM), trained on the small churn
sample in about a second and registered in a real MLflow store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
CHURN = DATA / "churn_small.csv"
ROLES = {"customerID": "identifier"}
_CACHE: dict[str, Path] = {}


def reference_model(estimator: str = "lightgbm", seed: int = 0) -> Any:
    from fullcycle.deploy.reference import build_reference_model

    return build_reference_model(str(CHURN), "Churn", roles=ROLES, estimator=estimator, seed=seed)


def make_workspace(root: Path, estimator: str = "lightgbm") -> Path:
    from fullcycle.deploy.reference import register_reference

    register_reference(root, reference_model(estimator))
    return root


def shared_workspace(factory: Any) -> Path:
    """One read-only reference workspace per test session."""
    if "ws" not in _CACHE:
        _CACHE["ws"] = make_workspace(factory.mktemp("serve-ref-ws"))
    return _CACHE["ws"]


def churn_records(n: int, start: int = 0) -> list[dict[str, Any]]:
    """Raw records from the churn sample as a client would send them (no target)."""
    import pandas as pd

    frame = pd.read_csv(CHURN, dtype=str, keep_default_na=False).drop(columns=["Churn"])
    rows = frame.iloc[start:start + n].to_dict("records")
    for row in rows:  # numbers as JSON numbers where they are clean, like a real client
        for key in ("tenure", "MonthlyCharges", "SeniorCitizen"):
            row[key] = float(row[key]) if key == "MonthlyCharges" else int(row[key])
    return json.loads(json.dumps(rows))
