"""Where a model came from: code version (package + git commit), the locked environment,
Python and platform; and secret masking, so nothing recorded about a run leaks a password."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from fullcycle import __version__

TRACKED = ("fullcycle", "numpy", "pandas", "scikit-learn", "lightgbm", "xgboost-cpu", "xgboost",
           "catboost", "optuna", "mlflow", "scipy", "joblib", "pyarrow")
MASK = "***"
# Keys whose values are secrets. Keys ending in `_env` name an environment variable that holds
# a secret (e.g. serve.api_keys_env); the name itself is not secret and is useful to keep.
SECRET_KEY = re.compile(r"pass(word|wd)?|token|secret|key|credential|auth", re.IGNORECASE)
URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)(?P<pw>[^@/\s]*)@")
QUERY_SECRET = re.compile(
    r"(?P<head>[?&;](?:[^=&;#\s]*(?:pass(?:word|wd)?|token|secret|key|credential|sig)"
    r"[^=&;#\s]*)=)(?P<value>[^&;#\s]*)", re.IGNORECASE)
PACKAGE_ROOT = Path(__file__).resolve().parent


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(key)) and not key.lower().endswith("_env")


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
_ENV_REF = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def split_credentials(url: str) -> tuple[str, str, str | None, str] | None:
    """(`scheme://`, user, password or None, `@host...`) of a URL with a userinfo part, parsed
    the way a person writes it: the userinfo ends at the LAST '@' of the authority, so a
    password with an unencoded '@' (or '/') is taken whole. None without a userinfo."""
    scheme, sep, rest = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return None
    at = _userinfo_end(rest)
    if at < 0:
        return None
    user, colon, password = rest[:at].partition(":")
    return scheme + sep, user, password if colon else None, rest[at:]


def _userinfo_end(rest: str) -> int:
    """Index of the '@' that ends the userinfo in `rest` (after '://'), or -1."""
    at = -1
    colon = rest.find(":")
    first_at = rest.find("@")
    slash = rest.find("/")
    if first_at < 0:
        return -1
    if 0 <= slash < first_at and not (0 <= colon < slash):
        return -1  # an '@' in the path (or query), not a userinfo
    at = first_at
    while True:  # further '@' before the path still belong to the password
        slash = rest.find("/", at + 1)
        nxt = rest.find("@", at + 1, slash if slash >= 0 else len(rest))
        if nxt < 0:
            return at
        at = nxt


def mask_url(url: str) -> str:
    """One URL with its password (and secret-looking query values) replaced by ***. `${NAME}`
    references are kept: they are not secrets."""
    parts = split_credentials(url)
    if parts is not None:
        head, user, password, tail = parts
        if password and not _ENV_REF.fullmatch(password):
            url = f"{head}{user}:{MASK}{tail}"
    return QUERY_SECRET.sub(lambda m: m.group("head") + MASK, url)


def mask_text(text: str) -> str:
    """Hide the password of every URL in `text` and secret-looking query parameters."""
    text = _URL.sub(lambda m: mask_url(m.group(0)), text)
    return QUERY_SECRET.sub(lambda m: m.group("head") + MASK, text)


def mask_secrets(value: Any, key: str = "") -> Any:
    """A copy of a config-like tree with secrets replaced by '***' (dicts, lists, strings)."""
    if key and is_secret_key(key) and value not in (None, "", [], {}):
        return MASK
    if isinstance(value, dict):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=PACKAGE_ROOT, capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    return _git("rev-parse", "HEAD") or None


@lru_cache(maxsize=1)
def git_dirty() -> bool | None:
    """Whether the package's source tree has uncommitted changes (None outside a repo)."""
    if git_commit() is None:
        return None
    status = _git("status", "--porcelain", "--untracked-files=no", "--", str(PACKAGE_ROOT))
    return None if status is None else bool(status)


def fullcycle_version() -> str:
    try:
        return metadata.version("fullcycle")
    except metadata.PackageNotFoundError:
        return __version__


def code_version() -> dict[str, Any]:
    """The code that trained a model: package version, and git commit when run from a repo."""
    return {"fullcycle": fullcycle_version(), "git_commit": git_commit(),
            "git_dirty": git_dirty(), "python": sys.version.split()[0]}


def package_versions() -> dict[str, str]:
    out = {}
    for name in TRACKED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


@lru_cache(maxsize=1)
def installed_packages() -> str:
    """`pip freeze`-like list of every distribution in this environment (what actually ran)."""
    names = set()
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            names.add(f"{name}=={dist.version}")
    return "\n".join(sorted(names, key=str.lower)) + "\n"


def lock_file() -> Path | None:
    """The project's requirements.lock when fullcycle runs from its source tree."""
    for parent in PACKAGE_ROOT.parents[:3]:
        candidate = parent / "requirements.lock"
        if candidate.is_file():
            return candidate
    return None


def pinned_requirements(extra: tuple[str, ...] = ()) -> list[str]:
    """Pins for the MLflow model's requirements.txt, from the running environment. Passing them
    explicitly spares MLflow its ~4 s requirement inference."""
    wanted = ("fullcycle", "scikit-learn", "pandas", "numpy", "joblib", "pyarrow", "scipy",
              *extra)
    pins = []
    for name in dict.fromkeys(wanted):
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def environment_record() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "packages": package_versions(), "git_commit": git_commit()}
