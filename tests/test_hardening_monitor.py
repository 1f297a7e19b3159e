"""Monitoring reads the data-quality warnings the server logged (issue 18), over the real CLI:
`fullcycle serve` scores records and a file with blanks in a column that had none in training
(imputed, a `missing_imputed` warning per row), `fullcycle monitor` counts the logged warnings
per column and kind, shows them in its JSON, report and the dashboard, and alerts above
`monitor.warning_share`."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml
from conftest import cli, start_server
from serve_support import CHURN, churn_records, make_workspace

TIMEOUT = httpx.Timeout(120.0)
RECORDS, BLANK_RECORDS = 40, 10  # JSON records sent, of which the first have tenure blank
FILE_ROWS, BLANK_FILE_ROWS = 20, 5  # rows of the uploaded CSV, of which the first are blank


def _write_config(ws: Path, **monitor: float) -> None:
    (ws / "fullcycle.yaml").write_text(yaml.safe_dump({"monitor": monitor}))


def _wait_for_rows(ws: Path, rows: int) -> None:
    from fullcycle.monitor.predlog import read_log
    from fullcycle.workspace import Workspace

    url = Workspace(ws).prediction_log_url
    for _ in range(1200):  # the log writes off the request path
        if len(read_log(url)) >= rows:
            return
        time.sleep(0.1)
    raise AssertionError(f"the prediction log never reached {rows} rows")


@pytest.fixture(scope="module")
def served_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose prediction log holds traffic with blanks where training had none."""
    ws = make_workspace(tmp_path_factory.mktemp("monitor-warnings"))
    server = start_server(ws, env={"FULLCYCLE_API_KEYS": ""})
    try:
        records = churn_records(RECORDS)
        for record in records[:BLANK_RECORDS]:
            record["tenure"] = ""
        answer = httpx.post(server.url + "/predict", json=records, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        imputed = [w for w in answer.json()["warnings"] if w["type"] == "missing_imputed"]
        assert len(imputed) == BLANK_RECORDS
        frame = pd.read_csv(CHURN, dtype=str, keep_default_na=False).drop(columns=["Churn"])
        frame = frame.iloc[100:100 + FILE_ROWS].copy()
        frame.iloc[:BLANK_FILE_ROWS, frame.columns.get_loc("tenure")] = ""
        upload = httpx.post(server.url + "/predict/file", timeout=TIMEOUT, files={
            "file": ("new.csv", io.BytesIO(frame.to_csv(index=False).encode()), "text/csv")})
        assert upload.status_code == 200, upload.text
        _wait_for_rows(ws, RECORDS + FILE_ROWS)
        answer = httpx.get(server.url + "/dashboard.json", timeout=TIMEOUT)
        assert not re.search(r'"[^"]*/(tmp|home|work|root|var)/', answer.text)  # no path shown
        dashboard = answer.json()
        logged = dashboard["monitoring"]["warnings"]
        assert {"column": "tenure", "kind": "missing_imputed"}.items() <= \
            logged["counts"][0].items()
        assert logged["counts"][0]["count"] == BLANK_RECORDS + BLANK_FILE_ROWS
        page = httpx.get(server.url + "/dashboard", timeout=TIMEOUT).text
        assert 'id="warnings-table"' in page and "missing_imputed" in page
    finally:
        server.stop()
    return ws


def _monitor(ws: Path) -> tuple[int, dict]:
    result = cli("monitor", "--workspace", str(ws), "--json", timeout=600)
    assert result.returncode in (0, 1, 4, 5, 8, 9, 12, 13), result.stdout + result.stderr
    return result.returncode, json.loads(result.stdout)


def test_monitor_counts_logged_warnings_and_alerts(served_ws: Path) -> None:
    _write_config(served_ws, warning_share=0.2)  # 15 of 60 rows warned: 25% > 20%
    code, doc = _monitor(served_ws)
    logged = doc["warnings"]
    assert logged["rows"] == RECORDS + FILE_ROWS
    assert logged["warned_rows"] == BLANK_RECORDS + BLANK_FILE_ROWS
    tenure = [c for c in logged["counts"] if c["column"] == "tenure"]
    assert tenure == [{"column": "tenure", "kind": "missing_imputed",
                       "count": BLANK_RECORDS + BLANK_FILE_ROWS,
                       "share": (BLANK_RECORDS + BLANK_FILE_ROWS) / (RECORDS + FILE_ROWS)}]
    assert logged["by_kind"]["missing_imputed"] == BLANK_RECORDS + BLANK_FILE_ROWS
    alerts = [a for a in doc["alerts"] if a.get("check") == "logged_warnings"]
    assert len(alerts) == 1 and "tenure" in alerts[0]["message"]
    assert code & 4  # a quality alert
    html = (served_ws / "reports" / "monitoring.html").read_text()
    assert 'id="warnings-table"' in html and "missing_imputed" in html


def test_warning_threshold_is_configurable(served_ws: Path) -> None:
    _write_config(served_ws, warning_share=0.3)  # 25% of rows warned: no alert above 30%
    _, doc = _monitor(served_ws)
    assert doc["warnings"]["warned_rows"] == BLANK_RECORDS + BLANK_FILE_ROWS
    assert not [a for a in doc["alerts"] if a.get("check") == "logged_warnings"]


def test_a_monitored_file_has_no_logged_warnings(served_ws: Path, tmp_path: Path) -> None:
    recent = tmp_path / "recent.csv"
    pd.read_csv(CHURN).head(50).to_csv(recent, index=False)
    result = cli("monitor", "--workspace", str(served_ws), "--input", str(recent), "--json",
                 timeout=600)
    assert json.loads(result.stdout)["warnings"] is None, result.stderr


def test_counts_per_column_and_kind_and_the_threshold() -> None:
    """The counting itself, on a log window as `read_log_window` returns it."""
    from fullcycle.config import MonitorConfig
    from fullcycle.monitor.logged import count_warnings, logged_warnings

    imputed = {"column": "tenure", "type": "missing_imputed"}
    unseen = {"column": "gender", "type": "unseen_category"}
    window = pd.DataFrame({"warnings": [[imputed, unseen], None, [imputed], None]})
    window.attrs["prediction_log"] = True
    found = count_warnings(logged_warnings(window), 4, MonitorConfig(warning_share=0.5))
    assert found is not None
    assert (found["warned_rows"], found["warned_share"], found["alerts"]) == (2, 0.5, [])
    assert found["counts"] == [
        {"column": "tenure", "kind": "missing_imputed", "count": 2, "share": 0.5},
        {"column": "gender", "kind": "unseen_category", "count": 1, "share": 0.25}]
    assert found["by_kind"] == {"missing_imputed": 2, "unseen_category": 1}
    above = count_warnings(logged_warnings(window), 4, MonitorConfig(warning_share=0.49))
    assert above is not None and [a["check"] for a in above["alerts"]] == ["logged_warnings"]
    window.attrs.clear()  # rows from a file: nothing was logged
    assert count_warnings(logged_warnings(window), 4, MonitorConfig()) is None
