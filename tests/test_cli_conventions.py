"""Command-line conventions, through the real `fullcycle` process: usage errors, --version,
--json shapes (parsed here), completion, --quiet, piped output, config discovery,
MLFLOW_TRACKING_URI, and the end of `train`."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import DATA, cli
from rich.console import Console

BOX = set("│┃─━┏┓┗┛┡┩└┘┌┐╭╮╰╯║═")


def usage_error(*args: str, cwd: Path | None = None) -> str:
    result = cli(*args, cwd=cwd, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_typo_in_a_command_suggests_the_right_one() -> None:
    line = usage_error("trian")
    assert "No such command 'trian'" in line and "Did you mean 'train'" in line
    assert "fullcycle --help" in line


def test_typo_in_a_subcommand() -> None:
    line = usage_error("models", "lst")
    assert "Did you mean 'list'" in line and "fullcycle models --help" in line


def test_missing_option_names_it(tmp_path: Path) -> None:
    line = usage_error("init", "data.csv", "--output", str(tmp_path / "x.yaml"))
    assert "Missing option '--target'" in line and "fullcycle init --help" in line


def test_malformed_number() -> None:
    line = usage_error("train", "data.csv", "--time-budget", "abc")
    assert "'--time-budget'" in line and "fullcycle train --help" in line


def test_bare_command_is_a_usage_error() -> None:
    line = usage_error()
    assert "no command given" in line and "fullcycle --help" in line


def test_debug_after_the_command_is_accepted() -> None:
    result = cli("trian", "--debug", timeout=120)
    assert result.returncode != 0 and "No such option: --debug" not in result.stderr


def test_version() -> None:
    from fullcycle import __version__

    result = cli("--version", timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == f"fullcycle {__version__}"


def test_help_lists_the_global_flags() -> None:
    result = cli("--help", timeout=120)
    assert result.returncode == 0
    for flag in ("--json", "--quiet", "--verbose", "--version", "--install-completion"):
        assert flag in result.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script(shell: str) -> None:
    result = cli("--show-completion", shell, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "_FULLCYCLE_COMPLETE" in result.stdout
    assert ("complete" in result.stdout) or ("compdef" in result.stdout)


def test_completion_answers_command_names() -> None:
    result = cli(env={"_FULLCYCLE_COMPLETE": "complete_bash", "COMP_WORDS": "fullcycle tr",
                      "COMP_CWORD": "1"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout.split()


def test_inspect_json_shape_and_piped_table(tmp_path: Path) -> None:
    data = str(DATA / "churn_small.csv")
    result = cli("inspect", data, "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)  # stdout is the JSON object and nothing else
    assert doc["command"] == "inspect" and doc["schema_version"] == 1
    assert doc["rows"] == 800 and len(doc["fingerprint"]) >= 16
    churn = {c["name"]: c for c in doc["columns"]}["Churn"]
    assert set(churn) >= {"name", "role", "dtype", "missing_rate", "categories"}
    assert churn["role"] == "target" or "Yes" in churn["categories"]
    piped = cli("inspect", data, timeout=120)  # stdout is a pipe here: no box characters
    assert piped.returncode == 0
    assert "customerID" in piped.stdout and not BOX & set(piped.stdout)


def test_quiet_keeps_only_the_result() -> None:
    result = cli("inspect", str(DATA / "churn_small.csv"), "-q", timeout=120)
    assert result.returncode == 0
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("fingerprint"), result.stdout


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """`fullcycle init` then a bare `fullcycle train` in the same folder, with MLflow pointed
    elsewhere by MLFLOW_TRACKING_URI."""
    root = tmp_path_factory.mktemp("cli")
    rows = (DATA / "churn_small.csv").read_text().splitlines()
    (root / "data.csv").write_text("\n".join(rows[:401]) + "\n")
    init = cli("init", "data.csv", "--target", "Churn", cwd=root, timeout=300)
    assert init.returncode == 0, init.stderr
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{root / 'elsewhere.db'}"}
    # --json: the JSON object on stdout, the human output (what a pipe shows) on stderr
    train = cli("train", "--max-trials", "1", "--json", cwd=root, env=env, timeout=600)
    assert train.returncode == 0, train.stdout + train.stderr
    return SimpleNamespace(root=root, env=env, train=train, doc=json.loads(train.stdout))


def test_bare_train_uses_the_config_init_wrote(trained: SimpleNamespace) -> None:
    assert "config: " in trained.train.stderr and "fullcycle.yaml" in trained.train.stderr
    assert (trained.root / "workspace" / "models").is_dir()


def test_train_ends_with_paths_and_next_commands(trained: SimpleNamespace) -> None:
    out = trained.train.stderr
    assert "registered as champion" in out
    assert "leaderboard.csv" in out and "metrics.json" in out
    assert "next" in out and "fullcycle evaluate -w" in out and "fullcycle serve -w" in out
    assert not BOX & set(out)


def test_piped_training_logs_a_line_per_candidate(trained: SimpleNamespace) -> None:
    assert "candidate 1:" in trained.train.stderr


def test_mlflow_tracking_uri_is_honoured(trained: SimpleNamespace) -> None:
    assert (trained.root / "elsewhere.db").is_file()
    assert not (trained.root / "workspace" / "mlflow.db").exists()


def test_train_json_shape(trained: SimpleNamespace) -> None:
    doc = trained.doc
    assert doc["command"] == "train" and doc["schema_version"] == 1
    assert str(doc["version"]) == "1" and doc["alias"] == "champion"
    assert doc["test_metrics"] and all(isinstance(v, float | None)
                                       for v in doc["test_metrics"].values())
    assert doc["leaderboard"] and "model" in doc["leaderboard"][0]
    assert Path(doc["paths"]["leaderboard"]).is_file()
    assert "criteria" in doc["verdict"]


def test_models_list_json(trained: SimpleNamespace) -> None:
    result = cli("models", "list", "--json", cwd=trained.root, env=trained.env, timeout=300)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["command"] == "models list"
    versions = {str(v["version"]) for v in doc["versions"]}
    assert versions == {"1"}


def test_validate_json(trained: SimpleNamespace) -> None:
    result = cli("validate", "data.csv", "--json", cwd=trained.root, env=trained.env,
                 timeout=300)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["command"] == "validate" and doc["passed"] is True and doc["rows"] == 400
    assert isinstance(doc["violations"], list)


def test_monitor_json(trained: SimpleNamespace) -> None:
    result = cli("monitor", "--input", "data.csv", "--json", cwd=trained.root, env=trained.env,
                 timeout=300)
    assert result.returncode in (0, 1, 4, 5, 8, 9, 12, 13), result.stderr
    doc = json.loads(result.stdout)
    assert doc["command"] == "monitor" and doc["exit_code"] == result.returncode
    assert doc["rows"] == 400 and isinstance(doc["features"], list)


def test_evaluate_json(trained: SimpleNamespace) -> None:
    result = cli("evaluate", "--json", cwd=trained.root, env=trained.env, timeout=300)
    assert result.returncode in (0, 1), result.stderr
    doc = json.loads(result.stdout)
    assert doc["command"] == "evaluate" and doc["test"]
    assert Path(doc["paths"]["html"]).is_file()


def _render(display: object) -> str:
    out = io.StringIO()
    Console(file=out, width=200).print(display)
    return out.getvalue()


def test_progress_moves_with_the_clock_and_names_the_current_candidate() -> None:
    from fullcycle.cli._show import TrainDisplay

    display = TrainDisplay("roc_auc", 60, True)
    display.started("lightgbm_p2", "lightgbm")
    assert "fitting lightgbm_p2" in _render(display) and "time left 60s of 60s" in _render(
        display)
    display.start = time.perf_counter() - 20  # 20 s later, with no trial finished
    assert "time left 40s of 60s" in _render(display)
    display(SimpleNamespace(name="linear", score=0.81, std=0.01, metric="roc_auc",
                            greater_is_better=True), 1, 39.0)
    text = _render(display)
    assert "trials 1" in text and "best roc_auc 0.8100 (linear)" in text
    assert "fitting" not in text


def test_progress_over_max_trials() -> None:
    from fullcycle.cli._show import TrainDisplay

    display = TrainDisplay("rmse", 60, False, max_trials=5)
    display(SimpleNamespace(name="linear", score=2.0, std=0.1, metric="rmse",
                            greater_is_better=False), 2, 30.0)
    assert "2/5 candidates" in _render(display)


def test_compare_json(trained: SimpleNamespace) -> None:
    result = cli("compare", "1", "1", "--resamples", "50", "--json", cwd=trained.root,
                 env=trained.env, timeout=300)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["command"] == "compare" and doc["advantage_a"]["value"] == 0
    assert Path(doc["path"]).is_file()


def test_progress_callback_of_the_python_api_logs_a_line_per_candidate() -> None:
    from fullcycle.progress import TrainProgress, notebook_progress

    out = io.StringIO()
    progress = TrainProgress(30, live=False, log=True, console=Console(file=out, width=200))
    with progress:
        progress.started("linear", "linear")
        progress(SimpleNamespace(name="linear", score=0.8, std=0.02, metric="roc_auc",
                                 greater_is_better=True), 1, 25.0)
    assert "candidate 1: linear roc_auc 0.8000 ±0.0200" in out.getvalue()
    assert notebook_progress(30) is None  # not in Jupyter: a script stays quiet


def test_predict_json_owns_stdout(trained: SimpleNamespace) -> None:
    result = cli("predict", "--input", "data.csv", "--output", "scored.csv", "--json",
                 cwd=trained.root, env=trained.env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("{")  # nothing else on stdout, not even a progress line
    doc = json.loads(result.stdout)
    assert doc["command"] == "predict" and doc["rows"] == 400 and doc["rejected"] == 0
