"""Drift statistics with known answers: equal to scipy on the same arrays, no drift on a random
split of the same data, and the right features flagged on deliberately shifted copies."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from fullcycle.config import MonitorConfig
from fullcycle.data.schema import infer_schema
from fullcycle.monitor.columns import read_window
from fullcycle.monitor.drift import (
    categorical_stats,
    chi_square,
    detect_drift,
    js_distance,
    numeric_stats,
)
from fullcycle.monitor.reference import (
    N_QUANTILES,
    build_reference,
    numeric_sketch,
    wasserstein_tolerance,
)


def _sorted(a: np.ndarray) -> np.ndarray:
    return np.sort(a[~np.isnan(a)])


def _roundtrip(sketch: dict) -> dict:
    return json.loads(json.dumps(sketch))  # what a saved model gives back


@pytest.mark.parametrize("case", ["ties", "continuous_small"])
def test_exact_sketch_matches_scipy(case: str) -> None:
    rng = np.random.default_rng(1)
    if case == "ties":
        ref = rng.integers(0, 40, 5000).astype(float)
        cur = rng.integers(3, 45, 3000).astype(float)
    else:  # fewer distinct values than the exact limit: every value stored
        ref = rng.normal(0, 1, 900)
        cur = rng.normal(0.3, 1.2, 700)
    sketch = _roundtrip(numeric_sketch(ref))
    assert "values" in sketch
    got = numeric_stats(sketch, _sorted(cur))
    ks = stats.ks_2samp(ref, cur, method="asymp")
    assert got["ks"] == pytest.approx(ks.statistic, abs=1e-12)
    assert got["ks_pvalue"] == pytest.approx(ks.pvalue, rel=1e-9, abs=1e-300)
    assert got["wasserstein"] == pytest.approx(stats.wasserstein_distance(ref, cur), rel=1e-9)
    assert got["wasserstein_norm"] == pytest.approx(
        stats.wasserstein_distance(ref, cur) / np.std(ref), rel=1e-9)


def test_quantile_sketch_within_stated_tolerance() -> None:
    rng = np.random.default_rng(2)
    ref = rng.lognormal(0, 0.7, 200_000)
    for cur in (rng.lognormal(0, 0.7, 50_000), rng.lognormal(0.2, 0.8, 50_000)):
        sketch = _roundtrip(numeric_sketch(ref))
        assert "quantiles" in sketch and len(sketch["quantiles"]) >= N_QUANTILES
        got = numeric_stats(sketch, _sorted(cur))
        ks = stats.ks_2samp(ref, cur, method="asymp").statistic
        w = stats.wasserstein_distance(ref, cur)
        # Documented bounds: KS within 1/(K-1); Wasserstein within the sketch's own tolerance.
        assert abs(got["ks"] - ks) <= 1 / (N_QUANTILES - 1) + 1e-12
        assert abs(got["wasserstein"] - w) <= wasserstein_tolerance(sketch)
        assert wasserstein_tolerance(sketch) < 0.01 * np.std(ref)  # small next to thresholds


def test_psi_on_reference_deciles() -> None:
    rng = np.random.default_rng(3)
    ref = rng.normal(0, 1, 20_000)
    cur = rng.normal(0.5, 1, 10_000)
    sketch = numeric_sketch(ref)
    inner = np.quantile(ref, np.linspace(0, 1, 11)[1:-1])
    e = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=10) / len(ref)
    a = np.bincount(np.searchsorted(inner, cur, side="right"), minlength=10) / len(cur)
    expected = float(np.sum((a - e) * np.log(a / e)))
    assert numeric_stats(sketch, np.sort(cur))["psi"] == pytest.approx(expected, rel=1e-9)


def test_categorical_statistics_match_scipy() -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"c": rng.choice(list("abcd"), 4000, p=[0.4, 0.3, 0.2, 0.1])})
    cur = pd.DataFrame({"c": rng.choice(list("abcde"), 2500, p=[0.3, 0.3, 0.2, 0.1, 0.1])})
    schema = infer_schema(ref)
    sketch = _roundtrip(build_reference(ref, schema))["features"]["c"]
    col = read_window(cur, schema).columns["c"]
    got = categorical_stats(sketch, col)
    cats = list("abcde")
    r = np.array([(ref["c"] == k).sum() for k in cats], dtype=float)
    c = np.array([(cur["c"] == k).sum() for k in cats], dtype=float)
    chi2, p, _, _ = stats.chi2_contingency(np.vstack([r, c]), correction=False)
    assert got["chi2"] == pytest.approx(chi2, rel=1e-9)
    assert got["chi2_pvalue"] == pytest.approx(p, rel=1e-6, abs=1e-300)
    assert got["cramers_v"] == pytest.approx(np.sqrt(chi2 / (r.sum() + c.sum())), rel=1e-9)
    assert got["jensenshannon"] == pytest.approx(jensenshannon(r / r.sum(), c / c.sum(), base=2),
                                                 rel=1e-9)
    # A one-sample goodness-of-fit view (scipy.stats.chisquare) agrees on the known categories.
    known = c[:4]
    gof = stats.chisquare(known, r[:4] / r[:4].sum() * known.sum())
    stat, _, _ = chi_square(r[:4], known)
    assert gof.statistic > 0 and stat > 0


def test_large_sample_ks_pvalue_within_stated_tolerance() -> None:
    from fullcycle.monitor.drift import ks_pvalue

    for m, n in ((20_001, 20_001), (400_000, 300_000)):
        en = round(m * n / (m + n))
        for d in np.linspace(0.0005, 0.02, 10):
            exact = stats.kstwo.sf(d, en)
            got = ks_pvalue(d, m, n)
            assert abs(got - exact) < 0.002
            if exact >= 1e-6:
                assert got == pytest.approx(exact, rel=0.02)


def test_js_distance_helper_matches_scipy() -> None:
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.1, 0.6, 0.3])
    assert js_distance(p, q) == pytest.approx(jensenshannon(p, q, base=2), rel=1e-12)


# --- known answers on frames ------------------------------------------------------------------
def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.normal(40, 10, n).round(1),
        "income": rng.lognormal(10, 0.5, n),
        "visits": rng.poisson(3, n).astype(float),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
        "region": rng.choice(["north", "south", "east", "west"], n),
    })


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame, object, dict]:
    full = _frame(12_000, 7)
    shuffled = full.sample(frac=1.0, random_state=0)
    train, live = shuffled.iloc[:8000], shuffled.iloc[8000:]
    schema = infer_schema(train)
    return train, live, schema, _roundtrip(build_reference(train, schema))


def test_no_drift_on_random_split(split) -> None:
    _, live, schema, reference = split
    result = detect_drift(read_window(live, schema), reference, MonitorConfig())
    assert result["drifted_features"] == []
    assert not result["dataset_drift"]
    assert all(f["psi"] < 0.05 for f in result["features"])


def test_shifted_copy_flags_the_right_features(split) -> None:
    _, live, schema, reference = split
    shifted = live.copy()
    shifted["age"] = shifted["age"] + 8  # mean shift of 0.8 sd
    rng = np.random.default_rng(9)
    new = rng.random(len(shifted)) < 0.25
    shifted.loc[new, "plan"] = "enterprise"  # a category training never saw
    gone = rng.random(len(shifted)) < 0.3
    shifted.loc[gone, "visits"] = np.nan  # missing-rate jump
    result = detect_drift(read_window(shifted, schema), reference, MonitorConfig())
    by = {f["feature"]: f for f in result["features"]}
    assert sorted(result["drifted_features"]) == ["age", "plan", "visits"]
    assert {"psi", "wasserstein_norm"} <= set(by["age"]["reasons"])
    assert "jensenshannon" in by["plan"]["reasons"]
    assert by["visits"]["reasons"] == ["missing_rate"]
    assert result["dataset_drift"]  # 3 of 5 >= 0.3


def test_raw_text_window_equals_typed_window(split) -> None:
    """Numbers arriving as text (a CSV, a JSON log) give the same statistics as typed ones."""
    _, live, schema, reference = split
    raw = live.astype(str).replace({"nan": ""})
    typed = detect_drift(read_window(live, schema), reference, MonitorConfig())
    text = detect_drift(read_window(raw, schema), reference, MonitorConfig())
    for a, b in zip(typed["features"], text["features"], strict=True):
        assert a["psi"] == pytest.approx(b["psi"], abs=1e-9)
        assert a["current_missing"] == b["current_missing"]


def test_small_window_is_not_judged(split) -> None:
    _, live, schema, reference = split
    result = detect_drift(read_window(live.head(10), schema),
                          reference, MonitorConfig())
    assert result["drifted_features"] == [] and not any(f["judged"] for f in result["features"])
