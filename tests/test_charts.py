"""fullcycle.charts without a browser: each chart kind stamps the module's marker, says what its
marks mean (axes, colour scales, values, legends) and keeps long names inside its room. The
browser checks for clipped text are in test_pages_browser.py."""

from __future__ import annotations

import re

import numpy as np
import pytest

from fullcycle.charts import lazy, small, summary, svg
from fullcycle.tasks.unsupervised.profile import histogram_svg, scatter_svg

LONG = "a_categorical_feature_with_a_very_long_name = Month-to-month contract"
BOXES = [{"label": "No", "n": 50, "min": 0, "lo": 1, "q1": 2, "median": 3, "q3": 4, "hi": 6,
          "max": 9, "mean": 3.2},
         {"label": LONG, "n": 20, "min": 1, "lo": 2, "q1": 3, "median": 5, "q3": 6, "hi": 8,
          "max": 8, "mean": 4.9}]


def every_chart() -> dict[str, str]:
    return {
        "hbar": svg.hbar("a", "t", ["x", LONG], [0.2, 0.5], xlabel="share", fmt=svg.fmt_share,
                         show_values=True, ref=0.3),
        "histogram": svg.histogram_counts("b", "t", [0, 1, 2, 3], [5, 9, 2], xlabel="v"),
        "heatmap": svg.heatmap("c", "t", np.array([[1.0, -0.4], [-0.4, 1.0]]), ["a", "b"],
                               fmt="{:.2f}", diverging=True, limits=(-1, 1),
                               scale_label="correlation"),
        "boxes": summary.boxes("d", "t", BOXES, xlabel="tenure"),
        "category_line": summary.category_line("e", "t", [f"{i}.5–{i + 1}.5" for i in range(9)],
                                               [1, 2, 3, None, 5, 4, 3, 2, 1], ylabel="mean y",
                                               counts=[10] * 9, ref=2.5),
        "stacked": summary.stacked_hbar("f", "t", ["p", LONG], ["red", "green", "blue"],
                                        [[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]], counts=[10, 20]),
        "trend": summary.trend("g", "t", [19000.0, 19030.0, 19060.0], [5, 7, 9],
                               [{"name": "mean y", "values": [1, 2, None]},
                                {"name": "mean x", "values": [10, 5, 7]}]),
        "overlay": small.overlay({"reference": [0.4, 0.6], "current": [0.5, 0.5],
                                  "labels": ["No", "Yes"]}),
        "anomaly": histogram_svg(np.linspace(0, 1, 50), 0.9),
        "clusters": scatter_svg(np.arange(20.0).reshape(10, 2), np.array([0, 1] * 5),
                                {0: "cluster 0", 1: "cluster 1"}),
    }


@pytest.mark.parametrize("kind", list(every_chart()))
def test_every_chart_is_stamped_and_draws_marks(kind: str) -> None:
    chart = every_chart()[kind]
    tags = re.findall(r"<svg[^>]*>", chart)
    assert tags and all(svg.MARKER in tag for tag in tags), tags
    assert 'class="mark' in chart
    # every text stays within the chart's width: the x of a start-anchored text plus its
    # estimated width, the x of an end-anchored text, are inside
    width = float(re.search(r'width="(\d+)"', tags[0]).group(1))  # type: ignore[union-attr]
    for x, text in re.findall(r'<text x="([\d.-]+)"[^>]*>(?:<title>[^<]*</title>)?([^<]*)<',
                              chart):
        assert -1 <= float(x) <= width + 1, (kind, x, text)


def test_heatmap_has_a_colour_scale_and_values() -> None:
    chart = every_chart()["heatmap"]
    assert ">correlation</text>" in chart  # the scale's name
    assert [t for t in ("-1", "-0.5", "0", "0.5", "1") if f">{t}</text>" in chart] == \
        ["-1", "-0.5", "0", "0.5", "1"]  # its ticks
    assert chart.count(">-0.40</text>") == 2 and chart.count(">1.00</text>") == 2
    lower = svg.heatmap("c", "t", np.array([[0.5]]), ["b"], col_labels=["a"], lower=True)
    assert lower.count('class="mark"') == 1


def test_hbar_says_where_its_axis_and_reference_are() -> None:
    chart = every_chart()["hbar"]
    assert "Dashed line: overall 30.0%" in chart and ">50.0%</text>" in chart
    narrow = svg.hbar("s", "scores", ["a", "b"], [0.824, 0.848], xlabel="auc", zero=None)
    assert "Axis starts at 0.82, not 0" in narrow
    assert svg.share_ticks(0, 0.002, 4)(0.0005) == "0.05%"


def test_labels_are_shortened_with_the_full_name_on_hover() -> None:
    chart = every_chart()["stacked"]
    assert f"<title>{LONG}</title>" in chart and "…" in chart
    for name in ("red", "green", "blue"):
        assert f">{name}</text>" in chart  # the legend names each class


def test_lazy_slot_keeps_the_chart_in_a_template() -> None:
    chart = every_chart()["boxes"]
    slot = lazy.slot(chart)
    assert slot.startswith('<div class="chart-slot" data-plot><template><figure')
    assert lazy.slot("") == ""
    assert "fullcycleCharts" in lazy.SCRIPT and ".chart-slot" in lazy.SCRIPT
