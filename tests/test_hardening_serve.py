"""Hardening of the server, over real HTTP (issue 18): non-finite numbers are a 422 whose body
serialises, a missing value where training had none is imputed and counted as a data-quality
warning (response, /metrics, prediction log), API keys guard every route but the probes, no
answer carries an absolute path or a training row, and a hostile corpus answers 4xx."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Server, start_server
from serve_support import CHURN, churn_records, shared_workspace

KEY = "k" * 24 + "-hardening-test"
TIMEOUT = httpx.Timeout(120.0)  # generous: a busy CI machine must not fail these
NONFINITE_LITERALS = ("Infinity", "-Infinity", "1e400", "-1e400")
NONFINITE_STRINGS = ("1e400", "inf", "-Infinity", "Infinity", " +inf ")


@pytest.fixture(scope="module")
def log_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('hard-log') / 'log.db'}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, log_url: str) -> Iterator[Server]:
    env = {"FULLCYCLE_API_KEYS": ""}
    srv = start_server(shared_workspace(tmp_path_factory), "--log-url", log_url, env=env)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(shared_workspace(tmp_path_factory), "--no-log",
                       env={"FULLCYCLE_API_KEYS": KEY})
    yield srv
    srv.stop()


def _raw(record: dict, field: str, literal: str) -> bytes:
    """A JSON body whose `field` is the raw token `literal` (json.dumps cannot write 1e400)."""
    body = json.dumps({**record, field: "@@"})
    return body.replace('"@@"', literal).encode()


def _post(srv: Server, path: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(srv.url + path, content=body, timeout=TIMEOUT,
                      headers={"content-type": "application/json", **headers})


@pytest.mark.parametrize("path", ["/predict", "/explain"])
@pytest.mark.parametrize("literal", NONFINITE_LITERALS)
def test_nonfinite_json_literal_is_422_naming_the_field(server: Server, path: str,
                                                        literal: str) -> None:
    answer = _post(server, path, _raw(churn_records(1)[0], "tenure", literal))
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]  # the 422 body itself is strict JSON
    json.loads(answer.text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert detail[0]["loc"] == ["body", 0, "tenure"]
    assert "finite" in detail[0]["msg"]


@pytest.mark.parametrize("path", ["/predict", "/explain"])
@pytest.mark.parametrize("text", NONFINITE_STRINGS)
def test_nonfinite_numeric_string_is_422(server: Server, path: str, text: str) -> None:
    record = {**churn_records(1)[0], "MonthlyCharges": text}
    answer = _post(server, path, json.dumps(record).encode())
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", 0, "MonthlyCharges"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_feedback_nonfinite_label_is_422(server: Server, literal: str) -> None:
    answer = _post(server, "/feedback", f'{{"id": "x", "label": {literal}}}'.encode())
    assert answer.status_code == 422, answer.text
    json.loads(answer.text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_missing_value_is_imputed_and_counted_everywhere(server: Server, log_url: str) -> None:
    """NaN (literal), null and a blank in columns that had no missing values in training: scored
    by the model's imputer, reported in the answer, /metrics and the prediction log."""
    record = churn_records(1, start=3)[0]
    record["gender"] = ""
    answer = _post(server, "/predict", _raw(record, "tenure", "NaN"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    imputed = {w["loc"][-1] for w in body["warnings"] if w["type"] == "missing_imputed"}
    assert imputed == {"gender", "tenure"}
    assert 0.0 <= body["predictions"][0]["probabilities"]["Yes"] <= 1.0
    metrics = httpx.get(server.url + "/metrics", timeout=TIMEOUT).text
    assert re.search(r'fullcycle_missing_imputed_total\{column="tenure"\} [1-9]', metrics)
    from fullcycle.monitor.predlog import read_log

    pid = body["predictions"][0]["id"]
    for _ in range(600):  # the log writes off the request path; wait for the row
        log = read_log(log_url)
        if len(log) and (log["id"] == pid).any():
            break
        import time

        time.sleep(0.1)
    row = log[log["id"] == pid].iloc[0]
    assert {w["column"] for w in row["warnings"]} == {"gender", "tenure"}
    assert row["tenure"] is None or row["tenure"] != row["tenure"]  # logged as null, not NaN


def test_every_route_needs_a_key_but_the_probes(keyed: Server) -> None:
    spec = httpx.get(keyed.url + "/openapi.json", headers={"X-API-Key": KEY},
                     timeout=TIMEOUT).json()
    paths = set(spec["paths"]) | {"/openapi.json", "/docs", "/metrics"}
    assert len(paths) >= 12
    for path in sorted(paths):
        methods = spec["paths"].get(path, {"get": {}})
        for method in methods:
            answer = httpx.request(method, keyed.url + path, timeout=TIMEOUT)
            if path in ("/health", "/ready"):
                assert answer.status_code == 200, (path, answer.text)
            else:
                assert answer.status_code == 401, (method, path, answer.status_code)
    ok = httpx.get(keyed.url + "/metadata", headers={"Authorization": f"Bearer {KEY}"},
                   timeout=TIMEOUT)
    assert ok.status_code == 200


def test_metrics_can_be_opened_for_a_scraper(tmp_path_factory: pytest.TempPathFactory,
                                             tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(shared_workspace(tmp_path_factory), ws)
    config = (ws / "fullcycle.yaml").read_text()
    (ws / "fullcycle.yaml").write_text(config.replace("open_metrics: false",
                                                      "open_metrics: true"))
    srv = start_server(ws, "--no-log", env={"FULLCYCLE_API_KEYS": KEY})
    try:
        assert httpx.get(srv.url + "/metrics", timeout=TIMEOUT).status_code == 200
        assert httpx.get(srv.url + "/metadata", timeout=TIMEOUT).status_code == 401
    finally:
        srv.stop()


def test_no_absolute_path_or_training_row_in_any_answer(server: Server) -> None:
    import pandas as pd

    bodies = [httpx.get(server.url + p, timeout=TIMEOUT).text
              for p in ("/metadata", "/openapi.json", "/ready")]
    for text in bodies:
        assert not re.search(r'"/(tmp|home|work|root|var)/', text), text[:500]
        assert os.environ.get("HOME", "/root") + "/" not in text
    example = json.loads(bodies[0])["input_example"]
    assert example, "the metadata shows a synthetic example"
    rows = pd.read_csv(CHURN, dtype=str, keep_default_na=False).drop(columns=["Churn"])
    as_text = {k: str(v) for k, v in example.items()}
    for record in rows.to_dict("records"):
        assert any(str(record.get(k)) != v for k, v in as_text.items()), "a verbatim row"
    spec = json.loads(bodies[1])
    assert spec["components"]["schemas"]["Record"]["example"] == example


def _corpus() -> list[tuple[str, bytes]]:
    record = churn_records(1)[0]
    deep = b"[" * 10_000 + b"]" * 10_000
    return [
        ("nan-literal-category", _raw(record, "gender", "NaN")),
        ("infinity", _raw(record, "tenure", "Infinity")),
        ("1e400", _raw(record, "MonthlyCharges", "1e400")),
        ("1e400-string", json.dumps({**record, "MonthlyCharges": "1e400"}).encode()),
        ("deep", deep),
        ("deep-object", b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
        ("nul", json.dumps({**record, "gender": "Fe\u0000male"}).encode()[:-1] + b"\x00}"),
        ("lone-surrogate", json.dumps({**record, "gender": "\ud800"}).encode()),
        ("lone-surrogate-key", json.dumps({**record, "\udfff": 1}).encode()),
        ("bad-utf8", b'{"gender": "\xff\xfe"}'),
        ("empty", b""),
        ("huge", b'{"gender": "' + b"x" * (50 * 1024 * 1024) + b'"}'),
    ]


@pytest.mark.parametrize("path", ["/predict", "/explain", "/feedback"])
def test_hostile_corpus_answers_4xx(server: Server, path: str) -> None:
    for name, body in _corpus():
        answer = _post(server, path, body)
        if answer.status_code < 400:  # only a harmless value may be accepted
            assert name == "nan-literal-category" and path in ("/predict", "/explain"), name
            continue
        assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text[:300])
        json.loads(answer.text)  # strict JSON, whatever came in


def test_public_text_shortens_paths_inside_file_urls() -> None:
    from fullcycle.serve.security import public_text

    assert public_text("log sqlite:////srv/ws/predlog.db failed") == \
        "log sqlite:///…/predlog.db failed"
    assert public_text("read file:///home/u/data.csv") == "read file://…/data.csv"
    for kept in ("sqlite:///relative.db", "http://host/a/b", "postgresql://u@host/db"):
        assert public_text(kept) == kept
