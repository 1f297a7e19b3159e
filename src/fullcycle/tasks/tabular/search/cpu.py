"""How many threads each model fit may use: all the cores while other programs leave them
idle, one as soon as they do not. On a busy 2-core machine, OpenMP threads waiting for each
other made 2-thread boosting fits 10-30x slower than 1-thread ones; on an idle one, the second
core is half the machine, left unused.

The other programs' use is measured between two moments as all cores' busy time minus this
process's own CPU time (Linux /proc), so the search's own threads never count as "busy"."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_THREADS = [1]  # threads per fit now; the last entry wins (see use_threads)
SAMPLE_SECONDS = 0.2
MIN_TICKS = 5  # clock ticks per core (1/100 s each) an interval needs to be measured
SPARE = 0.25  # other programs may use this much of one core and the cores still count as idle


def fit_threads() -> int:
    """Threads a model fit may use now."""
    return _THREADS[-1]


@contextmanager
def use_threads(threads: int) -> Iterator[None]:
    """Model fits inside this block use `threads` threads each (`set_threads` changes it)."""
    _THREADS.append(max(1, int(threads)))
    try:
        yield
    finally:
        _THREADS.pop()


def set_threads(threads: int) -> None:
    """Change the thread count of the innermost `use_threads` block."""
    if len(_THREADS) > 1:
        _THREADS[-1] = max(1, int(threads))


@dataclass(frozen=True)
class _Times:
    idle: float  # jiffies, summed over all cores
    total: float
    own: float  # this process's user + system jiffies (all its threads)


def _times() -> _Times | None:
    try:
        with open("/proc/stat") as handle:
            cpu = [float(v) for v in handle.readline().split()[1:9]]
        with open("/proc/self/stat") as handle:
            mine = handle.read().rsplit(")", 1)[1].split()
        own = float(mine[11]) + float(mine[12])  # utime, stime (fields 14 and 15)
    except (OSError, ValueError, IndexError):
        return None
    if len(cpu) < 5:
        return None
    return _Times(idle=cpu[3] + cpu[4], total=sum(cpu), own=own)


def others_busy(before: _Times, now: _Times, cores: int) -> float:
    """Cores other programs kept busy between two readings: all busy time minus ours."""
    busy = (now.total - before.total) - (now.idle - before.idle)
    return max(0.0, busy - (now.own - before.own)) / (now.total - before.total) * cores


def threads_for(others: float | None, cores: int | None = None) -> int:
    """All the cores when other programs use (nearly) none of them; otherwise one per fit."""
    cores = cores or os.cpu_count() or 1
    return cores if others is not None and others <= SPARE else 1


class CpuWatch:
    """Cores the other programs on this machine used since the last look, and the thread
    count that follows. Unknown (no /proc) means one thread."""

    def __init__(self, sample: float = SAMPLE_SECONDS) -> None:
        self.cores = os.cpu_count() or 1
        self._threads = 1
        self._last = _times()
        if self._last is not None and sample > 0:
            time.sleep(sample)  # a first interval to measure

    def others(self) -> float | None:
        """Cores busy with other programs since the last look; None when unknown or when the
        interval is too short to tell (the next look then measures from the same start)."""
        now, before = _times(), self._last
        if now is None or before is None or now.total - before.total < MIN_TICKS * self.cores:
            return None
        self._last = now
        busy = others_busy(before, now, self.cores)
        self._threads = threads_for(busy, self.cores)  # every measurement decides
        return busy

    @property
    def decided(self) -> int:
        """Threads the last measurement decided (1 before any)."""
        return self._threads

    def threads(self) -> int:
        """Threads for the next fits (the last decision stands over a too-short interval)."""
        self.others()
        return self._threads
