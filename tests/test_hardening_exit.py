"""A command that read a CSV must exit cleanly (issue 18: `validate` aborted with exit 134,
"terminate called without an active exception", in about 1 of 16 runs three at a time).

Cause: Arrow's CSV reader was handed a Python file object. Its read-ahead threads then call into
Python for every read and to drop their reference to the file; a thread that wants the GIL after
the interpreter has begun to exit is killed where it stands (inside a C++ destructor: abort).
Now Arrow reads plain, gzip and bz2 files through its own file objects, and anything only Python
can open (a zip member, xz, a non-UTF-8 transcode) is parsed by pandas in the calling thread.

The race is made certain here: a part whose reads take half a second (a slow disk or archive),
read through fullcycle's CSV chunk reader in a fresh interpreter that takes the first chunk and
exits at once. With Arrow reading the Python file object it aborts every time (exit 134)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SLOW_READER = """
import io, sys, time
from fullcycle.config import DataConfig
from fullcycle.data.files import Part, chunk_delimited

class SlowFile(io.RawIOBase):
    def __init__(self, path):
        self.raw = open(path, "rb")
    def readable(self):
        return True
    def readinto(self, buffer):
        time.sleep(0.5)
        return self.raw.readinto(buffer)
    def close(self):
        self.raw.close()
        super().close()

part = Part(sys.argv[1], ".csv", lambda: io.BufferedReader(SlowFile(sys.argv[1])))
chunks = chunk_delimited(part, DataConfig(), 100)  # still open when the interpreter exits
print(len(next(chunks)), flush=True)
"""


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~7 MB: more than one of Arrow's read blocks, so reads are still pending at exit."""
    rng = np.random.default_rng(0)
    n = 600_000
    path = tmp_path_factory.mktemp("exit") / "data.csv"
    pd.DataFrame({"a": rng.integers(0, 100, n), "b": rng.normal(size=n).round(4),
                  "c": rng.choice(["x", "y", "z"], n)}).to_csv(path, index=False)
    return path


def test_exit_while_reading_a_python_file_object_does_not_abort(big_csv: Path) -> None:
    src = Path(__file__).parent.parent / "src"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(src), *filter(None, [os.environ.get("PYTHONPATH")])])}
    for _ in range(2):
        run = subprocess.run([sys.executable, "-c", SLOW_READER, str(big_csv)], env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"
        assert run.stdout.strip() == "100"


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2"])
def test_arrow_reads_files_through_its_own_streams(tmp_path: Path, suffix: str) -> None:
    """Files Arrow can open itself get a native stream: no Python object in its threads."""
    import bz2

    import pyarrow as pa

    from fullcycle.data.files import file_parts

    body = b"a,b\n1,x\n2,y\n"
    path = tmp_path / f"t.csv{suffix}"
    path.write_bytes({"": body, ".gz": gzip.compress(body), ".bz2": bz2.compress(body)}[suffix])
    [part] = file_parts(path)
    assert part.native is not None
    with part.native() as stream:
        assert isinstance(stream, pa.NativeFile)
        assert stream.read() == body


@pytest.mark.parametrize("suffix", [".xz", ".zip"])
def test_python_only_parts_are_read_in_this_thread(tmp_path: Path, suffix: str) -> None:
    """A zip member or an xz file has no native stream; it is still read, by pandas."""
    import lzma
    import zipfile

    from fullcycle.config import DataConfig
    from fullcycle.data.files import file_parts, iter_files

    body = b"a,b\n1,x\n2,y\n"
    path = tmp_path / f"t.csv{suffix}"
    if suffix == ".xz":
        path.write_bytes(lzma.compress(body))
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("t.csv", body)
    assert [p.native for p in file_parts(path)] == [None]
    [frame] = list(iter_files(str(path), DataConfig(), 10))
    assert frame.to_dict("list") == {"a": ["1", "2"], "b": ["x", "y"]}
