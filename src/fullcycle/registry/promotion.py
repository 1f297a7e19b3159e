"""Aliases and their history: promote, roll back, and who/when/why for every move.

Each move is written as a registered-model tag `fullcycle.history.<ms>-<pid>` holding JSON
(alias, version, previous, kind, by, at, reason) *before* the alias moves, then the alias moves
(after the version was verified loadable), then the version gets summary tags
(`champion_since`, `champion_by`, `champion_reason`, `previous_champion`). A process killed
between the history write and the alias move leaves a history entry for a move that did not
happen, which readers ignore: they follow the alias, and rollback follows the chain of
entries that match the current alias holder."""

from __future__ import annotations

import getpass
import json
import os
import time
from pathlib import Path
from typing import Any

from fullcycle.errors import ModelError, RegistryError

PAUSE_ENV = "FULLCYCLE_TEST_PAUSE_AT"  # test hook: see _test_pause

HISTORY_PREFIX = "fullcycle.history."


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def history(registry: Any, alias: str | None = None) -> list[dict[str, Any]]:
    """Alias moves, oldest first (optionally for one alias)."""
    from mlflow.exceptions import MlflowException

    try:
        rm = registry.client.get_registered_model(registry.model_name)
    except MlflowException:
        return []
    events = []
    for key, value in rm.tags.items():
        if key.startswith(HISTORY_PREFIX):
            try:
                event = json.loads(value)
            except json.JSONDecodeError:
                continue
            if alias is None or event.get("alias") == alias:
                events.append(event)
    return sorted(events, key=lambda e: e.get("seq", ""))


def move_alias(registry: Any, alias: str, version: str, *, reason: str, kind: str = "promote",
               by: str | None = None, verify: bool = True) -> dict[str, Any]:
    """Point `alias` at `version` after checking its artifact, recording the move."""
    version = str(version)
    if verify:
        registry.load(version)  # verify the artifact before any alias can point at it
    previous = registry.alias_version(alias)
    seq = f"{int(time.time() * 1000):015d}-{os.getpid()}"
    event = {"seq": seq, "alias": alias, "version": version, "previous": previous,
             "kind": kind, "by": by or _user(), "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
             "reason": reason}
    client = registry.client
    client.set_registered_model_tag(registry.model_name, HISTORY_PREFIX + seq,
                                    json.dumps(event)[:4900])
    _test_pause("aliasing")
    client.set_registered_model_alias(registry.model_name, alias, version)
    name = registry.model_name
    client.set_model_version_tag(name, version, f"{alias}_since", event["at"])
    client.set_model_version_tag(name, version, f"{alias}_by", event["by"])
    client.set_model_version_tag(name, version, f"{alias}_reason", reason[:4000])
    if previous and previous != version:
        client.set_model_version_tag(name, version, f"previous_{alias}", previous)
    return event


def promote(registry: Any, ref: str, *, alias: str = "champion", reason: str = "promoted",
            by: str | None = None) -> dict[str, Any]:
    version = registry.resolve_version(ref)
    registry.checked_version(version)
    return move_alias(registry, alias, version, reason=reason, kind="promote", by=by)


def rollback_target(registry: Any, alias: str = "champion") -> tuple[str, str]:
    """(current, previous) for `alias`: the version it held before the current holder got it
    by a promotion or training (not by a rollback), so repeated rollbacks walk back in time."""
    current = registry.alias_version(alias)
    if current is None:
        raise RegistryError(f"no version holds the alias {alias!r}; nothing to roll back")
    for event in reversed(history(registry, alias)):
        if event.get("version") == current and event.get("kind") != "rollback":
            previous = event.get("previous")
            if previous and previous != current:
                return current, str(previous)
            break
    raise RegistryError(f"version {current} is the first {alias} on record; there is no earlier "
                        f"{alias} to roll back to (use `fullcycle models promote VERSION`)")


def rollback(registry: Any, *, alias: str = "champion", reason: str = "rollback",
             by: str | None = None) -> dict[str, Any]:
    current, previous = rollback_target(registry, alias)
    try:
        registry.checked_version(previous)
    except ModelError as exc:
        raise RegistryError(f"cannot roll {alias} back from {current} to {previous}: {exc}") \
            from None
    return move_alias(registry, alias, previous, reason=reason, kind="rollback", by=by)


def _test_pause(stage: str) -> None:
    """Test hook for the kill test: with FULLCYCLE_TEST_PAUSE_AT=<stage>:<marker file>, write the
    marker and sleep at that stage of registration so the test can SIGKILL the process there."""
    spec = os.environ.get(PAUSE_ENV, "")
    if not spec.startswith(f"{stage}:"):
        return
    Path(spec.split(":", 1)[1]).write_text(str(os.getpid()))
    time.sleep(120)
