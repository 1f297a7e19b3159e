"""The EDA report: through the real CLI, opened in headless Chromium, and at 500 columns."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, cli, open_page

from fullcycle.data.sources import read_source
from fullcycle.explore.report import SECTIONS, build_report

TELCO = Path(__file__).parent.parent / "src" / "fullcycle" / "datasets" / "telco_churn.csv"


def check_in_browser(browser, report: Path, shot: Path, column: str) -> object:
    page, errors = open_page(browser, report.as_uri(), shot)
    assert errors == []
    for sid, _ in SECTIONS:
        assert page.locator(f"section#{sid}").count() == 1, sid
    sizes = page.eval_on_selector_all(
        ".plot svg", "els => els.map(e => e.getBoundingClientRect().width * "
        "e.getBoundingClientRect().height)")
    assert sizes and min(sizes) > 0  # the overview's plots are drawn on load
    # Searching opens the matching column; its plots are drawn then, and have hover tooltips.
    before = len(sizes)
    page.fill("#search", column.lower())
    page.wait_for_timeout(200)
    section = page.locator(f'details.col-section[data-name="{column.lower()}"]')
    assert section.evaluate("e => e.open")
    assert section.locator(".plot svg").count() >= 1
    assert page.locator(".plot svg").count() > before
    mark = section.locator(".plot svg [data-tip]").first
    mark.hover()
    assert page.locator(".chart-tip").is_visible()
    assert page.locator(".chart-tip").inner_text().strip()
    assert page.locator(".col-section:visible").count() < page.locator(".col-section").count()
    page.locator(f'details.col-section[data-name="{column.lower()}"]').screenshot(
        path=str(shot.with_name(shot.stem + "-column.png")))
    return page


def test_churn_report_through_cli_in_chromium(browser, artifacts_dir, tmp_path):
    result = cli("explore", str(DATA / "churn_small.csv"), "--target", "Churn",
                 "--workspace", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    report = tmp_path / "reports" / "eda.html"
    assert str(report) in result.stdout.replace("\n", "")
    assert "TotalCharges" in result.stdout and "customerID" in result.stdout  # warnings table
    html = report.read_text()
    # nothing to fetch, so it works offline: no external script, style, image or import
    # (url(#id) names a gradient inside the page)
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//|<link|@import|url\((?!#)", html)
    check_in_browser(browser, report, artifacts_dir / "eda-churn.png", "tenure")


def test_ames_report_in_chromium(browser, artifacts_dir, tmp_path):
    result = cli("explore", str(DATA / "ames_small.csv"), "--target", "SalePrice",
                 "--workspace", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    report = tmp_path / "reports" / "eda.html"
    assert "PoolQC" in report.read_text()
    page = check_in_browser(browser, report, artifacts_dir / "eda-ames.png", "GrLivArea")
    warnings = page.locator("section#warnings").inner_text()
    for column in ("PoolQC", "Alley", "Fence"):
        assert re.search(rf"{column}\s+na means absent", warnings), column
    page.locator("section#correlations details").first.evaluate("e => e.open = true")
    assert page.locator("section#correlations svg.fc-chart rect.mark").count() > 100
    page.locator("section#correlations").screenshot(path=str(artifacts_dir / "eda-ames-corr.png"))


def test_telco_report_stays_small(tmp_path):
    out = tmp_path / "eda.html"
    analysis = build_report(read_source(str(TELCO)), out, "Churn", source=str(TELCO))
    assert analysis.rows == 7043
    assert out.stat().st_size < 5_000_000
    assert {("stored_as_text", "TotalCharges"), ("identifier", "customerID")} <= {
        (f.kind, f.column) for f in analysis.findings}


def test_500_columns_lazy_and_searchable(browser, artifacts_dir, tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    cols = {f"num_{i:03d}": rng.normal(size=n) for i in range(300)}
    cols |= {f"cat_{i:03d}": rng.choice(["a", "b", "c"], n) for i in range(199)}
    frame = pd.DataFrame(cols).assign(target=rng.integers(0, 2, n))
    out = tmp_path / "eda.html"
    build_report(frame, out, "target")
    page, errors = open_page(browser, out.as_uri(), artifacts_dir / "eda-500-columns.png")
    assert errors == []
    assert page.locator(".col-section").count() == 500
    # Lazy: closed column sections have no plot drawn until opened.
    assert page.locator(".col-section .plot svg").count() == 0
    page.fill("#search", "cat_01")
    page.wait_for_timeout(100)
    assert page.locator(".col-section:visible").count() == 10  # cat_010 … cat_019
    assert page.locator("#search-count").inner_text() == "10 of 500 columns"
    page.click("#expand-all")
    page.wait_for_timeout(100)
    assert page.locator(".col-section .plot svg").count() == 20  # 10 columns × 2 plots
    assert errors == []


def test_charts_come_from_the_chart_module(tmp_path):
    """Every chart of the EDA report is SVG drawn by fullcycle.charts (its class on each <svg>),
    kept in a <template> until its section opens; heatmaps carry a colour scale and values."""
    out = tmp_path / "eda.html"
    frame = read_source(str(DATA / "titanic.csv"))
    frame["Boarded"] = pd.date_range("1912-04-01", periods=len(frame), freq="h")
    build_report(frame, out, "Survived")
    html = out.read_text()
    assert 'id="plot-data"' not in html  # no JSON specs for a second renderer
    svgs = re.findall(r"<svg[^>]*>", html)
    assert len(svgs) >= 15 and all('class="fc-chart"' in tag for tag in svgs), svgs[:3]
    slots = re.findall(r'<div class="chart-slot" data-plot><template><figure class="plot"', html)
    assert len(slots) == len(svgs)
    kinds = {"histogram": r"distribution of Age", "bars": r"most frequent values of Embarked",
             "box": r"Age by Survived class", "rate": r"share of Survived = 1 per Sex",
             "heatmap": r"Pearson correlation", "trend": r"means per period of Boarded"}
    for kind, title in kinds.items():
        assert re.search(rf'aria-label="{title}', html), kind
    pearson = html[html.index('aria-label="Pearson correlation'):]
    pearson = pearson[:pearson.index("</svg>")]
    assert ">correlation</text>" in pearson  # the colour scale's name, with its ticks -1..1
    assert re.search(r'class="tick"[^>]*>-1</text>', pearson)
    values = re.findall(r'class="cell(?:-s)?(?: on)?">(-?\.\d\d|1\.00)</text>', pearson)
    assert len(values) >= 3  # a value in each drawn cell


@pytest.mark.parametrize("target", [None, "Survived"])
def test_report_without_browser(tmp_path, target):
    out = tmp_path / "eda.html"
    build_report(read_source(str(DATA / "titanic.csv")), out, target)
    html = out.read_text()
    for sid, _ in SECTIONS:
        assert f'<section id="{sid}">' in html
    assert "Cabin" in html and "77.1% of rows" in html
    assert ("No target given" in html) == (target is None)


def test_project_explore_reads_the_raw_source(tmp_path):
    from fullcycle.config import Config
    from fullcycle.project import Project

    config = Config.from_dict({"data": {"source": str(DATA / "titanic.csv"),
                                        "target": "Survived"}})
    path = Project(config, tmp_path).explore()
    assert path == tmp_path.resolve() / "reports" / "eda.html"
    assert "Survived" in path.read_text() and "roc_auc" in path.read_text()


def test_project_explore_of_a_loaded_dataset_reuses_its_version(tmp_path):
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    from fullcycle.project import Project

    frame = read_source(str(DATA / "titanic.csv"))
    dataset = Dataset.from_frame(pd.concat([frame, frame.iloc[:3]]), target="Survived")
    config = Config.from_dict({"data": {"target": "Survived"}})
    html = Project(config, tmp_path).explore(dataset).read_text()
    assert dataset.fingerprint in html
    assert "after fullcycle's cleaning" in html and "3 duplicate rows" in html
