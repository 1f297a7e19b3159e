"""The bad-input corpus for files and targets: each case with its exact message. (Database and
HTTP cases live in test_data_sql.py and test_data_http.py, next to their servers.)"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import cli

from fullcycle.config import DataConfig
from fullcycle.data import Dataset, read_source
from fullcycle.errors import DataError


def _write(path: Path, content: bytes | str) -> str:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


CASES = {
    "empty file": ("empty.csv", b"",
                   "{p}: the file is empty; it needs a header row and data rows"),
    "blank lines only": ("blank.csv", b"\n\n  \n",
                         "{p}: the file is empty; it needs a header row and data rows"),
    "header only": ("header.csv", b"a,b,c\n",
                    "{p}: no data rows; the table needs a header row and data rows"),
    "binary file": ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
                    "{p}: binary content, not a text table; give a CSV, TSV, JSON, Parquet or "
                    "Excel file"),
    "ragged rows": ("ragged.csv", b"a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n",
                    "{p}: line 3 has 4 fields but the header has 3; check the delimiter and "
                    "quoting"),
    "duplicate column names": ("dupes.csv", b"a,b,a\n1,2,3\n",
                               "{p}: duplicate column names ['a']; rename them so each is "
                               "unique"),
    "non-UTF-8 text": ("bytes.csv", b"a,b\nx,\x81\x8d\x90\n",
                       "{p}: not UTF-8 text (byte 0x81 at offset 6) nor Windows-1252; re-save "
                       "it as UTF-8 or set data.encoding"),
    "unknown file type": ("data.sav", b"whatever",
                          "{p}: unknown file type '.sav'; supported: .csv, .htm, .html, "
                          ".json, .jsonl, .ndjson, .parquet, .pq, .tsv, .txt, .xls, .xlsm, "
                          ".xlsx, optionally .gz/.bz2/.xz/.zip compressed"),
    "bad JSON": ("bad.json", b'[{"a": 1},',
                 "{p}: not valid JSON (Expecting value at line 1); for one record per line "
                 "name the file .jsonl"),
    "JSON not a list": ("scalar.json", b'{"total": 3, "status": "ok"}',
                        "{p}: the JSON is an object with keys ['status', 'total'], not a list "
                        "of records; set data.http.records_path to the key that holds the "
                        "records"),
    "JSON Lines non-object": ("rows.jsonl", b'{"a": 1}\n[1, 2]\n',
                              "{p}: line 2 is a JSON list, not an object; JSON Lines needs "
                              "one {{...}} record per line"),
    "bad Parquet": ("broken.parquet", b"PAR1 not really",
                    "{p}: not a readable Parquet file"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_message(case: str, tmp_path: Path) -> None:
    name, content, message = CASES[case]
    path = _write(tmp_path / name, content)
    with pytest.raises(DataError) as err:
        read_source(path)
    expected = message.format(p=path)
    if case == "bad Parquet":  # pyarrow's own wording follows in parentheses
        assert str(err.value).startswith(expected + " (")
    else:
        assert str(err.value) == expected


def test_missing_path_and_declared_encoding(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        read_source(str(tmp_path / "nope.csv"))
    assert str(err.value) == f"data source {str(tmp_path / 'nope.csv')!r} does not exist; check " \
                             "the path"
    latin = _write(tmp_path / "latin.csv", "a,b\ncafé,1\n".encode("latin-1"))
    with pytest.raises(DataError) as err:
        read_source(latin, config=DataConfig(encoding="utf-8"))
    assert str(err.value) == (f"{latin}: not valid utf-8 text (byte 0xe9 at offset 7); set "
                              "data.encoding to the file's encoding or re-save it as UTF-8")
    assert read_source(latin, config=DataConfig(encoding="latin-1"))["a"].tolist() == ["café"]


TARGET_CASES = {
    "target missing": ("Churnn", {"Churn": ["a", "b"], "x": [1, 2]},
                       "target column 'Churnn' is not in {p}. Did you mean 'Churn'? Valid: "
                       "Churn, x."),
    "target all missing": ("y", {"y": ["", " ", "NA"], "x": [1, 2, 3]},
                           "target column 'y' in {p} has no values; every row is missing the "
                           "target"),
    "one-class target": ("y", {"y": ["yes", "yes", "", "yes "], "x": [1, 2, 3, 4]},
                         "target column 'y' in {p} has the same value ('yes') in every row; "
                         "there is nothing to predict"),
}


@pytest.mark.parametrize("case", list(TARGET_CASES))
def test_bad_target_message(case: str, tmp_path: Path) -> None:
    target, columns, message = TARGET_CASES[case]
    path = tmp_path / "t.csv"
    pd.DataFrame(columns).to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        Dataset.read(str(path), target=target)
    assert str(err.value) == message.format(p=path)


def test_missing_target_rows_switch(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"y": ["a", "", "b", "a"], "x": [1, 2, 3, 4]}).to_csv(path, index=False)
    assert Dataset.read(str(path), target="y").cleaning[0] == \
        "missing target: dropped 1 rows [data.drop_missing_target]"
    with pytest.raises(DataError) as err:
        Dataset.read(str(path), target="y", config=DataConfig(drop_missing_target=False))
    assert str(err.value) == (f"target column 'y' in {path} is missing in 1 rows; fill them, or "
                              "set data.drop_missing_target: true to drop those rows")


def test_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.csv", b"")
    result = cli("inspect", path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert " ".join(result.stderr.split()) == \
        f"error: {path}: the file is empty; it needs a header row and data rows"

