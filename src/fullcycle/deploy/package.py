"""`fullcycle package REF OUT`: a folder that serves one model anywhere, without the workspace.

    OUT/
      model/            the model folder (model.json + pipeline.joblib, SHA-256 checked on load)
      wheels/           fullcycle's own code as a wheel (pure Python, built here, no backend)
      requirements.txt  exact versions (this environment's) of the serving closure
      fullcycle.yaml    the serve settings (port, caps, API key variable, log location)
      start.sh          `fullcycle serve` on the packaged model; PORT/HOST/WORKERS from the env
      Dockerfile        python:3.X-slim + `pip install .` + start.sh
      README.md         how to run, call, secure and monitor it
"""

from __future__ import annotations

import json
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from fullcycle.config import Config
from fullcycle.errors import ConfigError
from fullcycle.model import folder_digest
from fullcycle.registry.open import load_model, open_registry
from fullcycle.workspace import Workspace

# What the server imports at run time; the model's own libraries are added from the pipeline.
SERVING = ["numpy", "pandas", "pyarrow", "scipy", "scikit-learn",
           "joblib", "fastapi", "starlette", "uvicorn", "httptools", "uvloop", "python-multipart",
           "sqlalchemy", "pydantic", "pyyaml", "typer", "rich", "httpx",
           "fastapi-offline"]  # /docs assets served by the app (no CDN)
MODEL_LIBS = {"lightgbm": "lightgbm", "xgboost": "xgboost-cpu", "catboost": "catboost"}


def _model_libraries(pipeline: Any) -> set[str]:
    """Distribution names of the libraries whose objects are inside the fitted pipeline."""
    found: set[str] = set()
    seen: set[int] = set()

    def walk(obj: Any, depth: int = 0) -> None:
        if id(obj) in seen or depth > 6:
            return
        seen.add(id(obj))
        root = type(obj).__module__.split(".")[0]
        if root in MODEL_LIBS:
            found.add(MODEL_LIBS[root])
        values = obj.values() if isinstance(obj, dict) else obj if isinstance(
            obj, list | tuple) else getattr(obj, "__dict__", {}).values()
        for value in values:
            if not isinstance(value, str | bytes | int | float) and value is not None:
                walk(value, depth + 1)

    walk(pipeline)
    return found


def _closure(names: list[str]) -> dict[str, str]:
    """name -> installed version for `names` and everything they require (extras ignored)."""
    pinned: dict[str, str] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in pinned:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        pinned[key] = dist.version
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            marker_ok = ";" not in req or _marker_ok(req.split(";", 1)[1])
            if marker_ok:
                todo.append(re.split(r"[\s<>=!~\[;(]", req.strip(), maxsplit=1)[0])
    pinned.pop("fullcycle", None)
    return dict(sorted(pinned.items()))


def _marker_ok(marker: str) -> bool:
    try:
        from packaging.markers import Marker

        return Marker(marker).evaluate()
    except Exception:  # unknown marker syntax: keep the requirement
        return True


