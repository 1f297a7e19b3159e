"""The anomaly task kind: rows in, `anomaly_score` in [0, 1] and `is_anomaly` out.

    fullcycle train DATA --task anomaly [--contamination auto|FRACTION]
        [--label-column COLUMN] --workspace WS
    fullcycle predict --workspace WS --input DATA --output OUT

Row-wise: the generic `/predict` and the streamed batch scorer serve it, checked by the data
contract. Monitoring adds the anomaly rate against the expected rate and the drift of the
calibrated scores (uniform on the training rows by construction) to the feature drift."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from fullcycle.monitor.drift import prediction_drift
from fullcycle.taskkind import ReportSection
from fullcycle.tasks.anomaly.predictor import OUTPUT
from fullcycle.tasks.anomaly.report import sections
from fullcycle.tasks.anomaly.training import contamination_of, train_anomaly
from fullcycle.tasks.unsupervised import common
from fullcycle.tasks.unsupervised.kind import UnsupervisedKind, label_of
from fullcycle.tasks.unsupervised.metrics import ANOMALY

if TYPE_CHECKING:
    from fullcycle.config import Config

Model = Any


class AnomalyKind(UnsupervisedKind):
    name: ClassVar[str] = "anomaly"
    tasks: ClassVar[tuple[str, ...]] = ("anomaly",)
    summary: ClassVar[str] = ("anomaly detection without labels: a score in [0, 1] and a flag "
                              "per row (--contamination auto|FRACTION)")
    model_words = "an anomaly model"
    verb = "scores"
    metric_names = ANOMALY
    foreign = ("n_clusters", "--n-clusters", "cluster")
    train_checked = train_anomaly  # called as a method: the kind is its first argument

    def check_options(self, config: Config) -> None:
        contamination_of(config)

    def output_columns(self, model: Model) -> list[str]:
        return list(OUTPUT)

    # --- evaluation -------------------------------------------------------------------------
    def evaluate(self, model: Model, data: pd.DataFrame, config: Config
                 ) -> tuple[dict[str, float], list[ReportSection]]:
        pred = model.predictor
        scores = pred.score(data)
        metrics = {"flagged_share": float(np.mean(scores >= pred.threshold)),
                   "anomaly_rate_gap": float(abs(np.mean(scores >= pred.threshold)
                                                 - pred.contamination))}
        label = label_of(model, config, data)
        if label is not None:
            metrics.update(_labelled(label, scores))
        return metrics, sections(model, data, scores, metrics)

    def score(self, model: Model, holdout: pd.DataFrame, config: Config) -> dict[str, float]:
        metrics, _ = self.evaluate(model, holdout, config)
        return metrics

    # --- monitoring -------------------------------------------------------------------------
    def watch(self, model: Model, rows: pd.DataFrame, config: Config, signals: dict[str, Any],
              alerts: list[dict[str, Any]]) -> str:
        pred = model.predictor
        scores = pred.score(rows)
        rate, expected, n = float(np.mean(scores >= pred.threshold)), pred.contamination, len(rows)
        limit = expected + 3 * np.sqrt(max(expected * (1 - expected), 1e-4) / n) + 0.005
        signals["anomaly_rate"] = {"observed": rate, "expected": expected, "rows": n,
                                   "alert_above": float(limit)}
        if rate > limit:
            alerts.append({"kind": "drift", "feature": "anomaly_rate", "message":
                           f"{rate:.1%} of {n} rows flagged as anomalies, expected about "
                           f"{expected:.1%} (alert above {limit:.1%})"})
        score_drift = prediction_drift(model.card.reference.get("prediction"), scores,
                                       config.monitor)
        signals["prediction_drift"] = score_drift
        if score_drift and score_drift.get("drifted"):
            alerts.append({"kind": "drift", "feature": "anomaly_score", "message":
                           "the anomaly scores drifted from their training distribution "
                           f"(PSI {score_drift['psi']:.3f})"})
        return (f"<h2>Anomaly rate</h2><p>{rate:.2%} of {n} rows flagged; expected "
                f"{expected:.2%}.</p>")


def _labelled(label: pd.Series, scores: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = common.binary_labels(label)
    if 0 < y.sum() < len(y):
        return {"roc_auc": float(roc_auc_score(y, scores)),
                "average_precision": float(average_precision_score(y, scores))}
    return {}

