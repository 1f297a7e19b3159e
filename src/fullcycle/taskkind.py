"""Task kinds: the seam every stage asks instead of testing a task's name.

A task kind (supervised tables, forecasting, recommendation, clustering, anomaly detection, or a
plugin) is one folder under `fullcycle/tasks/` holding one `TaskKind` subclass. The kind says how
it is configured and detected, how it trains (its splitter, candidate families, search space and
metrics live behind `train`), what its predictions look like in a batch file and on the server,
what its evaluation and EDA reports add, and what monitoring watches. The CLI verbs, the
workspace, the registry, the server, batch scoring, monitoring and retraining call these methods
and never branch on a kind's name, so adding a kind is adding a folder and registering it.

Foundation layer: this module imports nothing from the stages; stage types appear only in
annotations.

    from fullcycle.taskkind import get_kind, kind_for_task, register_kind, kind_names
    kind = kind_for_task(config.problem.task)      # binary -> the tabular kind
    result = kind.train(dataset, config, reports=ws.reports, progress=callback)
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from fullcycle.errors import ConfigError, did_you_mean

if TYPE_CHECKING:  # annotations only: the foundation never imports a stage at run time
    import pandas as pd
    from pydantic import BaseModel

    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset

# `fullcycle.model.Model` (predictor + card). Not imported, even for annotations: model.py asks
# this registry for its kind (`Model.predict`), so naming it here would be an import cycle.
# Kinds annotate their methods with the real Model; overriding `Any` with it is type-safe.
Model = Any


# --- what a kind hands back to the stages -----------------------------------------------------

@dataclass(frozen=True)
class Detection:
    """A kind's guess that a table is its kind, with the evidence shown to the user."""

    kind: str
    task: str  # e.g. binary for the tabular kind; the kind's own name otherwise
    confidence: float  # 0..1; the most confident kind wins `task: auto`
    evidence: str  # one sentence: why this guess ("target has 2 values: Yes, No")


@dataclass(frozen=True)
class PredictOptions:
    """What a batch or server call may ask of a prediction, beyond the rows themselves. A kind
    refuses (ConfigError) an option it does not support rather than ignoring it."""

    horizon: int | None = None  # forecast steps
    top_k: int | None = None  # recommendations per user
    include_seen: bool = False  # recommendations: keep items the user already had
    extra: dict[str, Any] = field(default_factory=dict)  # plugin kinds

    def refuse_all(self, model_kind: str) -> None:
        """ConfigError naming every option given, for a kind that takes none."""
        asked = [name for name, value in (("horizon", self.horizon), ("top_k", self.top_k),
                                          ("include_seen", self.include_seen)) if value]
        if asked or self.extra:
            raise ConfigError(f"{', '.join(asked + list(self.extra))}: not an option of "
                              f"{model_kind}")

    def refuse(self, names: tuple[str, ...], message: str) -> None:
        """ConfigError(message) when any of the options `names` is given (not its default),
        for a kind that takes the others."""
        default = PredictOptions()
        if any(getattr(self, name) != getattr(default, name) for name in names):
            raise ConfigError(message)


@dataclass
class ReportSection:
    """One section of an HTML report (evaluation, EDA, monitoring): self-contained HTML."""

    key: str
    title: str
    html: str
    # JSON-ready facts behind the section, merged into the report's JSON (evaluation.json)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Route:
    """An HTTP route a kind adds to the server. The server mounts it with API keys, request
    metrics, size limits and the error mapping; `handler(model, request)` returns the JSON
    answer (a dict) and raises FullcycleError subclasses for bad input (-> 4xx)."""

    path: str  # e.g. "/forecast"
    request: type[BaseModel]  # validated request body
    handler: Callable[[Model, Any], dict[str, Any]]
    summary: str
    method: str = "POST"
    logged: bool = True  # write request and answer to the prediction log


@dataclass
class TrainResult:
    """What `TaskKind.train` returns: the model and the evidence the stages record."""

    model: Model
    leaderboard: pd.DataFrame  # one row per candidate, best first
    test_metrics: dict[str, float]  # on the held-out part (test split, last window, ...)
    verdict: dict[str, Any]  # success criteria: {"passed": bool, "criteria": [...]}
    holdout: pd.DataFrame | None = None  # raw held-out rows `evaluate` and `run` reuse
    notes: list[str] = field(default_factory=list)  # shown after training (guesses, warnings)
    report_files: dict[str, Path] = field(default_factory=dict)  # files the kind wrote


@dataclass
class MonitorResult:
    """Monitoring of recent data or feedback against a model's reference."""

    signals: dict[str, Any]  # JSON-ready: drift, quality, performance, kind-specific
    alerts: list[dict[str, Any]]  # {"kind": "drift"|"quality"|"performance", "message": ...}
    sections: list[ReportSection] = field(default_factory=list)


