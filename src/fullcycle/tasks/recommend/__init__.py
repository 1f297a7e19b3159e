"""Recommendation: top-k items per user from interactions (ratings, plays, clicks)."""

from fullcycle.tasks.recommend.kind import RecommendKind

__all__ = ["RecommendKind"]
