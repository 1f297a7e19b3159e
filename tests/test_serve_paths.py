"""The prediction paths agree with Model.predict: the compiled numpy path of the reference
pipeline, the compiled path of fullcycle's own trained pipelines (each family, native
categoricals, target encoding, ensembles with calibration, regression on a log target), the
typed path that skips the coercer, and the general fallback. Each compiled kind is also checked
to BE compiled (its label), so a silent fallback fails the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from serve_support import CHURN, DATA, ROLES, churn_records, reference_model

HOUSING = DATA / "housing_small.csv"
# one_hot_max 2: Telco's 3- and 4-level columns become native categoricals (LightGBM, XGBoost,
# CatBoost) or target-encoded (linear); 2-level ones stay one-hot.
SMALL_FEATURES = {"one_hot_max": 2, "missing_indicators": "always"}


def _served(model):
    """Served.prepare, and no warning from compiling (a compiled step that changed the
    fitted model, e.g. its output config, makes sklearn warn about feature names)."""
    import warnings

    from fullcycle.scoring.served import Served

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        return Served.prepare(model)


def _check(served, records: list[dict]) -> None:
    """Batch (rows and columns, below and above the per-value lookup size) and single rows
    equal Model.predict_scores on the raw records; the serving path warns about nothing."""
    import warnings

    from fullcycle.scoring.fastpath import rows_to_columns

    rows = []
    for i, record in enumerate(records):  # missing where training had none still predicts
        rows.append(served.validator.record(record, i, [], []))
    expected = served.model.predict_scores(pd.DataFrame.from_records(records))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = [served.scores(rows), served.scores(rows[:50])]
        if served.fast is not None:
            got.append(served.fast.scores_columns(rows_to_columns(served.validator, rows)))
        singles = [served.scores([rows[i]]) for i in (0, 5, 6, 7, 8, 19)]
    for scores in got:
        np.testing.assert_allclose(scores, expected[:len(scores)], rtol=1e-9, atol=1e-12)
    for single, i in zip(singles, (0, 5, 6, 7, 8, 19), strict=True):  # the one-row path too
        np.testing.assert_allclose(single, expected[i:i + 1], rtol=1e-9, atol=1e-12)


def _odd_churn(n: int, start: int) -> list[dict[str, Any]]:
    records = churn_records(n, start=start)
    records[5]["TotalCharges"] = None
    records[6]["PaymentMethod"] = "Crypto"  # unseen
    records[7]["Contract"] = "  Two year "  # padded: encoders strip it
    records[8]["InternetService"] = None  # missing where training had none
    records[8]["tenure"] = None
    records[19]["MultipleLines"] = "never seen"
    return records


def _train(root: Path, name: str, data: Path, target: str, train: dict[str, Any],
           features: dict[str, Any] | None = None, roles: dict[str, str] | None = None) -> Any:
    from fullcycle.config import Config
    from fullcycle.project import Project

    config = Config.from_dict({
        "project": name, "data": {"source": str(data), "target": target,
                                  "roles": roles or {}},
        "train": {"max_trials": 1, "ensemble": False, "calibration": "none",
                  "threshold": "none", **train},
        "features": features or {}})
    project = Project(config, root / name)
    project.train()
    return project.load_model()


def _churn_with_dates_and_text(root: Path) -> Path:
    """The churn sample plus a sign-up date (some missing) and a free-text note."""
    frame = pd.read_csv(CHURN, dtype=str, keep_default_na=False)
    rng = np.random.default_rng(0)
    days = pd.to_timedelta(rng.integers(-400, 2000, len(frame)), unit="D")
    frame["signup"] = (pd.Timestamp("1970-06-01") + days * 10).strftime("%Y-%m-%d %H:%M")
    frame.loc[::37, "signup"] = ""
    words = np.array(["late", "payment", "happy", "call", "support", "angry", "fiber", "slow",
                      "great", "price"])
    frame["note"] = [" ".join(rng.choice(words, 4)) for _ in range(len(frame))]
    frame.loc[::23, "note"] = ""
    path = root / "churn_dates_text.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Tiny real fullcycle models, trained once for the module (a few seconds each)."""
    root = tmp_path_factory.mktemp("compiled-models")
    out = {f: _train(root, f, CHURN, "Churn", {"families": [f]}, SMALL_FEATURES)
           for f in ("lightgbm", "xgboost", "catboost", "linear", "extra_trees", "mlp")}
    # default one_hot_max: no native columns, so CatBoost runs as numpy oblivious trees
    out["catboost_numeric"] = _train(root, "catboost-numeric", CHURN, "Churn",
                                     {"families": ["catboost"]})
    out["ensemble"] = _train(root, "ensemble", CHURN, "Churn", {
        "families": ["linear", "lightgbm", "xgboost"], "max_trials": 4, "ensemble": True,
        "calibration": "temperature"}, {**SMALL_FEATURES, "outliers": "iqr"})
    out["regression"] = _train(root, "regression", HOUSING, "median_house_value", {
        "families": ["linear", "lightgbm"], "max_trials": 2, "ensemble": True},
        {"target_transform": "log", "scaler": "robust"})
    out["multiclass"] = _train(root, "multiclass", HOUSING, "ocean_proximity", {
        "families": ["linear", "lightgbm"], "max_trials": 2, "ensemble": True,
        "calibration": "temperature"}, {"one_hot_max": 2})
    out["isotonic"] = _train(root, "isotonic", CHURN, "Churn", {
        "families": ["linear", "lightgbm"], "max_trials": 2, "ensemble": True,
        "calibration": "isotonic"}, {"outliers": "iqr", "outlier_action": "flag",
                                     "impute": "iterative", "select": "mutual_info"})
    for family in ("random_forest", "mlp", "catboost"):  # MLP: a scaled target
        out[f"{family}_regression"] = _train(root, f"{family}-regression", HOUSING,
                                             "median_house_value", {"families": [family]})
    out["quantile"] = _train(root, "quantile", CHURN, "Churn", {"families": ["linear"]},
                             {"scaler": "quantile", "pca": 0.95})
    out["knn"] = _train(root, "knn", CHURN, "Churn", {"families": ["knn"]})
    out["dates_text"] = _train(root, "dates-text", _churn_with_dates_and_text(root), "Churn", {
        "families": ["linear", "lightgbm"], "max_trials": 2, "ensemble": True,
        "calibration": "temperature"}, roles={"note": "text", "signup": "datetime"})
    return out


