"""The cluster task kind: rows in, `cluster` (and `cluster_probability` or `cluster_distance`)
out.

    fullcycle train DATA --task cluster [--n-clusters K] [--label-column COLUMN] --workspace WS
    fullcycle predict --workspace WS --input DATA --output OUT

Row-wise: the generic `/predict` and the streamed batch scorer serve it. Monitoring adds the
shares of the clusters and the distance of rows to their cluster's centre to feature drift."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from fullcycle.monitor.drift import prediction_drift
from fullcycle.taskkind import ReportSection
from fullcycle.tasks.cluster.report import sections
from fullcycle.tasks.cluster.training import (
    internal_metrics,
    label_metrics,
    method_of,
    train_clusters,
)
from fullcycle.tasks.unsupervised.kind import UnsupervisedKind, label_of
from fullcycle.tasks.unsupervised.metrics import CLUSTER
from fullcycle.tasks.unsupervised.profile import table_html

if TYPE_CHECKING:
    from fullcycle.config import Config

Model = Any
SHARE_ALERT = 0.10  # total variation distance between training and recent cluster shares


class ClusterKind(UnsupervisedKind):
    name: ClassVar[str] = "cluster"
    tasks: ClassVar[tuple[str, ...]] = ("cluster", "clustering")
    summary: ClassVar[str] = ("clustering / segmentation without labels: a cluster per row "
                              "(--n-clusters K, default chosen)")
    model_words = "a cluster model"
    verb = "assigns"
    metric_names = CLUSTER
    foreign = ("contamination", "--contamination", "anomaly")
    train_checked = train_clusters  # called as a method: the kind is its first argument

    def check_options(self, config: Config) -> None:
        method_of(config)

    def output_columns(self, model: Model) -> list[str]:
        extra = "cluster_probability" if model.predictor.has_probability else "cluster_distance"
        return ["cluster", extra]

    # --- evaluation -------------------------------------------------------------------------
    def evaluate(self, model: Model, data: pd.DataFrame, config: Config
                 ) -> tuple[dict[str, float], list[ReportSection]]:
        A, labels, metrics = _assigned(model, data, config)
        return metrics, sections(model, data, A, labels, metrics, config.seed)

    def score(self, model: Model, holdout: pd.DataFrame, config: Config) -> dict[str, float]:
        return _assigned(model, holdout, config)[2]

    # --- monitoring -------------------------------------------------------------------------
    def watch(self, model: Model, rows: pd.DataFrame, config: Config, signals: dict[str, Any],
              alerts: list[dict[str, Any]]) -> str:
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
        share_rows = [{"cluster": c, "training": f"{train_shares[c]:.1%}",
                       "recent": f"{recent_shares[c]:.1%}"} for c in train_shares]
        return "<h2>Cluster shares</h2>" + table_html(share_rows)


def _assigned(model: Model, data: pd.DataFrame, config: Config
              ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """(the rows' matrix, their clusters, internal metrics and, with a label column, ARI and
    NMI)."""
    pred = model.predictor
    A = pred.matrix(data)
    labels = pred.clusterer.predict(A)
    metrics = internal_metrics(A, labels, config.seed)
    label = label_of(model, config, data)
    if label is not None:
        metrics.update(label_metrics(label, labels))
    return A, labels, metrics
