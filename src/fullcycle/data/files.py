"""File sources: CSV/TSV, Parquet, JSON, JSON Lines, Excel and HTML tables, plain or compressed
(.gz/.bz2/.xz, or a .zip of such files), one file or a folder/glob of files with the same columns.

A readable thing is a `Part`: a name, the suffix that says its format, and a way to open its
bytes; a folder, a glob or a multi-member zip is several parts read one after the other.
CSV cells are read as text first (so '007' and ' ' are seen as written) and columns whose every
non-empty value is a number are then made numeric (`numbers_where_clean`)."""

from __future__ import annotations

import bz2
import codecs
import csv
import functools
import glob as globbing
import gzip
import io
import lzma
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from fullcycle.config import DataConfig
from fullcycle.data.http import html_table, records_frame
from fullcycle.data.numbers import parse_numbers
from fullcycle.errors import DataError, SourceError

HEAD_BYTES = 1 << 20
COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".html", ".htm")


@dataclass(frozen=True)
class Part:
    name: str
    suffix: str
    open: Callable[[], IO[bytes]]
    # The same bytes as a stream Arrow reads in its own threads without calling Python (a plain,
    # gzip or bz2 file); None: not for Arrow (a zip member, xz), pandas reads it (`_table_frames`).
    native: Callable[[], Any] | None = None


Reader = Callable[[Part, DataConfig], pd.DataFrame]
ChunkReader = Callable[[Part, DataConfig, int], Iterator[pd.DataFrame]]
FILE_READERS: dict[str, Reader] = {}
CHUNK_READERS: dict[str, ChunkReader] = {}


def file_reader(*suffixes: str) -> Callable[[Reader], Reader]:
    def register(func: Reader) -> Reader:
        for suffix in suffixes:
            FILE_READERS[suffix] = func
        return func

    return register


def chunk_reader(*suffixes: str) -> Callable[[ChunkReader], ChunkReader]:
    def register(func: ChunkReader) -> ChunkReader:
        for suffix in suffixes:
            CHUNK_READERS[suffix] = func
        return func

    return register


# --- locating parts -----------------------------------------------------------------------------
def _opener(path: Path, compressed: str | None) -> Callable[[], IO[bytes]]:
    if compressed:
        return lambda: COMPRESSED[compressed](path, "rb")  # type: ignore[operator, return-value]
    return lambda: open(path, "rb")


ARROW_CODECS = {".gz": "gzip", ".bz2": "bz2"}


def _native_opener(path: Path, compressed: str | None) -> Callable[[], Any] | None:
    """Arrow's own file (and decompressor): its read-ahead threads never need the GIL. Handed a
    Python file object instead, they call into Python for every read and to release it; one
    of them taking the GIL while the interpreter exits is killed inside a C++ destructor and
    the process aborts ("terminate called without an active exception", exit 134)."""
    if compressed and compressed not in ARROW_CODECS:
        return None

    def open_native() -> Any:
        import pyarrow as pa

        if not compressed:
            return pa.OSFile(str(path), "rb")
        # buffered: the decompressor otherwise reads the file in small pieces
        return pa.input_stream(str(path), compression=ARROW_CODECS[compressed],
                               buffer_size=1 << 20)

    return open_native


def _zip_parts(path: Path) -> list[Part]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DataError(f"{path}: not a readable zip archive") from None
    members = [m for m in archive.namelist() if not m.endswith("/")
               and not m.startswith("__MACOSX") and _suffix(m) in FILE_READERS]
    if not members:
        raise DataError(f"{path}: the zip archive holds no data file; supported: "
                        f"{', '.join(sorted(FILE_READERS))}")
    return [Part(f"{path}!{m}", _suffix(m), functools.partial(archive.open, m))
            for m in sorted(members)]


def _suffix(name: str) -> str:
    return Path(name).suffix.lower()


def file_parts(path: Path) -> list[Part]:
    suffix = _suffix(path.name)
    if suffix == ".zip":
        return _zip_parts(path)
    if suffix in COMPRESSED:
        inner = _suffix(path.name[: -len(suffix)])
        return [Part(str(path), inner, _opener(path, suffix), _native_opener(path, suffix))]
    return [Part(str(path), suffix, _opener(path, None), _native_opener(path, None))]


