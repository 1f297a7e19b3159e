"""Splitting strategies and the check that a split is representative.

- `make_splitter(stratify, strategy, folds, seed, groups=None, time=None)`: a cross-validation
  splitter with `split(X, y)` (groups and times are bound, so callers need not pass them).
- `holdout_split(y, stratify=..., strategy=..., test_size=..., seed=..., groups=..., time=...)`:
  one train/test split by the same strategy (also used for a validation part for early stopping).
- `adversarial_validation(X_train, X_test)`: can a classifier tell train rows from test rows?
  AUC near 0.5 means the split is representative; per-feature shift says where it is not.

Strategies: ``random``; ``stratified`` (class shares kept); ``group`` (no group on both sides);
``time`` (train on the past, test on the future); ``auto`` = time if times are given, group if
groups are given, stratified when `stratify` (a target of classes), random otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.errors import ConfigError, DataError, did_you_mean

STRATEGIES = ("auto", "random", "stratified", "group", "time")


def resolve_strategy(stratify: bool, strategy: str, groups: Any = None, time: Any = None) -> str:
    """The strategy to use; `stratify`: the target is a set of classes whose shares folds can
    keep (the caller asks its problem whether its target is a set of classes)."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown split strategy {strategy!r}." + did_you_mean(strategy,
                                                                                 STRATEGIES))
    if strategy == "auto":
        if time is not None:
            return "time"
        if groups is not None:
            return "group"
        return "stratified" if stratify else "random"
    if strategy == "group" and groups is None:
        raise ConfigError("split.strategy group needs split.group_column (the column whose "
                          "values must not appear on both sides)")
    if strategy == "time" and time is None:
        raise ConfigError("split.strategy time needs split.time_column (the column that orders "
                          "rows in time)")
    if strategy == "stratified" and not stratify:
        raise ConfigError("split.strategy stratified is for classification; use random "
                          "for regression")
    return strategy


def _time_order(time: Any) -> np.ndarray:
    values = pd.Series(np.asarray(time))
    if values.dtype.kind not in "iufM":
        values = pd.to_datetime(values, errors="coerce", format="mixed")
    if values.isna().any():
        raise DataError(f"the time column has {int(values.isna().sum())} missing or unreadable "
                        "values; a time-ordered split needs every row dated")
    return np.argsort(values.to_numpy(), kind="stable")


class TimeOrderedSplit:
    """Expanding-window folds: each fold trains on everything before a cut in time and
    validates on the next block, whatever the row order of the data."""

    def __init__(self, n_splits: int, time: Any) -> None:
        self.n_splits, self.time = n_splits, time

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.n_splits

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple]:
        from sklearn.model_selection import TimeSeriesSplit

        order = _time_order(self.time)
        for fit_pos, val_pos in TimeSeriesSplit(n_splits=self.n_splits).split(order):
            yield np.sort(order[fit_pos]), np.sort(order[val_pos])


class BoundGroupSplit:
    """A group splitter with its groups bound, so `split(X, y)` is enough."""

    def __init__(self, splitter: Any, groups: Any) -> None:
        self.splitter, self.groups = splitter, np.asarray(groups)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return int(self.splitter.get_n_splits())

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple]:
        yield from self.splitter.split(X, y, self.groups)


