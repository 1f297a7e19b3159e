"""Real-time serving over HTTP."""

from fullcycle.serve.app import create_app

__all__ = ["create_app"]
