"""Where a project's files live. One folder holds the config, the MLflow store, the model
artifacts, the reports and the prediction log, so a project is easy to move or delete."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fullcycle.config import Config


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def at(cls, path: str | Path) -> Workspace:
        root = Path(path).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    @property
    def config_path(self) -> Path:
        return self.root / "fullcycle.yaml"

    def load_config(self, config: Config | None = None) -> Config:
        """`config` if given, else the saved fullcycle.yaml, else the defaults (a workspace
        that only holds registered models, e.g. one made by `register_reference`)."""
        if config is not None:
            return config
        return Config.load(self.config_path) if self.config_path.exists() else Config()

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def artifact_root(self) -> Path:
        return self.root / "mlartifacts"

    @property
    def models(self) -> Path:
        return self._dir("models")

    @property
    def reports(self) -> Path:
        return self._dir("reports")

    @property
    def cache(self) -> Path:
        return self._dir(".cache")

    @property
    def prediction_log_url(self) -> str:
        return f"sqlite:///{self.root / 'predictions.db'}"

    def _dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path
