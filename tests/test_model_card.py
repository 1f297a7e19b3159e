"""The typed model card: it survives save/load, masks secrets, and its input example is made of
typical values from the contract and the reference, not copied from a training row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fullcycle.card import ModelCard, Provenance, TrainingSummary, typical_example
from fullcycle.data.dataset import Dataset
from fullcycle.errors import ModelError
from fullcycle.model import Model
from fullcycle.monitor.reference import build_reference


@pytest.fixture()
def table() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    return pd.DataFrame({
        "age": rng.integers(18, 90, n),
        "income": np.round(rng.lognormal(10, 0.5, n), 2),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]),
        "churn": rng.choice(["no", "yes"], n),
    })


def card_for(frame: pd.DataFrame) -> ModelCard:
    dataset = Dataset.from_frame(frame, target="churn")
    features = frame[[c.name for c in dataset.schema.features]]
    reference = build_reference(features, dataset.schema)
    return ModelCard(
        kind="tabular", task="binary", target="churn", metric="roc_auc",
        schema=dataset.schema, classes=["no", "yes"], threshold=0.42,
        success={"roc_auc": ">= 0.5"}, reference=reference,
        input_example=typical_example(dataset.schema, reference),
        provenance=Provenance(data_fingerprint=dataset.fingerprint,
                              data_source="postgresql://fc:s3cret-pw@db/sales",
                              config={"data": {"params": {"password": "s3cret-pw"}}}, seed=3),
        training=TrainingSummary(best_candidate="lightgbm-1", cv_score=0.71,
                                 test_metrics={"roc_auc": 0.7}, diagnosis=["fine"]),
        task_info={"note": "kind facts"})


def test_card_round_trips_and_masks_secrets(table: pd.DataFrame, tmp_path: Path) -> None:
    from sklearn.dummy import DummyClassifier

    card = card_for(table)
    model = Model(DummyClassifier(strategy="prior").fit(table[["age"]], table["churn"]), card)
    folder = model.save(tmp_path / "m")
    text = (folder / "model.json").read_text()
    assert "s3cret-pw" not in text and "fc:***@db" in text
    loaded = Model.load(folder)
    got = loaded.card
    assert (got.kind, got.task, got.target, got.classes, got.threshold) == \
        ("tabular", "binary", "churn", ["no", "yes"], 0.42)
    assert got.schema.to_dict() == card.schema.to_dict()
    assert got.training.best_candidate == "lightgbm-1" and got.task_info == {"note": "kind facts"}
    assert got.reference == json.loads(json.dumps(card.reference))
    assert got.provenance.config == {"data": {"params": {"password": "***"}}}
    # a newer fullcycle's extra key does not stop this one from reading the card
    meta = json.loads(text)
    meta["card"]["training"]["something_new"] = 1
    assert ModelCard.from_dict(meta["card"]).training.cv_score == 0.71


def test_input_example_is_typical_not_a_training_row(table: pd.DataFrame) -> None:
    example = card_for(table).input_example
    assert set(example) == {"age", "income", "plan"}
    assert example["plan"] == "basic"  # the most frequent category
    assert isinstance(example["age"], int)
    assert example["age"] == pytest.approx(table["age"].median(), abs=1)
    assert example["income"] == pytest.approx(table["income"].median(), rel=0.01)
    rows = table.drop(columns="churn").to_dict("records")
    assert example not in rows


def test_a_folder_of_the_previous_format_says_retrain(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps(
        {"format_version": 1, "sha256": "0" * 64, "problem": {}, "schema": {}, "reference": {},
         "metadata": {}}))
    with pytest.raises(ModelError) as caught:
        Model.load(folder)
    message = str(caught.value)
    assert "\n" not in message and "retrain" in message and "format 1" in message


def test_a_model_pickled_before_the_automl_move_still_loads(table: pd.DataFrame,
                                                            tmp_path: Path) -> None:
    """The AutoML package moved (fullcycle.automl -> fullcycle.tasks.tabular.search); a pickle
    names classes by module path, so a model saved before the move must still unpickle."""
    import hashlib
    import pickle
    import subprocess
    import sys

    from fullcycle.tasks.tabular.search.families import FamilyModel

    folder = Model(FamilyModel(family="linear", task="binary"), card_for(table)).save(
        tmp_path / "m")
    # Protocol 2 writes "module\nname" as plain text: rewrite it as the old release did.
    old = pickle.dumps(FamilyModel(family="linear", task="binary"), protocol=2).replace(
        b"fullcycle.tasks.tabular.search.", b"fullcycle.automl.")
    assert b"fullcycle.automl.families" in old
    (folder / "pipeline.joblib").write_bytes(old)
    meta = json.loads((folder / "model.json").read_text())
    meta["sha256"] = hashlib.sha256(old).hexdigest()
    (folder / "model.json").write_text(json.dumps(meta))
    # A fresh interpreter: nothing of the new package is imported before the load.
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; from fullcycle.model import Model; "
         f"m = Model.load({str(folder)!r}); print(type(m.predictor).__module__, "
         "type(m.predictor).__name__, m.predictor.family)"],
        capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["fullcycle.tasks.tabular.search.families", "FamilyModel",
                                    "linear"]