# --- the protocol ------------------------------------------------------------------------------

class TaskKind(ABC):
    """One kind of problem. Subclasses are stateless; one instance serves every model."""

    name: ClassVar[str]  # registry key and folder name: "tabular", "forecast", ...
    tasks: ClassVar[tuple[str, ...]]  # values of `problem.task` it answers to
    summary: ClassVar[str]  # one line for help texts and errors
    # True when each input row gets one output row (tables, clusters, anomalies): the server's
    # generic `/predict` and the streamed batch scorer then serve it, checked by the data
    # contract. False (forecast, recommend): the kind's `predict` and `routes` answer.
    row_wise: ClassVar[bool] = True
    # False for kinds that learn without a target column (cluster, anomaly): `train` without
    # --target and without --task suggests them.
    needs_target: ClassVar[bool] = True

    # configuration and detection
    def detect(self, frame: pd.DataFrame, config: Config) -> Detection | None:
        """A guess for `task: auto`, or None when the table is not this kind."""
        return None

    def check_config(self, config: Config, columns: list[str]) -> None:
        """Raise ConfigError naming the key when the config cannot work for this kind."""
        return None

    # metrics
    @abstractmethod
    def metrics(self, task: str) -> list[str]:
        """Metric names (keys of the metric registry) this kind reports for `task`."""

    @abstractmethod
    def default_metric(self, task: str) -> str: ...

    # training
    @abstractmethod
    def train(self, dataset: Dataset, config: Config, *, reports: Path,
              progress: Callable[..., None] | None = None) -> TrainResult:
        """Split, search within `config.train.time_budget`, refit, score the held-out part,
        and return the Model. Report files go under `reports`."""

    def train_on_cluster(self, config: Config, *, reports: Path,
                         progress: Callable[..., None] | None = None,
                         note: Callable[[str], None] | None = None
                         ) -> tuple[Dataset, TrainResult] | None:
        """Train with the data read by the workers of the Dask cluster
        `config.compute.cluster`, never gathered here; returns (the dataset the registry
        records, the result). None: this kind trains on one machine, and the caller reads the
        data here and says so."""
        return None

    # prediction
    @abstractmethod
    def predict(self, model: Model, data: pd.DataFrame | None,
                options: PredictOptions) -> pd.DataFrame:
        """The batch output frame (`fullcycle predict`, Project.predict, the pyfunc)."""

    def output_columns(self, model: Model) -> list[str]:
        """Columns of `predict`'s frame, in order (documented in --help and /metadata)."""
        return ["prediction"]

    # Optional fast path of row-wise kinds whose output is a function of one score array per
    # row (the tabular kind: class probabilities or values): with `scored = True` the scoring
    # core (batch, server) computes `model.predict_scores` through the compiled paths and asks
    # `frame_from_scores` for the output columns. Other row-wise kinds are scored with
    # `predict` on the checked rows.
    scored: ClassVar[bool] = False

    def frame_from_scores(self, model: Model, scores: Any) -> pd.DataFrame:
        raise NotImplementedError(f"{self.name} models are not scored through score arrays")

    def explain(self, model: Model, records: Any, *, matrix: Any = None
                ) -> list[dict[str, Any]]:
        """Per record: the prediction and each input's contribution to it (`POST /explain`,
        mounted for `scored` kinds, and `Project.explain`). `matrix`: the rows already
        transformed by the server's fast path, or None."""
        raise ConfigError(f"explanations are not available for {self.name} models")

    def routes(self) -> list[Route]:
        """Routes beyond the generic ones (`/predict` for row-wise kinds, `/feedback`, ...)."""
        return []

    def feedback_request(self) -> type[BaseModel] | None:
        """Body of `POST /feedback` for this kind; None: the generic {id, label}."""
        return None

    # evaluation, exploration
    def evaluate(self, model: Model, data: pd.DataFrame, config: Config
                 ) -> tuple[dict[str, float], list[ReportSection]]:
        """Metrics and report sections for labelled `data` (default: the saved holdout)."""
        raise ConfigError(f"evaluation is not available for {self.name} models")

    def compare(self, a: Model, b: Model, frame: pd.DataFrame, *, names: tuple[str, str],
                resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
        """Two models of this kind on the same labelled rows: every metric for both and which
        is better (`fullcycle compare`)."""
        raise ConfigError(f"comparing models is not available for {self.name} models")

    def eda_sections(self, frame: pd.DataFrame, config: Config) -> list[ReportSection]:
        """What the EDA report adds for this kind (seasonality, interaction counts, ...)."""
        return []

    # monitoring and retraining
    def monitor(self, model: Model, recent: pd.DataFrame, config: Config) -> MonitorResult:
        """Drift, quality and performance signals of `recent` (a file, or the prediction log
        with its feedback) against the model's reference."""
        raise ConfigError(f"monitoring is not available for {self.name} models")

    def split_recent(self, frame: pd.DataFrame, config: Config
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Retraining: (rows to train the challenger on, latest rows both models are scored
        on). Default: the newest `monitor.holdout_share` of the rows."""
        cut = int(round(len(frame) * (1 - config.monitor.holdout_share)))
        return frame.iloc[:cut], frame.iloc[cut:]

    def score(self, model: Model, holdout: pd.DataFrame, config: Config) -> dict[str, float]:
        """Metrics of `model` on labelled `holdout`; champion/challenger compare these."""
        raise ConfigError(f"scoring labelled data is not available for {self.name} models")


# --- the registry ------------------------------------------------------------------------------

# Built-in kinds, imported on first use so `fullcycle --help` imports none of them. A plugin
# calls `register_kind(MyKind())`, or names its class in the `fullcycle.tasks` entry point group.
BUILTIN: dict[str, str] = {
    "tabular": "fullcycle.tasks.tabular:TabularKind",
    "forecast": "fullcycle.tasks.forecast:ForecastKind",
    "recommend": "fullcycle.tasks.recommend:RecommendKind",
    "cluster": "fullcycle.tasks.cluster:ClusterKind",
    "anomaly": "fullcycle.tasks.anomaly:AnomalyKind",
}
_KINDS: dict[str, TaskKind] = {}
_loaded_builtins = False


def register_kind(kind: TaskKind) -> TaskKind:
    """Make a kind available by its name and by every task name it answers to."""
    if not getattr(kind, "name", None) or not getattr(kind, "tasks", None):
        raise ConfigError(f"{type(kind).__name__} must set `name` and `tasks` to be registered")
    _KINDS[kind.name] = kind
    return kind


def unregister_kind(name: str) -> None:
    _KINDS.pop(name, None)


def _load_builtins() -> None:
    global _loaded_builtins
    if _loaded_builtins:
        return
    _loaded_builtins = True
    for name, target in BUILTIN.items():
        if name in _KINDS:
            continue
        module, _, attr = target.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):  # a kind still being built, or an optional extra
            continue
        register_kind(cls())
    try:
        from importlib.metadata import entry_points

        for entry in entry_points(group="fullcycle.tasks"):
            register_kind(entry.load()())
    except Exception:  # a broken plugin must not break the built-in kinds
        pass


def kinds() -> list[TaskKind]:
    _load_builtins()
    return list(_KINDS.values())


def kind_names() -> list[str]:
    return [k.name for k in kinds()]


def task_names() -> list[str]:
    """Every value `problem.task` accepts besides `auto`."""
    return [t for k in kinds() for t in k.tasks]


def get_kind(name: str) -> TaskKind:
    """The kind registered under `name` (a model card's `kind`)."""
    _load_builtins()
    if name not in _KINDS:
        raise ConfigError(f"unknown task kind {name!r}.{did_you_mean(name, _KINDS)}")
    return _KINDS[name]


def kind_for_task(task: str) -> TaskKind:
    """The kind that answers to a `problem.task` value (binary -> tabular)."""
    for kind in kinds():
        if task in kind.tasks or task == kind.name:
            return kind
    raise ConfigError(f"problem.task {task!r} is not a known task."
                      f"{did_you_mean(task, task_names())}")


def resolve_task(config: Config, frame: pd.DataFrame) -> tuple[TaskKind, str, Detection | None]:
    """(kind, task, detection) for training on `frame`. `problem.task: auto` takes the most
    confident `detect()` among the kinds; a kind's own name (`--task tabular`) lets that kind
    detect its task. Without a target and a task: a ConfigError naming the kinds that need
    no target."""
    task = config.problem.task
    if task != "auto":
        kind = kind_for_task(task)
        if task in kind.tasks:
            return kind, task, None
        found = kind.detect(frame, config)
        if found is not None:
            return kind, found.task, found
        return kind, kind.tasks[0], None
    guesses = [d for d in (k.detect(frame, config) for k in kinds()) if d is not None]
    if guesses:
        best = max(guesses, key=lambda d: d.confidence)
        return get_kind(best.kind), best.task, best
    if not config.data.target:
        free = [k for k in kinds() if not k.needs_target]
        hint = "; or ".join(f"--task {k.tasks[0]} ({k.summary})" for k in free)
        raise ConfigError("no target column and no task: give --target COLUMN to predict a "
                          "column" + (f", or {hint}" if hint else ""))
    raise ConfigError(f"no task kind recognises this data with target {config.data.target!r}; "
                      f"set problem.task (one of {', '.join(task_names())})")
