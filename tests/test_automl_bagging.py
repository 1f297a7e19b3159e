"""Bagged members: when a member's refit on all rows does not fit in the time left, its
cross-validation fold models, averaged, are the final member instead of dropping it. All
counted (max_trials), no wall clock: a deadline already past forces "no time to refit"."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pandas as pd
import pytest
from automl_support import tiny_frame

from fullcycle.card import ModelCard
from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.model import Model
from fullcycle.problem import define_problem
from fullcycle.tasks.tabular.search.bagging import FoldBag, keep_fold_models, model_bytes
from fullcycle.tasks.tabular.search.ensemble import EnsembleModel
from fullcycle.tasks.tabular.search.families import FamilyModel
from fullcycle.tasks.tabular.search.improve import build_final
from fullcycle.tasks.tabular.search.search import Candidate, Search
from fullcycle.tasks.tabular.search.train import feature_frame


def _search_and_final(frame: pd.DataFrame, task: str, families: list[str], *,
                      deadline: float | None):
    dataset = Dataset.from_frame(frame, target="y")
    config = Config.from_dict({"seed": 0, "problem": {"task": task},
                               "train": {"families": families, "max_trials": len(families),
                                         "ensemble": True, "stacking": False,
                                         "calibration": "none"}})
    problem = define_problem(dataset.target, "y", config.problem)
    y = problem.encode_target(dataset.target)
    X = feature_frame(dataset)
    search = Search(schema=dataset.schema, problem=problem, families=families, folds=4, seed=0,
                    time_budget=1e9, max_trials=len(families))
    result = search.run(X, y)
    final = build_final(result, dataset.schema, config, X, y, deadline=deadline)
    card = ModelCard(kind="tabular", task=problem.task, target="y", metric=problem.metric,
                     schema=dataset.schema, classes=list(problem.labels))
    return result, final, Model(final.pipeline, card), X


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_no_time_to_refit_bags_every_member_instead_of_dropping_it(task: str) -> None:
    frame = tiny_frame(task, n=300)
    result, final, model, X = _search_and_final(frame, task, ["lightgbm", "linear"],
                                                deadline=time.perf_counter() - 1.0)
    ens = final.pipeline
    assert isinstance(ens, EnsembleModel)
    names = [m["model"] for m in final.info["members"]]
    assert all(isinstance(m, FoldBag) and len(m.members) == 4 for m in ens.members)
    assert [m["bagged"] for m in final.info["members"]] == [4] * len(names)
    assert not any("dropped" in line for line in final.diagnosis)
    assert any("bagged" in line for line in final.diagnosis)
    # the prediction is the weighted average of each member's fold models' average
    by_name = {c.name: c for c in result.candidates}
    expected = 0.0
    for name, weight in zip(names, ens.weights, strict=True):
        folds = by_name[name].fold_models
        outs = [p.predict(X) if task == "regression" else p.predict_proba(X) for p in folds]
        expected = expected + weight * np.mean(outs, axis=0)
    assert model.predict_scores(X) == pytest.approx(expected)
    # pickles, and the compiled (served) path gives the same scores
    again = pickle.loads(pickle.dumps(model))
    assert again.predict_scores(X) == pytest.approx(expected)
    from fullcycle.scoring.compiled import CompiledPath
    from fullcycle.scoring.validation import RecordValidator

    compiled = CompiledPath(model, RecordValidator(model.schema))
    assert "bag of 4" in compiled.describe
    rows = X.head(20).astype(object).where(X.head(20).notna(), None).to_numpy().tolist()
    assert compiled.scores(rows) == pytest.approx(expected[:20])


def test_with_time_to_refit_members_are_refit_as_before() -> None:
    frame = tiny_frame("regression", n=300)
    _, final, _, _ = _search_and_final(frame, "regression", ["lightgbm", "linear"],
                                       deadline=None)
    members = getattr(final.pipeline, "members", [final.pipeline])
    assert not any(isinstance(m, FoldBag) for m in members)
    assert not any("bagged" in m for m in final.info["members"])


def test_a_single_bagged_member_is_an_ensemble_of_one_bag() -> None:
    frame = tiny_frame("multiclass", n=300)
    _, final, model, X = _search_and_final(frame, "multiclass", ["lightgbm"],
                                           deadline=time.perf_counter() - 1.0)
    assert final.info["kind"] == "single" and final.info["members"][0]["bagged"] == 4
    assert any("bag of 4 fold models" in line for line in final.diagnosis)
    proba = model.predict_scores(X)
    assert proba.shape == (len(X), 3) and proba.sum(axis=1) == pytest.approx(1.0)
    # evaluation refits a bag as a bag: one fold model per fold of the new rows
    bag = final.pipeline.members[0]
    y = define_problem(frame["y"], "y", Config().problem).encode_target(frame["y"])
    twin = pickle.loads(pickle.dumps(bag)).fit(X.iloc[:200], y[:200])
    assert len(twin.members) == 4 and twin.predict_proba(X).shape == (len(X), 3)


def _cand(name: str, score: float, size: int) -> Candidate:
    return Candidate(name=name, family="linear", params={}, fold_scores=[score],
                     fit_seconds=1.0, predict_ms_per_row=0.1, oof=np.zeros(1),
                     fold_models=["m"], fold_bytes=size)


def test_fold_models_are_kept_for_the_best_few_within_a_memory_cap() -> None:
    ranked = [_cand("a", 0.9, 400), _cand("b", 0.8, 700), _cand("c", 0.7, 300),
              _cand("d", 0.6, 100), _cand("e", 0.5, 100)]
    keep_fold_models(ranked, count=3, size=1000)
    # a (400) kept, b would pass 1000 bytes, c and d kept, e beyond the count
    assert [c.name for c in ranked if c.fold_models is not None] == ["a", "c", "d"]


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "random_forest"])
def test_a_fold_model_fitted_against_a_clock_pickles_and_is_weighed(family: str) -> None:
    from sklearn.pipeline import Pipeline

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    model = FamilyModel(family=family, task="binary", params={"n_estimators": 30},
                        time_limit=time.perf_counter() + 1e6).fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    assert again.predict_proba(X) == pytest.approx(model.predict_proba(X))
    assert 0 < model_bytes([Pipeline([("model", model)])]) < 50 * 2**20


@pytest.mark.parametrize("estimate, tried, bagged", [
    (50.0, "no deadline", False),  # fits in the time left: refit as before
    (150.0, "deadline", True),  # over the time left but within TRY_REFIT of it: tried, stopped
    (250.0, None, True),  # far over: bagged without trying
])
def test_a_late_refit_within_reach_is_tried_and_falls_back_to_its_bag(
        monkeypatch: pytest.MonkeyPatch, estimate: float, tried: str | None,
        bagged: bool) -> None:
    import fullcycle.tasks.tabular.search.improve as improve
    from fullcycle.tasks.tabular.search.families import OutOfTime

    frame = tiny_frame("regression", n=300)
    dataset = Dataset.from_frame(frame, target="y")
    config = Config.from_dict({"seed": 0, "problem": {"task": "regression"},
                               "train": {"families": ["lightgbm"], "max_trials": 1,
                                         "calibration": "none"}})
    problem = define_problem(dataset.target, "y", config.problem)
    y = problem.encode_target(dataset.target)
    X = feature_frame(dataset)
    result = Search(schema=dataset.schema, problem=problem, families=["lightgbm"], folds=4,
                    seed=0, time_budget=1e9, max_trials=1).run(X, y)
    result.preprocess_seconds = 0.0
    cand = result.candidates[0]
    cand.fit_seconds = estimate * 3 / cand.refit_share  # 4 folds: estimate = fit / 3 * share
    calls: list[str] = []
    real = improve._refit_member

    def refit_member(*args: object) -> object:
        calls.append("no deadline" if args[-1] is None else "deadline")
        if args[-1] is not None:
            raise OutOfTime("stopped at the deadline")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(improve, "_refit_member", refit_member)
    final = build_final(result, dataset.schema, config, X, y,
                        deadline=time.perf_counter() + 100.0)
    assert calls == ([tried] if tried else [])
    members = getattr(final.pipeline, "members", [final.pipeline])
    assert isinstance(members[0], FoldBag) == bagged
