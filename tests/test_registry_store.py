"""The registry on a real MLflow SQLite store in a temporary folder: what a run records, the
pyfunc face, references, promotion/rollback history, integrity checks, reproduce, and the
`fullcycle models` commands."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest

from fullcycle import Config, IntegrityError, ModelError, Project
from fullcycle.cli import main
from fullcycle.model import PIPELINE_FILE
from fullcycle.registry.refs import parse_ref

DATA = Path(__file__).parent / "data" / "churn_small.csv"
SECRET = "pw-Zq81x"


def small_config(seed: int = 1, **registry: str) -> Config:
    return Config.from_dict({
        "project": "churnreg", "seed": seed,
        "data": {"source": str(DATA), "target": "Churn"},
        "split": {"cv_folds": 2}, "train": {"max_trials": 2, "families": ["linear"],
                  "promote": "always"},
        "serve": {"log_url": f"postgresql://fc:{SECRET}@db.example:5432/log"},
        "registry": registry,
    })


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with two versions: v1 (seed 1) then v2 (seed 2), v2 champion."""
    root = tmp_path_factory.mktemp("registry-ws")
    for seed in (1, 2):
        project = Project(small_config(seed), root)
        report = project.train()
        assert report.version == str(seed)
    return root


def project(ws: Path) -> Project:
    return Project.open(ws)


def run_of(ws: Path, version: str):
    registry = project(ws).registry
    return registry.client.get_run(registry.model_version(version).run_id)


def test_run_records_config_data_code_environment_and_candidates(ws: Path) -> None:
    import mlflow.artifacts

    run = run_of(ws, "2")
    params, tags, metrics = run.data.params, run.data.tags, run.data.metrics
    assert params["config.seed"] == "2" and params["task"] == "binary"
    assert params["config.serve.log_url"] == "postgresql://fc:***@db.example:5432/log"
    assert len(tags["mlflow.source.git.commit"]) == 40
    assert tags["fullcycle.data_fingerprint"] == params["data_fingerprint"]
    assert "test_roc_auc" in metrics and "cv_roc_auc" in metrics
    # every candidate's CV score: a step metric per candidate and the candidates artifact
    client = project(ws).registry.client
    history = client.get_metric_history(run.info.run_id, "candidate_cv_roc_auc")
    assert len(history) == 2
    root = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id,
                                                    tracking_uri=f"sqlite:///{ws}/mlflow.db"))
    names = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert {"config/fullcycle.yaml", "config/problem.json", "data/schema.json",
            "data/snapshot.parquet", "code/version.json", "environment/installed.txt",
            "environment/requirements.lock", "search/leaderboard.csv", "search/candidates.json",
            "reports/leaderboard.csv", "reports/metrics.json"} <= names
    for path in root.rglob("*"):  # the secret is nowhere in what the run recorded
        if path.is_file() and path.suffix != ".parquet":
            assert SECRET not in path.read_text(errors="replace"), path
    candidates = json.loads((root / "search/candidates.json").read_text())
    assert all(len(c["fold_scores"]) == 2 for c in candidates)
    snapshot = pd.read_parquet(root / "data/snapshot.parquet")
    assert len(snapshot) == int(params["rows"])
    model_json = (ws / ".cache").rglob("model.json")
    assert all(SECRET not in p.read_text() for p in model_json)


def test_pyfunc_loads_by_alias_with_a_signature_from_the_data_contract(ws: Path) -> None:
    import mlflow
    import mlflow.pyfunc

    mlflow.set_tracking_uri(f"sqlite:///{ws}/mlflow.db")
    mlflow.set_registry_uri(f"sqlite:///{ws}/mlflow.db")
    pyfunc = mlflow.pyfunc.load_model("models:/churnreg@champion")
    inputs = {c.name: getattr(c.type, "name", "any") for c in
              pyfunc.metadata.signature.inputs.inputs}
    # int64 in the training file: `any`, so read_csv's int64 passes (tests/test_mlflow_runs.py)
    assert inputs["tenure"] == "any" and inputs["MonthlyCharges"] == "double"
    assert inputs["Contract"] == "string" and "customerID" not in inputs
    rows = pd.read_csv(DATA, nrows=20).drop(columns=["Churn"])
    rows["TotalCharges"] = pd.to_numeric(rows["TotalCharges"], errors="coerce")  # has blanks
    rows = rows.astype({"tenure": "float64", "SeniorCitizen": "float64"})
    rows.loc[0, "MonthlyCharges"] = None  # a missing value passes the schema
    rows.loc[1, "Contract"] = None
    out = pyfunc.predict(rows)
    own = project(ws).load_model("champion").predict(rows)
    pd.testing.assert_frame_equal(out.reset_index(drop=True), own)


