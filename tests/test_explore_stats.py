"""EDA statistics and warnings: unit checks on tiny frames, acceptance checks on shipped data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from fullcycle.data.sources import read_source
from fullcycle.explore.analysis import analyse
from fullcycle.explore.columns import type_column
from fullcycle.explore.profile import numeric_profile, profile_frame
from fullcycle.explore.relations import (
    correlation_ratio,
    cramers_v,
    mutual_information,
    pairwise_pearson,
)


def kinds(analysis, column=None):
    return {(f.kind, f.column) for f in analysis.findings if column in (None, f.column)}


@pytest.fixture(scope="module")
def churn():
    return analyse(read_source(str(DATA / "churn_small.csv")), "Churn")


@pytest.fixture(scope="module")
def titanic():
    return analyse(read_source(str(DATA / "titanic.csv")), "Survived")


@pytest.fixture(scope="module")
def ames():
    return analyse(read_source(str(DATA / "ames_small.csv")), "SalePrice")


def test_profile_sorts_once_and_matches_numpy():
    rng = np.random.default_rng(0)
    for x in (rng.normal(size=997), rng.integers(0, 5, 500).astype(float),
              np.r_[rng.exponential(size=300), [np.nan] * 7]):
        p = numeric_profile(pd.Series(x))
        present = x[~np.isnan(x)]
        assert np.allclose(p["quantiles"], np.quantile(present, np.linspace(0, 1, 101)))
        edges = np.unique(np.quantile(present, np.linspace(0, 1, 11)))
        counts = np.histogram(present, bins=edges)[0]
        assert np.allclose(p["bin_share"], counts / counts.sum())
        assert p["distinct"] == len(np.unique(present))
        assert p["missing_rate"] == pytest.approx(1 - len(present) / len(x))


def test_typing_separates_blank_from_disguised_missing():
    raw = pd.Series(["1", "x", "", " ", "?", "NA", "2", None], name="c", dtype=object)
    col = type_column(raw, "categorical")
    assert col.raw_missing == 2  # '' and None
    assert col.disguised == 3  # ' ', '?', 'NA'
    assert col.na_token == 1
    assert sorted(col.labels) == ["1", "2", "x"]
    codes = type_column(pd.Series([1.0, 2.0, 1.0, np.nan], name="f"), "categorical")
    assert list(codes.labels) == ["1", "2"] and list(codes.codes) == [0, 1, 0, -1]  # as serving
    num = type_column(pd.Series(["3", " ", "4.5"], name="n"), "numeric")
    assert np.isnan(num.values[1]) and num.values[2] == 4.5 and num.disguised == 1


def test_data_version_is_the_fingerprint():
    from fullcycle.data.fingerprint import fingerprint
    from fullcycle.explore.columns import data_version

    odd = pd.DataFrame({
        "when": pd.to_datetime(["2020-01-01", "2020-01-02 10:00", None], format="mixed"),
        "flag": [True, False, True], "mixed": pd.Series([1, "x", None], dtype=object),
        "text": ["1", " ", ""], "cat": pd.Categorical(["a", None, "a"]), "num": [1.5, None, 2]})
    frames = [read_source(str(DATA / n)) for n in ("churn_small.csv", "titanic.csv")] + [odd]
    for frame in frames:
        assert data_version(frame) == fingerprint(frame)


def test_association_measures():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4, 20_000)
    b = rng.integers(0, 3, 20_000)
    assert mutual_information(a, 4, b, 3) < 0.001  # independent: ~0 after bias correction
    assert mutual_information(a, 4, a, 4) == pytest.approx(2.0, abs=0.01)  # 4 equiprobable
    assert cramers_v(a, 4, a, 4) == pytest.approx(1.0)
    assert cramers_v(a, 4, b, 3) < 0.05
    x = a * 10.0
    cols = rng.normal(size=(5000, 4)) * 1e3 + 1e9
    cols[:, 1] += cols[:, 0]
    cols[rng.random(cols.shape) < 0.2] = np.nan
    expected = pd.DataFrame(cols).corr().to_numpy()  # pairwise-complete Pearson
    assert np.allclose(pairwise_pearson(list(cols.T), chunk=1000), expected, atol=1e-9)
    assert correlation_ratio(x, a) == pytest.approx(1.0)
    assert correlation_ratio(rng.normal(size=20_000), a) < 0.05


def test_eda_profile_is_the_models_reference_profile(churn, titanic):
    """EDA and monitoring speak the same language: the analysis' profile equals profile_frame."""
    for analysis, name in ((churn, "churn_small.csv"), (titanic, "titanic.csv")):
        frame = read_source(str(DATA / name))
        ref = profile_frame(frame, analysis.schema)["columns"]
        mine = analysis.profile["columns"]
        assert ref.keys() == mine.keys()
        for column, entry in ref.items():
            assert entry.keys() == mine[column].keys(), column
            for key, value in entry.items():
                if isinstance(value, list | float):
                    assert np.allclose(value, mine[column][key]), (column, key)
                else:
                    assert value == mine[column][key], (column, key)


