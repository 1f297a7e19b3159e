"""`RecommendKind.train`: interactions -> search -> holdout evaluation -> refit -> Model."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fullcycle.card import ModelCard, Provenance, TrainingSummary
from fullcycle.errors import DataError
from fullcycle.model import Model
from fullcycle.taskkind import TrainResult
from fullcycle.tasks.recommend.content import ItemContent, build_content
from fullcycle.tasks.recommend.data import Interactions, build_interactions, holdout_split
from fullcycle.tasks.recommend.evaluation import evaluate_interactions, examples_html
from fullcycle.tasks.recommend.recommender import Recommender
from fullcycle.tasks.recommend.search import Search, Trial, refit

if TYPE_CHECKING:
    from fullcycle.config import Config
    from fullcycle.data.dataset import Dataset
    from fullcycle.taskkind import TaskKind

SEARCH_SHARE = 0.7  # of the time budget; the rest pays for the evaluation and the refit
MAX_FIT_SHARE = 0.15  # no candidate whose fit costs more: the refit must fit in the rest
EVAL_USERS = 3000  # users in the holdout evaluation report (a seeded sample beyond)
K = 10


def read_items(path: str, key: str) -> ItemContent:
    file = Path(path)
    if not file.exists():
        raise DataError(f"the items file {path} does not exist (problem.items / --items)")
    suffix = file.suffix.lower()
    if suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(file)
    elif suffix in (".json", ".jsonl"):
        frame = pd.read_json(file, lines=suffix == ".jsonl")
    else:
        frame = pd.read_csv(file, sep=None, engine="python") if suffix == ".tsv" \
            else pd.read_csv(file)
    return build_content(frame, key)


def _progress(callback: Callable[..., None] | None) -> Callable[[Trial, float], None] | None:
    if callback is None:
        return None
    count = [0]

    def on_trial(trial: Trial, left: float) -> None:
        count[0] += 1
        params = {k: (round(v, 6) if isinstance(v, float) else v)
                  for k, v in trial.params.items()}
        cand = SimpleNamespace(name=f"{trial.family}/{trial.how}", family=trial.family,
                               params=params, fold_scores=[trial.ndcg], score=trial.ndcg,
                               std=0.0, metric="ndcg_at_k", greater_is_better=True)
        callback(cand, count[0], left)
    return on_trial


def holdout_evaluation(search: Search, inter: Interactions, winner: Any, k: int,
                       content: ItemContent | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """The winner (fitted on the validation part) on every validation user: overall, by
    activity, examples; and the held-out pairs as raw ids (the kind's holdout rows)."""
    train, held = holdout_split(inter.matrix, 0.25, search.seed)
    part = Interactions(users=inter.users, items=inter.items, matrix=train,
                        feedback=inter.feedback, users_numeric=inter.users_numeric,
                        items_numeric=inter.items_numeric)
    rec = Recommender.build(part, winner, content=content)
    coo = held.tocoo()
    has = np.unique(coo.row)
    if len(has) > EVAL_USERS:  # a seeded sample keeps the report quick on large data
        pick = np.random.default_rng(search.seed).choice(has, EVAL_USERS, replace=False)
        keep = np.isin(coo.row, pick)
        coo = sp.coo_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=held.shape)
    users, items = inter.users[coo.row], inter.items[coo.col]
    overall, by, rows, top = evaluate_interactions(rec, users, items, k)
    relevant = {int(r): set(held[r].indices.tolist()) for r in rows[:5]}
    stored = {"overall": overall, "by_activity": by,
              "examples_html": examples_html(rec, rows, top, relevant)}
    return stored, pd.DataFrame({"user": users, "item": items})


