"""The unsupervised kinds' metric names in the metric registry (their direction is what
retraining and success criteria read). Values come from the kinds, which see whole tables."""

from __future__ import annotations

from fullcycle.metrics import register_computed

CLUSTER = ("silhouette", "calinski_harabasz", "davies_bouldin", "adjusted_rand",
           "normalized_mutual_info")
ANOMALY = ("roc_auc", "average_precision", "flagged_share", "anomaly_rate_gap")
DIRECTION = {"average_precision": True, "silhouette": True, "calinski_harabasz": True,
             "davies_bouldin": False, "adjusted_rand": True, "normalized_mutual_info": True,
             "flagged_share": False, "anomaly_rate_gap": False}


def register() -> None:
    register_computed(DIRECTION, "value", ("cluster", "anomaly"),
                      "this metric is computed by the cluster / anomaly task kinds "
                      "(fullcycle evaluate, monitor, retrain), not from a label column")
