"""The model registry: MLflow runs, registered versions and aliases.

Registration is ordered so that a process killed at any point leaves nothing half-done that a
reader could trust:

1. the model folder is complete and hashed (content digest) before MLflow sees it;
2. the run logs its record and the pyfunc model; the uploaded copy is downloaded back into the
   content-addressed cache through a temporary folder and checked against the digest;
3. only then is the version created, in one call carrying its digest and `fullcycle.state=ready`
   (a version without that tag is incomplete: listed as such, never loaded);
4. the alias moves last, after the version verified as loadable.

A run killed before step 3 stays RUNNING in MLflow; the next registration from this host marks it
FAILED. Partial cache downloads live in `.partial-*` folders that are never read and are cleared."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from fullcycle.card import ModelCard
from fullcycle.errors import IntegrityError, ModelError, RegistryError
from fullcycle.model import Model, folder_digest, read_card, read_metadata, verify_folder
from fullcycle.provenance import pinned_requirements
from fullcycle.registry import local_read
from fullcycle.registry.promotion import _test_pause, move_alias
from fullcycle.registry.refs import REF_URI, parse_ref  # noqa: F401 - REF_URI re-exported
from fullcycle.registry.signature import input_example, model_signature
from fullcycle.registry.tracking import RunRecord

TRUST_ENV = "FULLCYCLE_TRUST_MODEL_PATH"
# A digest recorded outside the folder by whoever made it (`fullcycle package` writes
# model.sha256 beside model/ and start.sh passes it here): the folder loads only if it matches.
DIGEST_ENV = "FULLCYCLE_MODEL_DIGEST"

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
ALIASES = ("champion", "challenger")
STATE, READY = "fullcycle.state", "ready"
DIGEST, MODEL_PATH = "fullcycle.digest", "fullcycle.model_path"


class ModelRegistry:
    def __init__(self, tracking_uri: str, artifact_root: Path, model_name: str,
                 cache_dir: Path) -> None:
        self.tracking_uri, self.artifact_root = tracking_uri, Path(artifact_root)
        self.model_name, self.cache_dir = model_name, Path(cache_dir)
        self._client: Any = None

    @property
    def is_local(self) -> bool:
        return self.tracking_uri.startswith(("sqlite:", "file:", "/"))

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            for name in ("mlflow", "alembic", "urllib3"):
                logging.getLogger(name).setLevel(logging.WARNING)
            seed_sqlite_store(self.tracking_uri, self.artifact_root)
            self._client = MlflowClient(self.tracking_uri, self.tracking_uri)
        self._activate()
        return self._client

    def _activate(self) -> None:
        # MLflow's fluent API (log_model) reads process-global URIs: point them at this
        # registry before each use, so two workspaces in one process do not cross.
        import os

        import mlflow

        # set_tracking_uri also exports MLFLOW_TRACKING_URI (for child processes); the user's
        # variable must stay as it was, or the next workspace opened here would follow this one
        saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def experiment_id(self) -> str:
        if getattr(self, "_experiment_id", None):
            return self._experiment_id
        exp = self.client.get_experiment_by_name(self.model_name)
        if exp is not None:
            self._experiment_id: str = str(exp.experiment_id)
            return self._experiment_id
        # A local store keeps artifacts in the workspace; a server picks its own destination.
        location = self.artifact_root.as_uri() if self.is_local else None
        # The experiment kind makes the MLflow UI open on training runs, not its GenAI pages.
        return str(self.client.create_experiment(
            self.model_name, artifact_location=location,
            tags={"mlflow.experimentKind": "custom_model_development"}))

    # --- writing ----------------------------------------------------------------------------
    def register(self, model_dir: Path, record: RunRecord | None = None, *,
                 params: dict[str, Any] | None = None, metrics: dict[str, float] | None = None,
                 artifacts: list[Path] | tuple[Path, ...] = (), tags: dict[str, str] | None = None,
                 alias: str | None = "champion", reason: str = "trained") -> str:
        """Log a run for a saved model folder, register it atomically and (optionally) move an
        alias to it. Returns the new version number."""
        from mlflow.entities import RunTag

        record = _merge(record, params, metrics, artifacts, tags)
        model_dir = Path(model_dir)
        digest = folder_digest(model_dir)
        meta = read_metadata(model_dir)
        self.reap()
        run_id, model_path, source = self._log_run(model_dir, record, digest, meta)
        try:
            _test_pause("logged")
            self._fetch_verified(source, model_path, digest, fresh=True)
            _test_pause("verified")
            version = self._create_version(source, run_id, digest, model_path, meta, record)
        except BaseException:
            self.client.set_terminated(run_id, "FAILED")
            raise
        self.client.set_terminated(run_id, "FINISHED")
        self.client.log_batch(run_id, tags=[RunTag("fullcycle.model_version", version),
                                            RunTag(STATE, "registered"),
                                            RunTag("mlflow.runName",
                                                   f"{self.model_name} v{version}")])
        _test_pause("versioned")
        if alias:
            # The artifact was verified above, byte for byte: no second load before the alias.
            move_alias(self, alias, version, reason=reason, kind="train", verify=False)
        return version

    def set_alias(self, alias: str, version: str, *, reason: str) -> None:
        """Point `alias` at `version` (verified first), with history; see promotion.py."""
        move_alias(self, alias, str(version), reason=reason, kind="promote")

    def attach(self, ref: str | int, paths: list[Path], folder: str = "reports") -> str:
        """Add files made after training (e.g. the evaluation report) to a version's run, so
        the MLflow UI shows them next to the run's own record. Returns the run id."""
        mv = self.checked_version(ref)
        for path in paths:
            if not Path(path).is_file():
                raise ModelError(f"cannot attach {path} to version {mv.version}: no such file")
            self.client.log_artifact(mv.run_id, str(path), folder)
        return str(mv.run_id)

    def _log_run(self, model_dir: Path, record: RunRecord, digest: str,
                 meta: dict[str, Any]) -> tuple[str, str, str]:
        import mlflow
        from mlflow.entities import Metric, Param, RunTag

        client = self.client
        tags = dict(record.tags) | {STATE: "running", "fullcycle.digest": digest}
        run = client.create_run(self.experiment_id(), run_name=record.run_name, tags=tags)
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, 0) for k, v in record.metrics.items() if v == v]
        metrics += [Metric(k, float(v), now, step) for k, v, step in record.step_metrics if v == v]
        params = [Param(k, str(v)[:6000]) for k, v in record.params.items()]
        for start in range(0, max(len(params), len(metrics), 1), 100):  # MLflow's batch limits
            client.log_batch(run_id, metrics=metrics[start:start + 100],
                             params=params[start:start + 100], tags=[] if start else
                             [RunTag("fullcycle.params", str(len(params)))])
        with tempfile.TemporaryDirectory(prefix="fc-run-") as tmp:
            client.log_artifacts(run_id, str(record.write(Path(tmp))))
        self._log_children(run_id, record)

        card = ModelCard.from_dict(meta["card"])
        schema = card.schema
        families = {card.training.family or ""}
        with mlflow.start_run(run_id=run_id), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLflow's type-hint hints
            # MLflow loads the logged model once and predicts the input example (~1 s): a check
            # that the served form works, kept on purpose.
            info = mlflow.pyfunc.log_model(
                name="model", python_model=str(Path(__file__).with_name("pyfunc.py")),
                artifacts={"model": str(model_dir)},
                pip_requirements=pinned_requirements(_family_packages(families)),
                signature=model_signature(schema, card.classes),
                input_example=input_example(schema, card.input_example),
                model_config={"fullcycle_digest": digest},
            )
            mlflow.end_run("RUNNING")  # the run finishes only once a version exists
        model_path = f"artifacts/{model_dir.name}"
        return run_id, model_path, info.model_uri

    def _log_children(self, parent: str, record: RunRecord) -> None:
        """A nested run per candidate of the search (MLflow shows them under the training's
        run): its family, hyperparameters and fold scores."""
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        for child in record.children:
            tags = {"mlflow.parentRunId": parent, "fullcycle.role": "candidate",
                    **child.get("tags", {})}
            run = self.client.create_run(self.experiment_id(), run_name=child["name"],
                                         tags=tags)
            params = [Param(k, v) for k, v in child["params"].items()][:100]
            metrics = [Metric(k, v, now, 0) for k, v in child["metrics"].items()][:100]
            self.client.log_batch(run.info.run_id, metrics=metrics, params=params,
                                  tags=[RunTag("mlflow.source.name", "fullcycle search")])
            self.client.set_terminated(run.info.run_id, "FINISHED")

    def _create_version(self, source: str, run_id: str, digest: str, model_path: str,
                        meta: dict[str, Any], record: RunRecord) -> str:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(self.model_name)
        except MlflowException:
            self.client.create_registered_model(
                self.model_name, description="Registered by fullcycle: one version per training "
                "run; aliases champion and challenger.")
        tags = {STATE: READY, DIGEST: digest, MODEL_PATH: model_path, "sha256": meta["sha256"],
                "data_fingerprint": str(meta["card"]["provenance"].get("data_fingerprint")
                                        or ""),
                "task": meta["card"].get("task", ""), "kind": meta["card"].get("kind", ""),
                "fullcycle.snapshot": record.tags.get("fullcycle.snapshot", "")}
        # One call: a version either exists complete with its digest, or does not exist.
        model_id = source.removeprefix("models:/") if source.startswith("models:/m-") else None
        mv = self.client.create_model_version(self.model_name, source, run_id=run_id, tags=tags,
                                              model_id=model_id, await_creation_for=0)
        version = str(mv.version)
        self._wait_ready(version)
        return version

    def _wait_ready(self, version: str, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while True:
            mv = self.client.get_model_version(self.model_name, version)
            if mv.status == "READY":
                return
            if mv.status == "FAILED_REGISTRATION" or time.monotonic() > end:
                raise RegistryError(f"model version {version} of {self.model_name!r} did not "
                                    f"become READY (status {mv.status}); train again")
            time.sleep(0.1)

    def reap(self) -> list[str]:
        """Mark runs this host started and then died in (killed mid-registration) as FAILED,
        and clear partial cache downloads of dead processes. Returns the runs marked."""
        _clear_partials(self.cache_dir)
        host = socket.gethostname().replace("'", "")
        try:
            runs = self.client.search_runs(
                [self.experiment_id()], max_results=200,
                filter_string=f"attributes.status = 'RUNNING' and tags.`fullcycle.host` = '{host}'")
        except Exception:  # tidying must never block a registration
            return []
        marked = []
        for run in runs:
            pid = run.data.tags.get("fullcycle.pid", "")
            if pid.isdigit() and not _alive(int(pid)):
                self.client.set_tag(run.info.run_id, STATE, "abandoned")
                self.client.set_terminated(run.info.run_id, "FAILED")
                marked.append(run.info.run_id)
        return marked

    # --- reading ----------------------------------------------------------------------------
    def alias_version(self, alias: str) -> str | None:
        found = local_read.alias_version(self.tracking_uri, self.model_name, alias)
        if found is not local_read.UNAVAILABLE:
            return found  # type: ignore[return-value]
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(self.model_name, alias).version)
        except MlflowException:
            return None

    def aliases(self) -> dict[str, str]:
        """alias -> version (search_model_versions does not fill aliases; this does)."""
        from mlflow.exceptions import MlflowException

        try:
            rm = self.client.get_registered_model(self.model_name)
        except MlflowException:
            return {}
        return {a: str(v) for a, v in rm.aliases.items()}

    def resolve_version(self, ref: str | int) -> str:
        """A reference -> version number: champion, 3, models:/NAME@ALIAS, models:/NAME/3."""
        parsed = parse_ref(ref, allow_path=False)
        if parsed.name is not None and parsed.name != self.model_name:
            raise ModelError(f"{parsed.text}: this workspace's registered model is "
                             f"{self.model_name!r}, not {parsed.name!r}")
        if parsed.version is not None:
            return parsed.version
        assert parsed.alias is not None
        version = self.alias_version(parsed.alias)
        if version is None:
            known = ", ".join(sorted(self.aliases())) or "none yet"
            raise ModelError(f"no model version has the alias {parsed.alias!r} in registered "
                             f"model {self.model_name!r} (aliases: {known}); train one with "
                             "`fullcycle train`, or give a version number")
        return version

    def model_version(self, version: str) -> Any:
        try:
            return self.client.get_model_version(self.model_name, version)
        except Exception:  # MLflow raises several types for "not found"
            raise ModelError(f"model version {version} of {self.model_name!r} does not exist; "
                             "see `fullcycle models list`") from None

    def checked_version(self, ref: str | int) -> Any:
        """The model version for a reference, refused unless fullcycle registered it whole."""
        version = self.resolve_version(ref)
        mv: Any = local_read.model_version(self.tracking_uri, self.model_name, version)
        if mv is local_read.UNAVAILABLE or mv is None:  # MLflow answers, or words the error
            mv = self.model_version(version)
        if mv.tags.get(STATE) != READY or not mv.tags.get(DIGEST):
            raise ModelError(f"model version {version} of {self.model_name!r} is incomplete (no "
                             "verified fullcycle artifact recorded); it will not be loaded. Use "
                             "another version (`fullcycle models list`).")
        if mv.status != "READY":
            raise ModelError(f"model version {version} is {mv.status}, not READY")
        return mv

    def load(self, ref: str | int) -> Model:
        """Load a registered version through the verified, content-addressed cache."""
        mv = self.checked_version(ref)
        digest = mv.tags[DIGEST]
        store_copy = self._store_copy(str(mv.version), mv.source, mv.tags.get(MODEL_PATH, ""))
        if store_copy is not None:  # every load, so a tampered copy is refused even when the
            verify_folder(store_copy, digest,  # cache still holds an intact one
                          where=f"MLflow artifact store, version {mv.version}")
        folder = self._fetch_verified(mv.source, mv.tags.get(MODEL_PATH, ""), digest,
                                      version=str(mv.version))
        model = Model.load(folder, expected_sha256=mv.tags.get("sha256"))
        model.card.version = str(mv.version)
        return model

    def load_card(self, ref: str | int) -> Any:
        """The card of a registered version (its contract, problem...), from the verified
        folder, without unpickling the predictor: `validate` needs nothing else, and loading the
        model's native libraries (and their threads) only to read its schema cost seconds."""
        parsed = parse_ref(str(ref))
        if parsed.path is not None:
            folder = Path(parsed.path)
            if os.environ.get(TRUST_ENV) != "1" and folder_digest(folder) not in \
                    self.known_digests() | {os.environ.get(DIGEST_ENV, "").strip()}:
                return self.load_path(folder).card  # refused with the usual message
            return read_card(folder)
        mv = self.checked_version(ref)
        digest = mv.tags[DIGEST]
        folder = self._fetch_verified(mv.source, mv.tags.get(MODEL_PATH, ""), digest,
                                      version=str(mv.version))
        card = read_card(folder)
        card.version = str(mv.version)
        return card

    def _store_copy(self, version: str, source: str, model_path: str) -> Path | None:
        """The registry's own copy of a version (under mlartifacts/) when the artifact store is
        a local folder; None for remote stores. Read from the SQLite store when it can be (no
        MLflow import on the load path)."""
        if not self.is_local or not model_path:
            return None
        from urllib.parse import unquote, urlparse

        found = local_read.artifact_location(self.tracking_uri, source)
        uri = str(found) if isinstance(found, str) else \
            str(self.client.get_model_version_download_uri(self.model_name, version))
        if uri.startswith("file:"):
            base = Path(unquote(urlparse(uri).path))
        elif uri.startswith("/"):
            base = Path(uri)
        else:
            return None
        folder = base / model_path
        return folder if folder.is_dir() else None

    def known_digests(self) -> set[str]:
        """The content digests of every verified version of this registered model."""
        try:
            found = self.client.search_model_versions(f"name='{self.model_name}'")
        except Exception:  # no registered model yet
            return set()
        return {mv.tags[DIGEST] for mv in found
                if mv.tags.get(STATE) == READY and mv.tags.get(DIGEST)}

    def load_path(self, folder: str | Path, *, trust: bool | None = None) -> Model:
        """A model folder given by path. Its own model.json cannot vouch for it (whoever
        replaced the pickle could rewrite that too), so it loads only when its content digest
        is one this registry recorded at registration, or when the caller says `trust` (the
        CLI's --trust sets FULLCYCLE_TRUST_MODEL_PATH=1, which worker processes inherit)."""
        folder = Path(folder)
        recorded = os.environ.get(DIGEST_ENV, "").strip()
        if recorded:  # checked whatever `trust` says: a recorded digest is stronger
            verify_folder(folder, recorded, where=f"the digest in {DIGEST_ENV}")
            return Model.load(folder)
        if trust is None:
            trust = os.environ.get(TRUST_ENV) == "1"
        if not trust:
            digest = folder_digest(folder)
            if digest not in self.known_digests():
                raise IntegrityError(
                    f"model folder {folder} is not a version registered in this workspace (its "
                    "content digest matches none the registry recorded), so nothing vouches for "
                    "its pickle; it will not be loaded. Load a registered version (champion, a "
                    "version number), or pass --trust if you trust the folder's origin.")
        return Model.load(folder)

    def _fetch_verified(self, source: str, model_path: str, digest: str,
                        version: str | None = None, fresh: bool = False) -> Path:
        """The model folder in the cache, downloaded and verified on first use; a cached copy
        that no longer matches its digest is refused, never re-trusted. `fresh` checks the
        store's copy even when the cache has one (registration verifies its own upload)."""
        target = self.cache_dir / digest
        if target.is_dir() and not fresh:
            verify_folder(target, digest, where="download cache")
            return target
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".partial-{os.getpid()}-", dir=self.cache_dir))
        try:
            folder = self._download(source, model_path, partial, version)
            _test_pause("downloaded")
            try:
                verify_folder(folder, digest, where="MLflow artifact store")
            except IntegrityError:  # name the store's copy, not the temporary download
                raise IntegrityError(
                    f"the MLflow artifact store's copy of model version {version or '(new)'} "
                    f"({source}, "
                    f"{model_path}) does not match the SHA-256 recorded at registration; it was "
                    "modified or truncated and will not be loaded. Re-register the model from "
                    "a trusted run, or use another version.") from None
            if not target.is_dir():
                try:
                    os.replace(folder, target)
                except OSError:
                    if not target.is_dir():  # another process won the rename with its copy
                        raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return target

    def _download(self, source: str, model_path: str, dest: Path, version: str | None) -> Path:
        import mlflow.artifacts

        if not model_path:
            raise ModelError(f"model version {version} records no artifact path; re-register it")
        uri = source
        if version is not None:
            uri = self.client.get_model_version_download_uri(self.model_name, version)
        elif source.startswith("models:/"):
            uri = self.client.get_logged_model(source.removeprefix("models:/")).artifact_location
        try:
            out = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{uri.rstrip('/')}/{model_path}", dst_path=str(dest),
                tracking_uri=self.tracking_uri)
        except Exception as exc:  # MLflow raises OSError, MlflowException, ...
            raise IntegrityError(f"the artifact of model version {version or '(new)'} cannot be "
                                 f"read from the MLflow artifact store ({uri}): {exc}. It is "
                                 "missing or damaged; use another version.") from None
        return Path(out)