def test_every_reference_form_loads_the_same_version(ws: Path) -> None:
    p = project(ws)
    for ref in ("champion", "2", "v2", "models:/churnreg@champion", "models:/churnreg/2"):
        assert p.load_model(ref).version_label == "2", ref
    folder = next(p.workspace.models.glob("churnreg-latest"))
    assert p.load_model(str(folder)).card.provenance.data_fingerprint
    assert parse_ref("models:/x/3").version == "3" and parse_ref("challenger").alias
    with pytest.raises(ModelError, match="registered model is 'churnreg'"):
        p.load_model("models:/other@champion")
    with pytest.raises(ModelError, match="no model version has the alias 'staging'.*champion"):
        p.load_model("staging")
    with pytest.raises(ModelError, match="version 9 .* does not exist"):
        p.load_model("9")


def test_promote_and_rollback_keep_a_history(ws: Path, capsys: pytest.CaptureFixture) -> None:
    from fullcycle.registry.promotion import history

    w = str(ws)
    main(["models", "promote", "1", "--workspace", w, "--reason", "v2 misbehaves"])
    registry = project(ws).registry
    assert registry.alias_version("champion") == "1"
    mv = registry.model_version("1")
    assert mv.tags["champion_reason"] == "v2 misbehaves" and mv.tags["previous_champion"] == "2"
    assert mv.tags["champion_by"] and mv.tags["champion_since"]
    main(["models", "rollback", "--workspace", w])
    assert registry.alias_version("champion") == "2"
    main(["models", "promote", "2", "--alias", "challenger", "--workspace", w])
    assert registry.aliases() == {"champion": "2", "challenger": "2"}
    kinds = [(e["kind"], e["alias"], e["version"], e["previous"]) for e in history(registry)]
    assert kinds == [("train", "champion", "1", None), ("train", "champion", "2", "1"),
                     ("promote", "champion", "1", "2"), ("rollback", "champion", "2", "1"),
                     ("promote", "challenger", "2", None)]
    capsys.readouterr()
    main(["models", "list", "--workspace", w])
    listing = capsys.readouterr().out
    assert "champion" in listing and "challenger" in listing and "ready" in listing
    main(["models", "show", "champion", "--workspace", w])
    shown = capsys.readouterr().out
    assert "rollback: champion -> 2" in shown and "test_roc_auc" in shown
    main(["models", "diff", "1", "2", "--workspace", w])
    diffed = capsys.readouterr().out
    assert "config.seed" in diffed and "test_roc_auc" in diffed and "data: identical" in diffed


def test_rollback_without_an_earlier_champion_is_a_clear_error(tmp_path: Path) -> None:
    from fullcycle.errors import RegistryError

    p = Project(small_config(1), tmp_path)
    p.train()
    with pytest.raises(RegistryError, match="first champion on record"):
        from fullcycle.registry.promotion import rollback

        rollback(p.registry)


