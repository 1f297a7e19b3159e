"""The recommend routes: `POST /recommend`, `POST /similar-items` and the `/feedback` body.

    POST /recommend      {"user": "42", "k": 10, "exclude_seen": true}
                         {"user": "new", "items": ["50", "172"]}   (a new user naming items)
      -> {"id", "model_version", "user", "cold_start": false, "items": [{"item", "score"}]}
    POST /similar-items  {"item": "50", "k": 10}
      -> {"id", "model_version", "item", "source": "interactions"|"content", "items": [...]}
    POST /feedback       {"id": "<the /recommend answer's id>", "item": "172"}
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from fullcycle.taskkind import Route

MAX_K = 1000
Id = str | int


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: Id | None = Field(None, description="user id; unknown or absent: cold start")
    items: list[Id] = Field(default_factory=list, max_length=1000,
                            description="items a new user names (cold start by similarity)")
    k: int = Field(10, ge=1, le=MAX_K, description="how many items")
    exclude_seen: bool = Field(True, description="leave out items the user already had")


class SimilarRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: Id
    k: int = Field(10, ge=1, le=MAX_K)


class RecommendFeedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(..., min_length=1, description="the `id` of the /recommend answer")
    item: Id = Field(..., description="the item the user consumed (clicked, watched, bought)")


def _scored(ids: Any, scores: Any) -> list[dict[str, Any]]:
    """[{item, score}] with numpy scalars as plain JSON values."""
    return [{"item": i.item() if hasattr(i, "item") else i, "score": float(s)}
            for i, s in zip(ids, scores, strict=True)]


def recommend(model: Any, body: RecommendRequest) -> dict[str, Any]:
    rec = model.predictor
    row = -1 if body.user is None else int(rec.user_rows([body.user])[0])
    if row < 0 and body.items:
        answer = rec.recommend_for_items(body.items, body.k)
    else:
        answer = rec.recommend_rows(np.array([row]), body.k, body.exclude_seen)[0]
    return {"user": body.user, "cold_start": bool(answer.cold_start),
            "items": _scored(rec.item_ids(answer.items), answer.scores)}


def similar(model: Any, body: SimilarRequest) -> dict[str, Any]:
    ids, sims, source = model.predictor.similar_items(body.item, body.k)
    return {"item": body.item, "source": source, "items": _scored(ids, sims)}


def routes() -> list[Route]:
    return [
        Route("/recommend", RecommendRequest, recommend,
              "Top-k items for a user (cold start for unknown users, marked as such)"),
        Route("/similar-items", SimilarRequest, similar,
              "Items similar to an item (by interactions, or by metadata for new items)"),
    ]
