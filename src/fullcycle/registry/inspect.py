"""Reading the registry for people: the version list, one version's record, and the difference
between two versions (config, data, metrics)."""

from __future__ import annotations

import json
import time
from typing import Any

from fullcycle.errors import ModelError
from fullcycle.registry.promotion import history
from fullcycle.registry.store import DIGEST, READY, STATE, ModelRegistry
from fullcycle.registry.tracking import SCHEMA


def version_state(mv: Any) -> str:
    """ready, or why a version must not be used."""
    if mv.status != "READY":
        return f"incomplete ({mv.status})"
    if mv.tags.get(STATE) != READY or not mv.tags.get(DIGEST):
        return "incomplete (not verified)"
    return "ready"


def list_versions(registry: ModelRegistry, include_incomplete: bool = False) -> list[dict]:
    """One row per version, newest first; incomplete versions only when asked."""
    client = registry.client
    versions = client.search_model_versions(f"name = '{registry.model_name}'", max_results=1000)
    aliases: dict[str, list[str]] = {}
    for alias, version in registry.aliases().items():
        aliases.setdefault(version, []).append(alias)
    runs = _runs(registry, [mv.run_id for mv in versions if mv.run_id])
    rows = []
    for mv in sorted(versions, key=lambda v: -int(v.version)):
        state = version_state(mv)
        if state != "ready" and not include_incomplete:
            continue
        run = runs.get(mv.run_id)
        metric = run.data.params.get("metric", "") if run else ""
        rows.append({
            "version": str(mv.version), "aliases": ",".join(sorted(aliases.get(str(mv.version),
                                                                             []))),
            "state": state, "created": _when(mv.creation_timestamp),
            "model": run.data.params.get("best_model", "") if run else "",
            f"test_{metric}" if metric else "test": _metric(run, f"test_{metric}"),
            "data": mv.tags.get("data_fingerprint", "")[:8],
        })
    return rows


def describe(registry: ModelRegistry, ref: str) -> dict[str, Any]:
    """Everything recorded about one version: the version, its run, its history."""
    version = registry.resolve_version(ref)
    mv = registry.model_version(version)
    run = registry.client.get_run(mv.run_id) if mv.run_id else None
    held = sorted(a for a, v in registry.aliases().items() if v == version)
    return {
        "name": registry.model_name, "version": version, "aliases": held,
        "state": version_state(mv), "status": mv.status, "created": _when(mv.creation_timestamp),
        "source": mv.source, "run_id": mv.run_id,
        "tags": dict(sorted(mv.tags.items())),
        "params": dict(sorted(run.data.params.items())) if run else {},
        "metrics": dict(sorted(run.data.metrics.items())) if run else {},
        "run_tags": {k: v for k, v in sorted(run.data.tags.items())
                     if k.startswith("fullcycle.") or k == "mlflow.source.git.commit"}
        if run else {},
        "history": [e for e in history(registry) if e.get("version") == version
                    or e.get("previous") == version],
    }


def diff(registry: ModelRegistry, a: str, b: str) -> dict[str, list[dict[str, str]]]:
    """Rows of (key, a, b) that differ, in three groups: config, data, metrics."""
    left, right = describe(registry, a), describe(registry, b)
    config = _changed({k: v for k, v in left["params"].items() if k.startswith("config.")},
                      {k: v for k, v in right["params"].items() if k.startswith("config.")})
    data_keys = ("data_fingerprint", "rows", "task")
    data = _changed({k: left["params"].get(k, "") for k in data_keys},
                    {k: right["params"].get(k, "") for k in data_keys})
    data += _schema_changes(registry, left["run_id"], right["run_id"])
    metrics = _changed({k: f"{v:.6g}" for k, v in left["metrics"].items()},
                       {k: f"{v:.6g}" for k, v in right["metrics"].items()})
    return {"config": config, "data": data, "metrics": metrics,
            "versions": [{"key": "version", "a": left["version"], "b": right["version"]}]}


def _changed(left: dict[str, str], right: dict[str, str]) -> list[dict[str, str]]:
    out = []
    for key in sorted(set(left) | set(right)):
        va, vb = left.get(key, "—"), right.get(key, "—")
        if va != vb:
            out.append({"key": key, "a": str(va), "b": str(vb)})
    return out


def _schema_changes(registry: ModelRegistry, run_a: str | None,
                    run_b: str | None) -> list[dict[str, str]]:
    """Columns added, removed or given another role between the two runs' data."""
    roles = [_roles(registry, run) for run in (run_a, run_b)]
    if roles[0] is None or roles[1] is None:
        return []
    return [{"key": f"column {name}", "a": roles[0].get(name, "—"), "b": roles[1].get(name, "—")}
            for name in sorted(set(roles[0]) | set(roles[1]))
            if roles[0].get(name) != roles[1].get(name)]


def _roles(registry: ModelRegistry, run_id: str | None) -> dict[str, str] | None:
    import mlflow.artifacts


    if not run_id:
        return None
    try:
        text = mlflow.artifacts.load_text(f"runs:/{run_id}/{SCHEMA}")
    except Exception:  # runs logged before the schema artifact existed
        return None
    columns = json.loads(text)["schema"]["columns"]
    return {c["name"]: f"{c['role']} ({c['dtype']})" for c in columns}


def _runs(registry: ModelRegistry, run_ids: list[str]) -> dict[str, Any]:
    if not run_ids:
        return {}
    out = {}
    for start in range(0, len(run_ids), 100):
        ids = ", ".join(f"'{r}'" for r in run_ids[start:start + 100])
        for run in registry.client.search_runs([registry.experiment_id()],
                                               filter_string=f"attributes.run_id IN ({ids})",
                                               max_results=1000):
            out[run.info.run_id] = run
    return out


def _metric(run: Any, key: str) -> str:
    if run is None or key not in run.data.metrics:
        return ""
    return f"{run.data.metrics[key]:.4f}"


def _when(ms: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000)) if ms else ""


def require_versions(registry: ModelRegistry) -> None:
    if not list_versions(registry, include_incomplete=True):
        raise ModelError(f"registered model {registry.model_name!r} has no versions yet; train "
                         "one with `fullcycle train`")