@pytest.mark.parametrize("family, label", [
    ("lightgbm", "lightgbm"), ("xgboost", "xgboost"), ("catboost", "catboost"),
    ("linear", "linear"), ("extra_trees", "extra_trees"), ("mlp", "mlp"),
    ("catboost_numeric", "catboost"), ("quantile", "linear")])
def test_fullcycle_family_compiles(trained: dict[str, Any], family: str, label: str) -> None:
    served = _served(trained[family])
    assert served.note.startswith(f"compiled fast path (fullcycle pipeline: {label})"), \
        served.note
    _check(served, _odd_churn(200, start=100))


def test_native_categories_reach_lightgbm_as_codes(trained: dict[str, Any]) -> None:
    """The native columns exist (so the code mapping is really exercised) and are checked
    against the booster's pandas_categorical."""
    from fullcycle.features.encode import CategoryEncoder

    model = trained["lightgbm"]
    encoder = next(t for _, t, _ in model.pipeline.steps[0][1].named_steps["columns"]
                   .transformers_ if isinstance(t, CategoryEncoder))
    native = [n for n, m in encoder.method_.items() if m == "native"]
    assert "PaymentMethod" in native and "Contract" in native
    booster = model.pipeline.steps[1][1].estimator_.booster_
    assert [encoder.levels_[n] for n in native] == booster.pandas_categorical


