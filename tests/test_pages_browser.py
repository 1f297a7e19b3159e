"""Every HTML page fullcycle makes, opened in headless Chromium with the network cut off: the
EDA, evaluation and monitoring reports, the live /dashboard and the API's /docs. Each page is
screenshotted (test-artifacts/pages/, the source of docs/images/) and checked for text that
its chart or box clips, and the chart gallery of fullcycle.charts is checked the same way."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import numpy as np
import pytest
from conftest import ARTIFACTS, DATA, cli, open_page, start_server

SHOTS = ARTIFACTS / "pages"
# the fixture trains, explores, evaluates and monitors through the real CLI first
pytestmark = pytest.mark.timeout(900)

# Text that sticks out of the SVG that draws it, or out of a box that hides its overflow.
CLIPPED_JS = """() => {
  const bad = [];
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;  // not shown (a closed section)
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.width === 0 || !t.textContent.trim()) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
          r.bottom > box.bottom + 1) bad.push('svg: ' + t.textContent.slice(0, 60));
    }
  }
  for (const el of document.querySelectorAll('body *')) {
    const cs = getComputedStyle(el);
    if ((cs.overflowX === 'hidden' || cs.overflowX === 'clip') && cs.textOverflow !== 'ellipsis'
        && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 2 && el.children.length === 0
        && el.textContent.trim()) bad.push('box: ' + el.textContent.slice(0, 60));
  }
  return bad;
}"""

OPEN_ALL_JS = """async () => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  for (let y = 0; y < document.body.scrollHeight; y += 600) {
    window.scrollTo(0, y); await new Promise(r => setTimeout(r, 30));
  }
  window.scrollTo(0, 0);
}"""


def _offline(page: Any) -> list[str]:
    """Refuse every request that leaves the machine; return the refused URLs."""
    refused: list[str] = []

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(("file:", "data:", "http://127.0.0.1", "about:")):
            request_route.continue_()
        else:
            refused.append(url)
            request_route.abort()

    page.route("**/*", route)
    return refused


def check_page(browser: Any, url: str, name: str, *, full: bool = True) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    refused = _offline(page)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url, wait_until="load")
    page.evaluate(OPEN_ALL_JS)
    page.wait_for_timeout(500)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-full.png"), full_page=full)
    page.screenshot(path=str(SHOTS / f"{name}.jpg"), type="jpeg", quality=70)  # docs/images
    clipped = page.evaluate(CLIPPED_JS)
    assert not clipped, f"{name}: clipped text: {clipped[:10]}"
    assert not errors, f"{name}: script errors: {errors}"
    assert not refused, f"{name}: needs the network: {refused}"
    return page


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("pages")
    rows = (DATA / "churn_small.csv").read_text().splitlines()
    (root / "data.csv").write_text("\n".join(rows[:501]) + "\n")
    ws = str(root / "ws")
    # one process for the whole cycle: EDA, training, evaluation, batch scoring, drift report
    (root / "fullcycle.yaml").write_text(
        "project: pages\ndata:\n  source: data.csv\n  target: Churn\n"
        "train:\n  max_trials: 2\n")
    result = cli("run", "fullcycle.yaml", "-w", ws, cwd=root, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return SimpleNamespace(root=root, ws=Path(ws))


def test_reports(browser: Any, project: SimpleNamespace) -> None:
    reports = project.ws / "reports"
    for name in ("eda", "evaluation", "monitoring"):
        page = check_page(browser, (reports / f"{name}.html").as_uri(), name)
        assert page.locator("svg .mark, svg rect, svg polyline").count() > 0, name
        page.close()


def test_dashboard_and_docs_offline(browser: Any, project: SimpleNamespace) -> None:
    server = start_server(project.ws)
    try:
        frame_rows = (project.root / "data.csv").read_text().splitlines()
        header, first = frame_rows[0].split(","), frame_rows[1].split(",")
        record = {k: v for k, v in zip(header, first, strict=True) if k != "Churn"}
        for _ in range(3):
            httpx.post(f"{server.url}/predict", json=[record], timeout=30)
        page = check_page(browser, f"{server.url}/dashboard", "dashboard")
        assert "ensemble of" in page.content() or page.locator("#model-card").count() == 1
        page.close()
        docs = check_page(browser, f"{server.url}/docs", "docs", full=False)
        docs.wait_for_selector(".swagger-ui .info", timeout=30_000)  # Swagger UI drew itself
        assert docs.locator(".opblock").count() >= 3  # the routes are listed
        docs.screenshot(path=str(SHOTS / "docs.jpg"), type="jpeg", quality=70)
        docs.close()
    finally:
        server.stop()
    if os.environ.get("FULLCYCLE_UPDATE_SCREENSHOTS"):  # refresh docs/images from this run
        images = Path(__file__).parent.parent / "docs" / "images"
        images.mkdir(parents=True, exist_ok=True)
        for shot in SHOTS.glob("*.jpg"):
            shutil.copy(shot, images / shot.name)


def test_chart_gallery_has_no_clipped_text(browser: Any, tmp_path: Path) -> None:
    """Long names, narrow score ranges, signed matrices: the cases that used to clip."""
    from fullcycle.charts import small, summary, svg

    long = "a_categorical_feature_with_a_very_long_name = Month-to-month contract"
    parts = [
        svg.hbar("scores", "Cross-validated ROC-AUC of every candidate the search scored, "
                 "with the spread over the folds", ["lightgbm", long, "linear"],
                 [0.848, 0.836, 0.824], xlabel="roc_auc", errors=[0.01, 0.02, 0.01], zero=None),
        svg.heatmap("corr", "Correlation", np.array([[1, -0.8], [-0.8, 1]]),
                    [long, "tenure"], fmt="{:.2f}", diverging=True, scale_label="correlation"),
        svg.line_chart("lc", "Learning curve", [{"x": [100, 200, 400], "y": [0.8, 0.82, 0.83],
                                                 "label": long}], xlabel="rows", ylabel="auc"),
        small.overlay({"reference": [0.5, 0.5], "current": [0.2, 0.8],
                       "labels": [long, "Two year"]}),
        small.line_chart(["2026-01-01", "2026-01-02"], {"live roc_auc": [0.848, 0.848]},
                         reference=0.848),
        small.bar_chart(["10:00", "11:00"], [3, 5]),
        # the EDA report's kinds, at the width of a column section
        summary.boxes("box", f"{long} by Churn class", [
            {"label": "No", "n": 5, "min": 0, "lo": 1, "q1": 2, "median": 3, "q3": 4, "hi": 6,
             "max": 9, "mean": 3.2},
            {"label": long, "n": 2, "min": 1, "lo": 2, "q1": 3, "median": 5, "q3": 6, "hi": 8,
             "max": 8, "mean": 4.9}], xlabel="tenure", width=340),
        summary.category_line("bins", f"mean Churn per bin of {long}",
                              [f"{i * 1000.5:.1f}–{(i + 1) * 1000.5:.1f}" for i in range(10)],
                              [0.1 * i for i in range(10)], ylabel="mean Churn", ref=0.4,
                              width=340),
        summary.stacked_hbar("stack", "classes", ["p", long], [long, "green", "blue"],
                             [[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]], width=340),
        summary.trend("trend", "means per period", [19000.0, 19030.0, 19060.0], [5, 7, 9],
                      [{"name": f"mean {long}", "values": [1, 2, None]},
                       {"name": "mean x", "values": [10, 5, 7]}], width=340),
        svg.heatmap("cramer", "Cramér's V", np.full((12, 12), 0.3),
                    [f"{long}_{i}" for i in range(12)], fmt="{:.2f}", limits=(0, 1),
                    xlabel="", ylabel="", lower=True),
    ]
    page_file = tmp_path / "gallery.html"
    page_file.write_text(f"<html><head><style>{svg.CSS}</style></head><body>{''.join(parts)}"
                         "</body></html>")
    page, errors = open_page(browser, page_file.as_uri(), screenshot=SHOTS / "gallery.png")
    assert not errors
    assert page.evaluate(CLIPPED_JS) == []
    # a ROC-AUC that never moved gets an axis inside [0, 1], not 0.348 .. 1.348
    ticks = [float(t) for t in page.locator("svg").nth(4).locator("text").all_text_contents()
             if t.replace(".", "", 1).isdigit()]
    assert ticks and min(ticks) >= 0 and max(ticks) <= 1
    page.close()
