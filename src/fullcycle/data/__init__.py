"""Data collection: sources, schema and data contract, cleaning, fingerprints."""

from fullcycle.data.cleaning import LeakageSuspect, leakage_suspects
from fullcycle.data.contract import ContractCheck, Violation, check_frame, raise_for_violations
from fullcycle.data.dataset import Dataset
from fullcycle.data.fingerprint import Fingerprinter, fingerprint
from fullcycle.data.schema import ColumnSpec, Schema, coerce_frame, infer_schema
from fullcycle.data.sources import SOURCE_KINDS, iter_source, read_source
from fullcycle.data.sql import mask_url
from fullcycle.data.stream import fingerprint_source, scan, validate_source

__all__ = ["SOURCE_KINDS", "ColumnSpec", "ContractCheck", "Dataset", "Fingerprinter",
           "LeakageSuspect", "Schema", "Violation", "check_frame", "coerce_frame", "fingerprint",
           "fingerprint_source", "infer_schema", "iter_source", "leakage_suspects", "mask_url",
           "raise_for_violations", "read_source", "scan", "validate_source"]