def train_recommender(kind: TaskKind, dataset: Dataset, config: Config, *, reports: Path,
                      progress: Callable[..., None] | None = None) -> TrainResult:
    t0 = time.perf_counter()
    p = config.problem
    assert p.user_column and p.item_column  # check_config ran before train
    inter = build_interactions(dataset.frame, p.user_column, p.item_column, p.rating_column,
                               p.time_column)
    if inter.nnz < 2 or inter.n_items < 2:
        raise DataError(f"{inter.nnz} interaction(s) on {inter.n_items} item(s): a "
                        "recommender needs at least two items and two interactions")
    content = read_items(p.items, p.item_key or "") if p.items else None
    budget = float(config.train.time_budget)
    search = Search(inter.matrix, feedback=inter.feedback, budget_s=budget * SEARCH_SHARE,
                    seed=config.seed, k=K, on_trial=_progress(progress),
                    max_fit_s=MAX_FIT_SHARE * budget)
    result = search.execute()
    evaluation, holdout = holdout_evaluation(search, inter, result.best, K, content)
    grow = inter.nnz / max(search.val.train.nnz, 1)
    scorer = refit(result.best, inter.matrix, config.seed, grow)
    info = {"validation": result.validation_metrics, "evaluation": evaluation,
            "feedback": inter.feedback, "trials": len(result.trials)}
    rec = Recommender.build(inter, scorer, content=content, info=info)
    seconds = time.perf_counter() - t0

    board = pd.DataFrame(result.leaderboard())
    test = {f"{m}_at_k" if m != "coverage" else "catalog_coverage": float(v)
            for m, v in evaluation["overall"].items()
            if m in ("ndcg", "precision", "recall", "map", "hit_rate", "coverage")}
    task_info = {"user_column": p.user_column, "item_column": p.item_column,
                 "rating_column": p.rating_column, "time_column": p.time_column, "k": K,
                 "feedback": inter.feedback, "users": inter.n_users, "items": inter.n_items,
                 "interactions": inter.nnz, "model": rec.description,
                 "items_file": bool(content is not None)}
    card = ModelCard(
        kind=kind.name, task="recommend", target=None, metric="ndcg_at_k",
        schema=dataset.schema, success=dict(p.success),
        provenance=Provenance(data_fingerprint=dataset.fingerprint,
                              data_source=dataset.source, seed=config.seed,
                              rows_train=int(len(dataset.frame))),
        training=TrainingSummary(
            best_candidate=rec.description, family=_family(result.best),
            cv_score=float(result.validation_metrics.get("ndcg", 0.0)), test_metrics=test,
            leaderboard=board.head(50).to_dict("records"),
            search={"trials": len(result.trials), "finished": len(result.trials),
                    "folds": 1, "seconds": round(seconds, 2),
                    "train_seconds": round(seconds, 2), "notes": result.notes,
                    "validation": "per-user random 25% holdout of the training interactions"}),
        input_example={p.user_column: rec.user_ids(inter.users[:1]).tolist()[0]},
        task_info=task_info)
    model = Model(rec, card)
    reports.mkdir(parents=True, exist_ok=True)
    candidates = reports / "candidates.json"
    ranked = sorted(result.trials, key=lambda t: -t.ndcg)
    candidates.write_text(json.dumps([
        {"order": i, "name": f"{t.family}/{t.how}", "family": t.family, "params": t.params,
         "mean": t.ndcg, "fit_seconds": round(t.fit_s, 3),
         **{f"val_{m}": v for m, v in t.metrics.items()}} for i, t in enumerate(ranked)],
        indent=1, default=str))
    holdout = holdout.rename(columns={"user": p.user_column, "item": p.item_column})
    if inter.users_numeric:
        holdout[p.user_column] = holdout[p.user_column].astype(np.int64)
    if inter.items_numeric:
        holdout[p.item_column] = holdout[p.item_column].astype(np.int64)
    notes = [f"model: {rec.description}", *result.notes]
    return TrainResult(model=model, leaderboard=board, test_metrics=test,
                       verdict=_verdict(p.success, test), holdout=holdout, notes=notes,
                       report_files={"candidates": candidates})


def _family(scorer: Any) -> str:
    return str(getattr(scorer, "family", type(scorer).__name__))


def _verdict(success: dict[str, str], metrics: dict[str, float]) -> dict[str, Any]:
    criteria = []
    for name, rule in success.items():
        op, _, value = rule.strip().partition(" ")
        got = metrics.get(name)
        ok = got is not None and ((got >= float(value)) if op == ">=" else
                                  (got <= float(value)) if op == "<=" else False)
        criteria.append({"metric": name, "rule": rule, "value": got, "passed": bool(ok)})
    return {"passed": all(c["passed"] for c in criteria), "criteria": criteria}
