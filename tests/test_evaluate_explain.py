"""Per-prediction explanations on a real LightGBM champion: SHAP values add up to the model's raw
output, agree with the shap library, come back through the Python API and over real HTTP
(`POST /explain`); ensembles get an occlusion explanation; `fullcycle compare` picks a winner
with a paired bootstrap interval that matches scikit-learn's metric difference."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from conftest import DATA, cli, start_server
from sklearn import metrics as skm
from test_evaluate_report import SHAP_PLOTS, check_page

from fullcycle.config import Config
from fullcycle.project import Project
from fullcycle.tasks.tabular.evaluate.explain import Explainer, explain_records, input_groups


@pytest.fixture(scope="module")
def lgbm_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A champion that is one LightGBM model (no ensemble, no calibration)."""
    root = tmp_path_factory.mktemp("lgbm-ws")
    config = Config.from_dict({
        "project": "churn-lgbm", "data": {"source": str(DATA / "churn_small.csv"),
                                          "target": "Churn"},
        "train": {"families": ["lightgbm"], "max_trials": 1, "ensemble": False,
                  "calibration": "none", "threshold": "none"},
        "evaluate": {"bootstrap": 50, "cv": False, "learning_curve": False, "shap_rows": 120}})
    Project(config, root).train()
    return root


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_csv(DATA / "churn_small.csv").head(40)


def test_shap_values_sum_to_the_raw_output(lgbm_workspace: Path, rows: pd.DataFrame) -> None:
    import shap

    model = Project.open(lgbm_workspace).load_model()
    explainer = Explainer(model)
    assert explainer.kind == "lightgbm"
    explanation = explainer.explain(rows)
    booster = explainer.estimator
    Xt = np.asarray(explainer.transform.transform(rows), dtype="float64")
    raw = booster.predict(Xt, raw_score=True)
    contrib = explanation.contributions.to_numpy()
    assert np.allclose(contrib.sum(axis=1) + explanation.base, raw, atol=1e-6)
    # The raw output is the model's probability on the log-odds scale.
    p = model.predict_scores(rows)[:, 1]
    assert np.allclose(1 / (1 + np.exp(-raw)), p, atol=1e-9)
    # The shap library's TreeExplainer gives the same values, grouped onto the input columns.
    tree = shap.TreeExplainer(booster)
    values = np.asarray(tree.shap_values(Xt))
    values = values[1] if values.ndim == 3 and values.shape[0] == 2 else values
    assert np.allclose(explanation.base, float(np.atleast_1d(tree.expected_value)[-1]), atol=1e-6)
    grouped = pd.DataFrame(values, columns=explainer.groups).T.groupby(level=0).sum().T
    assert np.allclose(grouped[explanation.contributions.columns].to_numpy(), contrib, atol=1e-6)
    # Contributions are named after the user's columns, not the encoded ones.
    names = set(explanation.contributions.columns)
    assert not any("__" in n or "=" in n for n in names)
    assert {"Contract", "tenure", "MonthlyCharges"} <= names


def test_input_groups_map_encoded_columns_back() -> None:
    outputs = ["num__tenure", "num__missingindicator_tenure", "cat__Contract_One year",
               "cat__Contract=Two year", "dt__signup_month_sin", "num__tenure_x",
               "gen__tenure_per_signup", "num__mystery"]
    found = input_groups(outputs, ["tenure", "tenure_x", "Contract", "signup"])
    assert found == ["tenure", "tenure", "Contract", "Contract", "signup", "tenure_x",
                     "tenure_per_signup", "mystery"]


