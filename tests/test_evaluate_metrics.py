"""Every metric of the evaluation, checked against scikit-learn's own function on the same
predictions; the bootstrap, the paired comparison, the curves and the slices on small synthetic
data where the right answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from fullcycle.evaluate.bootstrap import bootstrap_ci, paired_difference
from fullcycle.metrics import METRICS, metric_suite, score_all
from fullcycle.problem import Problem
from fullcycle.tasks.tabular.evaluate import curves
from fullcycle.tasks.tabular.evaluate.fast import FAST
from fullcycle.tasks.tabular.evaluate.report import baseline
from fullcycle.tasks.tabular.evaluate.slices import slice_table

RNG = np.random.default_rng(7)


def _classification(k: int, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = RNG.integers(0, k, n)
    logits = RNG.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba.argmax(axis=1), proba


def _sklearn_reference(name: str, y: np.ndarray, pred: np.ndarray, proba: np.ndarray,
                       k: int) -> float:
    """The metric computed directly with scikit-learn, written out independently."""
    binary = k == 2
    avg = "binary" if binary else "macro"
    table = {
        "accuracy": lambda: skm.accuracy_score(y, pred),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, pred),
        "precision": lambda: skm.precision_score(y, pred, average=avg, zero_division=0),
        "recall": lambda: skm.recall_score(y, pred, average=avg, zero_division=0),
        "f1": lambda: skm.f1_score(y, pred, average=avg, zero_division=0),
        "mcc": lambda: skm.matthews_corrcoef(y, pred),
        "roc_auc": lambda: skm.roc_auc_score(y, proba[:, 1]) if binary
        else skm.roc_auc_score(y, proba, multi_class="ovr"),
        "pr_auc": lambda: skm.average_precision_score(y, proba[:, 1]) if binary
        else skm.average_precision_score(np.eye(k)[y], proba, average="macro"),
        "log_loss": lambda: skm.log_loss(y, proba),
        "brier": lambda: skm.brier_score_loss(y, proba[:, 1]) if binary
        else np.mean(np.sum((proba - np.eye(k)[y]) ** 2, axis=1)),
    }
    for kind, func in (("precision", skm.precision_score), ("recall", skm.recall_score),
                       ("f1", skm.f1_score)):
        for average in ("macro", "weighted"):
            table[f"{kind}_{average}"] = (lambda f=func, a=average:
                                          f(y, pred, average=a, zero_division=0))
    return float(table[name]())


@pytest.mark.parametrize("k", [2, 4])
def test_classification_suite_matches_sklearn(k: int) -> None:
    y, pred, proba = _classification(k)
    task = "binary" if k == 2 else "multiclass"
    scores = score_all(task, y, pred, proba, np.arange(k))
    assert set(scores) == {m.name for m in metric_suite(task)}
    for name, value in scores.items():
        expected = _sklearn_reference(name, y, pred, proba, k)
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-12), name
        # The bootstrap's NumPy twin gives the same number.
        arg = proba if METRICS[name].needs == "proba" else pred
        assert FAST[name](y, arg, k) == pytest.approx(expected, rel=1e-9, abs=1e-12), name


def test_ties_in_scores_match_sklearn() -> None:
    y = RNG.integers(0, 2, 300)
    p = np.round(RNG.uniform(size=300) * 0.5 + 0.4 * y, 1)  # many tied scores
    proba = np.column_stack([1 - p, p])
    assert FAST["roc_auc"](y, proba, 2) == pytest.approx(skm.roc_auc_score(y, p))
    assert FAST["pr_auc"](y, proba, 2) == pytest.approx(skm.average_precision_score(y, p))


def test_regression_suite_matches_sklearn() -> None:
    y = RNG.normal(100, 20, 300)
    pred = y + RNG.normal(0, 10, 300)
    scores = score_all("regression", y, pred, None, None)
    expected = {"mae": skm.mean_absolute_error(y, pred), "mse": skm.mean_squared_error(y, pred),
                "rmse": skm.root_mean_squared_error(y, pred), "r2": skm.r2_score(y, pred),
                "mape": skm.mean_absolute_percentage_error(y, pred),
                "median_ae": skm.median_absolute_error(y, pred)}
    assert set(scores) == set(expected)
    for name, value in expected.items():
        assert scores[name] == pytest.approx(value, rel=1e-12), name
        assert FAST[name](y, pred, 0) == pytest.approx(value, rel=1e-9), name
    with_zero = np.r_[0.0, y[1:]]
    assert np.isnan(score_all("regression", with_zero, pred, None, None)["mape"])


def test_baseline_is_sklearns_dummy_predictor() -> None:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    y_train, y_test = RNG.integers(0, 2, 500) * (RNG.uniform(size=500) < 0.6), \
        RNG.integers(0, 2, 200)
    problem = Problem(task="binary", target="t", metric="roc_auc", labels=["no", "yes"])
    found = baseline(problem, y_test, y_train)["metrics"]
    dummy = DummyClassifier(strategy="prior").fit(np.zeros((500, 1)), y_train)
    proba = dummy.predict_proba(np.zeros((200, 1)))
    assert found["accuracy"] == pytest.approx(skm.accuracy_score(y_test, dummy.predict(
        np.zeros((200, 1)))))
    assert found["log_loss"] == pytest.approx(skm.log_loss(y_test, proba))
    assert found["roc_auc"] == pytest.approx(0.5)
    assert found["pr_auc"] == pytest.approx(y_test.mean())
    reg = Problem(task="regression", target="t", metric="rmse")
    yr, yt = RNG.normal(size=100), RNG.normal(size=50)
    mean = DummyRegressor().fit(np.zeros((100, 1)), yr).predict(np.zeros((50, 1)))
    assert baseline(reg, yt, yr)["metrics"]["rmse"] == pytest.approx(
        skm.root_mean_squared_error(yt, mean))


def test_bootstrap_interval_brackets_the_value_and_narrows_with_rows() -> None:
    widths = []
    for n in (100, 2000):
        y = RNG.integers(0, 2, n)
        pred = np.where(RNG.uniform(size=n) < 0.8, y, 1 - y)
        ci = bootstrap_ci(lambda idx, y=y, pred=pred: float(np.mean(y[idx] == pred[idx])), n,
                          resamples=300, seed=1, strata=y)
        assert ci.low <= ci.value <= ci.high
        assert 0.7 < ci.value < 0.9
        widths.append(ci.high - ci.low)
    assert widths[1] < widths[0] / 2  # ~sqrt(20) narrower


def test_paired_difference_finds_the_better_model_and_not_a_tie() -> None:
    n = 600
    y = RNG.integers(0, 2, n)
    good = np.where(RNG.uniform(size=n) < 0.85, y, 1 - y)
    bad = np.where(RNG.uniform(size=n) < 0.70, y, 1 - y)

    def acc(pred: np.ndarray):
        return lambda idx: float(np.mean(y[idx] == pred[idx]))

    better = paired_difference(acc(good), acc(bad), n, resamples=400)
    assert better["low"] > 0 and better["p_value"] < 0.01
    same = paired_difference(acc(good), acc(good.copy()), n, resamples=100)
    assert same["difference"] == 0 and same["low"] == 0 == same["high"]


def test_threshold_curve_matches_sklearn_at_each_threshold() -> None:
    y, _, proba = _classification(2, 500)
    found = curves.threshold_curve(y == 1, proba[:, 1])
    for i in (10, 49, 80):
        t = found["thresholds"][i]
        pred = (proba[:, 1] >= t).astype(int)
        assert found["precision"][i] == pytest.approx(skm.precision_score(y, pred,
                                                                          zero_division=0))
        assert found["recall"][i] == pytest.approx(skm.recall_score(y, pred))
        assert found["f1"][i] == pytest.approx(skm.f1_score(y, pred))
        assert found["accuracy"][i] == pytest.approx(skm.accuracy_score(y, pred))
    assert found["at_best"]["f1"] == pytest.approx(max(found["f1"]))


def test_gain_curve_and_calibration() -> None:
    y, _, proba = _classification(2, 1000)
    gain = curves.gain_curve(y == 1, proba[:, 1])
    assert gain["gain"][-1] == pytest.approx(1.0)
    assert gain["gain"][99] > 0.1  # better than random in the top 10%
    cal = curves.calibration(y == 1, proba[:, 1])
    from sklearn.calibration import calibration_curve

    frac, mean = calibration_curve(y == 1, proba[:, 1], n_bins=10, strategy="quantile")
    assert np.allclose(cal["observed"], frac) and np.allclose(cal["predicted"], mean)
    assert 0 <= cal["ece"] < 0.5


def test_confusion_matches_sklearn() -> None:
    y, pred, _ = _classification(3, 300)
    problem = Problem(task="multiclass", target="t", metric="log_loss", labels=["a", "b", "c"])
    conf = curves.confusion(problem, y, pred)
    cm = skm.confusion_matrix(y, pred)
    assert conf["counts"] == cm.tolist()
    assert np.allclose(conf["normalised"], skm.confusion_matrix(y, pred, normalize="true"))


def test_slices_flag_the_planted_bad_group() -> None:
    from fullcycle.data.schema import infer_schema

    n = 1200
    frame = pd.DataFrame({"region": RNG.choice(["north", "south", "east", "west"], n),
                          "x": RNG.normal(size=n), "t": RNG.integers(0, 2, n)})
    schema = infer_schema(frame, target="t")
    y = frame["t"].to_numpy()
    wrong = np.where(frame["region"] == "west", 0.45, 0.05)  # west is much worse
    pred = np.where(RNG.uniform(size=n) < wrong, 1 - y, y)
    proba = np.column_stack([1 - pred * 0.8 - 0.1, pred * 0.8 + 0.1])
    problem = Problem(task="binary", target="t", metric="roc_auc", labels=["0", "1"])
    table = slice_table(problem, schema, frame[["region", "x"]], y, proba, pred)
    flagged = table[table["flag"]]
    assert list(flagged["slice"]) == ["west"]
    west = table[table["slice"] == "west"].iloc[0]
    mask = (frame["region"] == "west").to_numpy()
    assert west["error_rate"] == pytest.approx(1 - skm.accuracy_score(y[mask], pred[mask]))
    assert west["roc_auc"] == pytest.approx(skm.roc_auc_score(y[mask], proba[mask, 1]))


def test_public_names_are_pinned() -> None:
    import fullcycle.evaluate as evaluate

    assert evaluate.__all__ == sorted([
        "METRICS", "Metric", "get_metric", "metric_suite", "score_all", "Evaluation",
        "evaluate_model", "render_html", "Explainer", "explain_records",
        "permutation_importance", "compare_models", "evaluate_rows"])
    for name in evaluate.__all__:
        assert getattr(evaluate, name) is not None
    with pytest.raises(AttributeError):
        evaluate.not_a_name  # noqa: B018
