"""When monitoring should retrain by itself: `monitor.retrain_on` lists the kinds of alert
(drift, quality, performance) that trigger `fullcycle retrain` at the end of `fullcycle monitor`.
Retraining needs labelled rows; without enough of them the policy says so instead of training
on nothing."""

from __future__ import annotations

from typing import Any


def retrain_reasons(result: dict[str, Any], cfg: Any) -> list[str]:
    """The alert kinds that fired and that the policy retrains on (empty: do not retrain)."""
    fired = set(result.get("alert_kinds", []))
    return sorted(fired & set(cfg.retrain_on))
