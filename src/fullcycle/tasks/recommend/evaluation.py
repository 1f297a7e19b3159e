"""Evaluating a recommender on held-out interactions: ranking metrics at k, catalogue coverage
and popularity bias, the same by user activity (light / medium / heavy thirds of the users by
training interactions), and a few users' recommendations next to their history."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fullcycle.tasks.recommend.data import id_strings
from fullcycle.tasks.recommend.metrics import per_user, ranking_metrics, top_k
from fullcycle.tasks.recommend.recommender import Recommender

SEGMENTS = ("light", "medium", "heavy")


def relevance(rec: Recommender, users: np.ndarray, items: np.ndarray
              ) -> tuple[np.ndarray, sp.csr_matrix, int]:
    """(known user rows, their relevant items as a csr aligned with the rows, pairs dropped
    because the user or the item is unknown to the model)."""
    u = np.array([rec.user_index_.get(x, -1) for x in id_strings(users)], dtype=np.int64)
    i = np.array([rec.item_index_.get(x, -1) for x in id_strings(items)], dtype=np.int64)
    ok = (u >= 0) & (i >= 0)
    rows, inverse = np.unique(u[ok], return_inverse=True)
    matrix = sp.csr_matrix((np.ones(int(ok.sum()), np.float32), (inverse, i[ok])),
                           shape=(len(rows), len(rec.items)))
    matrix.data[:] = 1.0
    return rows, matrix, int((~ok).sum())


def evaluate_interactions(rec: Recommender, users: np.ndarray, items: np.ndarray, k: int
                          ) -> tuple[dict[str, float], dict[str, dict[str, float]], np.ndarray,
                                     np.ndarray]:
    """Overall metrics, metrics by activity segment, the user rows and their top-k lists."""
    rows, rel, dropped = relevance(rec, users, items)
    if len(rows) == 0:
        return {"users": 0.0, "unknown_pairs": float(dropped)}, {}, rows, np.zeros((0, k))
    tops = []
    batch = max(1, 20_000_000 // max(len(rec.items), 1))
    for start in range(0, len(rows), batch):
        tops.append(top_k(rec.scores_for_rows(rows[start:start + batch]), k))
    top = np.vstack(tops)
    share = rec.popularity / max(len(rec.users), 1)
    overall = ranking_metrics(top, rel, k, share)
    overall["unknown_pairs"] = float(dropped)
    activity = np.diff(rec.seen.indptr)[rows]
    cuts = np.quantile(np.diff(rec.seen.indptr), [1 / 3, 2 / 3])
    segment = np.digitize(activity, cuts, right=True)
    by: dict[str, dict[str, float]] = {}
    values = per_user(top, rel, k)
    for s, name in enumerate(SEGMENTS):
        mask = segment == s
        if mask.any():
            by[name] = {m: float(v[mask].mean()) for m, v in values.items()}
            by[name]["users"] = float(mask.sum())
            by[name]["max_interactions"] = float(activity[mask].max())
    return overall, by, rows, top


def _table(rows: list[list[Any]], head: list[str]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.4f}" if isinstance(v, float) else html.escape(str(v))
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return ("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)
            + f"</tr></thead><tbody>{body}</tbody></table>")


def metrics_html(overall: dict[str, float], by: dict[str, dict[str, float]], k: int) -> str:
    names = ["ndcg", "precision", "recall", "map", "hit_rate"]
    rows = [[f"{n}@{k}", overall.get(n, float("nan"))] for n in names]
    rows += [["catalogue coverage", overall.get("coverage", float("nan"))],
             ["popularity bias (mean share of users)", overall.get("popularity_bias",
                                                                    float("nan"))],
             ["users evaluated", int(overall.get("users", 0))]]
    seg = [[name, int(v["users"]), int(v["max_interactions"])] + [v[n] for n in names]
           for name, v in by.items()]
    return (_table(rows, ["metric", "value"]) + "<h3>By user activity</h3>"
            + _table(seg, ["users", "count", "up to interactions"]
                     + [f"{n}@{k}" for n in names]))


def examples_html(rec: Recommender, rows: np.ndarray, top: np.ndarray,
                  relevant: dict[int, set[int]] | None = None, n: int = 5) -> str:
    """A few users: their history (most recent / strongest first), the list, and hits."""
    titles = rec.content.titles if rec.content is not None else {}

    def name(i: int) -> str:
        item = rec.items[i]
        return f"{item} ({titles[item]})" if item in titles else str(item)

    parts = []
    for r, lst in list(zip(rows, top, strict=True))[:n]:
        hist = rec.seen[r]
        order = np.argsort(-hist.data, kind="stable")[:10]
        history = ", ".join(name(i) for i in hist.indices[order])
        hits = relevant.get(int(r), set()) if relevant else set()
        recs = ", ".join(("<b>" + html.escape(name(i)) + "</b>") if i in hits
                         else html.escape(name(i)) for i in lst)
        parts.append(f"<tr><td>{html.escape(str(rec.users[r]))}</td>"
                     f"<td>{html.escape(history)}</td><td>{recs}</td></tr>")
    return ("<table><thead><tr><th>user</th><th>history (up to 10)</th><th>recommended "
            "(bold: consumed later)</th></tr></thead><tbody>" + "".join(parts)
            + "</tbody></table>")


def holdout_frame(users: np.ndarray, items: np.ndarray, user_col: str, item_col: str
                  ) -> pd.DataFrame:
    return pd.DataFrame({user_col: users, item_col: items})