def test_explain_reuses_the_compiled_matrix(trained: dict[str, Any]) -> None:
    """/explain hands the compiled path's matrix (native columns as codes) to the explainer:
    the explanations are the ones computed from the records themselves."""
    from fullcycle.tasks.tabular.evaluate.explain import explain_records

    model = trained["lightgbm"]
    served = _served(model)
    records = _odd_churn(20, start=40)
    rows = [served.validator.record(r, i, [], []) for i, r in enumerate(records)]
    matrix = served.fast.matrix(rows)
    assert explain_records(model, records, matrix=matrix) == explain_records(model, records)


def test_fullcycle_ensemble_compiles(trained: dict[str, Any]) -> None:
    served = _served(trained["ensemble"])
    assert served.note.startswith("compiled fast path (fullcycle pipeline: ensemble of "), \
        served.note
    assert "TemperatureCalibrator" in served.note
    _check(served, _odd_churn(120, start=400))


def test_multiclass_and_isotonic_ensembles_compile(trained: dict[str, Any]) -> None:
    """Multiclass (softmax logistic, LightGBM (n, k), temperature scaling) and a binary
    ensemble with isotonic calibration over outlier flags, iterative imputation and
    mutual-information selection."""
    served = _served(trained["multiclass"])
    assert served.note.startswith("compiled fast path (fullcycle pipeline: "), served.note
    _check(served, _odd_housing(target="ocean_proximity"))
    served = _served(trained["isotonic"])
    assert served.note.startswith("compiled fast path (fullcycle pipeline: "), served.note
    assert "IsotonicCalibrator" in served.note
    _check(served, _odd_churn(120, start=200))


def test_ensemble_member_that_does_not_compile_runs_typed(trained: dict[str, Any]) -> None:
    """An ensemble with a knn member: the other members are compiled, the knn member runs as
    its own pipeline on a typed frame, and the blend equals Model.predict."""
    import copy

    from fullcycle.tasks.tabular.search.ensemble import EnsembleModel

    model = copy.copy(trained["lightgbm"])
    model.pipeline = EnsembleModel(
        members=[trained["lightgbm"].pipeline, trained["knn"].pipeline],
        weights=[0.6, 0.4], names=["lightgbm", "knn"], task="binary")
    served = _served(model)
    assert served.note.startswith("compiled fast path (fullcycle pipeline: ensemble of "
                                  "lightgbm, knn (typed: estimator KNeighborsClassifier))"), \
        served.note
    _check(served, _odd_churn(80, start=250))


def test_dates_and_text_compile(trained: dict[str, Any]) -> None:
    """DatetimeExpander (calendar parts, days since the first training date, dates before
    1970) and TextVectorizer branches, in a calibrated ensemble."""
    model = trained["dates_text"]
    roles = {s.name: s.role for s in model.schema.features}
    assert roles["signup"] == "datetime" and roles["note"] == "text"
    served = _served(model)
    assert served.note.startswith("compiled fast path (fullcycle pipeline: ensemble of "), \
        served.note
    records = _odd_churn(120, start=300)
    rng = np.random.default_rng(1)
    for i, record in enumerate(records):
        record["signup"] = str(pd.Timestamp("1965-03-01") + pd.Timedelta(days=int(
            rng.integers(0, 25000)), hours=int(rng.integers(0, 24))))
        record["note"] = "late payment, very angry" if i % 2 else "great fiber and a new word"
    records[3]["signup"] = None
    records[4]["note"] = None
    records[9]["signup"] = "2101-01-01 00:00"
    _check(served, records)


