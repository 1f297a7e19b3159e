"""Clustering: KMeans / MiniBatchKMeans, Gaussian mixtures, HDBSCAN, agglomerative and BIRCH,
k chosen by internal indices and stability or given (see `kind.py`)."""

from fullcycle.tasks.cluster.kind import ClusterKind
from fullcycle.tasks.cluster.models import Clusterer

__all__ = ["ClusterKind", "Clusterer"]