def warm_up() -> None:
    """Import MLflow (~2-5 s) in a background thread while the model search runs, so
    registration does not pay for it afterwards. Training spends its time in native code that
    releases the GIL, so on a multi-core machine the import is hidden. Nothing here is needed
    for correctness: the registration imports whatever is still missing itself."""
    import sys
    import threading

    if "mlflow.pyfunc" in sys.modules:
        return

    def work() -> None:
        try:
            import mlflow.pyfunc  # noqa: F401
            import mlflow.store.model_registry.sqlalchemy_store  # noqa: F401
            import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
        except Exception:  # the main thread will import and report it
            return

    threading.Thread(target=work, name="fullcycle-mlflow-import", daemon=True).start()


def seed_sqlite_store(tracking_uri: str, artifact_root: Path) -> bool:
    """Create a workspace's SQLite store by copying a migrated empty store.

    MLflow builds a new SQLite store by running its ~50 schema migrations, which takes 5-15 s;
    doing it once per machine and MLflow version (in ~/.cache/fullcycle) makes every new
    workspace's first `train` that much faster. Returns whether a copy was made."""
    import sqlite3

    import mlflow

    if not tracking_uri.startswith("sqlite:///"):
        return False
    db = Path(tracking_uri.removeprefix("sqlite:///"))
    if db.exists():
        return False
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    template = cache_home / "fullcycle" / f"mlflow-{mlflow.__version__}-empty.db"
    try:
        if not template.exists():
            template.parent.mkdir(parents=True, exist_ok=True)
            building = template.with_name(f".{template.name}.{os.getpid()}")
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

            store = SqlAlchemyStore(f"sqlite:///{building}", str(template.parent / "mlruns"))
            store.engine.dispose()
            os.replace(building, template)
        db.parent.mkdir(parents=True, exist_ok=True)
        partial = db.with_name(f".{db.name}.{os.getpid()}")
        shutil.copyfile(template, partial)
        with sqlite3.connect(partial) as conn:  # the Default experiment's artifacts: here
            conn.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                         ((artifact_root / "0").as_uri(),))
        conn.close()
        os.replace(partial, db)
    except (OSError, sqlite3.Error, ImportError):
        return False  # MLflow creates the store itself, only slower
    return True


def _merge(record: RunRecord | None, params: dict[str, Any] | None,
           metrics: dict[str, float] | None, artifacts: Any, tags: dict[str, str] | None,
           ) -> RunRecord:
    record = record or RunRecord(run_name="fullcycle")
    record.params.update({k: str(v) for k, v in (params or {}).items()})
    record.metrics.update({k: float(v) for k, v in (metrics or {}).items()})
    record.tags.update(tags or {})
    record.tags.setdefault("fullcycle.host", socket.gethostname())
    record.tags.setdefault("fullcycle.pid", str(os.getpid()))
    for path in artifacts:
        if Path(path).is_file():
            record.files.setdefault(f"reports/{Path(path).name}", Path(path))
    return record


def _family_packages(families: set[str]) -> tuple[str, ...]:
    wanted = {"lightgbm": ("lightgbm",), "xgboost": ("xgboost-cpu", "xgboost"),
              "catboost": ("catboost",)}
    return tuple(p for fam in families for p in wanted.get(fam, ()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clear_partials(cache: Path) -> None:
    if not cache.is_dir():
        return
    for path in cache.glob(".partial-*"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
