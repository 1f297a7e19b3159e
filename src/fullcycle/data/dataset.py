"""A Dataset is a raw frame with its schema, content fingerprint and cleaning record."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fullcycle.config import DataConfig
from fullcycle.data.cleaning import LeakageSuspect, leakage_suspects
from fullcycle.data.contract import check_column
from fullcycle.data.files import check_width
from fullcycle.data.fingerprint import fingerprint, row_hashes
from fullcycle.data.schema import ColumnSpec, Schema, infer_schema, normalise_missing, to_numeric
from fullcycle.data.sources import read_source
from fullcycle.data.sql import mask_url
from fullcycle.errors import DataError, did_you_mean

log = logging.getLogger("fullcycle.data")


@dataclass
class Dataset:
    frame: pd.DataFrame
    schema: Schema
    fingerprint: str
    source: str = "<frame>"
    cleaning: list[str] = field(default_factory=list)
    leakage: list[LeakageSuspect] = field(default_factory=list)

    @property
    def target(self) -> pd.Series:
        if self.schema.target is None:
            raise DataError("this dataset has no target column")
        return self.frame[self.schema.target]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, target: str | None = None,
                   roles: dict[str, str] | None = None, source: str = "<frame>",
                   drop_duplicates: bool | None = None,
                   config: DataConfig | None = None) -> Dataset:
        """Fingerprint the rows as read (the data version: the same as `fullcycle inspect`
        streams), clean them as the `config` switches say, infer the schema.
        `drop_duplicates`, when given, overrides `config.drop_duplicates`."""
        cfg = config or DataConfig()
        if drop_duplicates is not None:
            cfg = cfg.model_copy(update={"drop_duplicates": drop_duplicates})
        source = mask_url(source)
        check_width(frame.shape[1], cfg.max_columns, source)
        notes = list(frame.attrs.get("notes", []))
        frame = frame.copy()
        frame.columns = [str(c) for c in frame.columns]
        version = fingerprint(frame)
        raw = frame  # rows as read: refusals below name the file's own row numbers
        cleaning = notes
        if target is not None:
            frame = _clean_target(frame, target, source, cleaning, cfg.drop_missing_target)
        frame = _drop_duplicates(frame, cleaning, cfg.drop_duplicates)
        schema = infer_schema(frame, target=target, overrides=roles or cfg.roles,
                              exclude_identifiers=cfg.exclude_identifiers,
                              drop_constant=cfg.drop_constant)
        _column_steps(schema, cleaning, cfg)
        refuse_non_finite(raw, schema, source)
        suspects = _leakage(frame, schema, cleaning, cfg.leakage_check and target is not None)
        frame = _order_rows(frame, cleaning, cfg.row_order)
        frame.attrs.clear()
        return cls(frame=frame, schema=schema, fingerprint=version, source=source,
                   cleaning=cleaning, leakage=suspects)

    @classmethod
    def read(cls, location: str, *, target: str | None = None,
             roles: dict[str, str] | None = None, table: str | None = None,
             query: str | None = None, params: dict | None = None,
             drop_duplicates: bool | None = None, config: DataConfig | None = None) -> Dataset:
        frame = read_source(location, table=table, query=query, params=params, config=config)
        return cls.from_frame(frame, target=target, roles=roles, source=location,
                              drop_duplicates=drop_duplicates, config=config)

    def save_snapshot(self, path: str | Path) -> Path:
        """The exact rows as Parquet (text columns kept as text), to retrain from later."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = self.frame.copy()
        for name in frame.columns:
            if frame[name].dtype == object:
                frame[name] = frame[name].astype("string")
        frame.to_parquet(path, index=False)
        return path


def refuse_non_finite(frame: pd.DataFrame, schema: Schema, source: str) -> None:
    """Infinities and numbers beyond float range ('inf', 1e400) in numeric columns or the
    target: a DataError naming row, column and value (the contract refuses them at prediction
    time too). NaN and blanks are missing values, imputed as usual."""
    for spec in schema.columns:
        if spec.role != "numeric" and not (spec.name == schema.target
                                           and _numeric_target(frame[spec.name])):
            continue
        numeric = spec if spec.role == "numeric" else ColumnSpec(spec.name, "numeric", "float64")
        result = check_column(frame[spec.name], numeric)
        if result.bad.any():
            first = result.first_problems(frame[spec.name], spec.name, 0, limit=3)
            raise DataError(f"{source}: {int(result.bad.sum())} value(s) in {spec.name!r} are "
                            f"not finite numbers; first: {'; '.join(first)}. Fix or blank them "
                            "(blanks are treated as missing)")


