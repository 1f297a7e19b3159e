"""The prediction server over real HTTP on loopback: every route, every validation error, auth
on and off, body caps, the prediction log and feedback."""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from conftest import Server, start_server
from serve_support import CHURN, churn_records, shared_workspace

KEY = "test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_workspace(tmp_path_factory)


@pytest.fixture(scope="module")
def server(workspace: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if k != "FULLCYCLE_API_KEYS"}
    os.environ.pop("FULLCYCLE_API_KEYS", None)
    srv = start_server(workspace, env=env)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def model(workspace: Path):
    from fullcycle.project import Project

    return Project.open(workspace).load_model("champion")


def post(server: Server, body: object, path: str = "/predict", **kw: object) -> httpx.Response:
    return httpx.post(server.url + path, json=body, timeout=30, **kw)


def test_info_routes(server: Server) -> None:
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    ready = httpx.get(server.url + "/ready").json()
    assert ready["status"] == "ready" and ready["model_version"] == "1"
    assert ready["prediction_path"].startswith("compiled fast path")
    meta = httpx.get(server.url + "/metadata").json()
    assert meta["model_version"] == "1" and meta["follows_alias"] == "champion"
    assert meta["problem"]["labels"] == ["No", "Yes"]
    assert {c["name"] for c in meta["schema"]["columns"]} >= {"tenure", "Contract"}
    assert meta["data_fingerprint"]


def test_predict_equals_model_predict(server: Server, model) -> None:
    records = churn_records(40)
    answer = post(server, records).json()
    assert answer["model_version"] == "1" and len(answer["predictions"]) == 40
    expected = model.predict(records)
    got = np.array([[p["probabilities"]["No"], p["probabilities"]["Yes"]]
                    for p in answer["predictions"]])
    np.testing.assert_allclose(got, expected[["proba_No", "proba_Yes"]].to_numpy(), rtol=1e-9)
    assert [p["prediction"] for p in answer["predictions"]] == list(expected["prediction"])
    assert len({p["id"] for p in answer["predictions"]}) == 40
    one = post(server, records[3]).json()  # a single object answers a list of one
    assert one["predictions"][0]["probabilities"] == answer["predictions"][3]["probabilities"]


def _problems(response: httpx.Response) -> list[dict]:
    assert response.status_code == 422, response.text
    return response.json()["detail"]


def test_each_validation_error_names_field_and_expectation(server: Server) -> None:
    good = churn_records(1)[0]
    cases = {
        "wrong type": ({**good, "tenure": "many"}, ["body", 0, "tenure"], "expected a number"),
        "missing field": ({k: v for k, v in good.items() if k != "Contract"},
                          ["body", 0, "Contract"], "field required"),
        "extra field": ({**good, "tenur": 3}, ["body", 0, "tenur"], "Did you mean 'tenure'"),
        "boolean": ({**good, "Partner": "maybe"}, ["body", 0, "Partner"], "true/false"),
        "category type": ({**good, "Contract": {"a": 1}}, ["body", 0, "Contract"], "category"),
        "huge number": ({**good, "tenure": 10 ** 400}, ["body", 0, "tenure"], "float range"),
    }
    for name, (record, loc, expectation) in cases.items():
        problems = _problems(post(server, [record]))
        assert any(p["loc"] == loc and expectation in p["msg"] for p in problems), (name, problems)
    for body, text in (([], "non-empty list"), ("text", "JSON object"), ([1, 2], "JSON object")):
        assert text in _problems(post(server, body))[0]["msg"]
    bad_json = httpx.post(server.url + "/predict", content=b"{nope", timeout=10,
                          headers={"content-type": "application/json"})
    assert _problems(bad_json)[0]["type"] == "json_invalid"
    nested = httpx.post(server.url + "/predict", content=b"[" * 100_000, timeout=10)
    assert nested.status_code == 422
    too_many = _problems(post(server, [good] * 10_001))
    assert too_many[0]["type"] == "too_long"


def test_missing_allowed_and_unseen_category_reported(server: Server) -> None:
    good = churn_records(1)[0]
    answer = post(server, [{**good, "TotalCharges": None, "PaymentMethod": "Crypto"}])
    assert answer.status_code == 200, answer.text
    warnings = answer.json()["warnings"]
    assert warnings[0]["loc"] == ["body", 0, "PaymentMethod"]
    assert warnings[0]["type"] == "unseen_category" and warnings[0]["input"] == "Crypto"
    metrics = httpx.get(server.url + "/metrics").text
    assert re.search(r'fullcycle_unseen_categories_total\{column="PaymentMethod"\} [1-9]', metrics)


def test_metrics_prometheus_text(server: Server) -> None:
    post(server, churn_records(5))
    text = httpx.get(server.url + "/metrics").text
    assert "# TYPE fullcycle_request_duration_seconds histogram" in text
    assert re.search(r'fullcycle_requests_total\{route="/predict",status="200"\} \d+', text)
    assert re.search(r'fullcycle_errors_total\{route="/predict",status="422"\} \d+', text)
    assert re.search(r'fullcycle_predictions_total\{prediction="(No|Yes)",version="1"\}', text)
    assert 'fullcycle_request_duration_seconds_bucket{route="/predict",le="+Inf"}' in text
    assert re.search(r'fullcycle_model_info\{fast_path="true",version="1"\} 1', text)


