"""Fraud on creditcard_fraud_sample, both routes: (1) no labels: an anomaly model ranks the
transactions; (2) labels: a supervised model, with and without the anomaly score as a generated
feature (fitted on the training part only, without the labels).

    .venv/bin/python examples/fraud_anomaly.py [PATH/TO/creditcard_fraud_sample.csv] [--budget 30]

The same split (stratified 70/30, seed 42) scores all three on the held-out 30%."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

from fullcycle import Config, Project
from fullcycle.data.dataset import Dataset
from fullcycle.tasks.anomaly.feature import AnomalyScoreFeature

DEFAULT = Path(__file__).resolve().parents[2] / "shared/datasets/creditcard_fraud_sample" \
    / "creditcard_fraud_sample.csv"


def supervised(train: pd.DataFrame, test: pd.DataFrame, budget: int, ws: Path) -> pd.Series:
    config = Config.from_dict({"seed": 42, "data": {"target": "Class"},
                               "problem": {"task": "binary", "metric": "pr_auc"},
                               "train": {"time_budget": budget}})
    project = Project(config, ws)
    project.train(Dataset.from_frame(train, target="Class", config=config.data))
    return project.predict(test.drop(columns="Class"))["proba_1"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default=str(DEFAULT))
    parser.add_argument("--budget", type=int, default=30)
    args = parser.parse_args()
    frame = pd.read_csv(args.data)
    train, test = train_test_split(frame, test_size=0.3, random_state=42,
                                   stratify=frame["Class"])
    y = test["Class"].to_numpy()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # route 1: no labels at all; the anomaly model never sees Class
        config = Config.from_dict({"seed": 42, "problem": {"task": "anomaly"}})
        project = Project(config, Path(tmp) / "anomaly")
        project.train(Dataset.from_frame(train.drop(columns="Class"), config=config.data))
        score = project.predict(test.drop(columns="Class"))["anomaly_score"]
        rows.append(("anomaly model, no labels", score))
        # route 2: supervised, then supervised + the anomaly score as a generated feature
        rows.append(("supervised", supervised(train, test, args.budget, Path(tmp) / "sup")))
        feature = AnomalyScoreFeature(seed=42).fit(train.drop(columns="Class"))
        rows.append(("supervised + anomaly_score", supervised(
            feature.transform(train.drop(columns="Class")).assign(Class=train["Class"]),
            feature.transform(test.drop(columns="Class")).assign(Class=test["Class"]),
            args.budget, Path(tmp) / "sup_feature")))
    print(f"{'route':32} ROC-AUC  average precision   (held-out {len(test)} rows, "
          f"{y.mean():.1%} fraud)")
    for name, s in rows:
        print(f"{name:32} {roc_auc_score(y, s):.4f}   {average_precision_score(y, s):.4f}")


if __name__ == "__main__":
    main()
