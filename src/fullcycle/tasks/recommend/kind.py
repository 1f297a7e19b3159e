"""The recommend task kind: interactions in, top-k items per user out.

    fullcycle train ratings.csv --task recommend --user-column user_id --item-column item_id
        [--rating-column rating] [--time-column timestamp] [--items movies.csv --item-key item_id]
    fullcycle predict --workspace WS --input users.csv --output recs.csv --top-k 10

Training: the interactions are aggregated (data.py), a per-user holdout of them scores every
candidate of the search (search.py) within `train.time_budget`, the winner is refit on every
interaction. The holdout's evaluation (metrics, by user activity, examples) is what
`fullcycle evaluate` shows; new interactions (`--data`) are evaluated as they come.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from fullcycle.errors import ConfigError, DataError
from fullcycle.metrics import register_computed
from fullcycle.taskkind import (
    Detection,
    MonitorResult,
    PredictOptions,
    ReportSection,
    Route,
    TaskKind,
    TrainResult,
)
from fullcycle.tasks.recommend.data import id_strings
from fullcycle.tasks.recommend.eda import interaction_sections
from fullcycle.tasks.recommend.evaluation import evaluate_interactions, examples_html, metrics_html
from fullcycle.tasks.recommend.monitoring import alerts_for, offline, online
from fullcycle.tasks.recommend.serving import RecommendFeedback, routes
from fullcycle.tasks.recommend.training import _verdict, train_recommender

if TYPE_CHECKING:
    from pydantic import BaseModel

    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset

Model = Any
K = 10
METRIC = "ndcg_at_k"
METRIC_NAMES = ("ndcg_at_k", "precision_at_k", "recall_at_k", "map_at_k", "hit_rate_at_k",
                "catalog_coverage")
USER_HINTS = ("user", "customer", "client", "member", "visitor", "account")
ITEM_HINTS = ("item", "movie", "product", "artist", "track", "song", "book", "article", "sku")


def _register_metrics() -> None:
    """Ranking metrics in the metric registry (their direction is what retraining and
    success criteria read); the values come from the kind, which ranks whole catalogues."""
    register_computed({name: name != "popularity_bias"
                       for name in (*METRIC_NAMES, "popularity_bias")}, "ranking",
                      ("recommend",), "ranking metrics are computed by the recommend task kind "
                      "(fullcycle evaluate / monitor), not from a label column")


_register_metrics()


def _find(columns: list[str], hints: tuple[str, ...]) -> str | None:
    for col in columns:
        low = str(col).lower()
        if any(h in low for h in hints) and "name" not in low:
            return str(col)
    return None


class RecommendKind(TaskKind):
    name: ClassVar[str] = "recommend"
    tasks: ClassVar[tuple[str, ...]] = ("recommend",)
    summary: ClassVar[str] = ("top-k recommendations from user-item interactions (ratings, "
                              "plays, clicks): --user-column and --item-column")
    row_wise: ClassVar[bool] = False
    needs_target: ClassVar[bool] = False

    # --- configuration ------------------------------------------------------------------
    def detect(self, frame: pd.DataFrame, config: Config) -> Detection | None:
        p = config.problem
        cols = [str(c) for c in frame.columns]
        user = p.user_column or _find(cols, USER_HINTS)
        item = p.item_column or _find(cols, ITEM_HINTS)
        if not user or not item or user == item:
            return None
        given = bool(p.user_column and p.item_column)
        few = len(cols) <= 5
        return Detection(self.name, "recommend", 0.9 if given else (0.6 if few else 0.3),
                         f"user column {user!r} and item column {item!r}")

    def check_config(self, config: Config, columns: list[str]) -> None:
        p = config.problem
        for key, flag in (("user_column", "--user-column"), ("item_column", "--item-column")):
            value = getattr(p, key)
            if not value:
                guess = _find(columns, USER_HINTS if key == "user_column" else ITEM_HINTS)
                hint = f" (perhaps {flag} {guess})" if guess else ""
                raise ConfigError(f"recommend needs problem.{key} ({flag}): the column of "
                                  f"{key.split('_')[0]} ids{hint}")
            if value not in columns:
                raise ConfigError(f"problem.{key} {value!r} is not a column of the data "
                                  f"(columns: {', '.join(columns[:20])})")
        for key in ("rating_column", "time_column"):
            value = getattr(p, key)
            if value and value not in columns:
                raise ConfigError(f"problem.{key} {value!r} is not a column of the data "
                                  f"(columns: {', '.join(columns[:20])})")
        if p.items and not p.item_key:
            raise ConfigError("problem.items is set without problem.item_key (--item-key): "
                              "name the item id column of the items file")

    # --- metrics ------------------------------------------------------------------------
    def metrics(self, task: str) -> list[str]:
        return list(METRIC_NAMES)

    def default_metric(self, task: str) -> str:
        return METRIC

    # --- training -----------------------------------------------------------------------
    def train(self, dataset: Dataset, config: Config, *, reports: Path,
              progress: Callable[..., None] | None = None) -> TrainResult:
        return train_recommender(self, dataset, config, reports=reports, progress=progress)

    # --- prediction ---------------------------------------------------------------------
    def predict(self, model: Model, data: pd.DataFrame | None,
                options: PredictOptions) -> pd.DataFrame:
        options.refuse(("horizon",), "--horizon is for forecasts; a recommender takes --top-k")
        rec = model.predictor
        info = model.card.task_info
        user_col, item_col = info["user_column"], info["item_column"]
        k = options.top_k or int(info.get("k", K))
        if k < 1:
            raise ConfigError(f"--top-k must be at least 1 (got {k})")
        if data is None:
            users = pd.Series(rec.user_ids(rec.users), name=user_col)
        else:
            if user_col not in data.columns:
                raise DataError(f"the input has no user column {user_col!r} (columns: "
                                f"{', '.join(map(str, data.columns[:20]))}); give a file with "
                                f"one {user_col} per row")
            users = data[user_col].dropna().drop_duplicates()
        return rec.frame(users, k, user_col, item_col, exclude_seen=not options.include_seen)

    def output_columns(self, model: Model) -> list[str]:
        info = model.card.task_info
        return [info["user_column"], "rank", info["item_column"], "score"]

    def routes(self) -> list[Route]:
        return routes()

    def feedback_request(self) -> type[BaseModel] | None:
        return RecommendFeedback

    # --- evaluation, exploration --------------------------------------------------------
    def evaluate(self, model: Model, data: pd.DataFrame, config: Config
                 ) -> tuple[dict[str, float], list[ReportSection]]:
        rec = model.predictor
        info = model.card.task_info
        k = int(info.get("k", K))
        users, items = _pairs(data, info)
        stored = rec.info.get("evaluation")
        seen_share = _seen_share(rec, users, items)
        if stored and seen_share > 0.5:  # the training holdout: the model has since seen it
            overall, by = stored["overall"], stored["by_activity"]
            note = ("held-out interactions of training, scored by the winner before its refit "
                    "on every interaction")
            examples = stored.get("examples_html", "")
        else:
            overall, by, rows, top = evaluate_interactions(rec, users, items, k)
            note = str(data.attrs.get("source") or "interactions")
            examples = examples_html(rec, rows, top) if len(rows) else ""
        body = (f"<p>{html.escape(note)}; k = {k}; model: "
                f"{html.escape(rec.description)}</p>" + metrics_html(overall, by, k))

        named = _metric_names(overall, k)
        data = {"ranking": overall, "by_activity": by, "k": k,
                "test": {name: {"value": v} for name, v in named.items()},
                "verdict": _verdict(model.card.success, named)}
        sections = [ReportSection("ranking", "Ranking metrics", body, data=data),
                    ReportSection("examples", "Example recommendations", examples)]
        return named, sections

    def eda_sections(self, frame: pd.DataFrame, config: Config) -> list[ReportSection]:
        return interaction_sections(frame, config)

    # --- monitoring and retraining ------------------------------------------------------
    def monitor(self, model: Model, recent: pd.DataFrame, config: Config) -> MonitorResult:
        rec = model.predictor
        info = model.card.task_info
        if recent.attrs.get("prediction_log"):
            signals = online(recent)
        else:
            users, items = _pairs(recent, info)
            signals = offline(rec, users, items, int(info.get("k", K)))
        reference = rec.info.get("validation", {})
        alerts = alerts_for(signals, reference)
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(_fmt(v))}</td></tr>"
                       for k, v in signals.items())
        section = ReportSection("recommend", "Recommendations", f"<table>{rows}</table>",
                                data=signals)
        return MonitorResult(signals=signals, alerts=alerts, sections=[section])

    def split_recent(self, frame: pd.DataFrame, config: Config
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The newest `monitor.holdout_share` of the rows by time when there is a time column,
        else a per-user random share (every user keeps at least one training row)."""
        share = config.monitor.holdout_share
        p = config.problem
        if p.time_column and p.time_column in frame.columns:
            order = frame.sort_values(p.time_column, kind="stable")
            cut = int(round(len(order) * (1 - share)))
            return order.iloc[:cut], order.iloc[cut:]
        if not p.user_column or p.user_column not in frame.columns:
            raise ConfigError("retraining a recommender needs problem.user_column in the "
                              "new data")
        rng = np.random.default_rng(config.seed)
        noise = pd.Series(rng.random(len(frame)), index=frame.index)
        rank = noise.groupby(frame[p.user_column]).rank(method="first")
        size = frame.groupby(p.user_column)[p.user_column].transform("size")
        held = (size >= 2) & (rank <= np.maximum(np.round(share * size), 1)) & (rank < size)
        return frame[~held], frame[held]

    def score(self, model: Model, holdout: pd.DataFrame, config: Config) -> dict[str, float]:
        info = model.card.task_info
        k = int(info.get("k", K))
        users, items = _pairs(holdout, info)
        overall, _, _, _ = evaluate_interactions(model.predictor, users, items, k)
        return _metric_names(overall, k)


