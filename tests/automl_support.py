"""Tiny synthetic frames for the automl tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def tiny_frame(task: str, n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    signal = x1 + 0.5 * x2 + (colour == "red") + rng.normal(scale=0.5, size=n)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "colour": colour})
    frame.loc[::17, "x2"] = np.nan  # a few missing values go through the preprocessing
    if task == "regression":
        frame["y"] = signal * 10 + 100
    elif task == "binary":
        frame["y"] = np.where(signal > 0.3, "yes", "no")
    else:
        frame["y"] = pd.cut(signal, [-np.inf, -0.5, 0.7, np.inf], labels=["lo", "mid", "hi"]
                            ).astype(str)
    return frame


def saturating(n: int, seed: int, noise: float, outlying: bool = False) -> pd.DataFrame:
    """y = 3 tanh(x1) + noise: nearly a straight line where the training rows are (x1 ~ N(0,1)),
    flat beyond; `outlying` rows have x1 in [2.5, 4.5], where a line overshoots."""
    rng = np.random.default_rng(seed)
    x1 = rng.uniform(2.5, 4.5, size=n) if outlying else rng.normal(size=n)
    frame = pd.DataFrame({"x1": x1, "x2": rng.normal(size=n), "x3": rng.normal(size=n)})
    frame["y"] = 3 * np.tanh(x1) + rng.normal(scale=noise, size=n)
    return frame