class _Payload:
    """A pickle that, if ever unpickled, writes a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "unpickled!"))


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_tampered_artifacts_are_refused_and_never_unpickled(ws: Path, tmp_path: Path) -> None:
    import mlflow.pyfunc

    registry = project(ws).registry
    digest = registry.model_version("1").tags["fullcycle.digest"]
    cached = ws / ".cache" / digest
    project(ws).load_model("1")  # fills the cache
    original = (cached / PIPELINE_FILE).read_bytes()
    # 1. a flipped byte in the download cache
    _flip_byte(cached / PIPELINE_FILE)
    with pytest.raises(IntegrityError, match="download cache"):
        project(ws).load_model("1")
    # 2. a malicious pickle in the MLflow artifact store itself (cache cleared)
    shutil.rmtree(cached)
    marker = tmp_path / "pwned"
    stored = [p for p in (ws / "mlartifacts").rglob(PIPELINE_FILE)
              if (p.read_bytes() == original)]
    assert stored, "the registered pickle is in the workspace's artifact store"
    for path in stored:
        path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(IntegrityError, match="MLflow artifact store"):
        project(ws).load_model("1")
    with pytest.raises(Exception, match="SHA-256"):
        mlflow.pyfunc.load_model("models:/churnreg/1")
    # 3. a truncated copy
    for path in stored:
        path.write_bytes(original[: len(original) // 2])
    with pytest.raises(IntegrityError, match="modified or truncated"):
        project(ws).load_model("1")
    assert not marker.exists(), "a tampered pickle was unpickled"
    assert not cached.exists() and not list((ws / ".cache").glob(".partial-*"))
    for path in stored:
        path.write_bytes(original)
    assert project(ws).load_model("1").version_label == "1"


def test_incomplete_versions_are_hidden_flagged_and_never_loaded(ws: Path,
                                                                  capsys: pytest.CaptureFixture
                                                                  ) -> None:
    registry = project(ws).registry
    good = registry.model_version("2")
    half = registry.client.create_model_version("churnreg", good.source, run_id=good.run_id)
    with pytest.raises(ModelError, match="incomplete"):
        project(ws).load_model(str(half.version))
    capsys.readouterr()
    main(["models", "list", "--workspace", str(ws)])
    assert "incomplete" not in capsys.readouterr().out
    main(["models", "list", "--all", "--workspace", str(ws)])
    assert "incomplete (not verified)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["models", "promote", str(half.version), "--workspace", str(ws)])
    assert exit_.value.code == 2 and "is incomplete" in capsys.readouterr().err
    registry.client.delete_model_version("churnreg", half.version)


def test_reproduce_gives_identical_metrics(ws: Path, capsys: pytest.CaptureFixture) -> None:
    main(["reproduce", "1", "--workspace", str(ws)])
    out = capsys.readouterr().out
    assert "reproduced: all" in out and "same data" in out and "NO" not in out


def test_reproduce_refuses_a_modified_snapshot(ws: Path) -> None:
    from fullcycle.registry.reproduce import reproduce

    run = run_of(ws, "2")
    snapshot = next((ws / "mlartifacts" / run.info.run_id).rglob("snapshot.parquet"))
    original = snapshot.read_bytes()
    try:
        _flip_byte(snapshot)
        with pytest.raises(IntegrityError, match="data snapshot"):
            reproduce(project(ws).registry, "2")
    finally:
        snapshot.write_bytes(original)


def test_mlflow_scoring_server_answers_json_with_integers_and_nulls(ws: Path) -> None:
    """The app `mlflow models serve` runs, over real HTTP on a loopback port."""
    import threading

    import httpx
    import mlflow
    import mlflow.pyfunc
    import uvicorn
    from conftest import free_port
    from mlflow.pyfunc import scoring_server

    mlflow.set_tracking_uri(f"sqlite:///{ws}/mlflow.db")
    mlflow.set_registry_uri(f"sqlite:///{ws}/mlflow.db")
    app = scoring_server.init(mlflow.pyfunc.load_model("models:/churnreg@champion"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        rows = pd.read_csv(DATA, nrows=6).drop(columns=["Churn", "customerID"])
        rows["TotalCharges"] = pd.to_numeric(rows["TotalCharges"], errors="coerce")
        body = json.loads(rows.to_json(orient="split", index=False))  # ints stay ints
        body["data"][2][body["columns"].index("tenure")] = None
        for _ in range(100):
            if server.started:
                break
            threading.Event().wait(0.1)
        answer = httpx.post(f"http://127.0.0.1:{port}/invocations", timeout=60,
                            json={"dataframe_split": body})
        assert answer.status_code == 200, answer.text
        served = pd.DataFrame(answer.json()["predictions"])
        frame = pd.DataFrame(body["data"], columns=body["columns"])
        own = project(ws).load_model("champion").predict(frame)
        assert list(served["prediction"]) == list(own["prediction"])
        assert served["proba_Yes"].round(9).tolist() == own["proba_Yes"].round(9).tolist()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_reports_made_after_training_attach_to_the_version_run(ws: Path, tmp_path: Path) -> None:
    registry = project(ws).registry
    report = tmp_path / "evaluation.html"
    report.write_text("<html><body>evaluation of v2</body></html>")
    run_id = registry.attach("2", [report])
    names = [a.path for a in registry.client.list_artifacts(run_id, "reports")]
    assert "reports/evaluation.html" in names
    with pytest.raises(ModelError, match="no such file"):
        registry.attach("2", [tmp_path / "missing.html"])


def test_local_reads_agree_with_mlflow_and_loading_needs_no_mlflow(ws: Path) -> None:
    """registry/local_read.py reads MLflow's SQLite tables directly; any drift from what
    MlflowClient answers (a new MLflow schema) must fail here, not serve a wrong version."""
    import subprocess
    import sys

    from fullcycle.registry import local_read

    registry = project(ws).registry
    uri, name = registry.tracking_uri, registry.model_name
    for alias in ("champion", "challenger", "no-such-alias"):
        try:
            expected = str(registry.client.get_model_version_by_alias(name, alias).version)
        except Exception:  # MLflow: "alias not found"
            expected = None
        assert local_read.alias_version(uri, name, alias) == expected, alias
    for version in ("1", "2"):
        mv, row = registry.client.get_model_version(name, version), \
            local_read.model_version(uri, name, version)
        assert (row.version, row.status, row.source, row.run_id, row.tags) == \
            (str(mv.version), mv.status, mv.source, mv.run_id, dict(mv.tags))
    assert local_read.model_version(uri, name, "99") is None
    assert local_read.alias_version("http://127.0.0.1:1", name, "champion") \
        is local_read.UNAVAILABLE
    probe = subprocess.run([sys.executable, "-c", "import sys; from fullcycle import Project; "
                            f"m = Project.open({str(ws)!r}).load_model('champion'); "
                            "print(m.version_label, 'mlflow' in sys.modules)"],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.split() == [project(ws).registry.alias_version("champion"), "False"]
