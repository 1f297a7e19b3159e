"""Bad input through the real command line: one line that says what to do, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DATA, cli


def run_bad(*args: str) -> str:
    result = cli(*args, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_missing_target_column(tmp_path: Path) -> None:
    line = run_bad("train", str(DATA / "churn_small.csv"), "--target", "Chrun",
                   "--workspace", str(tmp_path))
    assert "target column 'Chrun' is not in" in line and "Did you mean 'Churn'?" in line


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    line = run_bad("train", str(empty), "--target", "y", "--workspace", str(tmp_path / "ws"))
    assert "the file is empty" in line


def test_file_that_is_not_a_table(tmp_path: Path) -> None:
    binary = tmp_path / "picture.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    line = run_bad("train", str(binary), "--target", "y", "--workspace", str(tmp_path / "ws"))
    assert "binary content, not a text table" in line


def test_prose_is_not_a_table(tmp_path: Path) -> None:
    prose = tmp_path / "notes.txt"
    prose.write_text("Dear team\nhere are the numbers you wanted\nbest regards\n")
    line = run_bad("train", str(prose), "--target", "y", "--workspace", str(tmp_path / "ws"))
    assert "does not look like a delimited table" in line or "not in" in line


def test_target_with_one_class(tmp_path: Path) -> None:
    data = tmp_path / "one.csv"
    data.write_text("x,y\n" + "".join(f"{i},yes\n" for i in range(30)))
    line = run_bad("train", str(data), "--target", "y", "--workspace", str(tmp_path / "ws"))
    assert "same value ('yes') in every row" in line


def test_config_typo(tmp_path: Path) -> None:
    config = tmp_path / "fullcycle.yaml"
    config.write_text("data:\n  target: Churn\ntrian:\n  time_budget: 5\n")
    line = run_bad("train", str(DATA / "churn_small.csv"), "--config", str(config),
                   "--workspace", str(tmp_path / "ws"))
    assert "unknown key 'trian'" in line and "Did you mean 'train'?" in line


def test_unknown_model_family(tmp_path: Path) -> None:
    config = tmp_path / "fullcycle.yaml"
    config.write_text("train:\n  families: [lightgbm, randomforest]\n")
    line = run_bad("train", str(DATA / "churn_small.csv"), "--target", "Churn",
                   "--config", str(config), "--workspace", str(tmp_path / "ws"))
    assert "unknown model family 'randomforest'" in line and "random_forest" in line


def test_predict_without_a_trained_model(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    line = run_bad("predict", "--workspace", str(tmp_path / "ws"), "--input",
                   str(DATA / "churn_small.csv"), "--output", str(tmp_path / "p.csv"))
    assert "champion" in line and "fullcycle train" in line


@pytest.mark.parametrize("flag", ["--debug"])
def test_debug_shows_the_traceback(tmp_path: Path, flag: str) -> None:
    result = cli(flag, "train", str(DATA / "churn_small.csv"), "--target", "nope",
                 "--workspace", str(tmp_path))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_help_on_every_command() -> None:
    for command in ("init", "train", "predict", "serve", "monitor", "run", "demo"):
        result = cli(command, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, command
