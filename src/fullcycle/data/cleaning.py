"""Cleaning steps the user can see and switch, and the target-leakage check.

Each step is switched by a `data.*` key and always leaves a line in `Dataset.cleaning`, also when
it did nothing or was switched off, so what happened to the rows and columns is never a guess:

  duplicates      data.drop_duplicates       exact duplicate rows dropped
  missing target  data.drop_missing_target   rows without a target dropped (off: an error)
  constant        data.drop_constant         constant / all-missing columns excluded
  identifiers     data.exclude_identifiers   identifier-like columns excluded
  leakage         data.leakage_check         features that alone predict the target almost
                                             perfectly (out of fold) reported loudly, not dropped

Leakage is judged out of fold (3 folds) with one feature at a time: a depth-limited tree for
numbers, a per-category majority/mean for categories, so an identifier that is unique per row
scores nothing and a copy of the target scores ~1."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fullcycle.data.schema import Schema, normalise_missing, to_category_text, to_numeric

LEAKAGE_THRESHOLD = 0.98
LEAKAGE_MAX_ROWS = 20_000


@dataclass(frozen=True)
class LeakageSuspect:
    column: str
    score: float  # 1 = predicts the target perfectly out of fold; 0 = no better than a constant
    measure: str

    def message(self, target: str) -> str:
        return (f"POSSIBLE TARGET LEAKAGE: {self.column!r} alone predicts {target!r} almost "
                f"perfectly ({self.measure} {self.score:.3f} out of fold). If it is only known "
                f"after the outcome, drop it (data.roles.{self.column}: ignore)")


def _looks_like_classes(y: pd.Series) -> bool:
    """Mostly text, or at most 20 distinct numbers: score the leak as a classifier would."""
    numeric = to_numeric(y)
    if numeric.notna().mean() < 0.99:
        return True
    return int(numeric.nunique()) <= 20


def _folds(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n) % 3


def _categorical_score(x: pd.Series, y: np.ndarray, folds: np.ndarray, classify: bool) -> float:
    pred = np.empty(len(y), dtype="float64")
    keys = to_category_text(x).fillna("\x00missing").to_numpy()
    for k in range(3):
        train, test = folds != k, folds == k
        frame = pd.DataFrame({"x": keys[train], "y": y[train]})
        if classify:
            table = frame.groupby("x")["y"].agg(lambda s: s.value_counts().index[0])
            fallback = pd.Series(y[train]).value_counts().index[0]
        else:
            table = frame.groupby("x")["y"].mean()
            fallback = float(np.mean(y[train]))
        pred[test] = pd.Series(keys[test]).map(table).fillna(fallback).to_numpy(dtype="float64")
    return _score(pred, y, classify)


def _numeric_score(x: pd.Series, y: np.ndarray, folds: np.ndarray, classify: bool) -> float:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    values = to_numeric(x).to_numpy(dtype="float64").reshape(-1, 1)
    leaf = max(5, len(y) // 200)
    pred = np.empty(len(y), dtype="float64")
    for k in range(3):
        train, test = folds != k, folds == k
        tree = (DecisionTreeClassifier if classify else DecisionTreeRegressor)(
            max_depth=6, min_samples_leaf=leaf, random_state=0)
        tree.fit(values[train], y[train])
        pred[test] = tree.predict(values[test])
    return _score(pred, y, classify)


def _score(pred: np.ndarray, y: np.ndarray, classify: bool) -> float:
    if classify:
        base = pd.Series(y).value_counts(normalize=True).iloc[0]
        accuracy = float((pred == y).mean())
        return 0.0 if base >= 1 else (accuracy - base) / (1 - base)
    total = float(((y - y.mean()) ** 2).sum())
    return 0.0 if total == 0 else 1 - float(((y - pred) ** 2).sum()) / total


def leakage_suspects(frame: pd.DataFrame, schema: Schema, *,
                     threshold: float = LEAKAGE_THRESHOLD, seed: int = 0) -> list[LeakageSuspect]:
    """Features that alone predict the target with an out-of-fold score >= threshold."""
    target = schema.target
    if target is None or target not in frame.columns or len(frame) < 30:
        return []
    if len(frame) > LEAKAGE_MAX_ROWS:
        frame = frame.sample(LEAKAGE_MAX_ROWS, random_state=seed)
    raw_y = normalise_missing(frame[target])
    keep = raw_y.notna().to_numpy()
    frame, raw_y = frame.loc[keep], raw_y[keep]
    classify = _looks_like_classes(raw_y)
    y = (pd.factorize(to_category_text(raw_y))[0].astype("float64") if classify
         else to_numeric(raw_y).to_numpy(dtype="float64"))
    if classify and len(np.unique(y)) < 2 or not classify and np.isnan(y).any():
        return []
    folds = _folds(len(y), seed)
    measure = "accuracy gain" if classify else "R²"
    suspects = []
    for spec in schema.features:
        x = frame[spec.name]
        if spec.role in ("numeric", "boolean"):
            score = _numeric_score(x, y, folds, classify)
        elif spec.role == "categorical":
            score = _categorical_score(x, y, folds, classify)
        else:
            continue
        if score >= threshold:
            suspects.append(LeakageSuspect(spec.name, round(score, 4), measure))
    return suspects
