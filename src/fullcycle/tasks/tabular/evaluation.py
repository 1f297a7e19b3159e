"""Evaluation of a supervised table model: the full report of fullcycle/evaluate/ (metrics with
intervals, CV, baseline, verdict, charts, explanations, slices, fairness, model card) as the
task kind's report sections."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import pandas as pd

from fullcycle.config import Config as ConfigModel
from fullcycle.data.dataset import Dataset
from fullcycle.errors import FullcycleError
from fullcycle.taskkind import ReportSection
from fullcycle.tasks.tabular.evaluate.render import html_sections
from fullcycle.tasks.tabular.evaluate.report import evaluate_model
from fullcycle.tasks.tabular.search.train import split

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.model import Model


def evaluate_tabular(model: Model, frame: pd.DataFrame, config: Config
                     ) -> tuple[dict[str, float], list[ReportSection]]:
    """Metrics (value of each) and sections; the first section's `data` is the whole result
    (test metrics with intervals, cv, baseline, verdict, per_class, slices, model_card...).
    `frame.attrs["source"]` names the rows in the report ("held-out test rows")."""
    label = str(frame.attrs.get("source") or "held-out test rows")
    train = training_frame(model, config)
    evaluation = evaluate_model(model, frame, config=config, train_frame=train, data_label=label)
    result = evaluation.result
    parts = [ReportSection(sid, title, html) for sid, title, html in html_sections(evaluation)]
    parts[0].data = result
    return {k: v["value"] for k, v in result["test"].items()}, parts


def training_frame(model: Model, config: Config) -> pd.DataFrame | None:
    """The model's training rows, re-read from its data source and re-split with its own
    config; None when the source is gone or no longer holds the same data."""
    prov = model.card.provenance
    try:
        trained = ConfigModel.from_dict(prov.config) if prov.config else config
        data = trained.data
        if not data.source:
            return None
        dataset = Dataset.read(data.source, target=data.target, roles=data.roles,
                               table=data.table, query=data.query, params=data.params,
                               config=data)
    except (FullcycleError, OSError, KeyError, ValueError):
        return None
    if prov.data_fingerprint and dataset.fingerprint != prov.data_fingerprint:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_idx, _ = split(dataset, model.problem, trained)
    return dataset.frame.iloc[train_idx].reset_index(drop=True)
