"""API keys and request size limits.

Keys come from an environment variable (comma-separated; its name is `serve.api_keys_env`) and/or
a file (`serve.api_keys_file`, one key per line, `#` comments). When at least one key is
configured, EVERY route but `/health` and `/ready` needs `Authorization: Bearer <key>` or
`X-API-Key: <key>` (`KeyGuard`, in front of the app: routes added later are covered too), including
`/metadata`, `/openapi.json`, `/docs`, `/dashboard` and `/explain`. `serve.open_metrics: true`
opens `/metrics` to a Prometheus scraper without a key. Keys are compared as SHA-256 digests with
`hmac.compare_digest`, against every configured key, so the time taken does not depend on how
much of a key was right.

`public_text` takes absolute paths out of any text an answer carries (error messages, the last
reload error): a client learns the file name, never the server's directory layout."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import re
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request

from fullcycle.errors import ConfigError


class ApiKeys:
    def __init__(self, keys: list[str]) -> None:
        self._digests = [hashlib.sha256(k.encode()).digest() for k in keys if k]

    @classmethod
    def load(cls, env_name: str | None, file: str | Path | None) -> ApiKeys:
        keys: list[str] = []
        if env_name:
            keys += [k.strip() for k in os.environ.get(env_name, "").split(",") if k.strip()]
        if file:
            path = Path(file)
            if not path.is_file():
                raise ConfigError(f"serve.api_keys_file {path} does not exist; create it with "
                                  "one key per line, or unset it")
            keys += [line.strip() for line in path.read_text().splitlines()
                     if line.strip() and not line.lstrip().startswith("#")]
        short = [k for k in keys if len(k) < 16]
        if short:
            raise ConfigError(f"{len(short)} API key(s) shorter than 16 characters; use long "
                              "random keys, e.g. `python -c 'import secrets; "
                              "print(secrets.token_urlsafe(32))'`")
        return cls(keys)

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def check(self, presented: str | None) -> bool:
        if not presented:
            return False
        digest = hashlib.sha256(presented.encode()).digest()
        ok = False
        for known in self._digests:
            ok |= hmac.compare_digest(digest, known)
        return ok


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def _unauthorized() -> HTTPException:
    return HTTPException(status_code=401, detail=[{
        "loc": ["header", "Authorization"], "type": "unauthorized",
        "msg": "missing or wrong API key; send `Authorization: Bearer <key>` or `X-API-Key`"}],
        headers={"WWW-Authenticate": "Bearer"})


def require_api_key(request: Request) -> None:
    """FastAPI dependency for prediction routes: `Depends(require_api_key)`. A no-op when no
    keys are configured. Reads the keys from `request.app.state.api_keys`."""
    keys: ApiKeys = request.app.state.api_keys
    if keys.enabled and not keys.check(presented_key(request)):
        raise _unauthorized()


def require_admin(request: Request) -> None:
    """Admin routes: a valid key when keys are configured; otherwise loopback clients only."""
    keys: ApiKeys = request.app.state.api_keys
    if keys.enabled:
        if not keys.check(presented_key(request)):
            raise _unauthorized()
        return
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise HTTPException(status_code=403, detail=[{
            "loc": ["header"], "type": "forbidden",
            "msg": "admin routes need an API key when called from another host; configure "
                   "keys (serve.api_keys_env / serve.api_keys_file)"}])


OPEN_PATHS = ("/health", "/ready")
_ABSOLUTE = re.compile(r"(?<![\w.:/])(?:[A-Za-z]:)?(?:/[^\s/'\"`;,)]+){2,}/?")


# sqlite:////abs/path.db and file:///abs/path: the lookbehind above keeps URLs whole, so these
# absolute paths inside URLs are shortened first.
_FILE_URL = re.compile(r"\b(sqlite:///|file://)(/[^\s'\"`;,)]+)")


def _last_part(path: str) -> str:
    return "…/" + path.rstrip("/").rsplit("/", 1)[-1]


def public_text(text: str) -> str:
    """`text` with every absolute path shortened to its last part (…/name)."""
    text = _FILE_URL.sub(lambda m: m.group(1) + _last_part(m.group(2)), text)
    return _ABSOLUTE.sub(lambda m: _last_part(m.group(0)), text)


class KeyGuard:
    """ASGI middleware: with API keys configured, refuse (401) every request without a valid
    key, except `OPEN_PATHS` (and `/metrics` when `open_metrics`). Keys are read from
    `app.state.api_keys` at each request."""

    def __init__(self, app: Any, open_metrics: bool = False) -> None:
        self.app = app
        self.open = set(OPEN_PATHS) | ({"/metrics"} if open_metrics else set())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in self.open or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        keys: ApiKeys | None = getattr(scope["app"].state, "api_keys", None) \
            if "app" in scope else None
        if keys is not None and keys.enabled and not keys.check(_header_key(scope)):
            body = json.dumps({"detail": _unauthorized().detail}).encode()
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()),
                                    (b"www-authenticate", b"Bearer")]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _header_key(scope: dict[str, Any]) -> str | None:
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    key = headers.get(b"x-api-key")
    return key.decode("latin-1") if key is not None else None


class BodyLimit:
    """ASGI middleware: answer 413 to bodies over the limit (by Content-Length, or counted
    while streaming when the client sends none). Upload routes get `upload_limit`."""

    def __init__(self, app: Any, limit: int, upload_limit: int,
                 upload_paths: tuple[str, ...] = ("/predict/file",)) -> None:
        self.app, self.limit, self.upload_limit = app, limit, upload_limit
        self.upload_paths = upload_paths

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"] in self.upload_paths else self.limit
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _too_large(send, limit)
                    return
        seen = 0
        started = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(send, limit)


class _TooLarge(Exception):
    pass


async def _too_large(send: Any, limit: int) -> None:
    body = (b'{"detail":[{"loc":["body"],"type":"too_large","msg":"request body over '
            + str(limit).encode() + b' bytes (serve.max_body_bytes / serve.max_upload_bytes)"}]}')
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