def _pairs(frame: pd.DataFrame, info: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    user_col, item_col = info["user_column"], info["item_column"]
    missing = [c for c in (user_col, item_col) if c not in frame.columns]
    if missing:
        raise DataError(f"the interactions have no column {missing[0]!r} (columns: "
                        f"{', '.join(map(str, frame.columns[:20]))})")
    rows = frame[[user_col, item_col]].dropna()
    return rows[user_col].to_numpy(dtype=object), rows[item_col].to_numpy(dtype=object)


def _seen_share(rec: Any, users: np.ndarray, items: np.ndarray) -> float:
    if len(users) == 0:
        return 0.0
    sample = slice(0, 5000)
    u = [rec.user_index_.get(x, -1) for x in id_strings(users[sample])]
    i = [rec.item_index_.get(x, -1) for x in id_strings(items[sample])]
    seen = [a >= 0 and b >= 0 and rec.seen[a, b] != 0 for a, b in zip(u, i, strict=True)]
    return float(np.mean(seen))


def _metric_names(overall: dict[str, float], k: int) -> dict[str, float]:
    names = {"ndcg": "ndcg_at_k", "precision": "precision_at_k", "recall": "recall_at_k",
             "map": "map_at_k", "hit_rate": "hit_rate_at_k", "coverage": "catalog_coverage",
             "popularity_bias": "popularity_bias"}
    return {names[k_]: float(v) for k_, v in overall.items() if k_ in names}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return json.dumps(value) if isinstance(value, dict | list) else str(value)

