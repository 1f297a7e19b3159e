"""Evaluation of a workspace's model: find the rows (the saved test rows or a labelled file),
recover the training rows when the data source still matches, evaluate, write the report."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fullcycle.config import Config
from fullcycle.errors import DataError
from fullcycle.evaluate.holdout import load_holdout
from fullcycle.model import Model

if TYPE_CHECKING:
    from fullcycle.project import Project

REPORT_HTML = "evaluation.html"
REPORT_JSON = "evaluation.json"


def evaluation_rows(project: Project, data: str | Path | pd.DataFrame | None,
                    ) -> tuple[pd.DataFrame, str]:
    if data is None:
        return load_holdout(project.workspace.reports), "held-out test rows"
    if isinstance(data, pd.DataFrame):
        return data, "rows given"
    from fullcycle.data.sources import read_source

    return read_source(str(data)), f"rows of {data}"


def training_frame(project: Project, model: Model) -> pd.DataFrame | None:
    """The model's training rows, re-read from its data source and re-split with its own config;
    None when the source is gone or no longer holds the same data (fingerprint differs)."""
    from fullcycle.automl.train import split
    from fullcycle.errors import FullcycleError

    md = model.metadata
    try:
        config = Config.from_dict(md["config"]) if md.get("config") else project.config
        dataset = project.__class__(config, project.workspace.root).load_data()
    except (FullcycleError, OSError, KeyError):
        return None
    if md.get("data_fingerprint") and dataset.fingerprint != md["data_fingerprint"]:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_idx, _ = split(dataset, model.problem, config)
    return dataset.frame.iloc[train_idx].reset_index(drop=True)


def evaluate_workspace(project: Project, model_ref: str = "champion",
                       data: str | Path | pd.DataFrame | None = None) -> dict[str, Any]:
    """Evaluate a registered model; write reports/evaluation.html and reports/evaluation.json.
    Returns the result dict with `paths`."""
    from fullcycle.evaluate.render import render_html, to_json
    from fullcycle.evaluate.report import evaluate_model

    frame, label = evaluation_rows(project, data)
    target = project.config.data.target
    if data is not None and target and target not in frame.columns:  # fail before loading
        raise DataError(f"the evaluation data has no target column {target!r}; evaluation "
                        "needs labelled rows")
    model = project.load_model(model_ref)
    train = training_frame(project, model)
    evaluation = evaluate_model(model, frame, config=project.config, train_frame=train,
                                data_label=label)
    reports = project.workspace.reports
    html_path, json_path = reports / REPORT_HTML, reports / REPORT_JSON
    html_path.write_text(render_html(evaluation), encoding="utf-8")
    result = evaluation.result
    result["paths"] = {"html": str(html_path), "json": str(json_path)}
    json_path.write_text(to_json(result), encoding="utf-8")
    return result
