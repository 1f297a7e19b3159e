"""Evaluation of a model on labelled rows through its task kind: find the rows (the saved test
rows or a labelled file), ask the kind for metrics and report sections, write the report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from fullcycle.config import Config
from fullcycle.data.sources import read_source
from fullcycle.errors import DataError
from fullcycle.evaluate.holdout import load_holdout
from fullcycle.evaluate.render import page, to_json
from fullcycle.model import Model

REPORT_HTML = "evaluation.html"
REPORT_JSON = "evaluation.json"


def evaluation_rows(reports: Path, data: str | Path | pd.DataFrame | None,
                    ) -> tuple[pd.DataFrame, str]:
    """(rows, what they are): the saved held-out rows under `reports`, a frame, or a file."""
    if data is None:
        return load_holdout(reports), "held-out test rows"
    if isinstance(data, pd.DataFrame):
        return data, "rows given"

    return read_source(str(data)), f"rows of {data}"


def check_target(frame: pd.DataFrame, target: str | None) -> None:
    """Fail before loading a model when labelled rows lack the target column."""
    if target and target not in frame.columns:
        raise DataError(f"the evaluation data has no target column {target!r}; evaluation "
                        "needs labelled rows")


def evaluate_rows(model: Model, frame: pd.DataFrame, label: str, config: Config,
                  reports: Path) -> dict[str, Any]:
    """Evaluate `model` on `frame` with its task kind; write reports/evaluation.html and
    reports/evaluation.json. Returns the result dict (the kind's data, `metrics`, `paths`)."""
    frame = frame.copy(deep=False)
    frame.attrs["source"] = label
    metrics, parts = model.kind.evaluate(model, frame, config)
    card = model.card
    result: dict[str, Any] = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "kind": card.kind,
        "model": {"version": model.version_label},
        "problem": {"task": card.task, "target": card.target, "metric": card.metric},
        "data": {"label": label, "rows": int(len(frame))}}
    for part in parts:
        result.update(part.data)
    result["metrics"] = metrics
    heading = (f"Evaluation of model {model.version_label} — {card.target or card.kind} "
               f"({card.task})")
    subtitle = f"{result['data']['rows']} {label} · generated {result['generated_at']}"
    reports.mkdir(parents=True, exist_ok=True)
    html_path, json_path = reports / REPORT_HTML, reports / REPORT_JSON
    html_path.write_text(page(heading, subtitle, [(p.key, p.title, p.html) for p in parts]),
                         encoding="utf-8")
    result["paths"] = {"html": str(html_path), "json": str(json_path)}
    json_path.write_text(to_json(result), encoding="utf-8")
    return result
