"""Data collection: sources, schema and data contract, fingerprints."""

from fullcycle.data.dataset import Dataset
from fullcycle.data.fingerprint import fingerprint
from fullcycle.data.schema import ColumnSpec, Schema, coerce_frame, infer_schema
from fullcycle.data.sources import read_source

__all__ = ["ColumnSpec", "Dataset", "Schema", "coerce_frame", "fingerprint", "infer_schema",
           "read_source"]
