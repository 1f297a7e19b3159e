"""A Dataset is a raw frame with its schema and content fingerprint."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from fullcycle.data.fingerprint import fingerprint
from fullcycle.data.schema import Schema, infer_schema
from fullcycle.data.sources import read_source
from fullcycle.errors import DataError, did_you_mean


@dataclass
class Dataset:
    frame: pd.DataFrame
    schema: Schema
    fingerprint: str
    source: str = "<frame>"
    cleaning: list[str] = field(default_factory=list)

    @property
    def target(self) -> pd.Series:
        if self.schema.target is None:
            raise DataError("this dataset has no target column")
        return self.frame[self.schema.target]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, target: str | None = None,
                   roles: dict[str, str] | None = None, source: str = "<frame>",
                   drop_duplicates: bool = True) -> Dataset:
        frame = frame.copy()
        frame.columns = [str(c) for c in frame.columns]
        cleaning: list[str] = []
        if target is not None:
            frame = _clean_target(frame, target, source, cleaning)
        if drop_duplicates:
            before = len(frame)
            frame = frame.drop_duplicates(ignore_index=True)
            if len(frame) < before:
                cleaning.append(f"dropped {before - len(frame)} duplicate rows")
        schema = infer_schema(frame, target=target, overrides=roles)
        return cls(frame=frame.reset_index(drop=True), schema=schema,
                   fingerprint=fingerprint(frame), source=source, cleaning=cleaning)

    @classmethod
    def read(cls, location: str, *, target: str | None = None,
             roles: dict[str, str] | None = None, table: str | None = None,
             query: str | None = None, params: dict | None = None,
             drop_duplicates: bool = True) -> Dataset:
        frame = read_source(location, table=table, query=query, params=params)
        return cls.from_frame(frame, target=target, roles=roles, source=location,
                              drop_duplicates=drop_duplicates)


def _clean_target(frame: pd.DataFrame, target: str, source: str, cleaning: list[str]) -> pd.DataFrame:
    if target not in frame.columns:
        raise DataError(f"target column {target!r} is not in {source}."
                        + did_you_mean(target, frame.columns))
    from fullcycle.data.schema import normalise_missing

    y = normalise_missing(frame[target])
    missing = int(y.isna().sum())
    if missing == len(frame):
        raise DataError(f"target column {target!r} in {source} has no values; "
                        "every row is missing the target")
    if missing:
        cleaning.append(f"dropped {missing} rows with a missing target")
        frame = frame.loc[y.notna()].reset_index(drop=True)
    return frame
