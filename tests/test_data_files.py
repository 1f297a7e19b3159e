"""File sources read for real: every format, compressed, folders and globs, encodings; the same
rows give the same fingerprint whatever the format, and streamed passes agree with whole reads."""

from __future__ import annotations

import bz2
import gzip
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from fullcycle.config import DataConfig, HttpConfig
from fullcycle.data import Dataset, fingerprint, fingerprint_source, iter_source, read_source, scan
from fullcycle.data.sources import SOURCE_KINDS, get_source_kind
from fullcycle.errors import DataError, SourceError

CHURN = Path(__file__).parent / "data" / "churn_small.csv"


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    return read_source(str(CHURN))


@pytest.fixture(scope="module")
def version(churn: pd.DataFrame) -> str:
    return fingerprint(churn)


def test_csv_reads_text_then_clean_numbers(churn: pd.DataFrame) -> None:
    assert churn.shape == (800, 21)
    assert churn["tenure"].dtype.kind in "if"  # every value a number
    assert churn["TotalCharges"].dtype.kind not in "if"  # ' ' among numbers: left to the schema
    assert churn["customerID"].iloc[0] == pd.read_csv(CHURN, dtype=str)["customerID"].iloc[0]


@pytest.mark.parametrize("fmt", ["parquet", "json", "jsonl", "xlsx", "tsv", "semicolon",
                                 "csv.gz", "csv.bz2", "zip"])
def test_every_format_gives_the_same_rows(fmt: str, churn: pd.DataFrame, version: str,
                                          tmp_path: Path) -> None:
    path = tmp_path / f"churn.{fmt}"
    if fmt == "parquet":
        churn.to_parquet(path)
    elif fmt == "json":
        churn.to_json(path, orient="records")
    elif fmt == "jsonl":
        churn.to_json(path, orient="records", lines=True)
    elif fmt == "xlsx":
        churn.to_excel(path, index=False)
    elif fmt == "tsv":
        churn.to_csv(path, sep="\t", index=False)
    elif fmt == "semicolon":
        path = tmp_path / "churn.csv"
        churn.to_csv(path, sep=";", index=False)
    elif fmt == "csv.gz":
        with open(CHURN, "rb") as src, gzip.open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)
    elif fmt == "csv.bz2":
        path.write_bytes(bz2.compress(CHURN.read_bytes()))
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.write(CHURN, "inner/churn.csv")
    frame = read_source(str(path))
    assert frame.shape == (800, 21)
    assert fingerprint(frame) == version


def test_json_records_under_a_key(churn: pd.DataFrame, version: str, tmp_path: Path) -> None:
    path = tmp_path / "wrapped.json"
    path.write_text('{"meta": {"n": 800}, "data": {"rows": ' + churn.to_json(orient="records")
                    + "}}")
    cfg = DataConfig(http=HttpConfig(records_path="data.rows"))
    assert fingerprint(read_source(str(path), config=cfg)) == version


def test_folder_and_glob_of_same_schema_files(churn: pd.DataFrame, version: str,
                                              tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    churn.iloc[:300].to_csv(parts / "a.csv", index=False)
    churn.iloc[300:600].to_csv(parts / "b.csv", index=False)
    churn.iloc[600:][list(reversed(churn.columns))].to_csv(parts / "c.csv", index=False)
    assert fingerprint(read_source(str(parts))) == version
    assert fingerprint(read_source(str(parts / "*.csv"))) == version
    chunks = list(iter_source(str(parts), chunk_rows=128))
    assert sum(len(c) for c in chunks) == 800
    assert all(list(c.columns) == list(churn.columns) for c in chunks)


def test_glob_files_with_different_columns_are_refused(churn: pd.DataFrame,
                                                       tmp_path: Path) -> None:
    churn.iloc[:10].to_csv(tmp_path / "a.csv", index=False)
    churn.iloc[10:20].drop(columns=["gender"]).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError) as err:
        read_source(str(tmp_path / "*.csv"))
    assert str(err.value) == (f"{tmp_path / 'b.csv'}: columns differ from {tmp_path / 'a.csv'} "
                              "(missing ['gender'], extra []); every file of a folder or glob "
                              "needs the same columns")