def test_project_explain_returns_sorted_contributions(lgbm_workspace: Path,
                                                      rows: pd.DataFrame) -> None:
    project = Project.open(lgbm_workspace)
    records = rows.drop(columns=["Churn"]).head(3).to_dict(orient="records")
    found = project.explain(records)
    predicted = project.predict(pd.DataFrame(records))["prediction"].tolist()
    assert [f["prediction"] for f in found] == predicted
    for item in found:
        contributions = [c["contribution"] for c in item["contributions"]]
        assert contributions == sorted(contributions, key=abs, reverse=True)
        assert item["base_value"] + sum(contributions) == pytest.approx(item["output"], abs=1e-6)
        assert item["exact"] and item["output_name"] == "log-odds of 'Yes'"
    tenure = next(c for c in found[0]["contributions"] if c["feature"] == "tenure")
    assert tenure["value"] == records[0]["tenure"]


def test_ensemble_gets_an_occlusion_explanation(churn_workspace: Path,
                                                rows: pd.DataFrame) -> None:
    model = Project.open(churn_workspace).load_model()
    found = explain_records(model, rows.head(2))
    p = model.predict_scores(rows.head(2))[:, -1]
    if Explainer(model).kind is None:  # ensembles and post-processed models
        assert not found[0]["exact"] and "occlusion" in found[0]["method"]
        assert [f["output"] for f in found] == pytest.approx(p.tolist())
    else:
        assert found[0]["exact"]
    assert {"Contract", "tenure"} <= {c["feature"] for c in found[0]["contributions"]}


def test_explain_over_http(lgbm_workspace: Path, rows: pd.DataFrame) -> None:
    server = start_server(lgbm_workspace)
    try:
        records = json.loads(rows.drop(columns=["Churn"]).head(2).to_json(orient="records"))
        answer = httpx.post(f"{server.url}/explain", json=records, timeout=30)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["explanations"]) == 2
        predicted = httpx.post(f"{server.url}/predict", json=records, timeout=30).json()
        for item, pred in zip(body["explanations"], predicted["predictions"], strict=True):
            assert item["prediction"] == pred["prediction"]
            total = item["base_value"] + sum(c["contribution"] for c in item["contributions"])
            assert total == pytest.approx(item["output"], abs=1e-6)
            p = pred["probabilities"]["Yes"]
            assert item["output"] == pytest.approx(np.log(p / (1 - p)), abs=1e-6)
        one = httpx.post(f"{server.url}/explain", json=records[0], timeout=30)
        assert one.status_code == 200 and len(one.json()["explanations"]) == 1
        bad = httpx.post(f"{server.url}/explain", json={**records[0], "tenure": "many"},
                         timeout=30)
        assert bad.status_code == 422, bad.text
        assert "tenure" in bad.text
        assert httpx.post(f"{server.url}/explain", content=b"{nope", timeout=30).status_code == 422
        # bounded work: explaining is costly per row, so one request explains at most 100
        many = httpx.post(f"{server.url}/explain", json=records * 51, timeout=60)
        assert many.status_code == 422 and "at most 100" in many.text, many.text
    finally:
        server.stop()


def test_lightgbm_report_has_shap_charts(lgbm_workspace: Path, browser: object,
                                         artifacts_dir: Path) -> None:
    result = Project.open(lgbm_workspace).evaluate()
    assert result["shap"]["method"].startswith("tree SHAP")
    assert "cv" in result and "suite" not in result["cv"]  # evaluate.cv: false was honoured
    check_page(browser, Path(result["paths"]["html"]), artifacts_dir / "evaluate-lgbm.png",
               SHAP_PLOTS | {"roc", "permutation-importance"})


