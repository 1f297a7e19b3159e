"""The evaluation report of the churn (classification) and housing (regression) champions:
metrics recomputed with scikit-learn from the model's own predictions on the saved test rows,
and the page opened in headless Chromium with no console errors and every chart drawn."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli, open_page
from sklearn import metrics as skm
from test_evaluate_metrics import _sklearn_reference

from fullcycle.config import Config
from fullcycle.project import Project

BINARY_PLOTS = {"confusion-counts", "confusion-normalised", "roc", "pr", "calibration",
                "threshold", "gain", "learning-curve", "leaderboard", "permutation-importance",
                "slices"}
REGRESSION_PLOTS = {"pred-actual", "residuals", "residual-hist", "learning-curve", "leaderboard",
                    "permutation-importance", "slices"}
SHAP_PLOTS = {"shap-bar", "shap-beeswarm", "shap-dependence-0"}


def check_page(browser: object, html: Path, screenshot: Path, expected: set[str]) -> object:
    """Open the report; no console errors, and every expected chart has a size and marks."""
    page, errors = open_page(browser, html.as_uri())
    assert errors == []
    drawn = page.evaluate(  # type: ignore[attr-defined]
        """() => [...document.querySelectorAll('figure.plot')].map(f => {
              const r = f.querySelector('svg').getBoundingClientRect();
              return {id: f.id.replace('plot-', ''), w: r.width, h: r.height,
                      marks: f.querySelectorAll('.mark').length}; })""")
    ids = {d["id"] for d in drawn}
    assert expected <= ids, f"missing charts: {expected - ids}"
    for d in drawn:
        assert d["w"] > 100 and d["h"] > 100 and d["marks"] > 0, d
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)  # type: ignore[attr-defined]
    page.close()  # type: ignore[attr-defined]
    return drawn


def _truth(workspace: Path) -> tuple[object, np.ndarray, np.ndarray]:
    project = Project.open(workspace)
    model = project.load_model()
    rows = pd.read_parquet(workspace / "reports" / "test_rows.parquet")
    y = model.problem.encode_target(rows[model.problem.target])
    return model, y, model.predict_scores(rows)


def test_churn_report_metrics_match_sklearn_and_render(churn_workspace: Path, browser: object,
                                                       artifacts_dir: Path) -> None:
    config = Config.load(churn_workspace / "fullcycle.yaml")
    config.evaluate.sensitive_columns = ["gender", "SeniorCitizen", "not_a_column"]
    config.evaluate.bootstrap = 100
    config.split.cv_folds = 3  # the full-suite CV refits the model per fold: keep it small
    config.problem.success = {"roc_auc": ">= 0.6", "accuracy": ">= 0.99"}
    result = Project(config, churn_workspace).evaluate()

    model, y, proba = _truth(churn_workspace)
    pred = model.predict(pd.read_parquet(churn_workspace / "reports" / "test_rows.parquet"))
    codes = np.asarray([model.problem.labels.index(v) for v in pred["prediction"]])
    assert result["data"]["rows"] == len(y)
    for name, found in result["test"].items():
        expected = _sklearn_reference(name, y, codes, proba, 2)
        assert found["value"] == pytest.approx(expected, rel=1e-9, abs=1e-12), name
        assert found["low"] <= found["value"] <= found["high"], name
    # The verdict follows the config's criteria.
    verdict = {c["metric"]: c["passed"] for c in result["verdict"]["criteria"]}
    assert verdict == {"roc_auc": True, "accuracy": False} and not result["verdict"]["passed"]
    # Cross-validated figures, baseline, fairness, model card.
    assert len(result["cv"]["search"]["folds"]) >= 2
    assert set(result["cv"]["suite"]["metrics"]) == set(result["test"])
    base = result["baseline"]["metrics"]
    assert base["roc_auc"] == 0.5 and base["balanced_accuracy"] == 0.5
    assert [f["column"] for f in result["fairness"]] == ["gender", "SeniorCitizen"]
    assert any("not_a_column" in n for n in result["notes"])
    gender = result["fairness"][0]["groups"]
    for group in gender:
        mask = (pd.read_parquet(churn_workspace / "reports" / "test_rows.parquet")["gender"]
                == group["group"]).to_numpy()
        assert group["accuracy"] == pytest.approx(skm.accuracy_score(y[mask], codes[mask]))
    assert result["model_card"]["data"]["fingerprint"] == model.card.provenance.data_fingerprint
    saved = json.loads(Path(result["paths"]["json"]).read_text())
    assert saved["test"]["roc_auc"]["value"] == pytest.approx(result["test"]["roc_auc"]["value"])

    html = Path(result["paths"]["html"])
    assert html.stat().st_size < 1_500_000 and "<script" not in html.read_text()
    expected = BINARY_PLOTS | (SHAP_PLOTS if result["shap"] else set())
    check_page(browser, html, artifacts_dir / "evaluate-churn.png", expected)


def test_housing_report_through_the_cli(housing_workspace: Path, browser: object,
                                        artifacts_dir: Path, tmp_path: Path) -> None:
    config = Config.load(housing_workspace / "fullcycle.yaml")
    config.evaluate.cv = False  # CV of the suite is checked on churn; spare the refits here
    config.evaluate.bootstrap = 100
    config_path = tmp_path / "eval.yaml"
    config_path.write_text(config.to_yaml())
    run = cli("evaluate", "--workspace", str(housing_workspace), "--config", str(config_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "evaluation.html" in run.stdout
    result = json.loads((housing_workspace / "reports" / "evaluation.json").read_text())
    model, y, pred = _truth(housing_workspace)
    expected = {"mae": skm.mean_absolute_error(y, pred), "mse": skm.mean_squared_error(y, pred),
                "rmse": skm.root_mean_squared_error(y, pred), "r2": skm.r2_score(y, pred),
                "mape": skm.mean_absolute_percentage_error(y, pred),
                "median_ae": skm.median_absolute_error(y, pred)}
    for name, value in expected.items():
        assert result["test"][name]["value"] == pytest.approx(value, rel=1e-9), name
    assert result["baseline"]["metrics"]["r2"] < 0.01 < result["test"]["r2"]["value"]
    assert "suite" not in result["cv"] and result["cv"]["search"]["folds"]
    check_page(browser, housing_workspace / "reports" / "evaluation.html",
               artifacts_dir / "evaluate-housing.png", REGRESSION_PLOTS)


def test_evaluate_errors_are_one_line(tmp_path: Path, housing_workspace: Path) -> None:
    unlabeled = tmp_path / "rows.csv"
    pd.read_csv(Path(__file__).parent / "data" / "housing_small.csv").drop(
        columns=["median_house_value"]).head(20).to_csv(unlabeled, index=False)
    run = cli("evaluate", "--workspace", str(housing_workspace), "--data", str(unlabeled))
    assert run.returncode == 2
    output = run.stdout + run.stderr
    assert "no target column 'median_house_value'" in output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1
