"""The cluster task kind: rows in, `cluster` (and `cluster_probability` or `cluster_distance`)
out.

    fullcycle train DATA --task cluster [--n-clusters K] [--label-column COLUMN] --workspace WS
    fullcycle predict --workspace WS --input DATA --output OUT

Row-wise: the generic `/predict` and the streamed batch scorer serve it. Monitoring adds the
shares of the clusters and the distance of rows to their cluster's centre to feature drift."""

from __future__ import annotations

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
from fullcycle.tasks.cluster.report import sections
from fullcycle.tasks.cluster.training import (
    internal_metrics,
    label_metrics,
    method_of,
    train_clusters,
)
from fullcycle.tasks.unsupervised import common
from fullcycle.tasks.unsupervised.metrics import register
from fullcycle.tasks.unsupervised.profile import table_html

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset

Model = Any
register()
SHARE_ALERT = 0.10  # total variation distance between training and recent cluster shares


class ClusterKind(TaskKind):
    name: ClassVar[str] = "cluster"
    tasks: ClassVar[tuple[str, ...]] = ("cluster", "clustering")
    summary: ClassVar[str] = ("clustering / segmentation without labels: a cluster per row "
                              "(--n-clusters K, default chosen)")
    row_wise: ClassVar[bool] = True
    needs_target: ClassVar[bool] = False

    def detect(self, frame: pd.DataFrame, config: Config) -> Detection | None:
        return None  # never guessed: without a target the user chooses (the error says how)

    def check_config(self, config: Config, columns: list[str]) -> None:
        common.check_label(config, columns)
        if config.problem.contamination != "auto":
            raise ConfigError("problem.contamination (--contamination) is for --task anomaly, "
                              "not cluster")
        method_of(config)

    def metrics(self, task: str) -> list[str]:
        return ["silhouette", "calinski_harabasz", "davies_bouldin", "adjusted_rand",
                "normalized_mutual_info"]

    def default_metric(self, task: str) -> str:
        return "silhouette"

    def train(self, dataset: Dataset, config: Config, *, reports: Path,
              progress: Callable[..., None] | None = None) -> TrainResult:
        self.check_config(config, [str(c) for c in dataset.frame.columns])
        return train_clusters(self, dataset, config, reports=reports, progress=progress)

    def predict(self, model: Model, data: pd.DataFrame | None,
                options: PredictOptions) -> pd.DataFrame:
        options.refuse_all("a cluster model (it assigns each row)")
        if data is None:
            raise DataError("a cluster model assigns rows: give them (--input FILE)")
        return model.predictor.frame(data).reset_index(drop=True)

    def output_columns(self, model: Model) -> list[str]:
        extra = "cluster_probability" if model.predictor.has_probability else "cluster_distance"
        return ["cluster", extra]

    # --- evaluation -------------------------------------------------------------------------
    def evaluate(self, model: Model, data: pd.DataFrame, config: Config
                 ) -> tuple[dict[str, float], list[ReportSection]]:
        pred = model.predictor
        A = pred.matrix(data)
        labels = pred.clusterer.predict(A)
        metrics = internal_metrics(A, labels, config.seed)
        label = model.card.task_info.get("label_column") or config.problem.label_column
        if label and label in data.columns:
            metrics.update(label_metrics(data[label], labels))
        return metrics, sections(model, data, A, labels, metrics, config.seed)

    def score(self, model: Model, holdout: pd.DataFrame, config: Config) -> dict[str, float]:
        pred = model.predictor
        A = pred.matrix(holdout)
        labels = pred.clusterer.predict(A)
        metrics = internal_metrics(A, labels, config.seed)
        label = model.card.task_info.get("label_column") or config.problem.label_column
        if label and label in holdout.columns:
            metrics.update(label_metrics(holdout[label], labels))
        return metrics

    # --- monitoring -------------------------------------------------------------------------
    def monitor(self, model: Model, recent: pd.DataFrame, config: Config) -> MonitorResult:
        rows = common.recent_rows(recent, model)
        signals, alerts = common.feature_monitoring(model, rows, config)
        pred = model.predictor
        A = pred.matrix(rows)
        labels = pred.clusterer.predict(A)
        train_shares = {int(c): float(s) for c, s in model.card.task_info["shares"].items()}
        found = pd.Series(labels).value_counts(normalize=True)
        recent_shares = {c: float(found.get(c, 0.0)) for c in train_shares}
        tvd = 0.5 * sum(abs(recent_shares[c] - train_shares[c]) for c in train_shares)
        signals["cluster_shares"] = {"training": train_shares, "recent": recent_shares,
                                     "total_variation": tvd, "alert_above": SHARE_ALERT}
        if tvd > SHARE_ALERT and len(rows) >= 30:
            moved = max(train_shares, key=lambda c: abs(recent_shares[c] - train_shares[c]))
            alerts.append({"kind": "drift", "feature": "cluster_shares", "message":
                           f"cluster shares moved by {tvd:.0%} (total variation); cluster "
                           f"{moved}: {train_shares[moved]:.0%} in training, "
                           f"{recent_shares[moved]:.0%} now"})
        dist = pred.clusterer.distance(A)
        drift = prediction_drift(model.card.reference.get("prediction"), dist, config.monitor)
        signals["distance_drift"] = drift
        if drift and drift.get("drifted"):
            alerts.append({"kind": "drift", "feature": "cluster_distance", "message":
                           "rows sit at other distances from their cluster centres than in "
                           f"training (PSI {drift['psi']:.3f}): the clusters may be out of "
                           "date"})
        signals["alerts"] = alerts
        share_rows = [{"cluster": c, "training": f"{train_shares[c]:.1%}",
                       "recent": f"{recent_shares[c]:.1%}"} for c in train_shares]
        body = (alerts_html(signals) + "<h2>Cluster shares</h2>" + table_html(share_rows)
                + "<h2>Drift per feature</h2>" + drift_html(signals)
                + "<h2>Data quality</h2>" + quality_html(signals))
        signals.pop("alerts")
        return MonitorResult(signals=signals, alerts=alerts,
                             sections=[ReportSection("monitoring", "Monitoring", body)])


def shares(labels: np.ndarray) -> dict[int, float]:
    values, counts = np.unique(labels, return_counts=True)
    return {int(v): float(c / len(labels)) for v, c in zip(values, counts, strict=True)}