def _numeric_target(values: pd.Series) -> bool:
    if values.dtype.kind in "iuf":
        return True
    return bool(to_numeric(values.head(1000)).notna().mean() >= 0.95)


def _clean_target(frame: pd.DataFrame, target: str, source: str, cleaning: list[str],
                  drop_missing: bool) -> pd.DataFrame:
    if target not in frame.columns:
        raise DataError(f"target column {target!r} is not in {source}."
                        + did_you_mean(target, frame.columns))
    y = normalise_missing(frame[target])
    missing = int(y.isna().sum())
    if missing == len(frame):
        raise DataError(f"target column {target!r} in {source} has no values; "
                        "every row is missing the target")
    values = y.dropna().astype("string").str.strip().unique()
    if len(values) == 1:
        raise DataError(f"target column {target!r} in {source} has the same value "
                        f"({values[0]!r}) in every row; there is nothing to predict")
    if missing and not drop_missing:
        raise DataError(f"target column {target!r} in {source} is missing in {missing} rows; "
                        "fill them, or set data.drop_missing_target: true to drop those rows")
    if missing:
        cleaning.append(f"missing target: dropped {missing} rows [data.drop_missing_target]")
        return frame.loc[y.notna()].reset_index(drop=True)
    cleaning.append("missing target: none [data.drop_missing_target]")
    return frame


def _drop_duplicates(frame: pd.DataFrame, cleaning: list[str], enabled: bool) -> pd.DataFrame:
    count = int(frame.duplicated().sum())
    if not enabled:
        cleaning.append(f"duplicates: {count} duplicate rows kept (switched off) "
                        "[data.drop_duplicates]")
        return frame
    cleaning.append(f"duplicates: dropped {count} duplicate rows [data.drop_duplicates]")
    return frame.drop_duplicates(ignore_index=True) if count else frame


def _order_rows(frame: pd.DataFrame, cleaning: list[str], order: str) -> pd.DataFrame:
    if order != "content":
        return frame.reset_index(drop=True)
    # Sorted by the rows' content hashes: independent of the order the source gave them in.
    positions = np.argsort(row_hashes(frame), kind="stable")
    cleaning.append("row order: by content, not as read [data.row_order]")
    return frame.iloc[positions].reset_index(drop=True)


def _column_steps(schema: Schema, cleaning: list[str], cfg: DataConfig) -> None:
    constant = [c.name for c in schema.columns if c.role == "constant"]
    ids = [c.name for c in schema.columns if c.role == "identifier"]
    state = "excluded" if cfg.drop_constant else "kept (switched off)"
    cleaning.append(f"constant columns: {state}: {_names(constant)} [data.drop_constant]")
    state = "excluded" if cfg.exclude_identifiers else "kept (switched off)"
    cleaning.append(f"identifier columns: {state}: {_names(ids)} [data.exclude_identifiers]")


def _names(names: list[str]) -> str:
    if not names:
        return "none"
    return ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _leakage(frame: pd.DataFrame, schema: Schema, cleaning: list[str],
             enabled: bool) -> list[LeakageSuspect]:
    if not enabled:
        cleaning.append("leakage check: switched off [data.leakage_check]")
        return []
    suspects = leakage_suspects(frame, schema)
    messages = [s.message(str(schema.target)) for s in suspects]
    schema.warnings[:0] = messages  # first, so nobody scrolls past them
    for suspect, message in zip(suspects, messages, strict=True):
        schema[suspect.column].note = "possible target leakage"
        log.warning(message)
    found = ", ".join(s.column for s in suspects) or "none"
    cleaning.append(f"leakage check: suspects: {found} [data.leakage_check]")
    return suspects