def test_stacked_ensemble_compiles(trained: dict[str, Any]) -> None:
    """A linear stacker over fitted fullcycle members (what train.stacking builds)."""
    import copy

    from fullcycle.tasks.tabular.search.ensemble import EnsembleModel, make_stacker, stack_features

    members = [trained["lightgbm"].pipeline, trained["linear"].pipeline]
    frame = pd.read_csv(CHURN)
    problem = trained["lightgbm"].problem
    outputs = [m.predict_proba(frame) for m in members]
    stacker = make_stacker(True, 0).fit(stack_features(outputs, True),
                                        problem.encode_target(frame["Churn"]))
    model = copy.copy(trained["lightgbm"])
    model.pipeline = EnsembleModel(members=members, names=["lightgbm", "linear"], task="binary",
                                   stacker=stacker)
    served = _served(model)
    assert served.note.startswith("compiled fast path (fullcycle pipeline: ensemble of "
                                  "lightgbm, linear stacked)"), served.note
    _check(served, _odd_churn(100, start=600))


def test_fullcycle_regression_compiles(trained: dict[str, Any]) -> None:
    model = trained["regression"]
    served = _served(model)
    assert served.note.startswith("compiled fast path (fullcycle pipeline: "), served.note
    _check(served, _odd_housing())


@pytest.mark.parametrize("family", ["random_forest", "mlp", "catboost"])
def test_fullcycle_regression_family_compiles(trained: dict[str, Any], family: str) -> None:
    served = _served(trained[f"{family}_regression"])
    assert served.note.startswith(f"compiled fast path (fullcycle pipeline: {family})"), \
        served.note
    _check(served, _odd_housing())


def _odd_housing(target: str = "median_house_value") -> list[dict[str, Any]]:
    frame = pd.read_csv(HOUSING).drop(columns=[target]).iloc[:120]
    records = [{k: (None if pd.isna(v) else v) for k, v in r.items()}
               for r in frame.to_dict("records")]
    records[5]["total_bedrooms"] = None
    if "ocean_proximity" in records[0]:
        records[6]["ocean_proximity"] = "ON THE MOON"
        records[7]["ocean_proximity"] = None
    records[8]["median_income"] = 1e6  # far outside training: the log cap applies
    return records


def test_log_target_and_outlier_wrappers_compile() -> None:
    """`wrap_estimator` (features.target_transform log, outlier_action drop) around a
    FamilyModel: AutoTargetRegressor and OutlierDropper compile."""
    from sklearn.pipeline import Pipeline

    from fullcycle.config import FeaturesConfig
    from fullcycle.data.dataset import Dataset
    from fullcycle.features.preprocess import build_preprocessor, wrap_estimator
    from fullcycle.model import Model
    from fullcycle.problem import define_problem
    from fullcycle.tasks.tabular.search.families import FamilyModel

    data = Dataset.read(str(HOUSING), target="median_house_value")
    problem = define_problem(data.target, "median_house_value")
    features = data.frame[[c.name for c in data.schema.features]]
    options = FeaturesConfig(target_transform="log", outliers="zscore", outlier_action="drop")
    model_step = wrap_estimator(FamilyModel(family="lightgbm", task="regression",
                                            params={"n_estimators": 40}, early_stopping=False),
                                numeric_target=True, options=options)
    pipeline = Pipeline([("preprocess", build_preprocessor(data.schema, scale=False,
                                                           family_kind="native",
                                                           options=options)),
                         ("model", model_step)])
    pipeline.fit(features, problem.encode_target(data.target))
    example = _odd_housing()[0]
    model = Model.for_table(pipeline, problem, data.schema, input_example=example)
    served = _served(model)
    assert served.note.startswith("compiled fast path (fullcycle pipeline: lightgbm on "
                                  "log1p(target))"), served.note
    _check(served, _odd_housing())


def test_unknown_estimator_falls_back_to_typed_path(trained: dict[str, Any]) -> None:
    """A step the compiler does not know (the knn family's KNeighborsClassifier) means the
    typed path, and the note says why."""
    served = _served(trained["knn"])
    assert served.note.startswith("typed path"), served.note
    assert "KNeighborsClassifier" in served.note
    _check(served, _odd_churn(30, start=0))


