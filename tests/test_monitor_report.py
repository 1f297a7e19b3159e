"""Quality, performance, the report files and the retrain policy on a small model trained in
process (no registry, no server): known answers on deliberately broken copies."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

from fullcycle.config import Config, MonitorConfig
from fullcycle.monitor.check import run_monitoring
from fullcycle.monitor.live import from_frame
from fullcycle.monitor.policy import retrain_reasons
from fullcycle.monitor.reference import attach_reference, reference_of
from fullcycle.monitor.report import write_reports


@pytest.fixture(scope="module")
def trained() -> tuple[object, pd.DataFrame, pd.DataFrame]:
    from fullcycle.data.dataset import Dataset
    from fullcycle.tasks.tabular.search.train import train_model

    frame = pd.read_csv(DATA / "churn_small.csv")
    dataset = Dataset.from_frame(frame, target="Churn")
    config = Config()
    config.train.max_trials, config.train.families = 1, ["linear"]
    outcome = train_model(dataset, config)
    train, test = frame.iloc[outcome.train_index], frame.iloc[outcome.test_index]
    attach_reference(outcome.model, train, test)
    return outcome.model, train, test


def broken(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["tenure"] = out["tenure"].astype(object)
    out.iloc[:40, out.columns.get_loc("tenure")] = "unknown"  # not a number: invalid
    out.iloc[40:80, out.columns.get_loc("MonthlyCharges")] = 5000.0  # far out of range
    out.iloc[80:120, out.columns.get_loc("PaymentMethod")] = "Crypto"  # unseen category
    return out.drop(columns=["gender"])  # a column that stopped arriving


def test_quality_finds_each_problem(trained) -> None:
    model, _, test = trained
    result = run_monitoring(model, from_frame(broken(test), model), MonitorConfig())
    checks = {(a["feature"], a["check"]) for a in result["alerts"] if a["kind"] == "quality"}
    assert checks == {("tenure", "invalid"), ("MonthlyCharges", "out_of_range"),
                      ("PaymentMethod", "unseen"), ("gender", "absent")}
    cols = {c["feature"]: c for c in result["quality"]["columns"]}
    assert cols["tenure"]["invalid"] == 40 and cols["MonthlyCharges"]["above_max"] == 40
    assert cols["PaymentMethod"]["unseen_values"] == ["Crypto"]
    assert result["exit_code"] & 4


def test_clean_holdout_raises_nothing(trained) -> None:
    model, _, test = trained
    result = run_monitoring(model, from_frame(test, model), MonitorConfig())
    assert result["alerts"] == [] and result["exit_code"] == 0
    perf = result["performance"]
    # The same rows as the training-time test set: the same metric, no drop.
    assert perf["overall"]["roc_auc"] == pytest.approx(perf["reference"], abs=1e-9)


def test_performance_alert_when_labels_flip(trained) -> None:
    model, _, test = trained
    flipped = test.assign(Churn=np.where(test["Churn"] == "Yes", "No", "Yes"))
    result = run_monitoring(model, from_frame(flipped, model), MonitorConfig())
    assert [a["kind"] for a in result["alerts"]] == ["performance"]
    assert result["exit_code"] == 8
    assert result["performance"]["windows"][0]["degraded"]


def test_report_files(trained, tmp_path: Path) -> None:
    model, _, test = trained
    shifted = test.assign(MonthlyCharges=test["MonthlyCharges"] * 2)
    result = run_monitoring(model, from_frame(shifted, model), MonitorConfig())
    paths = write_reports(result, model, tmp_path)

    def no_nan(token: str) -> None:
        raise AssertionError(f"non-JSON constant {token}")

    data = json.loads(Path(paths["path"]).read_text(), parse_constant=no_nan)
    assert "MonthlyCharges" in data["drifted_features"]
    drift = json.loads((tmp_path / "drift.json").read_text(), parse_constant=no_nan)
    assert drift["drifted_features"] == data["drifted_features"]
    html = Path(paths["html"]).read_text()
    for feature in data["features"]:
        assert f'data-feature="{feature["feature"]}"' in html
    assert html.count("<svg") >= len(data["features"])


def test_yes_no_columns_keep_their_names(trained, tmp_path: Path) -> None:
    """A boolean column is tested as 0/1 but shown as the data writes it: Yes/No, not 0..1."""
    model, _, test = trained
    live = test.assign(Partner=np.where(np.arange(len(test)) % 4 == 0, "No", "Yes"))
    result = run_monitoring(model, from_frame(live, model), MonitorConfig())
    partner = next(f for f in result["features"] if f["feature"] == "Partner")
    hist = partner["histogram"]
    assert partner["role"] == "boolean" and sorted(hist["labels"]) == ["No", "Yes"]
    assert hist["current"][hist["labels"].index("Yes")] == pytest.approx(0.75, abs=0.01)
    assert sum(hist["reference"]) == pytest.approx(1.0, abs=1e-5)
    html = Path(write_reports(result, model, tmp_path)["html"]).read_text()
    row = html[html.index('data-feature="Partner"'):]
    row = row[:row.index("</tr>")]
    assert ">boolean<" in row and ">Yes<" in row and ">No<" in row and "categories: " in row


def test_the_card_holds_one_reference_and_older_models_say_retrain(trained,
                                                                     tmp_path: Path) -> None:
    """The reference profile lives in the model card and survives save/load; a model folder
    of the previous format (untyped metadata) fails with one line that says to retrain."""
    from fullcycle.errors import ModelError
    from fullcycle.model import Model

    model, _, _ = trained
    reference = reference_of(model)
    assert reference is model.card.reference and set(reference) >= {"features", "prediction"}
    folder = model.save(tmp_path / "m")
    loaded = Model.load(folder)
    assert loaded.card.reference == json.loads(json.dumps(reference))
    meta = json.loads((folder / "model.json").read_text())
    old = {"format_version": 1, "sha256": meta["sha256"], "problem": {}, "schema": {},
           "reference": {}, "metadata": {}}
    (folder / "model.json").write_text(json.dumps(old))
    with pytest.raises(ModelError) as caught:
        Model.load(folder)
    assert "\n" not in str(caught.value) and "retrain" in str(caught.value)


def test_policy_retrains_only_on_configured_alerts() -> None:
    cfg = MonitorConfig(retrain_on=["performance"])
    assert retrain_reasons({"alert_kinds": ["drift", "performance"]}, cfg) == ["performance"]
    assert retrain_reasons({"alert_kinds": ["drift"]}, cfg) == []
    assert retrain_reasons({"alert_kinds": ["drift"]}, MonitorConfig()) == []


def test_sampling_only_when_asked(trained) -> None:
    model, train, test = trained
    everything = pd.concat([train, test])
    full = run_monitoring(model, from_frame(everything, model), MonitorConfig())
    assert full["sampled_rows"] == 800
    tripled = pd.concat([everything] * 3, ignore_index=True)
    sampled = run_monitoring(model, from_frame(tripled, model), MonitorConfig(sample_rows=1000))
    assert sampled["rows"] == 2400 and sampled["sampled_rows"] == 1000
    assert sampled["drifted_features"] == []
