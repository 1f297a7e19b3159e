"""Real-time serving over HTTP: the app factory, and the prediction log reader that monitoring
uses."""

from fullcycle.serve.app import create_app, serve_app
from fullcycle.serve.predlog import PredictionLog, read_log

__all__ = ["PredictionLog", "create_app", "read_log", "serve_app"]
