"""Opening a workspace's registry and loading a model by reference, for every layer that needs
one without the `Project` facade (server reload, packaging, the reference model)."""

from __future__ import annotations

import os

from fullcycle.config import Config
from fullcycle.model import Model
from fullcycle.registry.refs import parse_ref
from fullcycle.registry.store import ModelRegistry
from fullcycle.workspace import Workspace


def open_registry(workspace: Workspace, config: Config) -> ModelRegistry:
    """The registry of `workspace`: the config's tracking URI, else MLflow's own
    MLFLOW_TRACKING_URI, else the workspace's SQLite store."""
    uri = (config.registry.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
           or workspace.tracking_uri)
    return ModelRegistry(uri, workspace.artifact_root,
                         config.registry.model_name or config.project, workspace.cache)


def load_model(registry: ModelRegistry, ref: str = "champion") -> Model:
    """A model by reference: alias, version number, models:/ URI, or a model folder path.
    Registered versions are checked against the SHA-256 recorded at registration."""
    parsed = parse_ref(ref)
    if parsed.path is not None:  # verified against the registry's digests (or --trust)
        return registry.load_path(parsed.path)
    return registry.load(ref)
