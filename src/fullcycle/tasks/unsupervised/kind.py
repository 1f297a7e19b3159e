"""What the cluster and anomaly kinds share as task kinds: row-wise, no target, never guessed;
a label column only evaluates; no prediction options; monitoring is feature drift and data
quality plus what the kind watches of its own output."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from fullcycle.config import Config, ProblemConfig
from fullcycle.errors import ConfigError, DataError
from fullcycle.monitor.report import alerts_html, drift_html, quality_html
from fullcycle.taskkind import (
    Detection,
    MonitorResult,
    PredictOptions,
    ReportSection,
    TaskKind,
    TrainResult,
)
from fullcycle.tasks.unsupervised import common
from fullcycle.tasks.unsupervised.metrics import register

if TYPE_CHECKING:
    from fullcycle.data.dataset import Dataset

Model = Any
register()


class UnsupervisedKind(TaskKind):
    row_wise: ClassVar[bool] = True
    needs_target: ClassVar[bool] = False
    # the subject and the verb of `predict`'s errors: "an anomaly model", "scores"
    model_words: ClassVar[str]
    verb: ClassVar[str]
    # the other kind's option (key of `problem`, its flag, that kind): refused when it is not
    # its default
    foreign: ClassVar[tuple[str, str, str]]
    metric_names: ClassVar[tuple[str, ...]]  # the first is the default metric

    def detect(self, frame: pd.DataFrame, config: Config) -> Detection | None:
        return None  # never guessed: without a target the user chooses (the error says how)

    def check_config(self, config: Config, columns: list[str]) -> None:
        common.check_label(config, columns)
        key, flag, owner = self.foreign
        if getattr(config.problem, key) != ProblemConfig.model_fields[key].default:
            raise ConfigError(f"problem.{key} ({flag}) is for --task {owner}, not {self.name}")
        self.check_options(config)

    def check_options(self, config: Config) -> None:
        """The kind's own `problem` options (after the label and the other kind's option)."""

    def metrics(self, task: str) -> list[str]:
        return list(self.metric_names)

    def default_metric(self, task: str) -> str:
        return self.metric_names[0]

    def train(self, dataset: Dataset, config: Config, *, reports: Path,
              progress: Callable[..., None] | None = None) -> TrainResult:
        self.check_config(config, [str(c) for c in dataset.frame.columns])
        return self.train_checked(dataset, config, reports=reports, progress=progress)

    @abstractmethod
    def train_checked(self, dataset: Dataset, config: Config, *, reports: Path,
                      progress: Callable[..., None] | None) -> TrainResult:
        """`train` once `check_config` passed (the kind's training function, which takes the
        kind first)."""

    def predict(self, model: Model, data: pd.DataFrame | None,
                options: PredictOptions) -> pd.DataFrame:
        options.refuse_all(f"{self.model_words} (it {self.verb} each row)")
        if data is None:
            raise DataError(f"{self.model_words} {self.verb} rows: give them (--input FILE)")
        return model.predictor.frame(data).reset_index(drop=True)

    def monitor(self, model: Model, recent: pd.DataFrame, config: Config) -> MonitorResult:
        rows = common.recent_rows(recent, model)
        signals, alerts = common.feature_monitoring(model, rows, config)
        own = self.watch(model, rows, config, signals, alerts)
        signals["alerts"] = alerts
        body = (alerts_html(signals) + own + "<h2>Drift per feature</h2>" + drift_html(signals)
                + "<h2>Data quality</h2>" + quality_html(signals))
        signals.pop("alerts")
        return MonitorResult(signals=signals, alerts=alerts,
                             sections=[ReportSection("monitoring", "Monitoring", body)])

    @abstractmethod
    def watch(self, model: Model, rows: pd.DataFrame, config: Config, signals: dict[str, Any],
              alerts: list[dict[str, Any]]) -> str:
        """Monitoring of the kind's own output on `rows`: adds to `signals` and `alerts`,
        returns the HTML shown after the alerts (its own heading first)."""


def label_of(model: Model, config: Config, data: pd.DataFrame) -> pd.Series | None:
    """The label column of `data` to evaluate against (the card's, else the config's), or
    None when there is none."""
    label = model.card.task_info.get("label_column") or config.problem.label_column
    return data[label] if label and label in data.columns else None