def test_windows_1252_text_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("name,city,amount\nJosé,São Paulo,1\nAnna,Köln,2\n".encode("cp1252"))
    dataset = Dataset.read(str(path))
    assert dataset.frame["city"].tolist() == ["São Paulo", "Köln"]
    assert dataset.cleaning[0] == f"{path}: read as Windows-1252 text (not UTF-8)"


def test_utf8_bom_and_explicit_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfa|b\n1|x\n2|y\n")
    frame = read_source(str(path), config=DataConfig(delimiter="|"))
    assert list(frame.columns) == ["a", "b"]
    assert frame["a"].tolist() == [1, 2]


def test_quoted_fields_and_many_columns(tmp_path: Path) -> None:
    wide = pd.DataFrame({f"c{i}": [i, i + 1] for i in range(2000)})
    wide["note"] = ['said "hi", then left', "line\nbreak"]
    path = tmp_path / "wide.csv"
    wide.to_csv(path, index=False)
    frame = read_source(str(path))
    assert frame.shape == (2, 2001)
    assert frame["note"].tolist() == ['said "hi", then left', "line\nbreak"]


def test_html_file_tables_by_match_and_index(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<html><body><table><tr><th>x</th></tr><tr><td>1</td></tr></table>"
                    "<table><caption>Prices 2024</caption><tr><th>item</th><th>price</th></tr>"
                    "<tr><td>tea</td><td>3.5</td></tr><tr><td>cake</td><td>4</td></tr></table>"
                    "</body></html>")
    second = read_source(str(path), config=DataConfig(http=HttpConfig(table_index=1)))
    matched = read_source(str(path), config=DataConfig(http=HttpConfig(table_match="Prices")))
    assert second.equals(matched)
    assert second["item"].tolist() == ["tea", "cake"]


def test_streamed_passes_agree_with_whole_reads(churn: pd.DataFrame, version: str) -> None:
    streamed, rows = fingerprint_source(str(CHURN), chunk_rows=97)
    assert (streamed, rows) == (version, 800)
    seen: list[tuple[int, int | None]] = []
    result = scan(str(CHURN), target="Churn", sample_rows=250, chunk_rows=100,
                  on_progress=lambda done, expected: seen.append((done, expected)))
    assert result.fingerprint == version == Dataset.read(str(CHURN), target="Churn").fingerprint
    assert result.rows == 800 and len(result.sample) == 250
    done = [d for d, _ in seen]  # chunks are cut by bytes (about chunk_rows rows each)
    assert len(done) >= 2 and done == sorted(done) and done[-1] == 800
    assert all(expected is not None and expected >= d for d, expected in seen)
    assert result.schema["TotalCharges"].role == "numeric"
    assert result.schema["customerID"].role == "identifier"
    assert result.schema["TotalCharges"].missing_rate == pytest.approx(11 / 800)


def test_source_registry_lists_kinds() -> None:
    assert set(SOURCE_KINDS) == {"file", "sql", "http"}
    with pytest.raises(SourceError) as err:
        get_source_kind("ftp")
    assert str(err.value) == "unknown source kind 'ftp'. Valid: file, http, sql."


def test_public_names_are_pinned() -> None:
    import fullcycle.data

    assert fullcycle.data.__all__ == [
        "SOURCE_KINDS", "ColumnSpec", "ContractCheck", "Dataset", "Fingerprinter",
        "LeakageSuspect", "Schema", "Violation", "check_frame", "coerce_frame", "fingerprint",
        "fingerprint_source", "infer_schema", "iter_source", "leakage_suspects", "mask_url",
        "raise_for_violations", "read_source", "scan", "validate_source"]
    assert all(hasattr(fullcycle.data, name) for name in fullcycle.data.__all__)
