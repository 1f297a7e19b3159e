"""The unsupervised kinds' metric names in the metric registry (their direction is what
retraining and success criteria read). Values come from the kinds, which see whole tables."""

from __future__ import annotations

from typing import Any

from fullcycle.errors import ConfigError
from fullcycle.metrics import METRICS, Metric

CLUSTER = ("silhouette", "calinski_harabasz", "davies_bouldin", "adjusted_rand",
           "normalized_mutual_info")
ANOMALY = ("roc_auc", "average_precision", "flagged_share", "anomaly_rate_gap")
DIRECTION = {"average_precision": True, "silhouette": True, "calinski_harabasz": True,
             "davies_bouldin": False, "adjusted_rand": True, "normalized_mutual_info": True,
             "flagged_share": False, "anomaly_rate_gap": False}


def register() -> None:
    def computed_by_kind(*_: Any) -> float:
        raise ConfigError("this metric is computed by the cluster / anomaly task kinds "
                          "(fullcycle evaluate, monitor, retrain), not from a label column")

    for name, greater in DIRECTION.items():
        METRICS.setdefault(name, Metric(name, computed_by_kind, greater, "value",
                                        ("cluster", "anomaly")))
