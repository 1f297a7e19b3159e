"""Size and open time of the EDA report page (the Telco report and a 500-column report).

    PYTHONPATH=src .venv/bin/python bench/eda_pages.py [--label NAME]

Builds both reports in a temporary folder, then opens each in headless Chromium (Debian's
chromium, through Playwright) three times and reports the median of: the time to the `load`
event, and the time to open every section and draw all of its charts (lazy drawing). Prints one
JSON line per report."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from fullcycle.data.sources import read_source
from fullcycle.explore.report import build_report

TELCO = Path(__file__).resolve().parent.parent / "src/fullcycle/datasets/telco_churn.csv"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
# open every section, wait until each chart placeholder is drawn, then force a layout
OPEN_ALL = """async () => { const t0 = performance.now();
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  while (document.querySelector('[data-plot]:not([data-done])')) {
    await new Promise(r => setTimeout(r, 5));
  }
  document.body.getBoundingClientRect();
  return performance.now() - t0; }"""


def wide(path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 200
    cols = {f"num_{i:03d}": rng.normal(size=n) for i in range(300)}
    cols |= {f"cat_{i:03d}": rng.choice(["a", "b", "c"], n) for i in range(199)}
    build_report(pd.DataFrame(cols).assign(target=rng.integers(0, 2, n)), path, "target")


def timings(browser: object, path: Path, runs: int = 3) -> dict[str, float]:
    loads, opens = [], []
    for _ in range(runs):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore
        page.goto(path.as_uri(), wait_until="load")
        loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
        page.wait_for_timeout(300)
        opens.append(page.evaluate(OPEN_ALL))
        page.close()
    return {"load_ms": round(statistics.median(loads)), "open_all_ms":
            round(statistics.median(opens))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        telco, many = Path(tmp, "telco.html"), Path(tmp, "wide.html")
        build_report(read_source(str(TELCO)), telco, "Churn", source=str(TELCO))
        wide(many)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for name, path in (("telco", telco), ("500 columns", many)):
                print(json.dumps({"label": args.label, "report": name,
                                  "kb": round(path.stat().st_size / 1024, 1),
                                  **timings(browser, path)}))
            browser.close()


if __name__ == "__main__":
    main()
