"""A small load generator for the prediction server, run as its own process:

    python -m fullcycle.serve.loadtest http://127.0.0.1:8000 --requests 20000 --concurrency 32

A minimal HTTP/1.1 keep-alive client on asyncio streams (one connection per worker), so the
client costs little of the CPU it shares with the server. Prints (or writes with --out) a JSON
summary: requests answered 200, errors by kind, predictions served (rows in 200 answers),
model versions seen, latency percentiles and throughput."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes,
                   body: bytes) -> tuple[int, bytes]:
    writer.write(head + body)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length, close = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    data = await reader.readexactly(length) if length else b""
    if close:
        raise _Closed(status, data)
    return status, data


class _Closed(Exception):
    def __init__(self, status: int, data: bytes) -> None:
        super().__init__("server closed the connection")
        self.status, self.data = status, data


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter = Counter()
        self.errors: Counter = Counter()
        self.versions: Counter = Counter()
        self.predictions = 0

    def answer(self, status: int, data: bytes, seconds: float) -> None:
        self.statuses[status] += 1
        if status != 200:
            self.errors[f"http_{status}"] += 1
            return
        self.latencies.append(seconds)
        answer = json.loads(data)
        self.versions[str(answer.get("model_version"))] += 1
        self.predictions += len(answer.get("predictions", []))


async def _worker(url: str, payloads: list[bytes], todo: list[int], stats: Stats,
                  headers: dict[str, str], until: Path | None = None) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path if parts.path not in ("", "/") else "/predict"
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while todo:
        if until is not None and until.exists():
            break
        i = todo.pop()
        body = payloads[i % len(payloads)]
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{extra}\r\n").encode()
        start = time.perf_counter()
        try:
            if conn is None:
                conn = await asyncio.open_connection(host, port)
            status, data = await _request(conn[0], conn[1], head, body)
            stats.answer(status, data, time.perf_counter() - start)
        except _Closed as closed:
            stats.answer(closed.status, closed.data, time.perf_counter() - start)
            _close(conn)
            conn = None
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
            stats.errors[type(exc).__name__] += 1
            _close(conn)
            conn = None
            await asyncio.sleep(0.01)
    _close(conn)


def _close(conn: Any) -> None:
    if conn is not None:
        conn[1].close()
    return None


async def run(url: str, payloads: list[bytes], requests: int, concurrency: int,
              headers: dict[str, str] | None = None, until: Path | None = None) -> dict[str, Any]:
    stats = Stats()
    todo = list(range(requests))
    start = time.perf_counter()
    await asyncio.gather(*(_worker(url, payloads, todo, stats, headers or {}, until)
                           for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    lat = sorted(stats.latencies)

    def pct(q: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 3) if lat else None

    return {"requests": sum(stats.statuses.values()) + sum(stats.errors.values())
            - sum(v for k, v in stats.errors.items() if k.startswith("http_")),
            "concurrency": concurrency, "ok": stats.statuses.get(200, 0),
            "errors": dict(stats.errors), "statuses": {str(k): v for k, v in
                                                       stats.statuses.items()},
            "predictions": stats.predictions, "versions": dict(stats.versions),
            "seconds": round(elapsed, 3), "rps": round(stats.statuses.get(200, 0) / elapsed, 1),
            "p50_ms": pct(0.5), "p90_ms": pct(0.9), "p99_ms": pct(0.99)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fullcycle.serve.loadtest")
    parser.add_argument("url", help="server URL; a bare host:port means its /predict")
    parser.add_argument("--payloads", type=Path, required=True,
                        help="JSON file: a list of request bodies (each a record or a list)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--until-file", type=Path, default=None,
                        help="keep going (up to --requests) until this file exists")
    args = parser.parse_args(argv)
    bodies = [json.dumps(p).encode() for p in json.loads(args.payloads.read_text())]
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    result = asyncio.run(run(args.url, bodies, args.requests, args.concurrency, headers,
                             args.until_file))
    text = json.dumps(result)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
