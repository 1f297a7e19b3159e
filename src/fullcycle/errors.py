"""The exception tree. Every user-facing failure is one of these, with a message that says
what was wrong, where, and what to do. The CLI prints the message and exits 2; the server maps
the classes to HTTP status codes."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FullcycleError(Exception):
    """Base of every error fullcycle raises on purpose."""

    http_status = 400


class ConfigError(FullcycleError):
    """The configuration or a command-line option is wrong."""


class DataError(FullcycleError):
    """The data cannot be read or does not fit what the stage needs."""

    http_status = 422


class SourceError(DataError):
    """A data source (file, database, HTTP API) could not be reached or read."""


class ValidationError(DataError):
    """Data does not satisfy a model's data contract."""

    def __init__(self, message: str, violations: list[dict] | None = None) -> None:
        super().__init__(message)
        self.violations = violations or []


class ProblemError(FullcycleError):
    """The problem definition (target, task, metric) cannot be satisfied."""


class ModelError(FullcycleError):
    """A model cannot be trained, found, loaded or trusted."""

    http_status = 404


class IntegrityError(ModelError):
    """A stored artifact does not match its recorded checksum."""

    http_status = 409


class RegistryError(ModelError):
    """The model registry cannot answer the request."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint naming the closest valid choice and listing them all."""
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"{hint} Valid: {', '.join(choices)}."
