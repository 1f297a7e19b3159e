"""The anomaly score as a generated feature for a supervised model (the fraud route that has
some labels): a scikit-learn transformer that fits the unsupervised detectors on the training
rows' features only (it ignores `y`) and appends `anomaly_score` to the rows it transforms.

    from fullcycle.tasks.anomaly.feature import AnomalyScoreFeature
    train = AnomalyScoreFeature(seed=42).fit(X_train).transform(X_train)

Fitted inside the training part (or each fold), so the score of a held-out row never comes from
a detector that saw it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from fullcycle.config import Config
from fullcycle.data.schema import infer_schema
from fullcycle.tasks.anomaly.detectors import DetectorEnsemble
from fullcycle.tasks.unsupervised import prep


class AnomalyScoreFeature(TransformerMixin, BaseEstimator):
    def __init__(self, *, detectors: tuple[str, ...] = ("iforest", "knn"), combine: str = "max",
                 seed: int = 0, column: str = "anomaly_score") -> None:
        self.detectors = detectors
        self.combine = combine
        self.seed = seed
        self.column = column

    def fit(self, X: pd.DataFrame, y: Any = None) -> AnomalyScoreFeature:
        config = Config.from_dict({"seed": self.seed})
        self.schema_ = infer_schema(X)
        self.pipeline_ = prep.build(self.schema_, config)
        A = prep.fit_matrix(self.pipeline_, X)
        self.detector_ = DetectorEnsemble(detectors=self.detectors, combine=self.combine,
                                          seed=self.seed).fit(A)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def score(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.detector_.score_samples(prep.matrix(self.pipeline_, X)))

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X.assign(**{self.column: self.score(X)})

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([*self.feature_names_in_, self.column], dtype=object)
