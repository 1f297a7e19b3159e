"""Exploration: the per-column profile (shared with monitoring) and the EDA report.

`build_report(frame, output, target)` writes the self-contained HTML report; `analyse` returns
the statistics behind it. They are imported lazily: monitoring and training import `profile`
without paying for the report's modules."""

from __future__ import annotations

from typing import Any

__all__ = ["Analysis", "analyse", "build_report", "profile_frame"]


def __getattr__(name: str) -> Any:
    if name in ("Analysis", "analyse"):
        from fullcycle.explore import analysis

        return getattr(analysis, name)
    if name == "build_report":
        from fullcycle.explore.report import build_report

        return build_report
    if name == "profile_frame":
        from fullcycle.explore.profile import profile_frame

        return profile_frame
    raise AttributeError(f"module 'fullcycle.explore' has no attribute {name!r}")
