"""The recommender on small synthetic interactions, without the CLI: aggregation of duplicates,
ids as strings and integers, the per-user holdout, ranking metrics on hand-made cases, seen items
excluded, users with one interaction, cold-start users and items, and a search that beats
popularity on data with taste structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from fullcycle.tasks.recommend.content import build_content
from fullcycle.tasks.recommend.data import build_interactions, holdout_split
from fullcycle.tasks.recommend.fit import fit_interactions, fit_recommender
from fullcycle.tasks.recommend.metrics import ranking_metrics, top_k
from fullcycle.tasks.recommend.search import Search


def tastes(n_users: int = 150, n_items: int = 80, groups: int = 4, seed: int = 0,
           per_user: int = 12) -> pd.DataFrame:
    """Users in taste groups; each group mostly consumes its own block of items, with a
    power-law popularity inside the block, and a few random (popular) items."""
    rng = np.random.default_rng(seed)
    block = n_items // groups
    rows = []
    for u in range(n_users):
        g = u % groups
        weights = 1.0 / np.arange(1, block + 1) ** 0.8
        own = rng.choice(block, size=per_user, replace=False, p=weights / weights.sum())
        items = list(g * block + own) + list(rng.choice(n_items, size=2))
        rows += [(f"u{u}", int(i), float(rng.integers(1, 6))) for i in items]
    return pd.DataFrame(rows, columns=["user", "item", "rating"])


@pytest.fixture(scope="module")
def fitted():
    frame = tastes()
    return frame, fit_recommender(frame, user="user", item="item", rating="rating",
                                  budget_s=6, seed=0)


def test_duplicates_are_aggregated_by_the_documented_rule() -> None:
    counts = pd.DataFrame({"u": [1, 1, 1, 2], "i": ["a", "a", "b", "a"]})
    inter = build_interactions(counts, "u", "i")
    assert inter.feedback == "count" and inter.nnz == 3
    row = list(inter.users).index("1")
    assert inter.matrix[row, list(inter.items).index("a")] == 2  # a pair twice counts 2

    ratings = pd.DataFrame({"u": [1, 1, 2], "i": [5, 5, 5], "r": [2, 4, 5], "t": [20, 10, 1]})
    latest = build_interactions(ratings, "u", "i", "r", "t")
    assert latest.feedback == "explicit"
    assert latest.matrix[list(latest.users).index("1"), 0] == 2  # newest rating (t=20) wins
    mean = build_interactions(ratings, "u", "i", "r")
    assert mean.matrix[list(mean.users).index("1"), 0] == 3  # no time: the mean

    plays = pd.DataFrame({"u": [1, 1], "i": [7, 7], "w": [100.0, 250.0]})
    summed = build_interactions(plays, "u", "i", "w")
    assert summed.feedback == "implicit" and summed.matrix[0, 0] == 350  # weights add up


def test_ids_as_integers_strings_and_floats_are_one_id_space() -> None:
    frame = pd.DataFrame({"u": [1.0, 2.0, np.nan, 3.0], "i": ["x", "y", "x", "z"]})
    inter = build_interactions(frame, "u", "i")
    assert sorted(inter.users) == ["1", "2", "3"]  # 1.0 read from a column with a blank is 1
    assert inter.users_numeric and not inter.items_numeric


def test_per_user_holdout_keeps_every_user_in_training() -> None:
    X = build_interactions(tastes(seed=1), "user", "item").matrix
    train, held = holdout_split(X, 0.25, seed=3)
    assert train.nnz + held.nnz == X.nnz
    assert (np.diff(train.indptr) >= 1).all()
    n = np.diff(X.indptr)
    assert np.allclose(np.diff(held.indptr), np.clip(np.round(0.25 * n), 1, n - 1))
    again, _ = holdout_split(X, 0.25, seed=3)
    assert (again != train).nnz == 0  # the seed fixes the split


def test_ranking_metrics_on_a_hand_made_case() -> None:
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0, 0], [0, 0, 0, 0, 1]], dtype=np.float32))
    top = np.array([[0, 1], [3, 2]])  # user 0: hit at rank 1; user 1: no hit
    m = ranking_metrics(top, relevant, k=2, popularity=np.ones(5))
    assert m["ndcg"] == pytest.approx(0.5 * 1 / (1 + 1 / np.log2(3)))
    assert m["precision"] == pytest.approx(0.25) and m["hit_rate"] == pytest.approx(0.5)
    assert m["recall"] == pytest.approx(0.25) and m["coverage"] == pytest.approx(4 / 5)
    assert list(top_k(np.array([[0.1, 0.9, 0.5, 0.9]]), 3)[0]) == [1, 3, 2]  # ties: lower id


def test_search_beats_popularity_and_seen_items_are_excluded(fitted) -> None:
    frame, result = fitted
    board = result.search.leaderboard()
    best = board[0]
    pop = next(r for r in board if r["model"] == "popularity")
    assert best["val_ndcg"] > 1.5 * pop["val_ndcg"]  # the taste blocks are learnt
    rec = result.recommender
    out = rec.frame(pd.Series(["u0", "u1", "u2"]), 5, "user", "item")
    assert list(out.columns) == ["user", "rank", "item", "score"]
    assert out.groupby("user")["rank"].apply(list).tolist() == [[1, 2, 3, 4, 5]] * 3
    had = frame.groupby("user")["item"].apply(set)
    for user, items in out.groupby("user")["item"]:
        assert not set(items) & had[user]
    assert out["item"].dtype.kind == "i"  # integer item ids come back as integers
    with_seen = rec.frame(pd.Series(["u0"]), 40, "user", "item", exclude_seen=False)
    assert set(with_seen["item"]) & had["u0"]


def test_a_user_with_one_interaction_and_cold_start_users(fitted) -> None:
    frame, _ = fitted
    one = pd.concat([frame, pd.DataFrame({"user": ["solo"], "item": [3], "rating": [5.0]})])
    rec = fit_recommender(one, user="user", item="item", rating="rating", budget_s=3,
                          seed=0).recommender
    answer = rec.recommend_rows(rec.user_rows(["solo"]), 5)[0]
    assert len(answer.items) == 5 and not answer.cold_start
    assert "3" not in set(rec.items[answer.items])
    unknown = rec.recommend_rows(rec.user_rows(["nobody"]), 5)[0]
    assert unknown.cold_start
    assert list(unknown.items) == list(np.argsort(-rec.popularity, kind="stable")[:5])
    named = rec.recommend_for_items([0, "1"], 5)  # a new user naming items of block 0
    assert named.cold_start and len(named.items) == 5
    ids = rec.items[named.items].astype(int)
    assert (ids < 20).mean() >= 0.6 and not {0, 1} & set(ids)


def test_new_items_with_metadata_get_content_neighbours() -> None:
    frame = tastes(seed=2)
    meta = pd.DataFrame({"item": list(range(80)) + [500],
                         "genre": [f"g{i // 20}" for i in range(80)] + ["g2"],
                         "title": [f"item {i}" for i in range(81)]})
    content = build_content(meta, "item")
    inter = build_interactions(frame, "user", "item", "rating")
    rec = fit_interactions(inter, budget_s=3, seed=0, content=content).recommender
    ids, sims, source = rec.similar_items(500, 5)  # nobody has interacted with item 500
    assert source == "content" and len(ids) == 5
    assert all(40 <= int(i) < 60 for i in ids)  # the same genre block
    ids, _, source = rec.similar_items("5", 5)
    assert source == "interactions" and 5 not in ids
    with pytest.raises(Exception, match="unknown"):
        rec.similar_items("no-such-item", 5)


def test_the_search_respects_a_small_budget() -> None:
    X = build_interactions(tastes(n_users=300, seed=4), "user", "item").matrix
    search = Search(X, feedback="count", budget_s=2.0, seed=0)
    result = search.execute()
    assert result.trials and result.best is not None
    assert {t.family for t in result.trials} >= {"popularity", "ease"}
