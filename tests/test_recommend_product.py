"""A recommender through the product, as a user runs it: `fullcycle train --task recommend`,
`predict --top-k` (and `--include-seen`), the registry, `package`, a real `fullcycle serve`
answering /recommend, /similar-items and /feedback over HTTP, `monitor` (the prediction log with
its feedback, then a file of new interactions) and `retrain` on the latest interactions."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from conftest import cli, start_server


def interactions(n_users: int, seed: int, new_items: int = 0) -> pd.DataFrame:
    """Taste blocks (4 x 15 items, power-law inside) with string user ids and integer items;
    `new_items` adds items 1000.. that the model has never seen."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        g = u % 4
        w = 1.0 / np.arange(1, 16) ** 0.8
        for i in rng.choice(15, size=8, replace=False, p=w / w.sum()):
            rows.append((f"user-{u}", int(g * 15 + i), int(rng.integers(1, 6)), u * 100 + i))
        if new_items:
            rows.append((f"user-{u}", 1000 + int(rng.integers(new_items)), 5, u * 100 + 99))
    return pd.DataFrame(rows, columns=["uid", "movie", "stars", "ts"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("recommend")
    data, ws = root / "ratings.csv", root / "ws"
    frame = interactions(120, seed=0)
    frame.to_csv(data, index=False)
    items = root / "movies.csv"
    pd.DataFrame({"movie_id": list(range(60)) + [999],
                  "genre": [f"g{i // 15}" for i in range(60)] + ["g1"]}).to_csv(items,
                                                                                index=False)
    run = cli("train", str(data), "--task", "recommend", "--user-column", "uid",
              "--item-column", "movie", "--rating-column", "stars", "--time-column", "ts",
              "--items", str(items), "--item-key", "movie_id", "--time-budget", "4",
              "--workspace", str(ws))
    assert run.returncode == 0, run.stdout + run.stderr
    return {"root": root, "ws": ws, "had": frame.groupby("uid")["movie"].apply(set)}


def test_train_writes_a_recommend_card(trained: dict[str, Any]) -> None:
    from fullcycle.model import read_card

    card = read_card(next((trained["ws"] / "models").glob("*-latest")))
    assert card.kind == "recommend" and card.metric == "ndcg_at_k"
    assert card.task_info["user_column"] == "uid" and card.task_info["items"] == 60
    assert card.training.test_metrics["ndcg_at_k"] > 0


def test_batch_lists_and_package(trained: dict[str, Any]) -> None:
    """user column, rank, item column, score; seen items excluded unless asked; the packaged
    model loads and recommends without the workspace."""
    root, ws, had = trained["root"], trained["ws"], trained["had"]
    users, out = root / "users.csv", root / "recs.csv"
    pd.DataFrame({"uid": ["user-0", "user-1", "stranger"]}).to_csv(users, index=False)
    run = cli("predict", "--workspace", str(ws), "--input", str(users), "--output", str(out),
              "--top-k", "4")
    assert run.returncode == 0, run.stdout + run.stderr
    recs = pd.read_csv(out)
    assert list(recs.columns) == ["uid", "rank", "movie", "score"]
    assert recs.groupby("uid").size().to_dict() == {"stranger": 4, "user-0": 4, "user-1": 4}
    assert not set(recs.loc[recs.uid == "user-0", "movie"]) & had["user-0"]
    run = cli("predict", "--workspace", str(ws), "--input", str(users), "--output", str(out),
              "--top-k", "8", "--include-seen")
    assert run.returncode == 0 and set(pd.read_csv(out).query("uid == 'user-0'").movie) & \
        had["user-0"]
    run = cli("package", "champion", str(root / "deploy"), "--workspace", str(ws))
    assert run.returncode == 0, run.stdout + run.stderr
    from fullcycle.model import Model

    packaged = Model.load(root / "deploy" / "model")
    assert len(packaged.predict(pd.DataFrame({"uid": ["user-2"]}))) == 10


def test_serve_recommend_similar_and_feedback(trained: dict[str, Any]) -> None:
    ws, had = trained["ws"], trained["had"]
    # serve over real HTTP
    server = start_server(ws, "--workers", "1")
    try:
        url = server.url
        answer = httpx.post(f"{url}/recommend", json={"user": "user-0", "k": 5}, timeout=30)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["cold_start"] is False and len(body["items"]) == 5 and body["model_version"]
        assert not {x["item"] for x in body["items"]} & had["user-0"]
        cold = httpx.post(f"{url}/recommend", json={"user": "someone-new", "k": 3},
                          timeout=30).json()
        assert cold["cold_start"] is True and len(cold["items"]) == 3
        named = httpx.post(f"{url}/recommend", json={"items": [16, 17], "k": 3},
                           timeout=30).json()
        assert named["cold_start"] is True and len(named["items"]) == 3
        similar = httpx.post(f"{url}/similar-items", json={"item": 999, "k": 3},
                             timeout=30).json()
        assert similar["source"] == "content"  # a new item: neighbours by its genre
        assert all(15 <= x["item"] < 30 for x in similar["items"])
        bad = httpx.post(f"{url}/recommend", json={"user": "user-0", "k": 0}, timeout=30)
        assert bad.status_code == 422
        for _ in range(3):  # feedback: the user consumed the first recommended item
            got = httpx.post(f"{url}/recommend", json={"user": "user-3", "k": 5},
                             timeout=30).json()
            fed = httpx.post(f"{url}/feedback", json={"id": got["id"],
                                                      "item": got["items"][0]["item"]},
                             timeout=30)
            assert fed.status_code == 200, fed.text
    finally:
        server.stop()


def test_monitor_and_retrain(trained: dict[str, Any]) -> None:
    """After the serving test (file order): online hit rate from the log's feedback, then new
    interactions with new items, then a retrain on them."""
    root, ws = trained["root"], trained["ws"]
    run = cli("monitor", "--workspace", str(ws))
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((ws / "reports" / "monitoring.json").read_text())
    text = json.dumps(report)
    assert '"online_hit_rate": 1.0' in text and '"requests_with_feedback": 3' in text
    new = root / "new.csv"
    later = interactions(120, seed=5, new_items=30)
    later.to_csv(new, index=False)
    run = cli("monitor", "--workspace", str(ws), "--input", str(new))
    text = (ws / "reports" / "monitoring.json").read_text()
    assert "catalogue_drift" in text, run.stdout + run.stderr

    # retrain on the latest interactions: champion and challenger scored on the same rows
    run = cli("retrain", "--workspace", str(ws), "--input", str(new), "--time-budget", "3")
    assert run.returncode in (0, 1), run.stdout + run.stderr
    assert "ndcg_at_k" in run.stdout + run.stderr
