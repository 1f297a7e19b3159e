from __future__ import annotations

from pathlib import Path

import pytest

from fullcycle import Config, ConfigError


def test_defaults_are_valid() -> None:
    cfg = Config()
    assert cfg.seed == 42 and cfg.train.time_budget == 60 and cfg.split.cv_folds == 5


def test_unknown_top_level_key_names_it_and_suggests() -> None:
    with pytest.raises(ConfigError) as err:
        Config.from_dict({"trian": {"time_budget": 5}})
    message = str(err.value)
    assert "unknown key 'trian'" in message and "Did you mean 'train'?" in message
    for section in ("data", "evaluate", "features", "monitor", "problem", "project", "train"):
        assert f" {section}," in message or message.rstrip(".").endswith(f" {section}")


def test_unknown_nested_key_lists_that_sections_keys() -> None:
    with pytest.raises(ConfigError) as err:
        Config.from_dict({"train": {"time_budgt": 5}})
    assert "'train.time_budgt'" in str(err.value)
    assert "Did you mean 'time_budget'?" in str(err.value)
    assert "max_trials" in str(err.value)


def test_bad_value_says_which_key() -> None:
    with pytest.raises(ConfigError, match=r"split\.test_size"):
        Config.from_dict({"split": {"test_size": 2}})


def test_success_criterion_must_be_operator_and_number() -> None:
    with pytest.raises(ConfigError, match="operator and a number"):
        Config.from_dict({"problem": {"success": {"roc_auc": "high"}}})


def test_load_resolves_data_relative_to_config(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    (tmp_path / "cfg.yaml").write_text("data:\n  source: d.csv\n  target: b\n")
    cfg = Config.load(tmp_path / "cfg.yaml")
    assert cfg.data.source == str(tmp_path / "d.csv")


def test_load_rejects_non_mapping(tmp_path: Path) -> None:
    (tmp_path / "cfg.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        Config.load(tmp_path / "cfg.yaml")


def test_yaml_round_trip() -> None:
    cfg = Config.from_dict({"project": "p", "problem": {"success": {"rmse": "<= 3"}}})
    import yaml

    assert Config.from_dict(yaml.safe_load(cfg.to_yaml())) == cfg
