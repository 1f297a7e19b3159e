"""The tabular kind: supervised tables (binary, multiclass, regression) on one target column.

It wraps the supervised flow of the stages: the problem definition (fullcycle/problem.py,
where `guess_task` detects the task), the AutoML search (search/train.py), the metric registry,
the evaluation report (evaluate/ here), the monitoring pass (monitor/) and the holdout score that
champion/challenger retraining compares."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from fullcycle.card import typical_example
from fullcycle.errors import ConfigError, DataError
from fullcycle.metrics import metric_suite
from fullcycle.monitor.check import run_monitoring
from fullcycle.monitor.live import from_frame, from_log_frame
from fullcycle.monitor.reference import attach_reference
from fullcycle.monitor.report import sections
from fullcycle.monitor.retrain import split_holdout
from fullcycle.problem import DEFAULT_METRIC, guess_task
from fullcycle.taskkind import (
    Detection,
    MonitorResult,
    PredictOptions,
    ReportSection,
    TaskKind,
    TrainResult,
)
from fullcycle.tasks.tabular.cluster import train_from_source
from fullcycle.tasks.tabular.evaluate.compare import compare_models
from fullcycle.tasks.tabular.evaluate.explain import explain_records
from fullcycle.tasks.tabular.evaluation import evaluate_tabular
from fullcycle.tasks.tabular.search.train import evaluate_on, train_model

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    from fullcycle.model import Model

CONFIDENCE = {"binary": 0.9, "multiclass": 0.75, "regression": 0.8}


class TabularKind(TaskKind):
    name: ClassVar[str] = "tabular"
    tasks: ClassVar[tuple[str, ...]] = ("binary", "multiclass", "regression")
    summary: ClassVar[str] = "supervised tables: predict a target column (binary, multiclass, " \
                             "regression)"
    row_wise: ClassVar[bool] = True
    scored: ClassVar[bool] = True  # compiled serving computes the probabilities / values

    # --- configuration and detection ----------------------------------------------------
    def detect(self, frame: pd.DataFrame, config: Config) -> Detection | None:
        target = config.data.target
        if not target or target not in frame.columns:
            return None
        guess = guess_task(frame[target])
        return Detection(kind=self.name, task=guess.task, confidence=CONFIDENCE[guess.task],
                         evidence=guess.evidence + (f" ({guess.hint})" if guess.hint else ""))

    def check_config(self, config: Config, columns: list[str]) -> None:
        target = config.data.target
        if not target:
            raise ConfigError("a supervised table needs a target: give --target or set "
                              "data.target")
        if columns and target not in columns:
            raise ConfigError(f"data.target {target!r} is not a column; columns: {columns[:20]}")

    # --- metrics -----------------------------------------------------------------------
    def metrics(self, task: str) -> list[str]:
        return [m.name for m in metric_suite(task)]

    def default_metric(self, task: str) -> str:
        return DEFAULT_METRIC[task]

    # --- training ----------------------------------------------------------------------
    def train(self, dataset: Dataset, config: Config, *, reports: Path,
              progress: Callable[..., None] | None = None) -> TrainResult:
        outcome = train_model(dataset, config, on_candidate=progress)
        model = outcome.model
        train_rows = dataset.frame.iloc[outcome.train_index]
        holdout = dataset.frame.iloc[outcome.test_index]
        # The one reference profile: sketches of the training rows and of the model's output.
        model.card.reference = attach_reference(model, train_rows, holdout,
                                                test_scores=outcome.test_scores)
        model.card.input_example = typical_example(model.schema, model.card.reference)
        model.card.training.search["train_seconds"] = round(outcome.seconds, 2)
        reports.mkdir(parents=True, exist_ok=True)
        candidates = reports / "candidates.json"
        candidates.write_text(json.dumps([
            {"order": i, "name": c.name, "family": c.family, "params": c.params,
             "fold_scores": c.fold_scores, "mean": c.score, "std": c.std,
             "fit_seconds": c.fit_seconds} for i, c in enumerate(outcome.search.candidates)],
            indent=1, default=str))
        return TrainResult(model=model, leaderboard=outcome.leaderboard,
                           test_metrics=outcome.test_metrics, verdict=outcome.verdict,
                           holdout=holdout, notes=list(outcome.diagnosis),
                           report_files={"candidates": candidates})

    def train_on_cluster(self, config: Config, *, reports: Path,
                         progress: Callable[..., None] | None = None,
                         note: Callable[[str], None] | None = None
                         ) -> tuple[Dataset, TrainResult] | None:
        return train_from_source(config, train=self.train, reports=reports, progress=progress,
                                 note=note)

    # --- prediction --------------------------------------------------------------------
    def predict(self, model: Model, data: pd.DataFrame | None,
                options: PredictOptions) -> pd.DataFrame:
        _refuse_options(options)
        if data is None:
            raise DataError("a supervised table predicts on rows: give the input rows")
        scores = model.predict_scores(data)
        return self.frame_from_scores(model, scores)

    def frame_from_scores(self, model: Model, scores: np.ndarray) -> pd.DataFrame:
        out: dict[str, Any] = {"prediction": model.labels_from_scores(scores)}
        for i, label in enumerate(model.card.classes):
            out[f"proba_{label}"] = scores[:, i]
        return pd.DataFrame(out)

    def output_columns(self, model: Model) -> list[str]:
        return ["prediction"] + [f"proba_{c}" for c in model.card.classes]

    def explain(self, model: Model, records: Any, *, matrix: Any = None
                ) -> list[dict[str, Any]]:
        return explain_records(model, records, matrix=matrix)

    # --- evaluation, exploration ---------------------------------------------------------
    def evaluate(self, model: Model, data: pd.DataFrame, config: Config
                 ) -> tuple[dict[str, float], list[ReportSection]]:
        return evaluate_tabular(model, data, config)

    def compare(self, a: Model, b: Model, frame: pd.DataFrame, *, names: tuple[str, str],
                resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
        return compare_models(a, b, frame, names=names, resamples=resamples, seed=seed)

    # --- monitoring and retraining -------------------------------------------------------
    def monitor(self, model: Model, recent: pd.DataFrame, config: Config) -> MonitorResult:
        source = str(recent.attrs.get("source", "data frame"))
        if recent.attrs.get("prediction_log"):
            live = from_log_frame(recent, model, source=source)
        else:
            live = from_frame(recent, model, source=source)
        result = run_monitoring(model, live, config.monitor)
        html = sections(result)  # alerts, drift per feature, quality, performance, traffic
        alerts = result.pop("alerts")
        for key in ("alert_kinds", "exit_code"):
            result.pop(key, None)
        return MonitorResult(signals=result, alerts=alerts,
                             sections=[ReportSection("monitoring", "", html)])

    def split_recent(self, frame: pd.DataFrame, config: Config
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
        return split_holdout(frame, config.monitor.holdout_share, config.monitor.min_labels)

    def score(self, model: Model, holdout: pd.DataFrame, config: Config) -> dict[str, float]:
        target = model.card.target or ""
        if target not in holdout.columns:
            raise DataError(f"the holdout has no {target!r} column; scoring needs true labels")
        y = model.problem.encode_target(holdout[target])
        return {k: float(v) for k, v in evaluate_on(model, holdout, y).items()}


def _refuse_options(options: PredictOptions) -> None:
    options.refuse_all("a supervised table model (they apply to forecast and recommendation "
                       "models)")


