from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fullcycle import ConfigError, ProblemError, define_problem, detect_task
from fullcycle.config import ProblemConfig


@pytest.mark.parametrize(("values", "task"), [
    (["Yes", "No", "No", "Yes"], "binary"),
    ([0, 1, 1, 0], "binary"),
    (["a", "b", "c", "a"], "multiclass"),
    ([1, 2, 3, 4, 5, 3, 2], "multiclass"),
    ([1.5, 2.25, 3.0, 10.75, 3.3], "regression"),
    (list(range(100)), "regression"),
])
def test_detect_task(values: list, task: str) -> None:
    assert detect_task(pd.Series(values)) == task


def test_default_metric_per_task() -> None:
    assert define_problem(pd.Series(["y", "n", "y"]), "t").metric == "roc_auc"
    assert define_problem(pd.Series(["a", "b", "c"]), "t").metric == "log_loss"
    assert define_problem(pd.Series([0.1, 2.5, 3.3, 7.1]), "t").metric == "rmse"


def test_positive_class_is_last_and_overridable() -> None:
    y = pd.Series(["Yes", "No", "No"])
    assert define_problem(y, "Churn").labels == ["No", "Yes"]
    cfg = ProblemConfig(positive_class="No")
    assert define_problem(y, "Churn", cfg).labels == ["Yes", "No"]


def test_one_class_target_is_refused() -> None:
    with pytest.raises(ProblemError, match="one class only"):
        define_problem(pd.Series(["a", "a", "a"]), "t", ProblemConfig(task="binary"))


def test_metric_must_fit_task() -> None:
    with pytest.raises(ConfigError, match="does not apply to a regression task"):
        define_problem(pd.Series([0.1, 2.5, 3.3]), "t", ProblemConfig(metric="roc_auc"))
    with pytest.raises(ConfigError, match="Did you mean 'roc_auc'"):
        define_problem(pd.Series(["a", "b"]), "t", ProblemConfig(metric="roc_aux"))


def test_success_verdict() -> None:
    problem = define_problem(pd.Series(["a", "b"]), "t",
                             ProblemConfig(success={"roc_auc": ">= 0.8", "f1": "> 0.5"}))
    verdict = problem.check_success({"roc_auc": 0.85, "f1": 0.4})
    assert verdict["passed"] is False
    assert [c["passed"] for c in verdict["criteria"]] == [True, False]
    assert problem.check_success({"roc_auc": 0.9, "f1": 0.6})["passed"] is True


def test_encode_decode_round_trip() -> None:
    y = pd.Series(["No", "Yes", "No"])
    problem = define_problem(y, "Churn")
    codes = problem.encode_target(y)
    assert codes.tolist() == [0, 1, 0]
    assert problem.decode(codes).tolist() == ["No", "Yes", "No"]
    assert np.issubdtype(codes.dtype, np.integer)
