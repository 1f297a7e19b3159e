"""The demo: the whole cycle on the Telco churn data bundled in the package."""

from __future__ import annotations

import socket
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any

from fullcycle.config import Config
from fullcycle.serve.app import serve_app

DEMO_TARGET = "Churn"


def bundled_dataset(name: str = "telco_churn.csv") -> Path:
    return Path(str(resources.files("fullcycle") / "datasets" / name))


def demo_config(time_budget: float = 30.0) -> Config:
    return Config.from_dict({
        "project": "telco-churn",
        "data": {"source": str(bundled_dataset()), "target": DEMO_TARGET,
                 "roles": {"customerID": "identifier"}},
        "problem": {"metric": "roc_auc", "positive_class": "Yes",
                    "success": {"roc_auc": ">= 0.80"}},
        "train": {"time_budget": time_budget,
                  "families": ["linear", "random_forest", "lightgbm"]},
    }, where="demo config")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sample_live_prediction(project: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start the server `fullcycle serve` would start (champion, prediction log) on a free
    loopback port, send one real HTTP request, stop it; the prediction is in the log."""
    import httpx
    import uvicorn


    app = serve_app(str(project.workspace.root), "champion", project.config)
    model = app.state.models.current.model
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        record = dict(model.card.input_example or {})
        answer = httpx.post(f"http://127.0.0.1:{port}/predict", json=record, timeout=10).json()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return record, answer
