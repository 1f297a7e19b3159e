"""Near-ties in cross-validation: when the best candidates are within the noise of their folds,
the search keeps the family that generalises more safely, and the ensemble starts from it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from automl_support import saturating as _saturating

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.tasks.tabular.search.search import Candidate, prefer_on_ties, tied_with
from fullcycle.tasks.tabular.search.train import train_model


def _train(frame: pd.DataFrame, families: list[str], ensemble: bool = False):
    config = Config.from_dict({"seed": 0, "problem": {"task": "regression"},
                               "train": {"families": families, "max_trials": len(families),
                                         "ensemble": ensemble, "stacking": False}})
    return train_model(Dataset.from_frame(frame, target="y"), config)


def _rmse(out, frame: pd.DataFrame) -> float:
    pred = out.model.predict_scores(frame.drop(columns="y"))
    return float(np.sqrt(np.mean((pred - frame["y"].to_numpy()) ** 2)))


def test_a_linear_model_tied_in_cv_gives_way_to_the_boosted_one() -> None:
    train, unusual = _saturating(400, 0, noise=1.5), _saturating(200, 1, 0.0, outlying=True)
    out = _train(train, ["linear", "lightgbm"])
    scores = {c.family: c for c in out.search.candidates}
    # the premise: linear is (slightly) ahead on CV, inside the folds' noise
    assert scores["linear"].score < scores["lightgbm"].score
    assert tied_with(scores["linear"], scores["lightgbm"], sign=-1.0)
    assert out.search.best.family == "lightgbm"
    assert out.final["members"][0]["family"] == "lightgbm"
    assert any("tied" in line for line in out.diagnosis)
    linear_only = _train(train, ["linear"])
    # the boosted model stays near the flat truth on rows beyond the training range
    assert _rmse(out, unusual) < 0.5 * _rmse(linear_only, unusual)


def test_the_ensemble_of_tied_candidates_starts_from_the_safer_one() -> None:
    train, unusual = _saturating(400, 0, noise=1.5), _saturating(200, 1, 0.0, outlying=True)
    out = _train(train, ["linear", "lightgbm"], ensemble=True)
    assert out.final["members"][0]["family"] == "lightgbm"
    assert out.final["cv_score"] <= out.search.best.score + 1e-9  # a blend only if not worse
    assert _rmse(out, unusual) < _rmse(_train(train, ["linear"]), unusual)


def _cand(name: str, family: str, folds: list[float]) -> Candidate:
    return Candidate(name=name, family=family, params={}, fold_scores=folds, fit_seconds=1.0,
                     predict_ms_per_row=0.1, oof=np.zeros(1))


def test_a_clear_lead_is_kept_whatever_the_family() -> None:
    # linear ahead on every fold by more than the folds' noise (AUC, greater is better)
    linear = _cand("linear", "linear", [0.84, 0.83, 0.85, 0.84, 0.86])
    boosted = _cand("lightgbm", "lightgbm", [0.80, 0.80, 0.82, 0.80, 0.83])
    assert not tied_with(linear, boosted, sign=1.0)
    assert prefer_on_ties([linear, boosted], 1.0)[0] is linear


def test_among_tied_candidates_boosting_then_forests_lead() -> None:
    linear = _cand("linear", "linear", [0.84, 0.80, 0.86, 0.79, 0.85])
    forest = _cand("extra_trees", "extra_trees", [0.83, 0.81, 0.85, 0.80, 0.84])
    boosted = _cand("xgboost", "xgboost", [0.85, 0.78, 0.84, 0.80, 0.84])
    far = _cand("knn", "knn", [0.70, 0.70, 0.71, 0.69, 0.70])
    assert [c.name for c in prefer_on_ties([linear, forest, boosted, far], 1.0)] == \
        ["xgboost", "linear", "extra_trees", "knn"]
    assert prefer_on_ties([linear, forest, far], 1.0)[0] is forest
    # a different number of folds (another CV) is never called a tie
    assert not tied_with(linear, _cand("lightgbm", "lightgbm", [0.84, 0.80, 0.86]), 1.0)



def test_a_linear_model_does_not_extrapolate_beyond_its_training_range() -> None:
    from fullcycle.scoring.compiled import CompiledPath
    from fullcycle.scoring.validation import RecordValidator

    train = _saturating(400, 0, noise=1.5)
    out = _train(train, ["linear"])
    top = float(train["x1"].max())
    rows = pd.DataFrame({"x1": [top, 10.0, 100.0], "x2": [0.0] * 3, "x3": [0.0] * 3})
    pred = out.model.predict_scores(rows)
    assert pred[1] == pytest.approx(pred[0]) and pred[2] == pytest.approx(pred[0])
    inside = out.model.predict_scores(rows.assign(x1=[0.0, 0.5, 1.0]))
    assert inside[0] < inside[1] < inside[2]  # within the range the slope is kept
    compiled = CompiledPath(out.model, RecordValidator(out.model.schema))  # served the same
    assert compiled.scores(rows.to_numpy().tolist()) == pytest.approx(pred)