def test_compare_two_versions(lgbm_workspace: Path, churn_workspace: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    # a folder from ANOTHER workspace: nothing in this registry vouches for it, so the user
    # says they trust it (without that it is refused: tests/test_hardening*.py)
    monkeypatch.setenv("FULLCYCLE_TRUST_MODEL_PATH", "1")
    other = next(p.parent for p in (churn_workspace / "models").rglob("model.json"))
    run = cli("compare", "champion", str(other), "--workspace", str(lgbm_workspace),
              "--resamples", "300")
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads((lgbm_workspace / "reports" / "compare.json").read_text())
    assert result["metric"] == "roc_auc" and result["verdict"] in run.stdout
    test = pd.read_parquet(lgbm_workspace / "reports" / "test_rows.parquet")
    y = (test["Churn"] == "Yes").to_numpy()
    a = Project.open(lgbm_workspace).load_model().predict_scores(test)[:, 1]
    b = Project.open(lgbm_workspace).load_model(str(other)).predict_scores(test)[:, 1]
    diff = skm.roc_auc_score(y, a) - skm.roc_auc_score(y, b)
    assert result["difference"]["difference"] == pytest.approx(diff, abs=1e-12)
    low, high = result["difference"]["low"], result["difference"]["high"]
    assert low <= diff <= high
    expected = "champion" if low > 0 else str(other) if high < 0 else None
    assert result["winner"] == expected


def test_server_fast_matrix_matches_the_pipeline(lgbm_workspace: Path,
                                                 rows: pd.DataFrame) -> None:
    """/explain reuses the server's fast preprocessing; it must be the pipeline's own matrix."""
    from fullcycle.scoring.served import Served
    from fullcycle.serve.routes.explain import _matrix

    model = Project.open(lgbm_workspace).load_model()
    served = Served.prepare(model, serving_threads=False)
    records = json.loads(rows.drop(columns=["Churn"]).head(5).to_json(orient="records"))
    canonical, _ = served.validator.records(records, 100)
    matrix = _matrix(served, canonical)
    assert matrix is not None
    expected = np.asarray(Explainer(model).transform.transform(pd.DataFrame(records)), float)
    assert np.allclose(matrix, expected, equal_nan=True)
    fast = explain_records(model, records, matrix=matrix)
    slow = explain_records(model, records)
    assert [f["output"] for f in fast] == pytest.approx([s["output"] for s in slow])


def test_multiclass_report_and_explanations(tmp_path: Path) -> None:
    """Three classes: one-vs-rest curves, per-class table, and per-row SHAP on the predicted
    class's softmax input, which adds up to the booster's raw score for that class."""
    rng = np.random.default_rng(3)
    n = 450
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                          "kind": rng.choice(["a", "b", "c"], n)})
    noisy = frame["x1"] + 0.8 * (frame["kind"] == "a") + rng.normal(0, 0.7, n)
    frame["label"] = np.where(noisy > 0.6, "high", np.where(frame["x2"] > 0, "mid", "low"))
    source = tmp_path / "multi.csv"
    frame.to_csv(source, index=False)
    config = Config.from_dict({
        "project": "multi", "data": {"source": str(source), "target": "label"},
        "train": {"families": ["lightgbm"], "max_trials": 1, "ensemble": False,
                  "calibration": "none"},
        "evaluate": {"bootstrap": 30, "cv": False, "learning_curve": False, "shap_rows": 60}})
    project = Project(config, tmp_path / "ws")
    project.train()
    result = project.evaluate()
    assert result["problem"]["task"] == "multiclass"
    assert [c["class"] for c in result["per_class"]] == ["high", "low", "mid"]
    test = pd.read_parquet(tmp_path / "ws" / "reports" / "test_rows.parquet")
    model = project.load_model()
    proba = model.predict_scores(test)
    y = model.problem.encode_target(test["label"])
    assert result["test"]["roc_auc"]["value"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert result["test"]["log_loss"]["value"] == pytest.approx(skm.log_loss(y, proba))
    found = project.explain(test.drop(columns=["label"]).head(4).to_dict(orient="records"))
    explainer = Explainer(model)
    Xt = np.asarray(explainer.transform.transform(test.head(4)), dtype="float64")
    raw = explainer.estimator.predict(Xt, raw_score=True)
    for i, item in enumerate(found):
        cls = model.problem.labels.index(item["prediction"])
        total = item["base_value"] + sum(c["contribution"] for c in item["contributions"])
        assert total == pytest.approx(raw[i, cls], abs=1e-6) == item["output"]