def package_model(workspace: str | Path, ref: str, out: str | Path,
                  config: Config | None = None) -> dict[str, Any]:
    """Package model `ref` of `workspace` (served with `config`, default: the workspace's
    saved config) as a folder with its wheel, pinned requirements, start script and Dockerfile."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty; give a new folder")
    ws = Workspace.at(workspace)
    cfg = ws.load_config(config)
    model = load_model(open_registry(ws, cfg), ref)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model")
    # Recorded outside the folder: start.sh hands it to the server, which refuses a model
    # folder whose content no longer matches (a folder alone cannot vouch for its pickle).
    (out / "model.sha256").write_text(folder_digest(out / "model") + "\n")
    wheel = build_wheel(Path(__file__).resolve().parents[1], out / "wheels", _version())
    libs = sorted(_model_libraries(model.pipeline))
    pins = _closure(SERVING + libs + (["psycopg", "psycopg-binary"] if (
        cfg.serve.log_url or "").startswith("postgresql") else []))
    (out / "requirements.txt").write_text(
        "# Exact versions of the environment that packaged this model (serving closure).\n"
        + "".join(f"{name}=={version}\n" for name, version in pins.items()))
    serve_cfg = cfg.serve.model_dump(mode="json")
    serve_cfg.update(host="0.0.0.0", log_url=None)
    packaged = {"project": cfg.project, "serve": serve_cfg}
    (out / "fullcycle.yaml").write_text(_yaml(packaged))
    start = out / "start.sh"
    start.write_text(START)
    start.chmod(0o755)
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    (out / "Dockerfile").write_text(DOCKERFILE.format(py=py))
    (out / "README.md").write_text(README.format(version=model.version_label, py=py,
                                                 target=model.card.target,
                                                 task=model.card.task,
                                                 example=json.dumps(model.card.input_example)))
    return {"version": model.version_label, "requirements": len(pins), "path": str(out),
            "wheel": wheel.name}


def build_wheel(package_dir: Path, dest: Path, version: str) -> Path:
    """A pure-Python wheel of the `fullcycle` package folder, written with zipfile (no build
    backend, offline): the code, METADATA, the `fullcycle` console script and a RECORD."""
    import base64
    import hashlib
    import zipfile

    dest.mkdir(parents=True, exist_ok=True)
    dist = f"fullcycle-{version}.dist-info"
    wheel = dest / f"fullcycle-{version}-py3-none-any.whl"
    files: list[tuple[str, bytes]] = []
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir.parent)
        if path.is_file() and "__pycache__" not in rel.parts and path.suffix != ".pyc" \
                and "datasets" not in rel.parts:
            files.append((rel.as_posix(), path.read_bytes()))
    files += [(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: fullcycle\nVersion: "
               f"{version}\nRequires-Python: >=3.11\n".encode()),
              (f"{dist}/WHEEL", b"Wheel-Version: 1.0\nGenerator: fullcycle package\n"
               b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
              (f"{dist}/entry_points.txt", b"[console_scripts]\nfullcycle = fullcycle.cli:main\n")]
    record = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{name},sha256={digest.decode()},{len(data)}")
        record.append(f"{dist}/RECORD,,")
        archive.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")
    return wheel


def _yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


def _version() -> str:
    try:
        return metadata.version("fullcycle")
    except metadata.PackageNotFoundError:
        return "0.0.0"


START = """#!/bin/sh
# Serve the packaged model. Settings: fullcycle.yaml; overrides from the environment.
HERE="$(cd "$(dirname "$0")" && pwd)"
STATE="${FULLCYCLE_STATE:-$HERE}"   # where the prediction log (predictions.db) goes
mkdir -p "$STATE"
[ -f "$STATE/fullcycle.yaml" ] || cp "$HERE/fullcycle.yaml" "$STATE/fullcycle.yaml"
FULLCYCLE_MODEL_DIGEST="$(cat "$HERE/model.sha256")"   # checked before anything is unpickled
export FULLCYCLE_MODEL_DIGEST
exec fullcycle serve --workspace "$STATE" --model "$HERE/model" \\
  --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}" --workers "${WORKERS:-1}" "$@"
"""

DOCKERFILE = """FROM python:{py}-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -r requirements.txt wheels/*.whl
ENV FULLCYCLE_STATE=/data PORT=8000
VOLUME /data
EXPOSE 8000
CMD ["/app/start.sh"]
"""

README = """# Model {version}: predicts `{target}` ({task})

A self-contained deployment written by `fullcycle package`.

## Run

    pip install -r requirements.txt wheels/*.whl   # exact versions + fullcycle itself
    ./start.sh               # http://0.0.0.0:8000 (PORT, HOST, WORKERS, FULLCYCLE_STATE)

or with Docker (Python {py}):

    docker build -t model-{version} .
    docker run -p 8000:8000 -v $PWD/state:/data model-{version}

## Call

    curl -s localhost:8000/predict -H 'content-type: application/json' -d '{example}'

Interactive docs with the typed input schema: http://localhost:8000/docs. Health: `/health`,
readiness: `/ready`, Prometheus: `/metrics`, model card: `/metadata`.

## Secure

Set `FULLCYCLE_API_KEYS=key1,key2` (keys of 16+ characters) and prediction routes require
`Authorization: Bearer <key>` or `X-API-Key: <key>`. Request size and rows per request are
capped in `fullcycle.yaml` (`serve.max_body_bytes`, `serve.max_rows`).

## Monitor

Every prediction is logged to `$FULLCYCLE_STATE/predictions.db` (SQLite), or to PostgreSQL when
`serve.log_url` is set in fullcycle.yaml. True labels go to `POST /feedback`
(`{{"id": "<prediction id>", "label": ...}}`).
"""
