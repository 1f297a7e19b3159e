"""Secret masking and the code/environment record (pure functions, no MLflow)."""

from __future__ import annotations

from fullcycle.config import Config
from fullcycle.provenance import (
    code_version,
    installed_packages,
    mask_secrets,
    mask_text,
    pinned_requirements,
)


def test_url_passwords_and_secret_query_parameters_are_masked() -> None:
    assert mask_text("postgresql+psycopg://fc:s3cret@127.0.0.1:5432/db") == \
        "postgresql+psycopg://fc:***@127.0.0.1:5432/db"
    assert mask_text("https://api.example/v1?page=2&api_key=abc123&token=xyz") == \
        "https://api.example/v1?page=2&api_key=***&token=***"
    assert mask_text("see https://user@host/path and s3://bucket/x") == \
        "see https://user@host/path and s3://bucket/x"  # no password, nothing to hide
    assert mask_text("sqlite:////tmp/mlflow.db") == "sqlite:////tmp/mlflow.db"


def test_config_trees_are_masked_by_key_name_and_in_urls() -> None:
    tree = {"data": {"source": "mysql://root:hunter2@db/sales", "params": {"password": "p",
                                                                           "region": "eu"}},
            "headers": [{"Authorization": "Bearer t0ken"}, {"X-Api-Key": "k"}],
            "serve": {"api_keys_env": "FULLCYCLE_API_KEYS", "secret": None},
            "client_secret": "s", "access_token": "t", "seed": 42}
    masked = mask_secrets(tree)
    assert masked["data"]["source"] == "mysql://root:***@db/sales"
    assert masked["data"]["params"] == {"password": "***", "region": "eu"}
    assert masked["headers"] == [{"Authorization": "***"}, {"X-Api-Key": "***"}]
    assert masked["serve"] == {"api_keys_env": "FULLCYCLE_API_KEYS", "secret": None}
    assert masked["client_secret"] == "***" and masked["access_token"] == "***"
    assert masked["seed"] == 42
    assert tree["data"]["params"]["password"] == "p"  # the original is untouched


def test_a_default_config_loses_nothing_to_masking() -> None:
    dumped = Config().model_dump(mode="json")
    assert mask_secrets(dumped) == dumped


def test_code_and_environment_records() -> None:
    code = code_version()
    assert code["fullcycle"] and code["python"].count(".") == 2
    assert code["git_commit"] is None or len(code["git_commit"]) == 40
    frozen = installed_packages()
    assert "mlflow==" in frozen and "pandas==" in frozen
    pins = pinned_requirements(("lightgbm",))
    assert any(p.startswith("scikit-learn==") for p in pins)
    assert any(p.startswith("lightgbm==") for p in pins)


def test_registry_public_names_and_lazy_mlflow() -> None:
    import subprocess
    import sys

    import fullcycle.registry as registry

    assert registry.__all__ == ["ModelRef", "ModelRegistry", "Reproduction", "RunRecord",
                                "build_record", "history", "parse_ref", "promote", "reproduce",
                                "rollback"]
    probe = subprocess.run([sys.executable, "-c", "import sys, fullcycle.registry, "
                            "fullcycle.cli; print('mlflow' in sys.modules)"],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "False"