def locate(location: str) -> list[Part]:
    """A file, a folder (its data files) or a glob -> the parts to read, in name order."""
    path = Path(location)
    if any(ch in location for ch in "*?["):
        matched = sorted(globbing.glob(location, recursive=True))
        paths = [Path(p) for p in matched if Path(p).is_file()]
        if not paths:
            raise SourceError(f"no file matches {location!r}; check the pattern")
    elif path.is_dir():
        paths = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                       and (_suffix(p.name) in FILE_READERS or _suffix(p.name) in COMPRESSED
                            or _suffix(p.name) == ".zip"))
        if not paths:
            raise SourceError(f"folder {location!r} holds no data file; supported: "
                              f"{', '.join(sorted(FILE_READERS))}")
    elif path.exists():
        paths = [path]
    else:
        raise SourceError(f"data source {location!r} does not exist; check the path")
    parts = [part for p in paths for part in file_parts(p)]
    for part in parts:
        if part.suffix not in FILE_READERS:
            raise SourceError(f"{part.name}: unknown file type {part.suffix or '(none)'!r}; "
                              f"supported: {', '.join(sorted(FILE_READERS))}, optionally "
                              ".gz/.bz2/.xz/.zip compressed")
    return parts


def read_files(location: str, config: DataConfig) -> pd.DataFrame:
    parts = locate(location)
    frames = [_read_part(part, config) for part in parts]
    if len(frames) == 1:
        return frames[0]
    for part, frame in zip(parts[1:], frames[1:], strict=True):
        same_columns(frames[0], frame, parts[0].name, part.name)
    combined = pd.concat([f[list(frames[0].columns)] for f in frames], ignore_index=True)
    combined.attrs["notes"] = [n for f in frames for n in f.attrs.get("notes", [])]
    return numbers_where_clean(combined) if all(p.suffix in (".csv", ".tsv", ".txt")
                                                for p in parts) else combined


def iter_files(location: str, config: DataConfig, chunk_rows: int) -> Iterator[pd.DataFrame]:
    parts = locate(location)
    first: pd.DataFrame | None = None
    for part in parts:
        streamer = CHUNK_READERS.get(part.suffix)
        chunks = (streamer(part, config, chunk_rows) if streamer
                  else _slices(_read_part(part, config), chunk_rows))
        for chunk in chunks:
            if first is None:
                first = chunk.iloc[:0]
            else:
                same_columns(first, chunk, parts[0].name, part.name)
                chunk = chunk[list(first.columns)]
            yield chunk


def _slices(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start:start + size]


def same_columns(first: pd.DataFrame, other: pd.DataFrame, first_name: str, name: str) -> None:
    a, b = set(map(str, first.columns)), set(map(str, other.columns))
    if a != b:
        raise DataError(f"{name}: columns differ from {first_name} (missing {sorted(a - b)}, "
                        f"extra {sorted(b - a)}); every file of a folder or glob needs the same "
                        "columns")


def _read_part(part: Part, config: DataConfig) -> pd.DataFrame:
    return FILE_READERS[part.suffix](part, config)


# --- text: binary refusal, encoding, delimiter ----------------------------------------------
def _head(part: Part) -> bytes:
    try:
        with part.open() as handle:
            return handle.read(HEAD_BYTES)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataError(f"{part.name}: cannot be read or decompressed ({exc})") from None


def _refuse_binary(part: Part, head: bytes) -> None:
    if b"\x00" in head[:8192]:
        raise DataError(f"{part.name}: binary content, not a text table; give a CSV, TSV, JSON, "
                        "Parquet or Excel file")


def _first_bad(head: bytes, encoding: str) -> UnicodeDecodeError | None:
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=len(head) < HEAD_BYTES)
    except UnicodeDecodeError as exc:
        return exc
    return None


