"""Monitoring a recommender.

- From the prediction log: online hit rate (share of answered `/recommend` calls whose feedback
  item was in the list) and precision (hits / items shown, over calls with feedback), the
  cold-start share of calls.
- From recent interactions (a file): catalogue drift (share of interactions on items the model
  does not know), new users' share, popularity shift (Jensen-Shannon distance between the item
  popularity of training and of the recent rows, over the union of their top items), and the
  model's hit rate / nDCG on them (items seen in training excluded).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.tasks.recommend.data import id_strings
from fullcycle.tasks.recommend.evaluation import evaluate_interactions
from fullcycle.tasks.recommend.recommender import Recommender

DRIFT_ALERT = 0.2  # share of recent interactions on unknown items
SHIFT_ALERT = 0.5  # Jensen-Shannon distance (0: same popularity, 1: disjoint)
TOP_ITEMS = 200


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def online(log: pd.DataFrame) -> dict[str, Any]:
    """Hit rate and precision of served lists from feedback in the prediction log."""
    answers = [_json(v) for v in log.get("prediction", pd.Series(dtype=object))]
    labels = [_json(v) for v in log.get("label", pd.Series([None] * len(log)))]
    calls = hits = shown = cold = 0
    for answer, label in zip(answers, labels, strict=True):
        if not isinstance(answer, dict) or "items" not in answer:
            continue
        cold += bool(answer.get("cold_start"))
        if not isinstance(label, dict) or "item" not in label:
            continue
        listed = {str(x.get("item")) for x in answer["items"] if isinstance(x, dict)}
        calls += 1
        shown += len(listed)
        hits += str(label["item"]) in listed
    n = sum(1 for a in answers if isinstance(a, dict) and "items" in a)
    return {"requests": n, "requests_with_feedback": calls,
            "online_hit_rate": hits / calls if calls else None,
            "online_precision": hits / shown if shown else None,
            "cold_start_share": cold / n if n else None}


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    p, q = p / max(p.sum(), 1e-12), q / max(q.sum(), 1e-12)
    m = 0.5 * (p + q)

    def kl(a: np.ndarray, b: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / b[mask])))
    return float(np.sqrt(max(0.5 * kl(p, m) + 0.5 * kl(q, m), 0.0)))


def popularity_shift(rec: Recommender, items: np.ndarray) -> float:
    recent = pd.Series(items).value_counts()
    train_top = [rec.items[i] for i in rec.popular_order_[:TOP_ITEMS]]
    keys = list(dict.fromkeys(train_top + list(recent.index[:TOP_ITEMS])))
    train = np.array([rec.popularity[rec.item_index_[k]] if k in rec.item_index_ else 0.0
                      for k in keys])
    now = recent.reindex(keys).fillna(0.0).to_numpy(dtype=float)
    return js_distance(train, now)


def offline(rec: Recommender, users: Any, items: Any, k: int) -> dict[str, Any]:
    u, i = id_strings(np.asarray(users, dtype=object)), id_strings(np.asarray(items,
                                                                              dtype=object))
    unknown_items = float(np.mean([x not in rec.item_index_ for x in i])) if len(i) else 0.0
    new_users = float(np.mean([x not in rec.user_index_ for x in u])) if len(u) else 0.0
    overall, _, _, _ = evaluate_interactions(rec, u, i, k)
    return {"interactions": int(len(i)), "catalogue_drift": unknown_items,
            "new_user_share": new_users, "popularity_shift": popularity_shift(rec, i),
            **{f"{m}_at_{k}": overall[m] for m in ("hit_rate", "ndcg", "precision")
               if m in overall}}


def alerts_for(signals: dict[str, Any], reference: dict[str, float]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    drift = signals.get("catalogue_drift")
    if drift is not None and drift > DRIFT_ALERT:
        out.append({"kind": "drift", "message": f"{drift:.0%} of recent interactions are on "
                    "items the model does not know: retrain to recommend them"})
    shift = signals.get("popularity_shift")
    if shift is not None and shift > SHIFT_ALERT:
        out.append({"kind": "drift", "message": f"item popularity moved (Jensen-Shannon "
                    f"distance {shift:.2f} > {SHIFT_ALERT}): tastes changed since training"})
    hit = signals.get("online_hit_rate")
    ref = reference.get("hit_rate")
    if hit is not None and ref and signals.get("requests_with_feedback", 0) >= 50 \
            and hit < 0.5 * ref:
        out.append({"kind": "performance", "message": f"online hit rate {hit:.3f} is below "
                    f"half of the validation hit rate {ref:.3f}"})
    return out
