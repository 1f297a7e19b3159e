"""Unit tests for each preprocessing transformer on tiny frames: all-missing columns, a single
row, a one-value column, categorical values that are numbers, unseen values at prediction."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, LogisticRegression

from fullcycle.config import Config, FeaturesConfig
from fullcycle.data.schema import infer_schema
from fullcycle.errors import ConfigError
from fullcycle.features import (
    AutoImputer,
    AutoTargetRegressor,
    CategoryEncoder,
    DatetimeExpander,
    FeatureGenerator,
    FeatureSelector,
    OutlierDropper,
    OutlierHandler,
    SkewLog,
    TextVectorizer,
    build_preprocessor,
    describe_pipeline,
    wrap_estimator,
)


def test_imputer_all_missing_single_row_and_constant() -> None:
    X = pd.DataFrame({"empty": [np.nan] * 4, "one": [7.0] * 4, "some": [1.0, np.nan, 3.0, 5.0]})
    imp = AutoImputer().fit(X)
    out = imp.transform(X)
    assert not np.isnan(out).any()
    by = {d["column"]: d for d in imp.decisions_}
    assert by["empty"]["strategy"] == "constant" and by["empty"]["fill"] == 0.0
    assert by["empty"]["indicator"] is False  # an all-missing flag would be constant
    assert by["one"]["strategy"] == "mode" and out[:, 1].tolist() == [7.0] * 4
    single = AutoImputer().fit(X.iloc[[1]])
    assert single.transform(X.iloc[[1]]).shape[0] == 1
    assert list(single.transform(pd.DataFrame({"empty": [1.0], "one": [np.nan], "some": [2.0]}))
                [0, :3]) == [1.0, 7.0, 2.0]


def test_imputer_flags_informative_missingness_only() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    informative = np.where((y == 1) & (rng.random(n) < 0.6), np.nan, rng.normal(size=n))
    noise = np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n))
    X = pd.DataFrame({"informative": informative, "noise": noise})
    imp = AutoImputer().fit(X, y)
    assert imp.flags_ == ["informative"]
    assert imp.get_feature_names_out().tolist() == ["informative", "noise", "informative_missing"]
    native = AutoImputer(strategy="native").fit(X, y)
    assert np.isnan(native.transform(X)).any() and native.flags_ == []


def test_imputer_iterative_when_correlated() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=300)
    b = 2 * a + rng.normal(scale=0.1, size=300)
    b_missing = b.copy()
    b_missing[:60] = np.nan
    imp = AutoImputer().fit(pd.DataFrame({"a": a, "b": b_missing}))
    assert {d["column"]: d["strategy"] for d in imp.decisions_}["b"] == "iterative"
    filled = imp.transform(pd.DataFrame({"a": a, "b": b_missing}))[:60, 1]
    assert np.abs(filled - b[:60]).mean() < 0.5 * np.abs(np.median(b) - b[:60]).mean()


def test_category_encoder_numbers_unseen_and_missing() -> None:
    X = pd.DataFrame({"c": [1, 2, 2, 1.0, None, 3]})
    enc = CategoryEncoder(rare_min_count=1).fit(X)
    names = enc.get_feature_names_out().tolist()
    assert names == ["c=1", "c=2", "c=3", "c=__missing__", "c=__rare__"]
    out = enc.transform(pd.DataFrame({"c": ["1", 99, np.nan]}))
    assert out[0].tolist() == [1, 0, 0, 0, 0]     # "1" and 1 and 1.0 are one category
    assert out[1].tolist() == [0, 0, 0, 0, 1]     # unseen -> __rare__
    assert out[2].tolist() == [0, 0, 0, 1, 0]     # missing has its own level
    single = CategoryEncoder().fit(pd.DataFrame({"c": ["a"]}), np.array([1]))
    assert single.transform(pd.DataFrame({"c": ["b"]})).shape == (1, 3)


def test_category_encoder_target_and_native() -> None:
    rng = np.random.default_rng(2)
    cats = rng.choice([f"k{i}" for i in range(40)], 500)
    y = ((np.char.str_len(cats.astype(str)) > 2) ^ (rng.random(500) < 0.2)).astype(int)
    X = pd.DataFrame({"many": cats, "few": rng.choice(["a", "b"], 500)})
    enc = CategoryEncoder(one_hot_max=10).fit(X, y)
    assert enc.method_ == {"many": "target", "few": "onehot"}
    oof = enc.fit_transform(X, y)[:, 0]
    full = enc.transform(X)[:, 0]
    assert not np.allclose(oof, full)  # training rows are encoded out of fold
    assert np.isclose(enc.transform(pd.DataFrame({"many": ["never"], "few": ["a"]}))[0, 0],
                      enc.stats_["many"][enc.levels_["many"].index("__rare__"), 0])
    multi = CategoryEncoder(one_hot_max=10).fit_transform(X, rng.integers(0, 3, 500))
    assert multi.shape[1] == 3 + 4  # one probability per class + one-hot of "few"
    native = CategoryEncoder(kind="native", native_max=64).fit(X, y)
    frame = native.transform(pd.DataFrame({"many": ["k1", "zzz"], "few": ["a", None]}))
    assert isinstance(frame["many"].dtype, pd.CategoricalDtype)
    assert frame["many"].tolist() == ["k1", "__rare__"]
    assert frame["few=__missing__"].tolist() == [0.0, 1.0]  # 2 levels: one-hot even here
    assert CategoryEncoder(one_hot_max=5).fit(X).method_["many"] == "frequency"  # no target


def test_datetime_expander_elapsed_and_new_dates() -> None:
    X = pd.DataFrame({"d": ["2024-01-01", "2024-01-31", None]})
    exp = DatetimeExpander(elapsed=True).fit(X)
    out = exp.transform(pd.DataFrame({"d": ["2024-03-01 10:00", "garbage", None]}))
    names = exp.get_feature_names_out().tolist()
    assert names[-1] == "d_elapsed_days" and out.shape == (3, 9)
    assert out[0, names.index("d_elapsed_days")] == pytest.approx(60 + 10 / 24)
    assert out[0, names.index("d_hour")] == 10 and np.isnan(out[1, 0])
    empty = DatetimeExpander(elapsed=True).fit(pd.DataFrame({"d": [None, None]}))
    assert np.isnan(empty.transform(pd.DataFrame({"d": ["2024-01-01"]}))[0, -1])


def test_skewlog_scaler_and_target_regressor() -> None:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"skewed": rng.lognormal(0, 1.5, 300), "normal": rng.normal(size=300),
                      "flag": rng.integers(0, 2, 300).astype(float)})
    log = SkewLog().fit(X)
    assert log.logged_ == [True, False, False]
    assert log.transform(pd.DataFrame({"skewed": [-5.0], "normal": [0.0], "flag": [1.0]}))[0, 0] \
        == 0.0
    y = np.expm1(X["normal"].to_numpy() + 5)
    reg = AutoTargetRegressor(regressor=LinearRegression()).fit(X[["normal"]], y)
    assert reg.log_ and np.allclose(reg.predict(X[["normal"]]), y, rtol=1e-6)
    plain = AutoTargetRegressor(regressor=LinearRegression()).fit(X[["normal"]], X["normal"])
    assert not plain.log_
    with pytest.raises(ValueError):
        AutoTargetRegressor(regressor=LinearRegression(), transform="log").fit(X, -y)


def test_outliers_clip_flag_and_drop_only_in_training() -> None:
    X = pd.DataFrame({"v": [1.0, 2, 3, 2, 1, 3, 2, 100, np.nan, 2]})
    clip = OutlierHandler(method="iqr", action="clip").fit(X)
    assert clip.transform(X)[7, 0] < 10 and np.isnan(clip.transform(X)[8, 0])
    assert clip.report_[0]["outside"] == 1
    flag = OutlierHandler(method="zscore", action="flag", k=2.5).fit(X)
    assert flag.transform(X)[:, 1].tolist() == [0] * 7 + [1] + [0] * 2
    with pytest.raises(ValueError):
        OutlierHandler(method="isolation_forest", action="clip").fit(X)
    one = OutlierHandler().fit(pd.DataFrame({"v": [5.0]}))
    assert one.transform(pd.DataFrame({"v": [1e9]}))[0, 0] == 1e9  # too few rows to fence
    rng = np.random.default_rng(4)
    Xd = rng.normal(size=(200, 2))
    Xd[:3] = 50.0
    yd = (Xd[:, 0] > 0).astype(int)
    dropper = OutlierDropper(estimator=LogisticRegression(), method="iqr").fit(Xd, yd)
    assert dropper.dropped_ == 3
    assert dropper.predict(Xd).shape == (200,) and dropper.predict_proba(Xd[:3]).shape == (3, 2)


def test_selector_text_and_generator() -> None:
    X = pd.DataFrame({"a": [1.0, 2, 3, 4], "dup": [1.0, 2, 3, 4], "const": [5.0] * 4,
                      "near": [1.0, 2, 3, 4.01]})
    sel = FeatureSelector(drop_correlated=0.98).fit(X)
    assert sel.get_feature_names_out().tolist() == ["a"]
    # by default a correlated column stays: it can carry what its partner lacks
    assert FeatureSelector().fit(X).get_feature_names_out().tolist() == ["a", "near"]
    assert FeatureSelector().fit(X.iloc[[0]]).transform(X.iloc[[0]]).shape == (1, 4)
    only_const = FeatureSelector().fit(pd.DataFrame({"c": [1.0, 1.0]}))
    assert only_const.kept_ == ["c"]  # never leaves a model without columns
    txt = TextVectorizer(max_features=3).fit(pd.DataFrame({"t": ["red apple", "green apple", None],
                                                           "blank": [None, None, None]}))
    assert txt.transform(pd.DataFrame({"t": ["unknown words"], "blank": ["x"]})).shape == (1, 3)
    hashed = TextVectorizer(method="hashing", max_features=8).fit(pd.DataFrame({"t": ["a b"]}))
    assert hashed.transform(pd.DataFrame({"t": ["c d"]})).shape == (1, 8)
    gen = FeatureGenerator(numeric=["a", "near"], categorical=["g"], plan={
        "ratio": [["a", "near"]], "difference": [], "group_mean": [["a", "g"]],
        "frequency": ["g"]})
    frame = pd.DataFrame({"a": [1.0, 2, 0], "near": [2.0, 0, 1], "g": ["x", "x", "y"]})
    out = gen.fit(frame).transform(pd.DataFrame({"a": [4.0], "near": [2.0], "g": ["new"]}))
    assert gen.get_feature_names_out().tolist() == ["a_per_near", "a_mean_by_g", "g_freq"]
    assert out.tolist() == [[2.0, 1.0, 0.0]]  # unseen group -> global mean, frequency 0


def _tiny_frame(n: int = 120, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "num": rng.normal(size=n), "num_text": [f" {v:.2f}" for v in rng.normal(size=n)],
        "empty": [None] * n, "one": ["same"] * n, "code": rng.choice([1, 2, 3], n),
        "city": rng.choice([f"c{i}" for i in range(30)], n), "flag": rng.choice(["yes", "no"], n),
        "when": pd.date_range("2024-01-01", periods=n, freq="D").astype(str),
        "note": [f"word{i % 7} other{i % 3} thing more" for i in range(n)],
    })
    frame.loc[::7, "num"] = np.nan
    y = (frame["num"].fillna(0) + (frame["flag"] == "yes") > 0.5).astype(int).to_numpy()
    return frame, y


@pytest.mark.parametrize("kind", ["linear", "tree", "native"])
def test_build_preprocessor_contract(kind: str) -> None:
    frame, y = _tiny_frame()
    schema = infer_schema(frame, overrides={"code": "categorical", "note": "text"})
    opts = FeaturesConfig(outliers="iqr", outlier_action="flag", select="mutual_info")
    pre = build_preprocessor(schema, scale=kind == "linear", family_kind=kind, options=opts,
                             seed=3)
    assert pre.steps[0][0] == "coerce"
    out = pre.fit_transform(frame, y)
    names = pre.get_feature_names_out().tolist()
    assert list(out.columns) == names and len(names) == out.shape[1] > 0
    again = pickle.loads(pickle.dumps(pre))
    raw = pd.DataFrame([{"num": "", "num_text": "abc", "empty": "x", "one": "other", "code": 9,
                         "city": "unseen", "flag": None, "when": "2031-05-05", "note": None}])
    assert np.allclose(*(np.asarray(p.transform(raw).select_dtypes("number"), dtype=float)
                         for p in (pre, again)), equal_nan=True)
    refit = clone(pre).fit_transform(frame, y)
    pd.testing.assert_frame_equal(refit, out)
    assert clone(pre).get_params()["select__select"] == "mutual_info"
    rows = describe_pipeline(pre)
    assert {r["column"] for r in rows} >= {"num", "city", "when", "note", "one", "empty"}
    if kind == "native":
        assert any(isinstance(t, pd.CategoricalDtype) for t in out.dtypes)


def test_scale_flag_keeps_old_call_and_config_section() -> None:
    frame, y = _tiny_frame()
    schema = infer_schema(frame)
    pre = build_preprocessor(schema, scale=True).fit(frame, y)
    assert "scale" in pre.named_steps["columns"].named_transformers_["num"].named_steps
    with pytest.raises(ConfigError):
        build_preprocessor(schema, scale=False, family_kind="forest")
    with pytest.raises(ConfigError):
        build_preprocessor(schema, scale=False, options=FeaturesConfig(
            outliers="isolation_forest", outlier_action="clip"))
    with pytest.raises(ConfigError, match="one_hot_maxx"):
        Config.from_dict({"features": {"one_hot_maxx": 3}})
    wrapped = wrap_estimator(LinearRegression(), numeric_target=True,
                             options=FeaturesConfig(outliers="zscore", outlier_action="drop"))
    assert isinstance(wrapped, OutlierDropper)
    assert isinstance(wrapped.estimator, AutoTargetRegressor)
    assert wrap_estimator(LogisticRegression()).__class__ is LogisticRegression


def test_generator_search_keeps_only_what_helps_out_of_fold() -> None:
    rng = np.random.default_rng(6)
    n = 600
    X = pd.DataFrame({"a": rng.uniform(1, 10, n), "b": rng.uniform(1, 10, n),
                      "noise": rng.normal(size=n), "g": rng.choice(list("pqrs"), n)})
    y = (X["a"] / X["b"] > 1.0).astype(int).to_numpy()
    gen = FeatureGenerator(numeric=["a", "b", "noise"], categorical=["g"], seed=0).fit(X, y)
    kept = {e["kind"] for e in gen.search_ if e["kept"] and e["kind"] != "base"}
    assert "ratio" in kept and "frequency" not in kept
    assert "a_per_b" in gen.get_feature_names_out().tolist()
    noise_y = rng.integers(0, 2, n)
    none = FeatureGenerator(numeric=["a", "b", "noise"], categorical=["g"], seed=0).fit(X, noise_y)
    assert none.get_feature_names_out().tolist() == []


def test_public_names_are_pinned() -> None:
    import fullcycle.features as features

    assert sorted(features.__all__) == sorted([
        "AutoImputer", "AutoTargetRegressor", "CategoryEncoder", "DatetimeExpander",
        "FeatureConfig", "FeatureGenerator", "FeatureSelector", "OutlierDropper",
        "OutlierHandler", "SafeNames", "SchemaCoercer", "SkewLog", "TextVectorizer",
        "adversarial_validation", "build_preprocessor", "describe_pipeline", "holdout_split",
        "make_splitter", "wrap_estimator"])
    assert all(hasattr(features, name) for name in features.__all__)