def test_telco_warnings(churn):
    found = kinds(churn)
    assert ("stored_as_text", "TotalCharges") in found
    assert ("identifier", "customerID") in found
    assert churn.target.task == "binary" and churn.target.labels == ["No", "Yes"]
    tenure = churn.relations["tenure"]
    assert tenure["type"] == "box" and 0.6 < tenure["auc"] < 0.9


def test_titanic_missing_cabin_and_age(titanic):
    by = {(f.kind, f.column): f for f in titanic.findings}
    assert by[("missing", "Cabin")].severity == "high"  # 77% missing
    assert by[("missing", "Age")].severity == "medium"  # 20% missing
    assert ("disguised_missing", "Cabin") not in by  # blank CSV cells are plain missing


def test_ames_na_means_absent(ames):
    absent = {f.column for f in ames.findings if f.kind == "na_means_absent"}
    assert {"PoolQC", "Alley", "Fence", "FireplaceQu", "GarageType", "BsmtQual"} <= absent
    assert "LotFrontage" not in absent  # genuinely unknown frontage, no structural reason
    pool = next(f for f in ames.findings if f.column == "PoolQC" and f.kind == "na_means_absent")
    assert "PoolArea is 0" in pool.message
    assert ames.target.task == "regression" and "OverallQual" in ames.relations


def synthetic(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 700, n)), "D")
    trend = np.arange(n) / n
    y = (rng.random(n) < 0.05 + 0.25 * trend).astype(int)
    return pd.DataFrame({
        "signed_up": when.strftime("%Y-%m-%d"),
        "usage": rng.normal(size=n) + 3 * trend,
        "leak": y + rng.normal(scale=0.01, size=n),
        "copy_of_usage": None,
        "city": rng.choice([f"c{i}" for i in range(400)], n),
        "flag": np.where(rng.random(n) < 0.995, "a", "b"),
        "churned": y,
    }).assign(copy_of_usage=lambda f: f["usage"] * 2 + 1)


def test_synthetic_warnings():
    frame = synthetic()
    frame = pd.concat([frame, frame.iloc[:5].assign(churned=1 - frame["churned"].iloc[:5])],
                      ignore_index=True)
    a = analyse(frame, "churned")
    found = kinds(a)
    assert ("leakage", "leak") in found
    assert ("imbalance", "churned") in found
    assert ("time_trend", "signed_up") in found  # the churn rate rises over time
    assert ("time_trend", "usage") in found
    assert ("near_constant", "flag") in found
    assert ("high_cardinality", "city") in found
    assert ("conflicting_duplicates", None) in found
    assert a.duplicates["conflict_groups"] == 5
    assert {"copy_of_usage", "usage"} == {a.near_duplicates[0]["a"], a.near_duplicates[0]["b"]}
    assert a.ranking[0]["feature"] == "leak"
    severities = [f.severity for f in a.findings]
    assert severities == sorted(severities, key=["high", "medium", "low", "info"].index)


def test_large_data_uses_stated_samples(monkeypatch):
    import fullcycle.explore.analysis as analysis

    monkeypatch.setattr(analysis, "PLOT_SAMPLE", 500)
    monkeypatch.setattr(analysis, "RELATION_SAMPLE", 1000)
    monkeypatch.setattr(analysis, "SCHEMA_SAMPLE", 800)
    a = analysis.analyse(synthetic(4000), "churned")
    assert a.samples == {"rows": 4000, "plot": 500, "relation": 1000, "schema": 800}
    assert a.stats["usage"]["rows"] == 4000  # column statistics still use every row
    assert sum(b["n"] for b in a.relations["usage"]["boxes"]) == 500
