"""Generated features, searched and kept only when they help out-of-fold.

`FeatureGenerator` builds ratios and differences of numeric pairs, group means of a numeric
column by a categorical one, and frequency encodings of categorical columns. With no `plan`, its
`fit` searches: a small LightGBM is scored by 3-fold cross-validation on the training rows with
the base columns, then with each kind of generated feature added; a kind is kept only when it
lowers the out-of-fold loss materially and clearly (paired per-row t-statistic above 2).
Because the search runs inside `fit`, an outer cross-validation fold
never sees its validation rows. Group means and frequencies are learnt from training rows only;
an unseen category gets the global mean / frequency 0."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from fullcycle.features.encode import category_text

KINDS = ("ratio", "difference", "group_mean", "frequency")
SEARCH_ROWS = 5000


def cv_losses(frame: pd.DataFrame, y: np.ndarray, seed: int) -> np.ndarray:
    """Per-row 3-fold out-of-fold loss of a small LightGBM: log loss of the true class, or the
    squared error over the target variance for regression (mean = 1 - R²)."""
    import lightgbm as lgb
    from sklearn.model_selection import KFold, StratifiedKFold

    classify = y.dtype.kind in "iub"
    cls = lgb.LGBMClassifier if classify else lgb.LGBMRegressor
    splitter = StratifiedKFold if classify and np.bincount(y).min() >= 3 else KFold
    classes = np.unique(y)
    oof = np.zeros((len(y), len(classes))) if classify else np.zeros(len(y))
    for fit_idx, val_idx in splitter(3, shuffle=True, random_state=seed).split(frame, y):
        model = cls(n_estimators=100, num_leaves=15, learning_rate=0.05, min_child_samples=20,
                    verbose=-1, random_state=seed, n_jobs=1)
        model.fit(frame.iloc[fit_idx], y[fit_idx])
        if classify:
            proba = model.predict_proba(frame.iloc[val_idx])
            oof[np.ix_(val_idx, np.searchsorted(classes, model.classes_))] = proba
        else:
            oof[val_idx] = model.predict(frame.iloc[val_idx])
    if classify:
        return -np.log(np.clip(oof[np.arange(len(y)), np.searchsorted(classes, y)], 1e-12, 1))
    return (oof - y) ** 2 / max(float(np.var(y)), 1e-12)


def helps(base: np.ndarray, trial: np.ndarray, min_gain: float) -> tuple[bool, float, float]:
    """Keep a kind only when the paired per-row loss drop is both material (relative gain
    above `min_gain`) and clear of noise (t-statistic above 2): adding any column moves a
    boosted model's loss a little by chance."""
    diff = base - trial
    gain = float(diff.mean() / max(base.mean(), 1e-12))
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else np.inf
    t = float(diff.mean() / se) if se > 0 else (np.inf if diff.mean() > 0 else 0.0)
    return gain > min_gain and t > 2.0, gain, t


