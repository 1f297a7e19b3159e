"""Issue 18, `validate`'s exit 134: Arrow's CSV reader over a Python file object vs Arrow's own
file stream, side by side.

    nice .venv/bin/python bench/arrow_exit.py race --rounds 100 --csv telco_churn.csv
    nice .venv/bin/python bench/arrow_exit.py speed --csv telco_churn.csv

race   each round starts 3 interpreters reading the CSV with a Python file object (`open()`, as
       fullcycle did before) and 3 with `pa.OSFile` (as it does now), all at once; each reads
       to the end with `open_csv`, closes everything and exits. Counts the non-zero exits
       (134 = SIGABRT, "terminate called without an active exception").
speed  one process: the CSV repeated 30 times, as plain/.gz/.zip, read the old way (Arrow over
       the Python file object) and through `fullcycle.data.files.iter_files` (native stream;
       pandas for a zip member), 3 repetitions each, wall and CPU seconds.
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

CHILD = """
import sys
import pyarrow as pa, pyarrow.csv as pcsv
path, mode = sys.argv[1], sys.argv[2]
names = open(path).readline().strip().split(",")
read = pcsv.ReadOptions(block_size=1 << 16)
convert = pcsv.ConvertOptions(column_types={n: pa.string() for n in names})
opener = (lambda: open(path, "rb")) if mode == "python" else (lambda: pa.OSFile(path, "rb"))
with opener() as handle:
    with pcsv.open_csv(handle, read, convert_options=convert) as reader:
        for batch in reader:
            pass
"""


def race(csv: str, rounds: int) -> None:
    failures = {"python": 0, "native": 0}
    for _ in range(rounds):
        procs = [(mode, subprocess.Popen([sys.executable, "-c", CHILD, csv, mode],
                                         stderr=subprocess.DEVNULL))
                 for mode in ("python", "native") * 3]
        for mode, proc in procs:
            if proc.wait() != 0:
                failures[mode] += 1
    runs = rounds * 3
    print(f"Python file object: {failures['python']} of {runs} runs aborted; "
          f"pa.OSFile: {failures['native']} of {runs}")


def speed(csv: str) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from fullcycle.config import DataConfig
    from fullcycle.data.files import file_parts, iter_files

    root = Path(tempfile.mkdtemp(prefix="arrow-exit-"))
    big = pd.concat([pd.read_csv(csv, dtype=str, keep_default_na=False)] * 30,
                    ignore_index=True)
    plain = root / "t.csv"
    big.to_csv(plain, index=False)
    packed = root / "t.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes(), 6))
    zipped = root / "t.csv.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(plain, "t.csv")
    convert = pcsv.ConvertOptions(column_types={n: pa.string() for n in big.columns},
                                  strings_can_be_null=False)

    def old(path: Path) -> int:
        with file_parts(path)[0].open() as handle, pcsv.open_csv(
                handle, pcsv.ReadOptions(block_size=1 << 22), convert_options=convert) as reader:
            return sum(len(batch.to_pandas()) for batch in reader)

    def new(path: Path) -> int:
        return sum(len(frame) for frame in iter_files(str(path), DataConfig(), 100_000))

    print(f"{len(big):,} rows x {len(big.columns)} columns")
    for path in (plain, packed, zipped):
        for _ in range(3):
            for name, read in (("old", old), ("new", new)):
                wall, cpu = time.perf_counter(), time.process_time()
                rows = read(path)
                print(f"{path.name:10} {name} rows={rows} wall={time.perf_counter() - wall:.2f} s"
                      f" cpu={time.process_time() - cpu:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["race", "speed"])
    parser.add_argument("--csv", required=True)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    race(args.csv, args.rounds) if args.what == "race" else speed(args.csv)


if __name__ == "__main__":
    main()
