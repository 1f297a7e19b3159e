"""`AnomalyKind.train`: features -> detectors -> calibrated scores -> threshold -> Model.

Without labels there is nothing to choose with, so the default is the detector combination
that measured best across outlier benchmarks (bench/unsupervised.py): Isolation Forest and
k-NN distance, each calibrated to its training percentiles, the larger one wins. With
`--label-column`, every candidate is fitted on the training part WITHOUT the labels and the
labels only rank the candidates on the held-out part (ROC-AUC), never train one."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fullcycle.card import ModelCard, Provenance, TrainingSummary
from fullcycle.errors import ConfigError
from fullcycle.model import Model
from fullcycle.taskkind import TrainResult
from fullcycle.tasks.anomaly.detectors import DetectorEnsemble
from fullcycle.tasks.anomaly.predictor import AnomalyPredictor
from fullcycle.tasks.unsupervised import common, prep
from fullcycle.tasks.unsupervised.profile import ColumnStats

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    from fullcycle.taskkind import TaskKind, TrainResult

DEFAULT = "iforest+knn (max)"
CANDIDATES: dict[str, dict[str, Any]] = {
    DEFAULT: {"detectors": ("iforest", "knn"), "combine": "max"},
    "rank average (iforest, knn, lof, ecod)": {"detectors": ("iforest", "knn", "lof", "ecod"),
                                               "combine": "mean"},
    "iforest": {"detectors": ("iforest",)},
    "knn": {"detectors": ("knn",)},
    "lof": {"detectors": ("lof",)},
    "ecod": {"detectors": ("ecod",)},
    "copod": {"detectors": ("copod",)},
}


def contamination_of(config: Config) -> float | str:
    """`problem.contamination` checked: "auto" or a share between 0 and 0.5."""
    value = config.problem.contamination
    if value == "auto":
        return "auto"
    share = float(value)
    if not 0 <= share <= 0.5:
        raise ConfigError(f"problem.contamination {share} (--contamination) must be between 0 "
                          "and 0.5, or auto")
    return share


def _fit(name: str, frame: pd.DataFrame, schema: Any, config: Config,
         contamination: float | str) -> AnomalyPredictor:
    rows = common.sample_rows(len(frame), config.seed)
    spec = CANDIDATES[name]
    detector = DetectorEnsemble(detectors=spec["detectors"], combine=spec.get("combine", "max"),
                                seed=config.seed)
    stats = ColumnStats.fit(frame, schema)
    return AnomalyPredictor.fit(frame.iloc[rows], prep.build(schema, config), detector,
                                contamination, stats, name)


def _rank(train: pd.DataFrame, test: pd.DataFrame, y_test: np.ndarray, schema: Any,
          config: Config, contamination: float | str,
          progress: Callable[..., Any] | None) -> list[dict[str, Any]]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    board: list[dict[str, Any]] = []
    deadline = time.perf_counter() + 0.7 * float(config.train.time_budget)
    for i, name in enumerate(CANDIDATES, 1):
        if board and time.perf_counter() > deadline:  # the default always runs first
            break
        started = time.perf_counter()
        pred = _fit(name, train, schema, config, contamination)
        s = pred.score(test)
        auc = float(roc_auc_score(y_test, s))
        board.append({"model": name, "roc_auc": auc,
                      "average_precision": float(average_precision_score(y_test, s)),
                      "seconds": round(time.perf_counter() - started, 3)})
        common.report_candidate(progress, name, name, "roc_auc", auc, i)
    # ties (within 0.001) go to the default, the choice that generalised across benchmarks
    board.sort(key=lambda r: (-round(r["roc_auc"], 3), r["model"] != DEFAULT))
    return board


def train_anomaly(kind: TaskKind, dataset: Dataset, config: Config, *, reports: Path,
                  progress: Callable[..., Any] | None = None) -> TrainResult:
    started = time.perf_counter()
    X, schema, label = common.features_and_label(dataset, config)
    contamination = contamination_of(config)
    y = common.binary_labels(label) if label is not None else None
    label_name = str(label.name) if label is not None else None
    train_idx, test_idx = common.holdout_index(len(X), config.seed, y)
    notes: list[str] = []
    if y is not None and 0 < y[test_idx].sum() < len(test_idx):
        board = _rank(X.iloc[train_idx], X.iloc[test_idx], y[test_idx], schema, config,
                      contamination, progress)
        chosen = board[0]["model"]
        notes.append(f"labels of {label_name!r} ranked {len(board)} detector set(s) on the "
                     f"held-out rows (never used to train): {chosen} won")
    else:
        chosen, board = DEFAULT, [{"model": DEFAULT}]
        if y is not None:
            notes.append(f"{label_name!r} has a single value on the held-out rows; the "
                         "default detectors are used")
    held = _fit(chosen, X.iloc[train_idx], schema, config, contamination)
    test_scores = held.score(X.iloc[test_idx])
    metrics = {"flagged_share": float(np.mean(test_scores >= held.threshold))}
    if y is not None and 0 < y[test_idx].sum() < len(test_idx):
        metrics.update({k: v for k, v in board[0].items() if k in ("roc_auc",
                                                                    "average_precision")})
    predictor = _fit(chosen, X, schema, config, contamination)
    # the training rows' calibrated scores as the detectors saw them (k-NN and LOF leaving
    # each row out; a sample of large tables): no second pass over every row
    train_scores = np.asarray(predictor.detector.train_scores_)
    metric = "roc_auc" if "roc_auc" in metrics else "flagged_share"
    notes.append(f"detectors: {chosen}; threshold {predictor.threshold:.4f} "
                 f"({'estimated' if predictor.estimated else 'given'} contamination "
                 f"{predictor.contamination:.2%})")
    card = ModelCard(
        kind=kind.name, task="anomaly", target=None, metric=metric, schema=schema,
        threshold=predictor.threshold, success=dict(config.problem.success),
        provenance=Provenance(data_fingerprint=dataset.fingerprint, data_source=dataset.source,
                              seed=config.seed, rows_train=int(len(X)),
                              rows_test=int(len(test_idx))),
        training=TrainingSummary(best_candidate=chosen, family=chosen, test_metrics=metrics,
                                 leaderboard=board, search={
                                     "candidates": len(board),
                                     "train_seconds": round(time.perf_counter() - started, 2)}),
        input_example=common.input_example(X, schema),
        task_info={"contamination": predictor.contamination,
                   "contamination_estimated": predictor.estimated,
                   "label_column": label_name,
                   "detectors": list(predictor.detector.detectors),
                   "combine": predictor.detector.combine,
                   "expected_rate": predictor.contamination,
                   "train_flagged_share": float(np.mean(train_scores >= predictor.threshold))})
    card.reference = common.reference(X, schema, train_scores)
    model = Model(predictor, card)
    holdout = dataset.frame.iloc[test_idx]
    return TrainResult(model=model, leaderboard=pd.DataFrame(board), test_metrics=metrics,
                       verdict=common.verdict(config, metrics, metric), holdout=holdout,
                       notes=notes)
