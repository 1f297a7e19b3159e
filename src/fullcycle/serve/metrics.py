"""Prometheus metrics in the text exposition format (version 0.0.4), without a dependency.

Counters and histograms live in this process. With `--workers N` they are added up across the
workers through a shared folder (`workers.py`), so any worker answers a scrape with the server's
totals; gauges stay per worker."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from typing import Any

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0, 10.0)
VALUE_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value


class Metrics:
    """Thread-safe counters and histograms, rendered by `render()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self.histograms: dict[str, dict[tuple[tuple[str, str], ...], Histogram]] = \
            defaultdict(dict)
        self.help: dict[str, tuple[str, str]] = {}
        self.gauges: dict[str, Any] = {}  # name -> callable returning {labels: value}
        self.share: Any = None  # workers.WorkerShare when the server runs several workers
        self._describe()

    def _describe(self) -> None:
        for name, kind, text in (
            ("fullcycle_requests_total", "counter", "HTTP requests by route and status code"),
            ("fullcycle_request_duration_seconds", "histogram", "request latency by route"),
            ("fullcycle_errors_total", "counter", "error answers by route and error type"),
            ("fullcycle_predictions_total", "counter", "predictions by model version and "
             "predicted class"),
            ("fullcycle_prediction_value", "histogram", "predicted value (regression) or "
             "positive-class probability (binary)"),
            ("fullcycle_unseen_categories_total", "counter", "unseen categories by column"),
            ("fullcycle_out_of_range_total", "counter", "numbers outside the training range"),
            ("fullcycle_model_reloads_total", "counter", "model swaps by outcome"),
        ):
            self.help[name] = (kind, text)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self.counters[name]
            series[key] = series.get(key, 0.0) + amount

    def observe(self, name: str, value: float, buckets: tuple[float, ...] = LATENCY_BUCKETS,
                **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            hist = self.histograms[name].get(key)
            if hist is None:
                hist = self.histograms[name][key] = Histogram(buckets)
            hist.observe(value)

    def observe_many(self, name: str, values: Any, buckets: tuple[float, ...],
                     **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            hist = self.histograms[name].get(key)
            if hist is None:
                hist = self.histograms[name][key] = Histogram(buckets)
            for value in values:
                hist.observe(float(value))

    def gauge(self, name: str, text: str, read: Any) -> None:
        """A value read at scrape time: `read()` -> {labels tuple: value}."""
        self.help[name] = ("gauge", text)
        self.gauges[name] = read

    def snapshot(self) -> dict[str, Any]:
        """Counters and histograms as JSON-ready data (for adding up across workers)."""
        with self._lock:
            return {
                "counters": {n: [[list(map(list, k)), v] for k, v in series.items()]
                             for n, series in self.counters.items()},
                "histograms": {n: [[list(map(list, k)), list(h.buckets), list(h.counts), h.total]
                                   for k, h in hists.items()]
                               for n, hists in self.histograms.items()}}

    @staticmethod
    def merged(snapshots: list[dict[str, Any]]) -> Metrics:
        """One registry holding the sums of several workers' snapshots."""
        total = Metrics()
        for snap in snapshots:
            for name, series in snap.get("counters", {}).items():
                for key, value in series:
                    total.inc(name, float(value), **dict(map(tuple, key)))
            for name, hists in snap.get("histograms", {}).items():
                for key, buckets, counts, hist_sum in hists:
                    label = tuple(sorted(map(tuple, key)))
                    hist = total.histograms[name].setdefault(label, Histogram(tuple(buckets)))
                    if list(hist.buckets) != list(buckets):
                        continue  # another fullcycle version's buckets: not addable
                    hist.counts = [a + b for a, b in zip(hist.counts, counts, strict=True)]
                    hist.total += hist_sum
        return total

    def render(self) -> str:
        lines: list[str] = []
        source = self
        if self.share is not None:  # several workers: everyone's counters, this one's gauges
            self.share.publish(self.snapshot())
            source = Metrics.merged(self.share.snapshots())
        with source._lock:
            for name, series in source.counters.items():
                self._head(lines, name)
                lines += [f"{name}{_labels(k)} {v:g}" for k, v in sorted(series.items())]
            for name, hists in source.histograms.items():
                self._head(lines, name)
                for key, hist in sorted(hists.items()):
                    self._histogram(lines, name, key, hist)
        for name, read in self.gauges.items():
            self._head(lines, name)
            lines += [f"{name}{_labels(k)} {float(v):g}" for k, v in read().items()]
        return "\n".join(lines) + "\n"

    def _head(self, lines: list[str], name: str) -> None:
        kind, text = self.help.get(name, ("untyped", name))
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]

    @staticmethod
    def _histogram(lines: list[str], name: str, key: tuple[tuple[str, str], ...],
                   hist: Histogram) -> None:
        running = 0
        for bound, count in zip((*hist.buckets, float("inf")), hist.counts, strict=True):
            running += count
            le = "+Inf" if bound == float("inf") else f"{bound:g}"
            lines.append(f"{name}_bucket{_labels((*key, ('le', le)))} {running}")
        lines.append(f"{name}_sum{_labels(key)} {hist.total:.6g}")
        lines.append(f"{name}_count{_labels(key)} {running}")
