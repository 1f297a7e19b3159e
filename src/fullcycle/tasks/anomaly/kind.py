"""The anomaly task kind: rows in, `anomaly_score` in [0, 1] and `is_anomaly` out.

    fullcycle train DATA --task anomaly [--contamination auto|FRACTION]
        [--label-column COLUMN] --workspace WS
    fullcycle predict --workspace WS --input DATA --output OUT

Row-wise: the generic `/predict` and the streamed batch scorer serve it, checked by the data
contract. Monitoring adds the anomaly rate against the expected rate and the drift of the
calibrated scores (uniform on the training rows by construction) to the feature drift."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from fullcycle.errors import ConfigError, DataError
from fullcycle.monitor.drift import prediction_drift
from fullcycle.monitor.report import alerts_html, drift_html, quality_html
from fullcycle.taskkind import (
    Detection,
    MonitorResult,
    PredictOptions,
    ReportSection,
    TaskKind,
    TrainResult,
)
from fullcycle.tasks.anomaly.predictor import OUTPUT
from fullcycle.tasks.anomaly.report import sections
from fullcycle.tasks.anomaly.training import train_anomaly
from fullcycle.tasks.unsupervised import common
from fullcycle.tasks.unsupervised.metrics import register

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset

Model = Any
register()


def _refuse(options: PredictOptions) -> None:
    options.refuse_all("an anomaly model (it scores each row)")


class AnomalyKind(TaskKind):
    name: ClassVar[str] = "anomaly"
    tasks: ClassVar[tuple[str, ...]] = ("anomaly",)
    summary: ClassVar[str] = ("anomaly detection without labels: a score in [0, 1] and a flag "
                              "per row (--contamination auto|FRACTION)")
    row_wise: ClassVar[bool] = True
    needs_target: ClassVar[bool] = False

    def detect(self, frame: pd.DataFrame, config: Config) -> Detection | None:
        return None  # never guessed: without a target the user chooses (the error says how)

    def check_config(self, config: Config, columns: list[str]) -> None:
        common.check_label(config, columns)
        if config.problem.n_clusters is not None:
            raise ConfigError("problem.n_clusters (--n-clusters) is for --task cluster, not "
                              "anomaly")
        value = config.problem.contamination
        if value != "auto" and not 0 <= float(value) <= 0.5:
            raise ConfigError(f"problem.contamination {value} (--contamination) must be "
                              "between 0 and 0.5, or auto")

    def metrics(self, task: str) -> list[str]:
        return ["roc_auc", "average_precision", "flagged_share", "anomaly_rate_gap"]

    def default_metric(self, task: str) -> str:
        return "roc_auc"

    def train(self, dataset: Dataset, config: Config, *, reports: Path,
              progress: Callable[..., None] | None = None) -> TrainResult:
        self.check_config(config, [str(c) for c in dataset.frame.columns])
        return train_anomaly(self, dataset, config, reports=reports, progress=progress)

    def predict(self, model: Model, data: pd.DataFrame | None,
                options: PredictOptions) -> pd.DataFrame:
        _refuse(options)
        if data is None:
            raise DataError("an anomaly model scores rows: give them (--input FILE)")
        return model.predictor.frame(data).reset_index(drop=True)

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
        label = model.card.task_info.get("label_column") or config.problem.label_column
        if label and label in data.columns:
            metrics.update(_labelled(data[label], scores))
        return metrics, sections(model, data, scores, metrics)

    def score(self, model: Model, holdout: pd.DataFrame, config: Config) -> dict[str, float]:
        metrics, _ = self.evaluate(model, holdout, config)
        return metrics

    # --- monitoring -------------------------------------------------------------------------
    def monitor(self, model: Model, recent: pd.DataFrame, config: Config) -> MonitorResult:
        rows = common.recent_rows(recent, model)
        signals, alerts = common.feature_monitoring(model, rows, config)
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
        signals["alerts"] = alerts
        body = (alerts_html(signals) + f"<h2>Anomaly rate</h2><p>{rate:.2%} of {n} rows "
                f"flagged; expected {expected:.2%}.</p><h2>Drift per feature</h2>"
                + drift_html(signals) + "<h2>Data quality</h2>" + quality_html(signals))
        signals.pop("alerts")
        return MonitorResult(signals=signals, alerts=alerts,
                             sections=[ReportSection("monitoring", "Monitoring", body)])


def _labelled(label: pd.Series, scores: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = common.binary_labels(label)
    if 0 < y.sum() < len(y):
        return {"roc_auc": float(roc_auc_score(y, scores)),
                "average_precision": float(average_precision_score(y, scores))}
    return {}


def escape(text: Any) -> str:
    return html.escape(str(text))
