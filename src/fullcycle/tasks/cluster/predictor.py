"""The fitted clustering a `Model` holds: preprocessing, the clusterer, and what the reports
say about each cluster (sizes, profiles in words)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fullcycle.tasks.cluster.models import Clusterer
from fullcycle.tasks.unsupervised import prep


@dataclass(eq=False, repr=False, kw_only=True)
class ClusterPredictor(prep.Preprocessed):
    """Rows -> `cluster` (and `cluster_probability` for mixtures, else `cluster_distance`)."""

    clusterer: Clusterer
    profiles: dict[int, list[str]]
    sizes: dict[int, int]
    distance_scale: float

    @property
    def has_probability(self) -> bool:
        return hasattr(self.clusterer.model_, "predict_proba")

    @property
    def description(self) -> str:
        names = {"gmm": "Gaussian mixture (tied covariance, from KMeans)",
                 "kmeans": "KMeans", "hdbscan": "HDBSCAN", "agglomerative": "agglomerative (Ward)",
                 "birch": "BIRCH"}
        return f"{names.get(self.clusterer.method_, self.clusterer.method_)}, " \
               f"{self.clusterer.n_clusters_} clusters"

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Cluster of each row (what `Model.predict_scores` reads)."""
        return self.clusterer.predict(self.matrix(frame))

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        A = self.matrix(frame)
        labels = self.clusterer.predict(A)
        out = pd.DataFrame({"cluster": labels}, index=frame.index)
        proba = self.clusterer.predict_proba(A) if self.has_probability else None
        if proba is not None:
            out["cluster_probability"] = np.round(proba[np.arange(len(A)), labels], 6)
        else:
            out["cluster_distance"] = np.round(self.clusterer.distance(A), 6)
        return out

    def distances(self, frame: pd.DataFrame) -> np.ndarray:
        """Distance of each row to its cluster's centre, in the scaled feature space."""
        return self.clusterer.distance(self.matrix(frame))
