"""The monitoring report's and dashboard's charts: fullcycle.charts.small (one chart module for
every page)."""

from fullcycle.charts.small import CUR_COLOR, REF_COLOR, bar_chart, line_chart, overlay

__all__ = ["CUR_COLOR", "REF_COLOR", "bar_chart", "line_chart", "overlay"]