def make_splitter(stratify: bool, strategy: str = "auto", folds: int = 5, seed: int = 0,
                  groups: Any = None, time: Any = None) -> Any:
    """A cross-validation splitter matching the split strategy."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    kind = resolve_strategy(stratify, strategy, groups, time)
    if kind == "time":
        return TimeOrderedSplit(folds, time)
    if kind == "group":
        n_groups = len(pd.unique(np.asarray(groups)))
        if n_groups < folds:
            raise DataError(f"{n_groups} groups cannot make {folds} folds; lower split.cv_folds")
        inner = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed) \
            if stratify else GroupKFold(n_splits=folds)
        return BoundGroupSplit(inner, groups)
    if kind == "stratified":
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return KFold(n_splits=folds, shuffle=True, random_state=seed)


def holdout_split(y: Any, *, stratify: bool, strategy: str = "auto", test_size: float = 0.2,
                  seed: int = 0, groups: Any = None,
                  time: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(train positions, test positions), sorted. Time: the latest `test_size` share is test.
    Group: whole groups go to test. Stratified falls back to random when a class has one row."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    y = np.asarray(y)
    n = len(y)
    index = np.arange(n)
    if n < 4:
        raise DataError(f"{n} rows is too few to hold out a test part")
    kind = resolve_strategy(stratify, strategy, groups, time)
    if kind == "time":
        order = _time_order(time)
        cut = n - max(1, int(round(n * test_size)))
        return np.sort(order[:cut]), np.sort(order[cut:])
    if kind == "group":
        gss = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train, test = next(gss.split(index, y, np.asarray(groups)))
        return np.sort(train), np.sort(test)
    strata = None
    if kind == "stratified":
        _, counts = np.unique(y, return_counts=True)
        strata = y if counts.min() >= 2 else None
    train, test = train_test_split(index, test_size=test_size, random_state=seed,
                                   stratify=strata)
    return np.sort(train), np.sort(test)


def _shift(a: pd.Series, b: pd.Series) -> tuple[str, float]:
    """Kolmogorov-Smirnov statistic for numbers, total variation distance for categories."""
    num_a, num_b = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
    if num_a.notna().mean() > 0.95 and num_b.notna().mean() > 0.95 and num_a.notna().any():
        from scipy.stats import ks_2samp

        return "ks", float(ks_2samp(num_a.dropna(), num_b.dropna()).statistic)
    pa = a.astype(str).value_counts(normalize=True)
    pb = b.astype(str).value_counts(normalize=True)
    return "tvd", float(0.5 * pa.sub(pb, fill_value=0).abs().sum())


def _encoded(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for name in frame.columns:
        col = frame[name]
        numeric = pd.to_numeric(col, errors="coerce")
        if col.dtype.kind in "biuf" or numeric.notna().mean() > 0.95:
            out[name] = numeric.astype("float64")
        elif col.dtype.kind == "M":
            out[name] = col.astype("int64").astype("float64")
        else:
            out[name] = col.astype(str).astype("category").cat.codes.astype("float64")
    return pd.DataFrame(out, index=frame.index)


def adversarial_validation(X_train: pd.DataFrame, X_test: pd.DataFrame, *, seed: int = 0,
                           folds: int = 3, max_rows: int = 5000,
                           threshold: float = 0.6) -> dict[str, Any]:
    """Train-vs-test classifier AUC (out-of-fold) and per-feature shift, most shifted first.
    `representative` is True when the AUC stays below `threshold`."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    a = X_train.iloc[np.sort(rng.permutation(len(X_train))[:max_rows])]
    b = X_test.iloc[np.sort(rng.permutation(len(X_test))[:max_rows])]
    cols = [c for c in a.columns if c in b.columns]
    both = pd.concat([a[cols], b[cols]], ignore_index=True)
    label = np.r_[np.zeros(len(a), int), np.ones(len(b), int)]
    X = _encoded(both).to_numpy()
    oof = np.zeros(len(label))
    k = max(2, min(folds, len(a), len(b)))
    # One OpenMP thread: the model is small, and on a busy machine more threads spin and wait.
    with threadpool_limits(limits=1, user_api="openmp"):
        for fit_idx, val_idx in StratifiedKFold(k, shuffle=True,
                                                random_state=seed).split(X, label):
            model = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
            model.fit(X[fit_idx], label[fit_idx])
            oof[val_idx] = model.predict_proba(X[val_idx])[:, 1]
    auc = float(roc_auc_score(label, oof))
    features: list[dict[str, Any]] = []
    for name in cols:
        test, value = _shift(a[name], b[name])
        features.append({"feature": str(name), "test": test, "shift": round(value, 4)})
    features.sort(key=lambda f: -f["shift"])
    return {"auc": round(auc, 4), "representative": auc < threshold, "threshold": threshold,
            "rows_train": len(a), "rows_test": len(b), "features": features}