def test_body_caps(server: Server) -> None:
    big = b'{"x": "' + b"a" * 10_100_000 + b'"}'
    response = httpx.post(server.url + "/predict", content=big, timeout=30,
                          headers={"content-type": "application/json"})
    assert response.status_code == 413 and "too_large" in response.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(11):
            yield b" " * 1_000_000

    response = httpx.post(server.url + "/predict", content=chunks(), timeout=30)
    assert response.status_code == 413
    assert httpx.get(server.url + "/health").status_code == 200


def test_predict_file_csv_and_parquet(server: Server, model) -> None:
    raw = pd.read_csv(CHURN, dtype=str, keep_default_na=False).head(60)
    response = httpx.post(server.url + "/predict/file", params={"id_column": "customerID"},
                          files={"file": ("rows.csv", raw.to_csv(index=False), "text/csv")},
                          timeout=60)
    assert response.status_code == 200, response.text
    scored = pd.read_csv(io.StringIO(response.text))
    assert list(scored.columns) == ["customerID", "prediction", "proba_No", "proba_Yes"]
    assert list(scored["customerID"]) == list(raw["customerID"])
    expected = model.predict(raw.drop(columns=["Churn"]))
    np.testing.assert_allclose(scored["proba_Yes"], expected["proba_Yes"], rtol=1e-6)
    buffer = io.BytesIO()
    raw.to_parquet(buffer)
    response = httpx.post(server.url + "/predict/file",
                          files={"file": ("rows.parquet", buffer.getvalue())}, timeout=60)
    assert response.status_code == 200
    assert len(pd.read_parquet(io.BytesIO(response.content))) == 60
    bad = raw.assign(tenure="x").to_csv(index=False)
    response = httpx.post(server.url + "/predict/file", files={"file": ("b.csv", bad)}, timeout=60)
    assert response.status_code == 422 and "row 1, column 'tenure'" in response.text


def test_docs_and_typed_openapi_example_works(server: Server) -> None:
    assert "swagger" in httpx.get(server.url + "/docs").text.lower()
    spec = httpx.get(server.url + "/openapi.json").json()
    record = spec["components"]["schemas"]["Record"]
    assert record["properties"]["tenure"]["type"] == "number"
    assert record["properties"]["TotalCharges"]["anyOf"][1] == {"type": "null"}
    assert "Month-to-month" in record["properties"]["Contract"]["examples"]
    assert record["additionalProperties"] is False
    assert post(server, record["example"]).status_code == 200


def test_feedback_and_prediction_log(workspace: Path, tmp_path: Path) -> None:
    from fullcycle.monitor.predlog import read_log

    os.environ.pop("FULLCYCLE_API_KEYS", None)
    url = f"sqlite:///{tmp_path / 'log.db'}"
    srv = start_server(workspace, "--log-url", url)
    try:
        answer = post(srv, churn_records(7, start=100)).json()
        pid = answer["predictions"][2]["id"]
        assert post(srv, {"id": pid, "label": "Yes"}, "/feedback").json()["recorded"] is True
        missing = post(srv, {"id": "no-such-id", "label": "Yes"}, "/feedback")
        assert missing.status_code == 404 and missing.json()["detail"][0]["loc"] == ["body", "id"]
        assert post(srv, {"id": pid}, "/feedback").status_code == 422
    finally:
        srv.stop()  # SIGTERM: graceful, the log writer flushes
    log = read_log(url)
    assert len(log) == 7
    row = log.set_index("id").loc[pid]
    assert row["label"] == "Yes" and row["model_version"] == "1"
    assert row["tenure"] == churn_records(7, start=100)[2]["tenure"]
    assert {"proba_No", "proba_Yes", "latency_ms", "time"} <= set(log.columns)


def test_api_keys_required_when_configured(workspace: Path) -> None:
    srv = start_server(workspace, env={"FULLCYCLE_API_KEYS": f"{KEY},another-key-0123456789"})
    try:
        record = churn_records(1)
        assert post(srv, record).status_code == 401
        assert post(srv, record, headers={"X-API-Key": KEY + "x"}).status_code == 401
        assert post(srv, record, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert post(srv, record, headers={"X-API-Key": KEY}).status_code == 200
        assert post(srv, record, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        assert post(srv, {}, "/admin/reload").status_code == 401
        assert post(srv, {}, "/admin/reload", headers={"X-API-Key": KEY}).json()["changed"] \
            is False
        assert httpx.get(srv.url + "/health").status_code == 200  # probes need no key
        assert "access-control-allow-origin" not in httpx.options(
            srv.url + "/predict", headers={"Origin": "http://evil.example",
                                           "Access-Control-Request-Method": "POST"}).headers
    finally:
        srv.stop()


def test_no_route_loads_client_named_files(server: Server) -> None:
    spec = json.dumps(httpx.get(server.url + "/openapi.json").json())
    assert "model_path" not in spec and "ref" not in re.findall(r'"name": "(\w+)"', spec)
    params = set(re.findall(r'"name": "(\w+)"', spec))
    assert params <= {"output", "id_column"}, params
