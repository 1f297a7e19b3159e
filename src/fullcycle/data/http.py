"""HTTP sources: JSON APIs that return records (with pagination) and HTML pages with tables.

Every request goes through `fetch`: a timeout per answer, auth headers read from environment
variables named in `data.http.headers_env`, and retries with exponential backoff on 429, 5xx,
timeouts and refused connections (a Retry-After header is honoured, up to 30 s). After the last
retry the error says what happened and what to change. 401/403 are not retried: they need
credentials, not patience."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pandas as pd

from fullcycle.config import HttpConfig
from fullcycle.data.sql import expand_env, mask_url
from fullcycle.errors import ConfigError, DataError, SourceError

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0


def _headers(cfg: HttpConfig) -> dict[str, str]:
    headers = {"Accept": "application/json, text/html;q=0.9, */*;q=0.5",
               "User-Agent": "fullcycle"}
    for header, var in cfg.headers_env.items():
        if var not in os.environ:
            raise ConfigError(f"data.http.headers_env.{header} names the environment variable "
                              f"{var}, which is not set; export it before running")
        headers[header] = os.environ[var]
    return headers


def _wait(cfg: HttpConfig, attempt: int, response: Any = None) -> None:
    delay = cfg.backoff * (2 ** attempt)
    if response is not None:
        after = response.headers.get("Retry-After", "")
        if after.replace(".", "", 1).isdigit():
            delay = max(delay, min(float(after), MAX_RETRY_AFTER))
    time.sleep(delay)


def fetch(client: Any, url: str, params: dict[str, Any], cfg: HttpConfig) -> Any:
    """GET with retries; returns a 2xx response or raises a SourceError that says why."""
    import httpx

    where = mask_url(url)
    attempts = cfg.retries + 1
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            response = client.get(url, params=params or None)
        except httpx.TimeoutException:
            if last:
                raise SourceError(f"{where}: no answer within {cfg.timeout:g} s (tried {attempts} "
                                  "times); raise data.http.timeout or check that the server is "
                                  "up") from None
            _wait(cfg, attempt)
            continue
        except httpx.TransportError as exc:
            if last:
                raise SourceError(f"cannot connect to {where} ({type(exc).__name__}: {exc}; tried "
                                  f"{attempts} times); check the URL and that the server is "
                                  "up") from None
            _wait(cfg, attempt)
            continue
        status = response.status_code
        if status < 300:
            return response
        if status in RETRY_STATUS and not last:
            _wait(cfg, attempt, response)
            continue
        raise _status_error(where, response, cfg, attempts if status in RETRY_STATUS else 1)
    raise AssertionError("unreachable")  # the loop returns or raises


def _status_error(where: str, response: Any, cfg: HttpConfig, attempts: int) -> SourceError:
    status, reason = response.status_code, response.reason_phrase
    if status in (401, 403):
        if cfg.headers_env:
            sent = ", ".join(f"{h} from ${v}" for h, v in cfg.headers_env.items())
            return SourceError(f"{where}: HTTP {status} {reason}; the API refused the credentials "
                               f"sent ({sent}); check the variable's value")
        return SourceError(f"{where}: HTTP {status} {reason}; the API needs credentials: set "
                           "data.http.headers_env (e.g. {Authorization: API_TOKEN}) and export the "
                           "variable")
    if status in RETRY_STATUS:
        return SourceError(f"{where}: HTTP {status} {reason} after {attempts} attempts; the server "
                           "is failing or rate-limiting: try later or raise data.http.retries")
    return SourceError(f"{where}: HTTP {status} {reason}; check the URL and its parameters")


def _client(cfg: HttpConfig) -> Any:
    import httpx

    return httpx.Client(headers=_headers(cfg), timeout=cfg.timeout, follow_redirects=True)


def _is_html(response: Any, cfg: HttpConfig) -> bool:
    if cfg.format != "auto":
        return cfg.format == "html"
    return "html" in response.headers.get("Content-Type", "").lower()


def _dig(payload: Any, path: str) -> Any:
    for key in path.split("."):
        if isinstance(payload, dict) and key in payload:
            payload = payload[key]
        elif isinstance(payload, list) and key.lstrip("-").isdigit():
            payload = payload[int(key)]
        else:
            return None
    return payload


def records_of(payload: Any, path: str | None, where: str) -> list[dict[str, Any]]:
    """The list of records in a JSON answer: at `path`, or the answer itself, or its only
    list-valued key."""
    found = _dig(payload, path) if path else payload
    if found is None and path:
        top = sorted(payload) if isinstance(payload, dict) else []
        raise DataError(f"{where}: the JSON has nothing at records_path {path!r}; top-level keys: "
                        f"{top}")
    if path is None and isinstance(found, dict):
        lists = [k for k, v in found.items() if isinstance(v, list)]
        if len(lists) == 1:
            found = found[lists[0]]
    if not isinstance(found, list):
        kind: str = {dict: "an object", str: "a string", int: "a number", float: "a number",
                     bool: "a boolean"}.get(type(found), type(found).__name__)
        keys = f" with keys {sorted(found)[:20]}" if isinstance(found, dict) else ""
        raise DataError(f"{where}: the JSON is {kind}{keys}, not a list of records; set "
                        "data.http.records_path to the key that holds the records")
    bad = next((i for i, r in enumerate(found) if not isinstance(r, dict)), None)
    if bad is not None:
        raise DataError(f"{where}: record {bad} is a {type(found[bad]).__name__}, not an object; "
                        "each record must be a JSON object of column: value")
    return found


def records_frame(payload: Any, path: str | None, where: str) -> pd.DataFrame:
    return pd.json_normalize(records_of(payload, path, where))


def _json(response: Any, where: str) -> Any:
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "unknown")
        raise DataError(f"{where}: the answer is not JSON (Content-Type {kind}); for a web page "
                        "with tables set data.http.format: html") from None


def _next_request(url: str, response: Any, payload: Any, cfg: HttpConfig, page: int,
                  got: int) -> tuple[str, dict[str, Any]] | None:
    """Where the next page is, or None when this was the last."""
    size = {cfg.size_param: cfg.page_size} if cfg.size_param else {}
    full = got >= cfg.page_size if cfg.size_param else got > 0
    if cfg.pagination == "page":
        return (url, {cfg.page_param: cfg.first_page + page + 1, **size}) if full else None
    if cfg.pagination == "offset":
        return (url, {cfg.offset_param: (page + 1) * cfg.page_size, **size}) if full else None
    if cfg.pagination == "cursor":
        cursor = _dig(payload, cfg.cursor_path)
        return (url, {cfg.cursor_param: cursor, **size}) if cursor not in (None, "") else None
    if cfg.pagination == "next_link":
        link = _dig(payload, cfg.next_path) if isinstance(payload, dict) else None
        link = link or response.links.get("next", {}).get("url")
        return (str(response.url.join(link)), {}) if link else None
    return None


def _first_params(cfg: HttpConfig) -> dict[str, Any]:
    size = {cfg.size_param: cfg.page_size} if cfg.size_param else {}
    if cfg.pagination == "page":
        return {cfg.page_param: cfg.first_page, **size}
    if cfg.pagination == "offset":
        return {cfg.offset_param: 0, **size}
    return size if cfg.pagination in ("cursor", "next_link") else {}


def iter_http(location: str, cfg: HttpConfig) -> Iterator[pd.DataFrame]:
    """Pages of records (one frame per page), or the chosen table of an HTML page."""
    url = expand_env(location)
    where = mask_url(location)
    with _client(cfg) as client:
        request: tuple[str, dict[str, Any]] | None = (url, _first_params(cfg))
        for page in range(cfg.max_pages):
            if request is None:
                return
            response = fetch(client, request[0], request[1], cfg)
            if _is_html(response, cfg):
                yield html_table(response.text, cfg, where)
                return
            payload = _json(response, where)
            records = records_of(payload, cfg.records_path, where)
            if records:
                yield pd.json_normalize(records)
            if cfg.pagination == "none":
                return
            request = _next_request(url, response, payload, cfg, page, len(records))
    raise SourceError(f"{where}: still more pages after data.http.max_pages={cfg.max_pages}; "
                      "raise it or check the pagination settings")


def read_http(location: str, cfg: HttpConfig) -> pd.DataFrame:
    pages = list(iter_http(location, cfg))
    if not pages:
        raise DataError(f"{mask_url(location)}: the API returned no records")
    return pages[0] if len(pages) == 1 else pd.concat(pages, ignore_index=True)


def html_table(text: str, cfg: HttpConfig, where: str) -> pd.DataFrame:
    """One table of an HTML page: the `table_index`-th of those containing `table_match`."""
    try:
        tables = pd.read_html(StringIO(text), flavor="lxml", match=cfg.table_match or ".+")
    except ImportError:
        raise DataError(f"{where}: reading HTML tables needs lxml; install it with "
                        "pip install 'fullcycle[html]'") from None
    except ValueError:
        what = f"containing {cfg.table_match!r}" if cfg.table_match else "at all"
        raise DataError(f"{where}: no <table> {what} in the page; check data.http.table_match"
                        ) from None
    if cfg.table_index >= len(tables):
        raise DataError(f"{where}: data.http.table_index is {cfg.table_index} but the page has "
                        f"{len(tables)} matching table(s); use 0 to {len(tables) - 1}")
    frame = tables[cfg.table_index]
    if isinstance(frame.columns, pd.MultiIndex):
        frame.columns = [" ".join(str(p) for p in col if not str(p).startswith("Unnamed"))
                         for col in frame.columns]
    return frame
