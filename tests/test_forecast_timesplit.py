"""The time split reads dates in the layout the schema inferred (issue 15's silent bug)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.problem import define_problem
from fullcycle.tasks.tabular.search.train import split


def test_dd_mm_yyyy_time_split_holds_out_the_last_weeks() -> None:
    weeks = pd.date_range("2010-02-05", periods=60, freq="7D")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"Date": weeks.strftime("%d-%m-%Y"),  # 05-02-2010: 5 February
                          "x": rng.normal(size=60), "Sales": rng.normal(size=60)})
    frame = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)  # file order is no hint
    dataset = Dataset.from_frame(frame, target="Sales")
    assert dataset.schema["Date"].format == "%d-%m-%Y"
    config = Config.from_dict({"split": {"strategy": "time", "time_column": "Date",
                                         "test_size": 0.2}})
    problem = define_problem(dataset.target, "Sales", config.problem)
    train_idx, test_idx = split(dataset, problem, config)
    held = pd.to_datetime(dataset.frame["Date"].iloc[test_idx], format="%d-%m-%Y")
    kept = pd.to_datetime(dataset.frame["Date"].iloc[train_idx], format="%d-%m-%Y")
    assert len(held) == 12
    assert held.min() > kept.max()  # every held-out week comes after every training week
    assert sorted(held) == list(weeks[-12:])
