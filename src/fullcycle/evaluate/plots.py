"""The evaluation report's charts: fullcycle.charts.svg (one chart module for every page)."""

from fullcycle.charts.svg import *  # noqa: F403
from fullcycle.charts.svg import CSS, Frame, fmt_tick, nice_ticks  # noqa: F401
