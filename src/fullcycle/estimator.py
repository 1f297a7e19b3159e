"""A fullcycle tabular `Model` as a scikit-learn estimator: `model.as_estimator()`.

`Model.predict` answers a frame (`prediction`, `proba_<class>`) for the server and batch
scoring; scikit-learn's tools want the estimator contract instead. The adapter gives it:

- `predict(X)` returns labels (the model's decision threshold applied), `predict_proba(X)` the
  class probabilities in the order of `classes_` (sorted, as scikit-learn's own classifiers);
- `classes_`, `feature_names_in_`, `n_features_in_`; it is fitted as soon as it wraps a trained
  model (`check_is_fitted` passes), so scorers, `permutation_importance`, `FrozenEstimator` and
  `CalibratedClassifierCV(FrozenEstimator(est))` work on it directly;
- `clone(est)` gives an independent copy; `fit(X, y)` refits a copy of the same pipeline
  (same preprocessing, family and hyperparameters; ensemble members refitted one by one, their
  weights kept) on new rows, so `cross_val_score(est, X, y)` re-trains per fold. The wrapped
  `model` parameter is never changed: the refitted model is `model_`.

    from sklearn.inspection import permutation_importance
    est = project.load_model("champion").as_estimator()
    permutation_importance(est, X, y, scoring="roc_auc")
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone

from fullcycle.errors import ModelError


class _Adapter(BaseEstimator):
    def __init__(self, model: Any = None) -> None:
        self.model = model

    # --- what scikit-learn asks ----------------------------------------------------------
    @property
    def fitted_model(self) -> Any:
        """The model that answers: the refitted one after `fit`, else the wrapped one."""
        return getattr(self, "model_", None) or self.model

    def __sklearn_is_fitted__(self) -> bool:
        return self.fitted_model is not None

    @property
    def feature_names_in_(self) -> np.ndarray:
        return np.asarray([c.name for c in self.fitted_model.schema.features], dtype=object)

    @property
    def n_features_in_(self) -> int:
        return len(self.feature_names_in_)

    def _frame(self, X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        names = list(self.feature_names_in_)
        array = np.asarray(X, dtype=object)
        if array.ndim != 2 or array.shape[1] != len(names):
            raise ModelError(f"expected a table with the {len(names)} input columns "
                             f"{names[:5]}...; got shape {array.shape}")
        return pd.DataFrame(array, columns=names)

    # --- refitting -----------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> _Adapter:
        """Refit a copy of the wrapped model's pipeline on (X, y); see the module docstring."""
        if self.model is None:
            raise ModelError("wrap a trained fullcycle Model: model.as_estimator()")
        frame = self._frame(X)
        codes = self.model.problem.encode_target(pd.Series(np.asarray(y, dtype=object)))
        predictor = self.model.predictor
        refitted = copy.deepcopy(predictor)
        if hasattr(refitted, "members"):  # an ensemble: refit each member, keep the weights
            refitted.members = [clone(m).fit(frame, codes) for m in predictor.members]
        else:
            refitted = clone(predictor).fit(frame, codes)
        # the wrapped model's own class: this module sits below fullcycle.model (no cycle)
        self.model_ = type(self.model)(refitted, copy.deepcopy(self.model.card))
        return self


class ModelClassifier(ClassifierMixin, _Adapter):
    """A classification `Model` under scikit-learn's classifier contract."""

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(sorted(self.fitted_model.card.classes), dtype=object)

    def _order(self) -> np.ndarray:
        """Column order of the model's probabilities -> sorted `classes_` order."""
        own = list(self.fitted_model.card.classes)
        return np.asarray([own.index(c) for c in self.classes_])

    def predict_proba(self, X: Any) -> np.ndarray:
        scores = self.fitted_model.predict_scores(self._frame(X))
        return scores[:, self._order()]

    def predict(self, X: Any) -> np.ndarray:
        model = self.fitted_model
        return np.asarray(model.labels_from_scores(model.predict_scores(self._frame(X))),
                          dtype=object)


class ModelRegressor(RegressorMixin, _Adapter):
    """A regression `Model` under scikit-learn's regressor contract."""

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.fitted_model.predict_scores(self._frame(X)), dtype="float64")


def as_estimator(model: Any) -> ModelClassifier | ModelRegressor:
    """The scikit-learn face of a tabular (supervised) model."""
    if model.card.kind != "tabular" or not model.card.task:
        raise ModelError(f"a {model.card.kind} model has no scikit-learn estimator face; "
                         "only supervised table models (binary, multiclass, regression) do")
    return ModelClassifier(model) if model.card.classes else ModelRegressor(model)
