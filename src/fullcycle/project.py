"""The Python API the CLI is a thin layer over: a Project is a config plus a workspace, with one
method per stage of the cycle."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fullcycle.compute.frames import TableSource, read_partitions, sample_on_cluster, typed
from fullcycle.config import Config
from fullcycle.data.contract import check_frame
from fullcycle.data.dataset import Dataset
from fullcycle.data.sources import read_source
from fullcycle.data.sql import mask_url
from fullcycle.data.stream import validate_source
from fullcycle.errors import ConfigError, DataError
from fullcycle.evaluate.holdout import save_holdout
from fullcycle.evaluate.run import check_target, evaluate_rows, evaluation_rows
from fullcycle.explore.report import explore_source
from fullcycle.metrics import get_metric
from fullcycle.model import Model
from fullcycle.monitor.check import monitor_model
from fullcycle.monitor.live import read_log_window
from fullcycle.monitor.retrain import Retraining, retrain
from fullcycle.progress import notebook_progress
from fullcycle.registry.refs import parse_ref
from fullcycle.registry.store import ModelRegistry, warm_up
from fullcycle.registry.tracking import build_record
from fullcycle.scoring.batch import score_frame
from fullcycle.scoring.served import Served
from fullcycle.taskkind import PredictOptions, resolve_task
from fullcycle.workspace import Workspace


@dataclass
class TrainReport:
    version: str
    leaderboard: pd.DataFrame
    test_metrics: dict[str, float]
    verdict: dict[str, Any]
    model: Model
    paths: dict[str, Path]
    test_frame: pd.DataFrame | None  # the held-out raw rows, target included (if the kind has)
    notes: list[str] = field(default_factory=list)  # the detection and the kind's notes
    alias: str = "champion"  # the alias the new version got (challenger: the champion won)
    kept: str | None = None  # why the champion stayed, when it did


class Project:
    """`Project(config, workspace)`; `Project.open(workspace)` reads the saved config."""

    def __init__(self, config: Config, workspace: str | Path) -> None:
        self.config = config
        self.workspace = Workspace.at(workspace)
        self._registry: Any = None

    @classmethod
    def open(cls, workspace: str | Path, config: Config | None = None) -> Project:
        ws = Workspace.at(workspace)
        if config is None:
            if not ws.config_path.exists():
                raise ConfigError(f"workspace {ws.root} has no fullcycle.yaml; run `fullcycle "
                                  "train` or `fullcycle run` there first")
            config = Config.load(ws.config_path)
        return cls(config, ws.root)

    # --- stages -----------------------------------------------------------------------------
    def load_data(self, source: str | None = None) -> Dataset:
        data = self.config.data
        location = source or data.source
        if not location:
            raise ConfigError("no data source; give DATA on the command line or set data.source")
        dataset = Dataset.read(location, target=data.target, roles=data.roles, table=data.table,
                               query=data.query, params=data.params, config=data)

        if data.source and mask_url(data.source) != data.source:
            # A literal password must not reach the saved config, MLflow or the model metadata;
            # ${VAR} references stay (they are not secrets).
            data.source = mask_url(data.source)
        return dataset

    def explore(self, dataset: Dataset | pd.DataFrame | None = None, *,
                progress: Callable[[str, int, int], None] | None = None) -> Path:
        """The EDA report, <workspace>/reports/eda.html, of `dataset` or of the raw data source."""
        path = self.workspace.reports / "eda.html"
        if dataset is None and self.config.compute.cluster:
            dataset = self.cluster_dataset()
        explore_source(self.config, path, dataset, progress=progress)
        return path

    def cluster_dataset(self) -> Dataset:
        """The data source as read by the Dask workers of `compute.cluster`: a seeded sample
        of `compute.sample_rows` rows (EDA statistics are quantile-based), with the exact row
        and missing counts in `frame.attrs["cluster"]`."""
        if not self.config.data.source:
            raise ConfigError("no data source; give DATA on the command line or set "
                              "data.source")
        sample = self._cluster_sample(self.config.data.source, self.config.compute.sample_rows)
        dataset = Dataset.from_frame(sample, target=self.config.data.target,
                                     roles=self.config.data.roles,
                                     source=str(sample.attrs["source"]), config=self.config.data)
        dataset.frame.attrs.update(sample.attrs)
        return dataset

    def _cluster_sample(self, source: str | Path, rows: int) -> pd.DataFrame:
        """`compute.cluster` set: a seeded sample read by the workers (exact row and missing
        counts in its attrs); see compute/frames.py."""
        compute = self.config.compute
        return sample_on_cluster(compute.cluster or "local", source, rows=rows,
                                 seed=self.config.seed, worker_memory=compute.worker_memory,
                                 blocksize=compute.blocksize, sql=self._table_source())

    def _table_source(self) -> TableSource:
        """A database source's table and key for the workers (files ignore it)."""
        data = self.config.data
        return TableSource(table=data.table, query=data.query, key=self.config.compute.sql_key)

    def validate(self, data: str | Path | pd.DataFrame, model_ref: str = "champion", *,
                 table: str | None = None, query: str | None = None,
                 on_progress: Callable[[int, int | None], None] | None = None) -> list[Any]:
        """Every data-contract violation of `data` against a model's schema (streamed for
        sources: only one chunk is in memory at a time)."""
        schema = self.load_model(model_ref).schema
        if isinstance(data, pd.DataFrame):
            return check_frame(data, schema, missing=self.config.contract.missing)
        violations, _ = validate_source(str(data), schema, config=self.config.data, table=table,
                                        query=query, params=self.config.data.params,
                                        on_progress=on_progress,
                                        missing=self.config.contract.missing)
        return violations

    def train(self, dataset: Dataset | None = None, *,
              on_candidate: Callable[..., None] | None = None, alias: str = "champion",
              reason: str = "trained by fullcycle train") -> TrainReport:
        """Train through the task kind (`problem.task`, or the most confident detection),
        save the model, register it and write the training reports."""
        if on_candidate is None:  # in Jupyter, a line per candidate (fullcycle/progress.py)

            on_candidate = notebook_progress(self.config.train.time_budget,
                                             self.config.train.max_trials)
        clustered: Any = None
        cluster_notes: list[str] = []
        if dataset is None and self.config.compute.cluster:
            dataset, clustered = self._train_on_cluster(alias, on_candidate, cluster_notes)
        dataset = dataset or self.load_data()
        kind, _, detection = resolve_task(self.config, dataset.frame)
        kind.check_config(self.config, list(dataset.frame.columns))
        config = self.config
        if config.problem.task not in (*kind.tasks, "auto"):
            # `--task tabular`: a kind's train sees one of its tasks, or auto (detect it)
            config = config.model_copy(deep=True)
            config.problem.task = "auto"
        warm_up()  # import MLflow while the search runs; registration needs it afterwards
        ws = self.workspace
        # A challenger's reports stay beside the champion's until it is promoted.
        reports = ws.reports if alias == "champion" else ws.reports / alias
        reports.mkdir(parents=True, exist_ok=True)
        result = clustered or kind.train(dataset, config, reports=reports, progress=on_candidate)
        result.notes[:0] = cluster_notes
        if detection is not None and not any(detection.evidence in n for n in result.notes):
            result.notes.insert(0, f"task {detection.task} ({detection.kind} kind): "
                                f"{detection.evidence}")
        self.save_config()
        card = result.model.card
        leaderboard_path = reports / "leaderboard.csv"
        result.leaderboard.to_csv(leaderboard_path, index=False)
        metrics_path = reports / "metrics.json"
        metrics_path.write_text(json.dumps(
            {"problem": {"kind": card.kind, "task": card.task, "target": card.target,
                         "metric": card.metric, "labels": card.classes,
                         "success": card.success},
             "test": result.test_metrics, "verdict": result.verdict,
             "data_fingerprint": dataset.fingerprint, "cleaning": dataset.cleaning,
             "schema_warnings": dataset.schema.warnings, "notes": result.notes},
            indent=2, default=str))
        if result.holdout is not None:
            save_holdout(result.holdout, reports)  # for `fullcycle evaluate`
        suffix = "latest" if alias == "champion" else alias
        model_dir = result.model.save(ws.models / f"{self.config.project}-{suffix}")
        # Config (secrets masked), problem, data fingerprint/schema/snapshot, code version,
        # environment, every candidate's CV scores, metrics and reports: see registry/tracking.py.
        record = build_record(self.config, dataset, result,
                              reports=[leaderboard_path, metrics_path,
                                       *result.report_files.values()],
                              snapshot=self.config.registry.log_data_snapshot)
        kept = None
        if alias == "champion" and self.config.train.promote != "always":
            kept = self._champion_wins(kind, result, config)  # the rule retrain follows too
            alias = "challenger" if kept else alias
        version = self.registry.register(model_dir, record, alias=alias,
                                         reason=f"{reason}; {kept}" if kept else reason)
        card.version = version
        return TrainReport(version=version, leaderboard=result.leaderboard,
                           test_metrics=result.test_metrics, verdict=result.verdict,
                           model=result.model,
                           paths={"leaderboard": leaderboard_path, "metrics": metrics_path,
                                  "model": model_dir, **result.report_files},
                           test_frame=result.holdout, notes=result.notes, alias=alias,
                           kept=kept)

    def _champion_wins(self, kind: Any, result: Any, config: Config) -> str | None:
        """Why the current champion stays: it scores better than the new model on this
        training's held-out rows (the champion/challenger rule of `retrain`, margin 0; a tie
        promotes). None when there is no champion, or it answers another problem."""
        if result.holdout is None:
            return None
        try:
            version = self.registry.alias_version("champion")
            if version is None:
                return None
            champion = self.registry.load(version)
            new, old = result.model.card, champion.card
            if (old.kind, old.target, old.metric) != (new.kind, new.target, new.metric):
                return None
            ours = float(kind.score(result.model, result.holdout, config)[new.metric])
            theirs = float(kind.score(champion, result.holdout, config)[new.metric])
        except Exception:  # a champion that cannot score these rows: replace it
            return None
        gain = (ours - theirs) * get_metric(new.metric).sign()
        if gain >= 0:
            return None
        return (f"champion v{version} kept: {new.metric} {theirs:.4f} vs {ours:.4f} for the new "
                f"model on {len(result.holdout)} held-out rows (--promote always to replace it)")

    def _train_on_cluster(self, alias: str, on_candidate: Callable[..., None] | None,
                          notes: list[str]) -> tuple[Dataset | None, Any]:
        """`compute.cluster` set: the kind trains with the workers reading the data, or says
        it trains on one machine (then the data is read here as usual)."""
        head = typed(read_partitions(self.config.data.source or "", sql=self._table_source(),
                                     blocksize=self.config.compute.blocksize).head(2000))
        kind, _, _ = resolve_task(self.config, head)
        reports = self.workspace.reports if alias == "champion" else \
            self.workspace.reports / alias
        reports.mkdir(parents=True, exist_ok=True)
        trained = kind.train_on_cluster(self.config, reports=reports, progress=on_candidate,
                                        note=notes.append)
        if trained is None:
            notes.append(f"{kind.name} models train on one machine: the data is read "
                              "here and --cluster is not used for training")
            return None, None
        return trained

    def after_training(self, report: TrainReport) -> dict[str, Any]:
        """The stages after registration in `run`: batch predictions on the held-out rows with
        the registered champion, and a monitoring pass of those rows against its reference.
        A kind without held-out rows skips both; one that cannot monitor skips the second."""
        if report.test_frame is None:
            return {"predictions": None, "scored": None, "drift": None,
                    "paths": dict(report.paths)}
        ws = self.workspace
        predictions_path = ws.reports / "predictions.csv"
        scored = self.predict(report.test_frame, predictions_path, model_ref=report.version)
        paths = dict(report.paths, predictions=predictions_path)
        try:
            drift: dict[str, Any] | None = self.monitor(report.test_frame,
                                                        model_ref=report.version)
        except ConfigError:  # "monitoring is not available for <kind> models"
            drift = None
        if drift is not None:
            paths["drift"] = Path(drift["path"])
        return {"predictions": predictions_path, "scored": scored, "drift": drift, "paths": paths}

    def load_model(self, ref: str = "champion") -> Model:
        """A model by reference: alias, version number, models:/ URI, or a model folder path.
        Registered versions are checked against the SHA-256 recorded at registration."""
        parsed = parse_ref(ref)
        if parsed.path is not None:  # verified against the registry's digests (or --trust)
            return self.registry.load_path(parsed.path)
        return self.registry.load(ref)

    def predict(self, data: str | Path | pd.DataFrame | None = None,
                output: str | Path | None = None, model_ref: str = "champion", *,
                id_column: str | None = None,
                options: PredictOptions | None = None) -> pd.DataFrame:
        """Predict with the model's task kind. Row-wise kinds (tables, clusters, anomalies)
        score a frame or any readable source with the checks `fullcycle predict` and the
        server apply: a value the data contract refuses raises DataError naming its row, column
        and value (`Model.predict` is the unchecked call); the result keeps the input's index
        and `id_column` is copied into it. Other kinds (forecast, recommend) answer
        `kind.predict(model, rows or None, options)`."""
        model = self.load_model(model_ref)
        frame = None if data is None else \
            data if isinstance(data, pd.DataFrame) else _read_input(data)
        options = options or PredictOptions()
        if model.kind.row_wise and options == PredictOptions():
            if frame is None:
                raise DataError(f"{model.card.kind} models predict on rows: give the input "
                                "rows (--input FILE)")
            served = Served.prepare(model, serving_threads=False,
                                    missing=self.config.contract.missing)
            result, _ = score_frame(served, frame, id_column=id_column)
        else:
            result = model.predict(frame, options)  # the kind refuses options it lacks
        if output is not None:
            _write_output(result, Path(output))
        return result

    def evaluate(self, model_ref: str = "champion",
                 data: str | Path | pd.DataFrame | None = None) -> dict[str, Any]:
        """The model's evaluation through its task kind on the saved held-out rows (or
        labelled `data`); writes reports/evaluation.html and reports/evaluation.json
        (metrics.json stays training's). Tables: metrics with 95% intervals, CV, baseline,
        verdict, charts, explanations, slices and model card."""
        reports = self.workspace.reports
        frame, label = evaluation_rows(reports, data)
        if data is not None:
            check_target(frame, self.config.data.target)  # fail before loading a model
        model = self.load_model(model_ref)
        return evaluate_rows(model, frame, label, self.config, reports)

    def explain(self, records: pd.DataFrame | list[dict[str, Any]] | dict[str, Any],
                model_ref: str = "champion") -> list[dict[str, Any]]:
        """Per-prediction explanations: each input's contribution (exact SHAP for tree models)."""
        model = self.load_model(model_ref)
        return model.kind.explain(model, records)

    def monitor(self, data: str | Path | pd.DataFrame | None = None, model_ref: str = "champion",
                since: str | None = None) -> dict[str, Any]:
        """What the model's task kind watches (tables: drift, quality, performance and
        traffic) on recent data (a file or frame, else the prediction log with its feedback)
        against the model's reference; writes reports/monitoring.{json,html}. `alerts` and
        `exit_code` summarise."""
        model = self.load_model(model_ref)
        if isinstance(data, pd.DataFrame):
            recent = data.copy(deep=False)
            recent.attrs["source"] = "data frame"
        elif data is not None and self.config.compute.cluster:
            recent = self._cluster_sample(data, self.config.monitor.sample_rows or 200_000)
        elif data is not None:
            recent = _read_input(data)
            if not len(recent):
                raise DataError(f"{data} has no rows to monitor")
            recent.attrs["source"] = str(data)
        else:
            recent = read_log_window(self.log_url, since)
        return monitor_model(model, recent, self.config, self.workspace.reports)

    def retrain(self, data: str | None = None, *, query: str | None = None,
                with_snapshot: bool = False, trigger: str | None = None) -> dict[str, Any]:
        """Train a challenger on new labelled data (a file, a SQL query, or the prediction log
        with its feedback), compare it with the champion on the same recent holdout (the
        kind's `split_recent` and `score`) and promote it only if it wins by
        monitor.promote_margin. See fullcycle/monitor/retrain.py."""
        steps = Retraining(
            config=self.config, registry=self.registry, reports=self.workspace.reports,
            cache=self.workspace.cache, log_url=self.log_url,
            train=lambda dataset, reason: self.train(dataset, alias="challenger",
                                                     reason=reason).version)
        return retrain(steps, data, query=query, with_snapshot=with_snapshot, trigger=trigger)

    @property
    def log_url(self) -> str:
        """The prediction log: serve.log_url, else the workspace's SQLite file."""
        return self.config.serve.log_url or self.workspace.prediction_log_url

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def registry(self) -> Any:
        if self._registry is None:
            ws = self.workspace
            self._registry = ModelRegistry(
                # config, else MLflow's own MLFLOW_TRACKING_URI, else the workspace's SQLite
                self.config.registry.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
                or ws.tracking_uri, ws.artifact_root,
                self.config.registry.model_name or self.config.project, ws.cache)
        return self._registry

    def save_config(self) -> Path:
        path = self.workspace.config_path
        path.write_text(self.config.to_yaml())
        return path


def _read_input(path: str | Path) -> pd.DataFrame:
    return read_source(str(path))


def _write_output(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    elif path.suffix.lower() in (".csv", ".txt", ".tsv"):
        frame.to_csv(path, index=False, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    else:
        raise DataError(f"output {path}: unknown file type; use .csv, .tsv or .parquet")

