"""Beyond one machine: the same commands on a Dask cluster (`--cluster ADDRESS`, `local[:N]`).

Dask is imported only when a cluster is asked for, so the single-process path pays nothing."""

from fullcycle.compute.cluster import ClusterSession, connect, parse_address

__all__ = ["ClusterSession", "connect", "parse_address"]
