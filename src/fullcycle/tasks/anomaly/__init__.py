"""Anomaly detection: Isolation Forest, LOF, ECOD/COPOD, k-NN distance and their ensembles,
calibrated to training percentiles (see `kind.py`)."""

from fullcycle.tasks.anomaly.detectors import COPOD, ECOD, DetectorEnsemble, KNNDistance
from fullcycle.tasks.anomaly.kind import AnomalyKind

__all__ = ["COPOD", "ECOD", "AnomalyKind", "DetectorEnsemble", "KNNDistance"]
