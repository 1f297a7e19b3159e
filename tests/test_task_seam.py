"""The task seam holds: a toy task kind defined and registered in this file alone runs
train -> predict -> serve -> monitor through the CLI with no change to fullcycle.

The toy kind ("toyrule") needs no target: it learns the median of the row means of the numeric
columns and predicts, per row, `score` (the row mean) and `prediction` (score above the learned
cut). It adds one route of its own (POST /toy/score) and watches one monitoring signal: the
share of rows above the cut (0.5 on training data).

The server runs as a real `fullcycle serve` process (uvicorn, loopback port, real HTTP); that
process imports this module, which registers the kind, and then calls `fullcycle.cli.main`,
exactly as the in-process commands here do."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from kind_support import run_cli, serving
from pydantic import BaseModel, Field

from fullcycle.taskkind import (
    MonitorResult,
    PredictOptions,
    ReportSection,
    Route,
    TaskKind,
    TrainResult,
    register_kind,
    unregister_kind,
)

HERE = Path(__file__).parent
COLUMNS = ["a", "b", "c"]


# --- the toy kind: everything below lives in this test file only -------------------------------

class MeanRule:
    """The toy predictor: row mean of `columns`, above `cut` or not."""

    def __init__(self, columns: list[str], cut: float) -> None:
        self.columns, self.cut = columns, cut

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        values = frame[self.columns].apply(pd.to_numeric, errors="coerce")
        return values.mean(axis=1, skipna=True).to_numpy(dtype="float64")


class ScoreRequest(BaseModel):
    values: list[float] = Field(min_length=1, max_length=100)


class ToyRuleKind(TaskKind):
    name: ClassVar[str] = "toyrule"
    tasks: ClassVar[tuple[str, ...]] = ("toyrule",)
    summary: ClassVar[str] = "toy: is a row's mean above the training median"
    row_wise: ClassVar[bool] = True
    needs_target: ClassVar[bool] = False

    def metrics(self, task: str) -> list[str]:
        return ["share_above"]

    def default_metric(self, task: str) -> str:
        return "share_above"

    def train(self, dataset: Any, config: Any, *, reports: Path,
              progress: Callable[..., None] | None = None) -> TrainResult:
        from fullcycle.card import ModelCard, Provenance, typical_example
        from fullcycle.model import Model
        from fullcycle.monitor.reference import build_reference

        frame = dataset.frame
        columns = [c.name for c in dataset.schema.features if c.role == "numeric"]
        rule = MeanRule(columns, 0.0)
        rule.cut = float(np.median(rule.scores(frame)))
        reference = build_reference(frame, dataset.schema)
        card = ModelCard(kind=self.name, task="toyrule", target=None, metric="share_above",
                         schema=dataset.schema, reference=reference,
                         input_example=typical_example(dataset.schema, reference),
                         provenance=Provenance(data_fingerprint=dataset.fingerprint,
                                               data_source=str(dataset.source),
                                               seed=config.seed),
                         task_info={"cut": rule.cut, "columns": columns})
        share = float((rule.scores(frame) > rule.cut).mean())
        board = pd.DataFrame([{"model": "mean-rule", "cv_share_above": share}])
        return TrainResult(model=Model(rule, card), leaderboard=board,
                           test_metrics={"share_above": share},
                           verdict={"passed": True, "criteria": []})

    def predict(self, model: Any, data: pd.DataFrame | None,
                options: PredictOptions) -> pd.DataFrame:
        from fullcycle.errors import ConfigError, DataError

        if options != PredictOptions():
            raise ConfigError("the toy rule takes no prediction options")
        if data is None:
            raise DataError("the toy rule predicts on rows")
        score = model.predictor.scores(data)
        return pd.DataFrame({"prediction": (score > model.predictor.cut).astype(int),
                             "score": score})

    def output_columns(self, model: Any) -> list[str]:
        return ["prediction", "score"]

    def routes(self) -> list[Route]:
        def handler(model: Any, request: ScoreRequest) -> dict[str, Any]:
            mean = float(np.mean(request.values))
            return {"mean": mean, "above": mean > model.predictor.cut}

        return [Route(path="/toy/score", request=ScoreRequest, handler=handler,
                      summary="toy: is the mean of these values above the cut")]

    def monitor(self, model: Any, recent: pd.DataFrame, config: Any) -> MonitorResult:
        share = float((model.predictor.scores(recent) > model.predictor.cut).mean())
        alerts = [] if abs(share - 0.5) <= 0.3 else [
            {"kind": "drift", "message": f"{share:.0%} of rows above the cut (training: 50%)"}]
        source = str(recent.attrs.get("source", "data"))
        return MonitorResult(
            signals={"model_version": model.version_label, "rows": len(recent),
                     "source": source, "share_above": share},
            alerts=alerts,
            sections=[ReportSection("share", "Rows above the cut", f"<p>{share:.3f}</p>")])


register_kind(ToyRuleKind())  # at import: the serve process imports this module too


@pytest.fixture(scope="module", autouse=True)
def _unregister_at_the_end() -> Any:
    yield
    unregister_kind("toyrule")


# --- the cycle through the CLI ------------------------------------------------------------------

def table(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: np.round(rng.normal(10 + shift, 3, n), 3) for c in COLUMNS})


def test_a_kind_registered_in_a_test_runs_the_whole_cycle(tmp_path: Path) -> None:
    import httpx

    data, ws = tmp_path / "train.csv", tmp_path / "ws"
    table(300, seed=1).to_csv(data, index=False)

    # train: no --target; the kind is chosen by --task and needs none
    assert run_cli("train", str(data), "--task", "toyrule", "--workspace", str(ws)) == 0
    from fullcycle.model import read_card

    card = read_card(next((ws / "models").glob("*-latest")))
    assert card.kind == "toyrule" and card.target is None
    cut = card.task_info["cut"]
    assert cut == pytest.approx(np.median(table(300, seed=1)[COLUMNS].mean(axis=1)))

    # predict: the streamed, contract-checked batch path with the kind's output columns
    new, out = tmp_path / "new.csv", tmp_path / "out.csv"
    rows = table(50, seed=2)
    rows.to_csv(new, index=False)
    assert run_cli("predict", "--input", str(new), "--output", str(out),
                   "--workspace", str(ws)) == 0
    scored = pd.read_csv(out)
    expected = rows[COLUMNS].mean(axis=1)
    assert list(scored.columns) == ["prediction", "score"]
    assert np.allclose(scored["score"], expected)
    assert (scored["prediction"] == (expected > cut).astype(int)).all()
    # a value the contract refuses is still refused for this kind (exit 2, nothing written)
    bad = rows.astype(object)
    bad.loc[3, "b"] = "not a number"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    assert run_cli("predict", "--input", str(tmp_path / "bad.csv"), "--output",
                   str(tmp_path / "bad-out.csv"), "--workspace", str(ws)) == 2

    # serve: a real `fullcycle serve` process on a loopback port
    prelude = f"import sys; sys.path.insert(0, {str(HERE)!r}); import test_task_seam; "
    env = dict(os.environ, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with serving(ws, prelude, env) as url:
        meta = httpx.get(f"{url}/metadata", timeout=30).json()
        assert meta["kind"] == "toyrule" and meta["output_columns"] == ["prediction", "score"]
        records = rows.head(20).to_dict("records")
        answer = httpx.post(f"{url}/predict", json=records, timeout=30).json()
        got = answer["predictions"]
        assert [p["score"] for p in got] == pytest.approx(expected.head(20).tolist())
        assert [p["prediction"] for p in got] == (expected.head(20) > cut).astype(int).tolist()
        refused = httpx.post(f"{url}/predict", json={"a": "x", "b": 1, "c": 2}, timeout=30)
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "a"
        own = httpx.post(f"{url}/toy/score", json={"values": [cut + 1, cut + 3]}, timeout=30)
        assert own.status_code == 200 and own.json()["above"] is True and "id" in own.json()
        assert httpx.post(f"{url}/toy/score", json={"values": []},
                          timeout=30).status_code == 422
        fed = httpx.post(f"{url}/feedback", json={"id": got[0]["id"], "label": 1}, timeout=30)
        assert fed.status_code == 200
        metrics = httpx.get(f"{url}/metrics", timeout=30).text
        assert 'route="/toy/score"' in metrics

    # monitor: the prediction log the server wrote, then a shifted file (drift alert, exit 1)
    assert run_cli("monitor", "--workspace", str(ws)) == 0
    report = json.loads((ws / "reports" / "monitoring.json").read_text())
    assert report["rows"] >= 20 and report["source"].startswith("prediction log")
    shifted = tmp_path / "shifted.csv"
    table(100, seed=3, shift=5.0).to_csv(shifted, index=False)
    assert run_cli("monitor", "--workspace", str(ws), "--input", str(shifted)) == 1
    report = json.loads((ws / "reports" / "monitoring.json").read_text())
    assert report["share_above"] > 0.8 and report["alerts"][0]["kind"] == "drift"
    assert "Rows above the cut" in (ws / "reports" / "monitoring.html").read_text()


def test_no_target_and_no_task_names_the_kinds_that_need_none(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture
                                                              ) -> None:
    """`train` without --target and --task: one error line that suggests the registered kinds
    needing no target (the toy kind says so with `needs_target = False`), exit 2."""
    data = tmp_path / "rows.csv"
    table(60, seed=4).to_csv(data, index=False)
    assert run_cli("train", str(data), "--workspace", str(tmp_path / "ws")) == 2
    err = capsys.readouterr().err
    assert "--target" in err and "--task toyrule" in err
    assert not (tmp_path / "ws" / "models").exists()


def test_explain_and_compare_are_asked_of_the_kind(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    """`fullcycle compare` and `Project.explain` go through the model's kind: the toy kind has
    neither, so both answer with one line naming the kind (exit 2), never a tabular error."""
    from fullcycle import Project
    from fullcycle.errors import ConfigError

    data, ws = tmp_path / "train.csv", tmp_path / "ws"
    table(80, seed=5).to_csv(data, index=False)
    assert run_cli("train", str(data), "--task", "toyrule", "--workspace", str(ws)) == 0
    capsys.readouterr()
    assert run_cli("compare", "champion", "champion", "--data", str(data),
               "--workspace", str(ws)) == 2
    assert "comparing models is not available for toyrule models" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="explanations are not available for toyrule"):
        Project.open(ws).explain(table(2, seed=6).to_dict("records"), "champion")
