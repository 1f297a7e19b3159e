"""Leakage: a naive global target encoding looks far better in-sample than it is; fullcycle's
out-of-fold target encoding gives honest cross-validated scores (close to a fresh test set)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from fullcycle.features import CategoryEncoder
from fullcycle.features.encode import naive_target_encoding

LEVELS = 400


def draw(n: int, seed: int, effect: np.ndarray | None) -> tuple[pd.DataFrame, np.ndarray]:
    """A 400-level category (~5 rows per level at n=2000); the target depends on the level
    through `effect` (log-odds per level), or not at all when `effect` is None."""
    rng = np.random.default_rng(seed)
    level = rng.integers(0, LEVELS, n)
    logit = np.zeros(n) if effect is None else effect[level]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"code": [f"L{v}" for v in level]}), y


def fullcycle_cv_auc(X: pd.DataFrame, y: np.ndarray) -> tuple[float, Pipeline]:
    pipe = Pipeline([("encode", CategoryEncoder(one_hot_max=15, seed=0)),
                     ("model", LogisticRegression())])
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    oof = cross_val_predict(pipe, X, y, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, oof)), pipe.fit(X, y)


def test_naive_target_encoding_leaks_and_fullcycle_does_not() -> None:
    X, y = draw(2000, seed=1, effect=None)  # the category carries NO signal: true AUC is 0.5
    naive = naive_target_encoding(X["code"], y)
    naive_in_sample = roc_auc_score(y, naive)
    # The classic mistake: encode the whole table first, then cross-validate a model on it.
    naive_cv = roc_auc_score(y, cross_val_predict(
        LogisticRegression(), naive.reshape(-1, 1), y,
        cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")[:, 1])
    oof_encoded = CategoryEncoder(one_hot_max=15, seed=0).fit_transform(X, y)[:, 0]
    oof_in_sample = roc_auc_score(y, oof_encoded)
    honest_cv, fitted = fullcycle_cv_auc(X, y)
    X_new, y_new = draw(2000, seed=2, effect=None)
    fresh = roc_auc_score(y_new, fitted.predict_proba(X_new)[:, 1])
    print(f"\nno-signal category: naive in-sample AUC {naive_in_sample:.3f}, naive CV AUC "
          f"{naive_cv:.3f}; fullcycle OOF encoding AUC {oof_in_sample:.3f}, fullcycle CV AUC "
          f"{honest_cv:.3f}, fresh data {fresh:.3f}")
    assert naive_in_sample > 0.7 and naive_cv > 0.7        # looks strong, is pure leakage
    assert abs(oof_in_sample - 0.5) < 0.06                # each row encoded without its target
    assert abs(honest_cv - 0.5) < 0.06 and abs(fresh - 0.5) < 0.06
    assert naive_cv - honest_cv > 0.2


def test_fullcycle_cv_score_matches_fresh_data_when_there_is_signal() -> None:
    effect = np.random.default_rng(0).normal(scale=1.5, size=LEVELS)
    X, y = draw(2000, seed=3, effect=effect)
    honest_cv, fitted = fullcycle_cv_auc(X, y)
    X_new, y_new = draw(4000, seed=4, effect=effect)
    fresh = roc_auc_score(y_new, fitted.predict_proba(X_new)[:, 1])
    naive = naive_target_encoding(X["code"], y)
    naive_cv = roc_auc_score(y, cross_val_predict(
        LogisticRegression(), naive.reshape(-1, 1), y,
        cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")[:, 1])
    print(f"\nreal signal: fullcycle CV AUC {honest_cv:.3f} vs fresh data {fresh:.3f}; "
          f"naive CV AUC {naive_cv:.3f}")
    assert honest_cv > 0.6                      # the signal is found...
    assert abs(honest_cv - fresh) < 0.04        # ...and the CV estimate is what new data gets
    assert naive_cv - fresh > 0.08              # the naive estimate overstates it
