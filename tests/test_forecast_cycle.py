"""A forecast model through the product: `fullcycle train --task forecast` on weekly sales with
a known-future promotion flag, `predict` (clear error without the flag, forecasts with it), a
real `fullcycle serve` process answering POST /forecast and /feedback over HTTP, `monitor` on
actuals (an alert when they degrade), `retrain` with champion/challenger, and `package`.

The search is limited to the fast families (seasonal naive and the global LightGBM) with a small
budget so the file stays quick; test_forecast_engine.py covers the engine's parts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kind_support import run_cli, serving

H = 4
WEEKS = 72


def sales(n_weeks: int, seed: int = 0, degrade: bool = False) -> pd.DataFrame:
    """Three stores; promotions lift sales by 60, a yearly wave, day-first dates."""
    rng = np.random.default_rng(seed)
    frames = []
    for store in (1, 2, 3):
        t = np.arange(n_weeks)
        promo = (np.random.default_rng(store).random(n_weeks) < 0.3).astype(int)
        y = 200 + 30 * store + 10 * np.sin(2 * np.pi * t / 52) + 60 * promo
        y = y + rng.normal(0, 3, n_weeks)
        if degrade:
            y = y * np.where(t >= WEEKS, 1.8, 1.0)
        frames.append(pd.DataFrame({
            "Store": store,
            "Date": pd.date_range("2021-01-01", periods=n_weeks, freq="W-FRI").strftime(
                "%d-%m-%Y"),
            "Sales": np.round(y, 2), "Promo": promo}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("forecast")
    sales(WEEKS).to_csv(root / "train.csv", index=False)
    (root / "fullcycle.yaml").write_text(
        "train:\n  time_budget: 120\n  families: [seasonal_naive, gbm]\n")
    code = run_cli("train", str(root / "train.csv"), "--task", "forecast", "--target", "Sales",
                   "--time-column", "Date", "--series-id", "Store", "--horizon", str(H),
                   "--config", str(root / "fullcycle.yaml"), "--workspace", str(root / "ws"))
    assert code == 0
    return root


def future_rows(n: int = H) -> pd.DataFrame:
    full = sales(WEEKS + n)
    week = full.groupby("Store").cumcount()
    return full[week >= WEEKS].reset_index(drop=True)


def test_predict_names_missing_covariates_and_writes_iso_forecasts(trained: Path,
                                                                  capsys: pytest.CaptureFixture
                                                                  ) -> None:
    from fullcycle.model import read_card

    ws = trained / "ws"
    card = read_card(next((ws / "models").glob("*-latest")))
    assert card.kind == "forecast" and card.task_info["known_future"] == ["Promo"]
    assert "gbm" in card.task_info["ensemble"]
    out = trained / "forecast.csv"
    assert run_cli("predict", "--workspace", str(ws), "--output", str(out)) == 2
    assert "Promo" in capsys.readouterr().err
    future = future_rows().drop(columns=["Sales"])
    future.to_csv(trained / "future.csv", index=False)
    assert run_cli("predict", "--workspace", str(ws), "--output", str(out), "--input",
                   str(trained / "future.csv"), "--horizon", "3") == 0
    got = pd.read_csv(out)
    assert list(got.columns) == ["Store", "Date", "prediction", "lo_80", "hi_80", "lo_95",
                                 "hi_95"]
    assert len(got) == 9 and list(got["Date"][:3]) == ["2022-05-20", "2022-05-27", "2022-06-03"]
    truth = future_rows(3)["Sales"].to_numpy()
    assert np.mean(np.abs(got["prediction"].to_numpy() - truth)) < 20  # promotions followed
    assert ((got["lo_95"] <= got["prediction"]) & (got["prediction"] <= got["hi_95"])).all()
    # evaluate: the latest backtest window's figures, next to seasonal naive's
    assert run_cli("evaluate", "--workspace", str(ws)) == 0
    report = (ws / "reports" / "evaluation.html").read_text()
    assert "Forecast accuracy" in report and "seasonal_naive_mase" in report


def test_forecast_and_feedback_over_http(trained: Path) -> None:
    import httpx

    with serving(trained / "ws") as url:
        covariates = future_rows().drop(columns=["Sales"]).to_dict("records")
        answer = httpx.post(f"{url}/forecast", json={"series": ["2"], "horizon": 2,
                                                     "covariates": covariates}, timeout=60)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["model_version"] and len(body["forecasts"]) == 2
        first = body["forecasts"][0]
        assert first["series_id"] == "2" and first["time"] == "2022-05-20"
        assert first["lo_80"] <= first["prediction"] <= first["hi_80"] <= first["hi_95"]
        missing = httpx.post(f"{url}/forecast", json={"horizon": 2}, timeout=60)
        assert missing.status_code in (400, 422) and "Promo" in missing.text
        unknown = httpx.post(f"{url}/forecast", json={"series": ["9"],
                                                      "covariates": covariates}, timeout=60)
        assert unknown.status_code in (400, 422) and "unknown series" in unknown.text
        fed = httpx.post(f"{url}/feedback", json={"id": body["id"], "series_id": "2",
                                                  "time": "2022-05-20", "value": 321.5},
                         timeout=30)
        assert fed.status_code == 200, fed.text


def test_monitor_alerts_on_degraded_actuals_then_retrain_and_package(trained: Path) -> None:
    ws = trained / "ws"
    actuals = future_rows()
    actuals.to_csv(trained / "actuals.csv", index=False)
    assert run_cli("monitor", "--workspace", str(ws), "--input", str(trained / "actuals.csv")) == 0
    report = json.loads((ws / "reports" / "monitoring.json").read_text())
    text = json.dumps(report)
    assert "backtest_mase" in text
    full = sales(WEEKS + H, degrade=True)
    week = full.groupby("Store").cumcount()
    full[week >= WEEKS].to_csv(trained / "worse.csv", index=False)
    assert run_cli("monitor", "--workspace", str(ws), "--input", str(trained / "worse.csv")) == 8
    report = json.loads((ws / "reports" / "monitoring.json").read_text())
    assert any(a["kind"] == "performance" for a in report["alerts"])

    sales(WEEKS + 8).to_csv(trained / "new.csv", index=False)
    assert run_cli("retrain", "--workspace", str(ws), "--input", str(trained / "new.csv"),
                   "--time-budget", "30") == 0

    from fullcycle.deploy.package import package_model

    result = package_model(ws, "champion", trained / "package")
    assert (trained / "package").is_dir() and result["version"]
