"""HTTP sources read for real from a server this test starts on loopback: JSON APIs with every
pagination style, retries on 429 and 500, auth headers from the environment, timeouts, an HTML
page with tables; and the HTTP part of the bad-input corpus with exact messages."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from conftest import cli, free_port

from fullcycle.config import DataConfig, HttpConfig
from fullcycle.data import fingerprint, read_source
from fullcycle.errors import ConfigError, DataError, SourceError

RECORDS = [{"id": i, "name": f"item-{i}", "score": i * 1.5, "tags": {"colour": "red" if i % 2
                                                                     else "blue"}}
           for i in range(25)]
PAGE = 10
TOKEN = "Bearer t0ken-xyz"
HTML = """<html><body><h1>Report</h1>
<table id="nav"><tr><th>link</th></tr><tr><td>home</td></tr></table>
<table><caption>Sales by region</caption>
<thead><tr><th>region</th><th>sales</th><th>growth</th></tr></thead>
<tbody><tr><td>North</td><td>1200</td><td>0.10</td></tr>
<tr><td>South</td><td>950</td><td>-0.02</td></tr>
<tr><td>East</td><td>1100</td><td>0.05</td></tr></tbody></table></body></html>"""


class Handler(BaseHTTPRequestHandler):
    hits: Counter[str] = Counter()

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: object, ctype: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # http.server's name
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        route = url.path.strip("/")
        Handler.hits[route] += 1
        hit = Handler.hits[route]
        if route == "page":  # ?page=1&per_page=10, pages from 1
            start = (int(q["page"]) - 1) * int(q["per_page"])
            self._send(200, {"data": RECORDS[start:start + int(q["per_page"])]})
        elif route == "offset":
            start = int(q["offset"])
            self._send(200, RECORDS[start:start + int(q["limit"])])
        elif route == "cursor":
            start = int(q.get("cursor") or 0)
            nxt = start + PAGE if start + PAGE < len(RECORDS) else None
            self._send(200, {"items": RECORDS[start:start + PAGE], "meta": {"next": nxt}})
        elif route == "linked":
            start = int(q.get("from", 0))
            nxt = f"/linked?from={start + PAGE}" if start + PAGE < len(RECORDS) else None
            headers = {"Link": f'<{nxt}>; rel="next"'} if nxt else {}
            self._send(200, RECORDS[start:start + PAGE], headers=headers)
        elif route == "flaky":  # 429, then 500, then the records
            if hit == 1:
                self._send(429, {"error": "slow down"}, headers={"Retry-After": "0"})
            elif hit == 2:
                self._send(500, {"error": "oops"})
            else:
                self._send(200, RECORDS)
        elif route == "broken":
            self._send(500, {"error": "always"})
        elif route == "secure":
            if self.headers.get("Authorization") != TOKEN:
                self._send(401, {"error": "unauthorized"})
            else:
                self._send(200, RECORDS[:3])
        elif route == "slow":
            time.sleep(1.0)
            self._send(200, RECORDS)
        elif route == "object":
            self._send(200, {"status": "ok", "count": 3})
        elif route == "report.html":
            self._send(200, HTML, "text/html; charset=utf-8")
        else:
            self._send(404, {"error": "no such route"})


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _reset_hits() -> None:
    Handler.hits.clear()


def _cfg(**http: object) -> DataConfig:
    return DataConfig(http=HttpConfig(**{"backoff": 0.01, "timeout": 5.0, **http}))


EXPECTED = fingerprint(pd.json_normalize(RECORDS))


@pytest.mark.parametrize(("route", "http"), [
    ("page", {"pagination": "page", "page_param": "page", "size_param": "per_page",
              "page_size": PAGE}),
    ("offset", {"pagination": "offset", "offset_param": "offset", "size_param": "limit",
                "page_size": PAGE}),
    ("cursor", {"pagination": "cursor", "cursor_param": "cursor", "cursor_path": "meta.next",
                "records_path": "items"}),
    ("linked", {"pagination": "next_link"}),
])
def test_pagination_reads_every_record(api: str, route: str, http: dict) -> None:
    frame = read_source(f"{api}/{route}", config=_cfg(**http))
    assert len(frame) == 25
    assert frame["tags.colour"].tolist()[:2] == ["blue", "red"]
    assert fingerprint(frame) == EXPECTED
    assert Handler.hits[route] == 3  # a short page, no cursor or no next link ends it


def test_retries_on_429_and_500_then_succeeds(api: str) -> None:
    frame = read_source(f"{api}/flaky", config=_cfg(retries=3))
    assert len(frame) == 25
    assert Handler.hits["flaky"] == 3


def test_gives_up_after_the_last_retry(api: str) -> None:
    with pytest.raises(SourceError) as err:
        read_source(f"{api}/broken", config=_cfg(retries=2))
    assert str(err.value) == (f"{api}/broken: HTTP 500 Internal Server Error after 3 attempts; "
                              "the server is failing or rate-limiting: try later or raise "
                              "data.http.retries")
    assert Handler.hits["broken"] == 3


def test_auth_header_from_environment(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SourceError) as err:
        read_source(f"{api}/secure", config=_cfg())
    assert str(err.value) == (f"{api}/secure: HTTP 401 Unauthorized; the API needs credentials: "
                              "set data.http.headers_env (e.g. {Authorization: API_TOKEN}) and "
                              "export the variable")
    assert Handler.hits["secure"] == 1  # 401 is not retried
    cfg = _cfg(headers_env={"Authorization": "API_TOKEN"})
    with pytest.raises(ConfigError) as missing:
        read_source(f"{api}/secure", config=cfg)
    assert str(missing.value) == ("data.http.headers_env.Authorization names the environment "
                                  "variable API_TOKEN, which is not set; export it before running")
    monkeypatch.setenv("API_TOKEN", "Bearer wrong")
    with pytest.raises(SourceError) as refused:
        read_source(f"{api}/secure", config=cfg)
    assert str(refused.value) == (f"{api}/secure: HTTP 401 Unauthorized; the API refused the "
                                  "credentials sent (Authorization from $API_TOKEN); check the "
                                  "variable's value")
    assert "wrong" not in str(refused.value)
    monkeypatch.setenv("API_TOKEN", TOKEN)
    assert len(read_source(f"{api}/secure", config=cfg)) == 3


def test_timeout_after_retries(api: str) -> None:
    with pytest.raises(SourceError) as err:
        read_source(f"{api}/slow", config=_cfg(timeout=0.2, retries=1))
    assert str(err.value) == (f"{api}/slow: no answer within 0.2 s (tried 2 times); raise "
                              "data.http.timeout or check that the server is up")


def test_json_that_is_not_a_list(api: str) -> None:
    with pytest.raises(DataError) as err:
        read_source(f"{api}/object", config=_cfg())
    assert str(err.value) == (f"{api}/object: the JSON is an object with keys ['count', 'status'], "
                              "not a list of records; set data.http.records_path to the key that "
                              "holds the records")


def test_unreachable_and_not_found(api: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}/x"
    with pytest.raises(SourceError) as err:
        read_source(dead, config=_cfg(retries=1))
    assert str(err.value).startswith(f"cannot connect to {dead} (ConnectError: ")
    assert str(err.value).endswith("tried 2 times); check the URL and that the server is up")
    with pytest.raises(SourceError) as missing:
        read_source(f"{api}/nothing", config=_cfg())
    assert str(missing.value) == (f"{api}/nothing: HTTP 404 Not Found; check the URL and its "
                                  "parameters")


def test_html_page_tables(api: str) -> None:
    frame = read_source(f"{api}/report.html", config=_cfg(table_match="Sales by region"))
    assert frame.to_dict("list") == {"region": ["North", "South", "East"],
                                     "sales": [1200, 950, 1100], "growth": [0.10, -0.02, 0.05]}
    first = read_source(f"{api}/report.html", config=_cfg())
    assert list(first.columns) == ["link"]
    with pytest.raises(DataError) as err:
        read_source(f"{api}/report.html", config=_cfg(table_index=5))
    assert str(err.value) == (f"{api}/report.html: data.http.table_index is 5 but the page has 2 "
                              "matching table(s); use 0 to 1")
    with pytest.raises(DataError) as none:
        read_source(f"{api}/report.html", config=_cfg(table_match="Profit"))
    assert str(none.value) == (f"{api}/report.html: no <table> containing 'Profit' in the page; "
                               "check data.http.table_match")


def test_cli_inspect_reads_a_paginated_api(api: str, tmp_path: Path) -> None:
    config = tmp_path / "fullcycle.yaml"
    config.write_text("data:\n  http:\n    pagination: offset\n    size_param: limit\n"
                      f"    page_size: {PAGE}\n")
    result = cli("inspect", f"{api}/offset", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{api}/offset: 25 rows" in result.stdout
    assert f"fingerprint (data version): {EXPECTED}" in result.stdout