@pytest.mark.parametrize("estimator", ["lightgbm", "logistic"])
def test_reference_pipeline_compiles(estimator: str) -> None:
    served = _served(reference_model(estimator))
    assert served.note.startswith("compiled fast path (reference pipeline)"), served.note
    records = churn_records(60, start=300)
    records[5]["TotalCharges"] = None
    records[6]["PaymentMethod"] = "Crypto"
    _check(served, records)


def test_automl_preprocessing_compiles() -> None:
    """`build_preprocessor` + a plain sklearn estimator (no FamilyModel) compiles too."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from fullcycle.data.dataset import Dataset
    from fullcycle.features.preprocess import build_preprocessor
    from fullcycle.model import Model
    from fullcycle.problem import define_problem

    data = Dataset.read(str(CHURN), target="Churn", roles=ROLES)
    problem = define_problem(data.target, "Churn")
    features = data.frame[[c.name for c in data.schema.features]]
    pipeline = Pipeline([("preprocess", build_preprocessor(data.schema, scale=True)),
                         ("model", LogisticRegression(max_iter=2000))])
    pipeline.fit(features, problem.encode_target(data.target))
    example = churn_records(1)[0]
    model = Model.for_table(pipeline, problem, data.schema,
                            input_example={k: example[k] for k in features.columns})
    served = _served(model)
    assert served.note.startswith("compiled fast path (fullcycle pipeline: "
                                  "LogisticRegression)"), served.note
    _check(served, _odd_churn(40, start=500))


def test_unknown_pipeline_falls_back_to_model_predict() -> None:
    model = reference_model("logistic")
    model.pipeline = _Opaque(model.pipeline)
    served = _served(model)
    assert served.fast is None and served.note.startswith("general path")
    _check(served, churn_records(25))


class _Opaque:
    """A fitted estimator the compilers do not know (stands for any custom model)."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.inner.predict_proba(X)


def test_request_sized_date_parsing_equals_the_pipelines() -> None:
    """parse_dates reads plain ISO texts with numpy for request-sized calls; every instant must
    equal what the pipeline's own parsing (pandas) gives, and everything else must fall back."""
    import pandas as pd

    from fullcycle.data.schema import to_datetime
    from fullcycle.features.preprocess import DatetimeExpander
    from fullcycle.scoring.compiled import parse_dates

    rng = np.random.default_rng(7)
    stamps = pd.to_datetime(rng.integers(-8_000_000_000, 7_000_000_000, 300), unit="s")
    texts = [s.strftime(f) for s, f in zip(stamps, ["%Y-%m-%d", "%Y-%m-%dT%H:%M",
                                                    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"]
                                           * 75, strict=True)]
    texts += ["2023-02-30", "2024-13-01", "2024-05-01T12:30:00+02:00", "2024-05-01Z",
              " 2024-05-01", "01/05/2024", "1650-01-01", None]
    for start in range(0, len(texts), 8):
        values = np.array(texts[start:start + 8], dtype=object)
        got = parse_dates(values, None)
        want = DatetimeExpander._parse(to_datetime(pd.Series(values, dtype=object))).to_numpy()
        assert (np.isnat(got) == np.isnat(want)).all(), values
        assert (got[~np.isnat(got)] == want[~np.isnat(want)]).all(), values


def test_serve_paths_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from fullcycle.errors import ConfigError
    from fullcycle.scoring.fastpath import PATHS_ENV, allowed_paths

    monkeypatch.setenv(PATHS_ENV, "compiled, typed")
    assert allowed_paths() == {"compiled", "typed"}
    monkeypatch.setenv(PATHS_ENV, "")
    assert allowed_paths() == set()
    monkeypatch.setenv(PATHS_ENV, "compiled,fastest")
    with pytest.raises(ConfigError, match="unknown path.*fastest.*reference, compiled, typed"):
        allowed_paths()