def detect_encoding(part: Part, head: bytes, configured: str) -> str:
    """UTF-8 (BOM allowed) when the head decodes as UTF-8, else Windows-1252 when that decodes;
    `data.encoding` set to anything but auto is used as given."""
    if configured.lower() != "auto":
        try:
            codecs.lookup(configured)
        except LookupError:
            raise DataError(f"data.encoding {configured!r} is not a known text encoding; use e.g. "
                            "utf-8, latin-1 or cp1252") from None
        bad = _first_bad(head, configured)
        if bad is not None:
            raise DataError(f"{part.name}: not valid {configured} text (byte "
                            f"0x{head[bad.start]:02x} at offset {bad.start}); set data.encoding "
                            "to the file's encoding or re-save it as UTF-8")
        return configured
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    first_bad = _first_bad(head, "utf-8")
    if first_bad is None:
        return "utf-8"
    if _first_bad(head, "cp1252") is None:
        return "cp1252"
    raise DataError(f"{part.name}: not UTF-8 text (byte 0x{head[first_bad.start]:02x} at offset "
                    f"{first_bad.start}) nor Windows-1252; re-save it as UTF-8 or set "
                    "data.encoding")


def _decode_failed(part: Part, encoding: str) -> DataError:
    return DataError(f"{part.name}: not valid {encoding} text past the first megabyte; re-save it "
                     "as UTF-8 or set data.encoding")


def _sniff(part: Part, text: str, configured: str | None) -> str:
    if configured:
        return configured
    try:
        return csv.Sniffer().sniff(text[:64_000], delimiters=",;\t|").delimiter
    except csv.Error:
        return "\t" if part.suffix == ".tsv" else ","


@dataclass(frozen=True)
class CsvDialect:
    encoding: str
    sep: str
    notes: tuple[str, ...]
    names: tuple[str, ...] = ()


def check_width(columns: int, cap: int, source: str, *, at_least: bool = False) -> None:
    """Bounded work: data wider than `data.max_columns` is refused before anything else."""
    if columns > cap:
        raise DataError(f"{source} has {'at least ' if at_least else ''}{columns:,} columns; "
                        "fullcycle "
                        f"works on at most {cap:,} (data.max_columns). Select the columns you "
                        "need, or raise data.max_columns if the data really is this wide")


def csv_dialect(part: Part, config: DataConfig) -> CsvDialect:
    head = _head(part)
    if not head.strip():
        raise DataError(f"{part.name}: the file is empty; it needs a header row and data rows")
    _refuse_binary(part, head)
    encoding = detect_encoding(part, head, config.encoding)
    text = head.decode(encoding, errors="ignore")
    sep = _sniff(part, text, config.delimiter)
    header = next(csv.reader(io.StringIO(text), delimiter=sep), [])
    check_width(len(header), config.max_columns, part.name,  # before any O(columns) work
                at_least="\n" not in text)
    names = [h.strip() for h in header]
    dupes = sorted(n for n, k in Counter(names).items() if k > 1)
    if dupes:
        raise DataError(f"{part.name}: duplicate column names {dupes}; rename them so each is "
                        "unique")
    notes = (f"{part.name}: read as Windows-1252 text (not UTF-8)",) if encoding == "cp1252" else ()
    return CsvDialect(encoding, sep, notes, tuple(header))


_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _csv_frames(part: Part, dialect: CsvDialect, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    try:
        with part.open() as handle:
            reader = pd.read_csv(handle, sep=dialect.sep, dtype=str, keep_default_na=False,
                                 na_values=[], encoding=dialect.encoding, chunksize=chunk_rows)
            if chunk_rows is None:
                yield reader
                return
            with reader:
                yield from reader
    except UnicodeDecodeError:
        raise _decode_failed(part, dialect.encoding) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{part.name}: the file is empty; it needs a header row and data "
                        "rows") from None
    except pd.errors.ParserError as exc:
        found = _FIELDS.search(str(exc))
        if found:
            want, line, saw = found.groups()
            raise DataError(f"{part.name}: line {line} has {saw} fields but the header has "
                            f"{want}; check the delimiter and quoting") from None
        raise DataError(f"{part.name}: not a well-formed table ({exc}); check the delimiter and "
                        "quoting") from None


ARROW_BLOCK = 1 << 22  # Arrow's streaming reader reads dozens of blocks ahead: keep them small