class FeatureGenerator(TransformerMixin, BaseEstimator):
    """Typed frame (numeric + categorical columns) -> generated numeric columns only."""

    def __init__(self, *, numeric: list[str] | None = None, categorical: list[str] | None = None,
                 plan: dict[str, list] | None = None, max_numeric: int = 5, max_groups: int = 3,
                 min_gain: float = 0.005, fill: bool = True, seed: int = 0) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.plan = plan
        self.max_numeric = max_numeric
        self.max_groups = max_groups
        self.min_gain = min_gain
        self.fill = fill
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: Any = None) -> FeatureGenerator:
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = X.shape[1]
        num = [c for c in (self.numeric or []) if c in X.columns]
        cat = [c for c in (self.categorical or []) if c in X.columns]
        self.search_: list[dict[str, Any]] = []
        if self.plan is not None:
            plan = {k: [tuple(v) if isinstance(v, list) else v for v in self.plan.get(k, [])]
                    for k in KINDS}
        elif y is None or len(X) < 30:
            plan = {k: [] for k in KINDS}
            self.search_.append({"kind": "*", "kept": False,
                                 "reason": "no target or fewer than 30 rows: nothing searched"})
        else:
            plan = self._search(X, np.asarray(y), num, cat)
        self._learn(X, plan)
        return self

    def _learn(self, X: pd.DataFrame, plan: dict[str, list]) -> None:
        self.plan_ = plan
        self.group_means_: dict[str, tuple[dict[str, float], float]] = {}
        self.frequencies_: dict[str, dict[str, float]] = {}
        for num, cat in plan["group_mean"]:
            keys = category_text(X[cat])
            values = pd.to_numeric(X[num], errors="coerce")
            self.group_means_[f"{num}_mean_by_{cat}"] = (
                values.groupby(keys).mean().dropna().to_dict(), float(values.mean())
                if values.notna().any() else 0.0)
        for cat in plan["frequency"]:
            self.frequencies_[cat] = category_text(X[cat]).value_counts(normalize=True).to_dict()
        self.fill_ = {}
        if self.fill:
            raw = self._raw(X)
            self.fill_ = {c: float(raw[c].median()) if raw[c].notna().any() else 0.0
                          for c in raw.columns}

    def _candidates(self, X: pd.DataFrame, y: np.ndarray, num: list[str],
                    cat: list[str]) -> tuple[dict[str, list], pd.DataFrame]:
        base = pd.DataFrame({c: pd.to_numeric(X[c], errors="coerce") for c in num}, index=X.index)
        for c in cat:
            base[c] = category_text(X[c]).astype("category")
        top = self._ranked(base, y, num)
        pairs = list(itertools.combinations(top[: self.max_numeric], 2))
        groups = [(n, c) for n in top[: self.max_groups] for c in cat[: self.max_groups]]
        return {"ratio": pairs, "difference": pairs, "group_mean": groups,
                "frequency": list(cat)}, base

    def _ranked(self, base: pd.DataFrame, y: np.ndarray, num: list[str]) -> list[str]:
        """Numeric columns by a quick model's importance (the pairs worth trying first)."""
        import lightgbm as lgb

        if not num:
            return []
        cls = lgb.LGBMClassifier if y.dtype.kind in "iub" else lgb.LGBMRegressor
        model = cls(n_estimators=50, num_leaves=15, verbose=-1, random_state=self.seed, n_jobs=1,
                    importance_type="gain").fit(base, y)
        gain = dict(zip(base.columns, model.feature_importances_, strict=True))
        return sorted(num, key=lambda c: -gain.get(c, 0.0))

    def _search(self, X: pd.DataFrame, y: np.ndarray, num: list[str],
                cat: list[str]) -> dict[str, list]:
        if len(X) > SEARCH_ROWS:
            rows = np.sort(np.random.default_rng(self.seed).choice(len(X), SEARCH_ROWS,
                                                                   replace=False))
            X, y = X.iloc[rows], y[rows]
        candidates, base = self._candidates(X, y, num, cat)
        base_rows = cv_losses(base.reset_index(drop=True), y, self.seed)
        base_loss = float(base_rows.mean())
        self.search_.append({"kind": "base", "loss": base_loss, "kept": True,
                             "reason": f"{base.shape[1]} input columns"})
        plan: dict[str, list] = {k: [] for k in KINDS}
        for kind in KINDS:
            if not candidates[kind]:
                continue
            trial = {k: (candidates[k] if k == kind else []) for k in KINDS}
            self._learn(X, trial)
            extra = self._raw(X)
            rows = cv_losses(pd.concat([base, extra], axis=1).reset_index(drop=True), y,
                             self.seed)
            kept, gain, t = helps(base_rows, rows, self.min_gain)
            if kept:
                plan[kind] = candidates[kind]
            self.search_.append({"kind": kind, "candidates": len(candidates[kind]),
                                 "loss": float(rows.mean()), "relative_gain": gain, "t": t,
                                 "kept": bool(kept),
                                 "reason": f"out-of-fold loss {base_loss:.4f} -> "
                                 f"{rows.mean():.4f} (t={t:.1f})"})
        return plan

    def _raw(self, X: pd.DataFrame) -> pd.DataFrame:
        out: dict[str, np.ndarray] = {}
        num = {c: pd.to_numeric(X[c], errors="coerce").to_numpy(dtype="float64")
               for c in {c for pair in self.plan_["ratio"] + self.plan_["difference"]
                         for c in pair} | {n for n, _ in self.plan_["group_mean"]}}
        with np.errstate(divide="ignore", invalid="ignore"):
            for a, b in self.plan_["ratio"]:
                out[f"{a}_per_{b}"] = np.where(np.abs(num[b]) > 1e-12, num[a] / num[b], np.nan)
        for a, b in self.plan_["difference"]:
            out[f"{a}_minus_{b}"] = num[a] - num[b]
        for (_num, c), name in zip(self.plan_["group_mean"], self.group_means_, strict=True):
            means, overall = self.group_means_[name]
            keys = category_text(X[c])
            out[name] = keys.map(means).fillna(overall).to_numpy(dtype="float64")
        for c in self.plan_["frequency"]:
            keys = category_text(X[c])
            out[f"{c}_freq"] = keys.map(self.frequencies_[c]).fillna(0.0).to_numpy(dtype="float64")
        return pd.DataFrame(out, index=X.index)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        raw = self._raw(X)
        if self.fill_:
            raw = raw.fillna(self.fill_)
        return raw.to_numpy(dtype="float64") if raw.shape[1] else np.empty((len(X), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = [f"{a}_per_{b}" for a, b in self.plan_["ratio"]]
        names += [f"{a}_minus_{b}" for a, b in self.plan_["difference"]]
        names += list(self.group_means_)
        names += [f"{c}_freq" for c in self.plan_["frequency"]]
        return np.asarray(names, dtype=object)
