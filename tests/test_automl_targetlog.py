"""log1p of a skewed non-negative regression target: tried by the cross-validation against the
target as it is (features.target_transform auto), forced (log) or off (none). Counted searches,
no wall clock."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.errors import ConfigError
from fullcycle.tasks.tabular.search.families import FamilyModel
from fullcycle.tasks.tabular.search.targetlog import TARGET_LOG, log_target_mode
from fullcycle.tasks.tabular.search.train import train_model


def _skewed(n: int, seed: int) -> pd.DataFrame:
    """A price-like target: multiplicative effects, a long right tail."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                          "x3": rng.normal(size=n)})
    frame["y"] = np.exp(1.5 * frame.x1 + 0.5 * frame.x2 + rng.normal(scale=0.2, size=n)) * 100
    return frame


def _train(frame: pd.DataFrame, families: list[str], trials: int, transform: str = "auto"):
    config = Config.from_dict({"seed": 0, "problem": {"task": "regression"},
                               "features": {"target_transform": transform},
                               "train": {"families": families, "max_trials": trials,
                                         "ensemble": False, "stacking": False}})
    return train_model(Dataset.from_frame(frame, target="y"), config)


def test_the_mode_follows_the_target_and_the_config() -> None:
    rng = np.random.default_rng(0)
    skewed, normal = np.exp(rng.normal(size=500)), rng.normal(size=500)
    assert log_target_mode("regression", skewed) == "try"
    assert log_target_mode("regression", normal + 10) == "never"  # not skewed
    assert log_target_mode("regression", skewed - 2) == "never"  # negative values
    assert log_target_mode("binary", skewed) == "never"
    features = Config.from_dict({"features": {"target_transform": "log"}}).features
    assert log_target_mode("regression", normal + 10, features) == "all"
    with pytest.raises(ConfigError, match="negative"):
        log_target_mode("regression", normal, features)
    off = Config.from_dict({"features": {"target_transform": "none"}}).features
    assert log_target_mode("regression", skewed, off) == "never"


def test_a_skewed_target_gets_a_log_twin_and_the_better_form_wins() -> None:
    train = _skewed(600, 0)
    out = _train(train, ["lightgbm", "xgboost"], trials=3)
    names = [c.name for c in out.search.candidates]
    assert names[:2] == ["lightgbm", "lightgbm_log"]
    by = {c.name: c for c in out.search.candidates}
    assert by["lightgbm_log"].score < by["lightgbm"].score  # RMSE: lower is better
    # boosting after the pair follows the form that won
    assert names[2] == "lightgbm_p3_log" and by[names[2]].params[TARGET_LOG]
    assert out.search.best.params.get(TARGET_LOG)
    assert any("log1p scored better" in line for line in out.diagnosis)
    raw = _train(train, ["lightgbm", "xgboost"], trials=3, transform="none")
    assert not any(c.params.get(TARGET_LOG) for c in raw.search.candidates)
    # the same table with a symmetric target: no log twin
    flat = _train(train.assign(y=np.log(train["y"])), ["lightgbm", "xgboost"], trials=2)
    assert [c.name for c in flat.search.candidates] == ["lightgbm", "lightgbm_p3"]


def test_when_the_raw_target_wins_boosting_stays_on_it() -> None:
    # skewed (an exponential feature) but additive, with noise as large as the small values:
    # on log1p the noise near zero is blown up
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x1": rng.exponential(size=600), "x2": rng.normal(size=600)})
    frame["y"] = np.clip(30 * frame.x1 + rng.normal(scale=15, size=600), 0, None)
    out = _train(frame, ["lightgbm"], trials=3)
    by = {c.name: c for c in out.search.candidates}
    assert set(by) >= {"lightgbm", "lightgbm_log"}
    assert by["lightgbm"].score < by["lightgbm_log"].score  # the premise
    assert "lightgbm_p3" in by and not by["lightgbm_p3"].params.get(TARGET_LOG)


def test_a_log_model_serves_on_the_original_scale_compiled_too() -> None:
    from fullcycle.scoring.compiled import CompiledPath
    from fullcycle.scoring.validation import RecordValidator

    train = _skewed(400, 0)
    out = _train(train, ["lightgbm", "linear"], trials=2, transform="log")
    assert all(c.params.get(TARGET_LOG) for c in out.search.candidates)
    rows = train.drop(columns="y").head(30)
    pred = out.model.predict_scores(rows)
    assert pred.min() >= 0 and np.corrcoef(pred, train["y"].head(30))[0, 1] > 0.9
    compiled = CompiledPath(out.model, RecordValidator(out.model.schema))
    assert compiled.scores(rows.to_numpy().tolist()) == pytest.approx(pred)
    assert "log1p" in compiled.describe


def test_log_predictions_are_capped_and_pickle() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = np.exp(3 * X[:, 0]) + 1
    model = FamilyModel(family="linear", task="regression", params={TARGET_LOG: True}).fit(X, y)
    far = model.predict(np.array([[50.0, 0.0]]))
    assert far[0] <= 2 * y.max() + 1e-6  # no expm1 explosion beyond twice the largest target
    again = pickle.loads(pickle.dumps(model))
    assert again.predict(X) == pytest.approx(model.predict(X))
    with pytest.raises(ValueError, match="non-negative"):
        FamilyModel(family="linear", task="regression", params={TARGET_LOG: True}).fit(X, y - 5)


def test_the_cluster_full_data_fit_takes_the_best_raw_target_settings(tmp_path) -> None:
    """train --cluster refits LightGBM on every row on the target as it is: the settings it
    takes from the sample search are those of the best raw-target candidate."""
    import json
    from types import SimpleNamespace

    from fullcycle.tasks.tabular.full_fit import searched

    path = tmp_path / "candidates.json"
    path.write_text(json.dumps([
        {"family": "lightgbm", "mean": 10.0, "params": {TARGET_LOG: True, "num_leaves": 15}},
        {"family": "lightgbm", "mean": 12.0, "params": {"num_leaves": 63}}]))
    scorer = SimpleNamespace(sign=lambda: -1.0)  # RMSE: lower is better
    result = SimpleNamespace(report_files={"candidates": path},
                             model=SimpleNamespace(problem=SimpleNamespace(scorer=scorer)))
    assert searched(result)["lightgbm"].searched == {"num_leaves": 63}  # type: ignore[arg-type]