def _arrow_frames(part: Part, dialect: CsvDialect,
                  chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    """pyarrow's CSV reader, every column as text: several times faster than pandas' own parser
    with dtype=str. Streamed in small blocks, gathered into frames of about `chunk_rows`."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    assert part.native is not None  # _table_frames sends other parts to pandas
    read = pcsv.ReadOptions(encoding="utf8",
                            block_size=1 << 26 if chunk_rows is None else ARROW_BLOCK)
    parse = pcsv.ParseOptions(delimiter=dialect.sep, newlines_in_values=True)
    convert = pcsv.ConvertOptions(column_types={n: pa.string() for n in dialect.names},
                                  strings_can_be_null=False, quoted_strings_can_be_null=False)
    with part.native() as handle:
        if chunk_rows is None:
            yield pcsv.read_csv(handle, read, parse, convert).to_pandas()
            return
        pending: list[pa.RecordBatch] = []
        # Closed explicitly, also when the caller stops early: no read-ahead left running.
        with pcsv.open_csv(handle, read, parse, convert) as reader:
            for batch in reader:
                pending.append(batch)
                table = None
                while sum(b.num_rows for b in pending) >= chunk_rows:
                    table = table or pa.Table.from_batches(pending)
                    yield table.slice(0, chunk_rows).to_pandas()
                    table = table.slice(chunk_rows)
                    pending = table.to_batches()
        if pending and sum(b.num_rows for b in pending):
            yield pa.Table.from_batches(pending).to_pandas()


def _table_frames(part: Part, dialect: CsvDialect,
                  chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    """Fast path first; when pyarrow refuses the file (short rows, bad bytes, ragged rows) pandas
    reads the rest, which either works (short rows are padded) or names the line at fault."""
    import pyarrow as pa

    if part.native is None or not dialect.encoding.startswith("utf-8"):
        # Arrow would read a Python file object, or transcode with Python's codecs, in its own
        # threads (see `_native_opener`): pandas parses those in this thread instead.
        yield from _csv_frames(part, dialect, chunk_rows)
        return
    done = 0
    try:
        for frame in _arrow_frames(part, dialect, chunk_rows):
            done += len(frame)
            yield frame
        return
    except (pa.ArrowInvalid, UnicodeDecodeError):
        pass
    for frame in _csv_frames(part, dialect, chunk_rows):
        if done >= len(frame):
            done -= len(frame)
            continue
        yield frame.iloc[done:].reset_index(drop=True)
        done = 0


@file_reader(".csv", ".tsv", ".txt")
def read_delimited(part: Part, config: DataConfig) -> pd.DataFrame:
    dialect = csv_dialect(part, config)
    frame = numbers_where_clean(next(_table_frames(part, dialect, None)))
    frame.attrs["notes"] = list(dialect.notes)
    return frame


@chunk_reader(".csv", ".tsv", ".txt")
def chunk_delimited(part: Part, config: DataConfig, chunk_rows: int) -> Iterator[pd.DataFrame]:
    yield from _table_frames(part, csv_dialect(part, config), chunk_rows)


def numbers_where_clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose every non-empty value is a number become numeric (int64 when every
    value is a whole number and none is missing, as pandas would read them). Anything less clean
    (a ' ' among numbers, '1,234') stays text for schema inference to judge and report."""
    converted: dict[str, object] = {}
    for name in frame.columns:
        col = frame[name]
        if col.dtype.kind not in "OUS" and str(col.dtype) not in ("str", "string"):
            continue
        empty = (col.isna() | (col == "")).to_numpy(dtype=bool, na_value=True)
        if empty.all():
            continue
        head = col[~empty][:200]
        if np.isnan(parse_numbers(head)).any():  # cheap early no for text columns
            continue
        numbers = parse_numbers(col)
        if np.isnan(numbers[~empty]).any():
            continue
        whole = not empty.any() and np.isfinite(numbers).all() and \
            (np.abs(numbers) < 2**53).all() and (numbers == np.round(numbers)).all()
        converted[name] = numbers.astype("int64") if whole else numbers
    if not converted:
        return frame
    attrs = dict(frame.attrs)
    out = pd.DataFrame({name: converted.get(name, frame[name]) for name in frame.columns},
                       index=frame.index)
    out.attrs.update(attrs)
    return out


# --- the other formats ---------------------------------------------------------------------------
def _bytes(part: Part) -> io.BytesIO:
    try:
        with part.open() as handle:
            return io.BytesIO(handle.read())
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataError(f"{part.name}: cannot be read or decompressed ({exc})") from None


def _arrow_file(part: Part) -> Any:
    """The part as a random-access file in Arrow's own memory or on disk, so Arrow's reader
    threads never call Python (see `_native_opener`): the file itself, else its bytes copied
    into an Arrow buffer (a zip member, a compressed file)."""
    import pyarrow as pa

    if part.native is not None:
        handle = part.native()
        if handle.seekable():
            return handle
        handle.close()
    data = _bytes(part).getbuffer()
    buffer = pa.allocate_buffer(len(data))
    np.frombuffer(buffer, dtype=np.uint8)[:] = np.frombuffer(data, dtype=np.uint8)
    return pa.BufferReader(buffer)


@file_reader(".parquet", ".pq")
def read_parquet(part: Part, config: DataConfig) -> pd.DataFrame:
    try:
        with _arrow_file(part) as handle:
            return pd.read_parquet(handle)
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise DataError(f"{part.name}: not a readable Parquet file ({exc})") from None


@chunk_reader(".parquet", ".pq")
def chunk_parquet(part: Part, config: DataConfig, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    try:
        with _arrow_file(part) as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise DataError(f"{part.name}: not a readable Parquet file ({exc})") from None


@file_reader(".xlsx", ".xlsm", ".xls")
def read_excel(part: Part, config: DataConfig) -> pd.DataFrame:
    try:
        return pd.read_excel(_bytes(part), sheet_name=config.sheet)
    except ImportError:
        raise DataError(f"{part.name}: reading Excel files needs openpyxl; install it with "
                        "pip install 'fullcycle[excel]'") from None
    except ValueError as exc:  # a missing sheet
        raise DataError(f"{part.name}: {exc}; set data.sheet to a sheet name or index") from None
    except Exception as exc:  # openpyxl/zipfile errors for a file that is not a workbook
        raise DataError(f"{part.name}: not a readable Excel workbook ({exc})") from None


def _text(part: Part, config: DataConfig) -> str:
    raw = _bytes(part).getvalue()
    if not raw.strip():
        raise DataError(f"{part.name}: the file is empty; it needs data records")
    _refuse_binary(part, raw[:HEAD_BYTES])
    encoding = detect_encoding(part, raw[:HEAD_BYTES], config.encoding)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise _decode_failed(part, encoding) from None


@file_reader(".json")
def read_json(part: Part, config: DataConfig) -> pd.DataFrame:
    import json


    try:
        payload = json.loads(_text(part, config))
    except json.JSONDecodeError as exc:
        raise DataError(f"{part.name}: not valid JSON ({exc.msg} at line {exc.lineno}); for one "
                        "record per line name the file .jsonl") from None
    return records_frame(payload, config.http.records_path, part.name)


@file_reader(".jsonl", ".ndjson")
def read_json_lines(part: Part, config: DataConfig) -> pd.DataFrame:
    return pd.concat(list(chunk_json_lines(part, config, 1_000_000)), ignore_index=True)


@chunk_reader(".jsonl", ".ndjson")
def chunk_json_lines(part: Part, config: DataConfig, chunk_rows: int) -> Iterator[pd.DataFrame]:
    head = _head(part)
    if not head.strip():
        raise DataError(f"{part.name}: the file is empty; it needs one JSON record per line")
    _refuse_binary(part, head)
    encoding = detect_encoding(part, head, config.encoding)
    rows: list[dict] = []
    with part.open() as raw, io.TextIOWrapper(raw, encoding=encoding) as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                record = _json_line(part, line, number)
                rows.append(record)
                if len(rows) >= chunk_rows:
                    yield pd.json_normalize(rows)
                    rows = []
        except UnicodeDecodeError:
            raise _decode_failed(part, encoding) from None
    if rows:
        yield pd.json_normalize(rows)


def _json_line(part: Part, line: str, number: int) -> dict:
    import json

    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{part.name}: line {number} is not valid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise DataError(f"{part.name}: line {number} is a JSON {type(record).__name__}, not an "
                        "object; JSON Lines needs one {...} record per line")
    return record


@file_reader(".html", ".htm")
def read_html_file(part: Part, config: DataConfig) -> pd.DataFrame:
    return html_table(_text(part, config), config.http, part.name)
