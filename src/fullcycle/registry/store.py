"""The model registry: MLflow runs, registered versions and aliases.

Registration order makes it atomic for readers: the model folder is complete and hashed before
MLflow sees it; the version is registered with its SHA-256 as a tag; the alias moves last, so an
alias never points at a version whose artifact is missing or unverified."""

from __future__ import annotations

import getpass
import logging
import os
import re
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

from fullcycle.errors import ModelError, RegistryError
from fullcycle.model import META_FILE, Model, read_metadata

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
ALIASES = ("champion", "challenger")
REF_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))$")
PIP_REQUIREMENTS = ["fullcycle", "scikit-learn", "lightgbm", "pandas", "numpy", "joblib"]


class ModelRegistry:
    def __init__(self, tracking_uri: str, artifact_root: Path, model_name: str,
                 cache_dir: Path) -> None:
        self.tracking_uri, self.artifact_root = tracking_uri, artifact_root
        self.model_name, self.cache_dir = model_name, cache_dir
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import mlflow
            from mlflow import MlflowClient

            logging.getLogger("mlflow").setLevel(logging.WARNING)
            logging.getLogger("alembic").setLevel(logging.WARNING)
            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_registry_uri(self.tracking_uri)
            self._client = MlflowClient(self.tracking_uri, self.tracking_uri)
        return self._client

    def experiment_id(self) -> str:
        exp = self.client.get_experiment_by_name(self.model_name)
        if exp is not None:
            return exp.experiment_id
        return self.client.create_experiment(self.model_name,
                                             artifact_location=self.artifact_root.as_uri())

    # --- writing ----------------------------------------------------------------------------
    def register(self, model_dir: Path, *, params: dict[str, Any], metrics: dict[str, float],
                 artifacts: list[Path], tags: dict[str, str], alias: str | None = "champion",
                 reason: str = "trained") -> str:
        """Log a run for a saved model folder, register it and (optionally) move an alias."""
        import mlflow

        meta = read_metadata(model_dir)
        self.client  # noqa: B018 - sets the tracking URI
        with mlflow.start_run(experiment_id=self.experiment_id()) as run:
            mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v == v})
            mlflow.set_tags(tags)
            for path in artifacts:
                if path.exists():
                    mlflow.log_artifact(str(path))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # MLflow's type-hint and integer-schema hints
                info = mlflow.pyfunc.log_model(
                    name="model", python_model=str(Path(__file__).with_name("pyfunc.py")),
                    artifacts={"model": str(model_dir)}, pip_requirements=PIP_REQUIREMENTS,
                    input_example=_input_example(model_dir),
                )
        version = self.client.create_model_version(
            self.model_name, info.model_uri, run_id=run.info.run_id,
            tags={"sha256": meta["sha256"], "data_fingerprint": str(
                meta["metadata"].get("data_fingerprint", ""))},
        ) if self._ensure_registered() else None
        assert version is not None
        self._wait_ready(version.version)
        if alias:
            self.set_alias(alias, version.version, reason=reason)
        return str(version.version)

    def _ensure_registered(self) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(self.model_name)
        except MlflowException:
            self.client.create_registered_model(self.model_name)
        return True

    def _wait_ready(self, version: str, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            mv = self.client.get_model_version(self.model_name, version)
            if mv.status == "READY":
                return
            time.sleep(0.1)
        raise RegistryError(f"model version {version} did not become READY in {timeout:g} s")

    def set_alias(self, alias: str, version: str, *, reason: str) -> None:
        previous = self.alias_version(alias)
        # Verify the artifact before any alias can point at it.
        self.load(version)
        self.client.set_model_version_tag(self.model_name, version, f"{alias}_since",
                                          time.strftime("%Y-%m-%dT%H:%M:%S"))
        self.client.set_model_version_tag(self.model_name, version, f"{alias}_reason", reason)
        self.client.set_model_version_tag(self.model_name, version, f"{alias}_by", _user())
        if previous:
            self.client.set_model_version_tag(self.model_name, version, f"previous_{alias}",
                                              previous)
        self.client.set_registered_model_alias(self.model_name, alias, version)

    # --- reading ----------------------------------------------------------------------------
    def alias_version(self, alias: str) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(self.model_name, alias).version)
        except MlflowException:
            return None

    def resolve_version(self, ref: str | int) -> str:
        """A reference -> version number: 'champion', '3', 'models:/name@alias', 'models:/name/3'."""
        ref = str(ref)
        match = REF_URI.match(ref)
        if match:
            if match.group("name") != self.model_name:
                raise ModelError(f"{ref}: this workspace's registered model is {self.model_name!r}")
            ref = match.group("alias") or match.group("version")
        if ref.isdigit():
            return ref
        version = self.alias_version(ref)
        if version is None:
            raise ModelError(f"no model version has the alias {ref!r} in registered model "
                             f"{self.model_name!r}; train one with `fullcycle train`, or use a "
                             "version number")
        return version

    def load(self, ref: str | int) -> Model:
        """Load a registered version through the checked cache."""
        import mlflow.artifacts

        version = self.resolve_version(ref)
        try:
            mv = self.client.get_model_version(self.model_name, version)
        except Exception:
            raise ModelError(f"model version {version} of {self.model_name!r} does not exist; "
                             "see `fullcycle models list`") from None
        expected = mv.tags.get("sha256")
        if not expected:
            raise ModelError(f"model version {version} has no recorded SHA-256; it was not "
                             "registered by fullcycle and will not be loaded")
        target = self.cache_dir / f"{self.model_name}-v{version}"
        if not (target / META_FILE).exists():
            tmp = self.cache_dir / f".{self.model_name}-v{version}.{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{self.model_name}/{version}",
                                                dst_path=str(tmp), tracking_uri=self.tracking_uri)
            inner = next(p.parent for p in tmp.rglob(META_FILE))
            shutil.rmtree(target, ignore_errors=True)
            os.replace(inner, target)
            shutil.rmtree(tmp, ignore_errors=True)
        model = Model.load(target, expected_sha256=expected)
        model.metadata["version"] = version
        return model


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def _input_example(model_dir: Path) -> Any:
    import pandas as pd

    meta = read_metadata(model_dir)
    example = meta["metadata"].get("input_example")
    return pd.DataFrame.from_records([example]) if example else None
