"""The fitted anomaly model a `Model` holds: preprocessing, detectors, calibration, threshold.

`anomaly_score` is the share of training rows the model finds less unusual than the row (a
training percentile, so 0.99 means "more unusual than 99% of what the model was trained on",
whatever the detectors and the version); `is_anomaly` compares it with the threshold set from
the contamination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.tasks.anomaly.detectors import DetectorEnsemble
from fullcycle.tasks.unsupervised import prep
from fullcycle.tasks.unsupervised.profile import ColumnStats

OUTPUT = ["anomaly_score", "is_anomaly"]


def robust_share(train_raw: dict[str, np.ndarray], cut: float = 3.5) -> float:
    """Estimated contamination: the share of training rows that some detector puts beyond
    `cut` robust z-scores (median and MAD of its own training scores)."""
    flagged = np.zeros(len(next(iter(train_raw.values()))), bool)
    for scores in train_raw.values():
        med = np.median(scores)
        mad = 1.4826 * np.median(np.abs(scores - med))
        if mad > 0:
            flagged |= (scores - med) / mad > cut
    return float(np.clip(flagged.mean(), 0.001, 0.25))


@dataclass(eq=False, repr=False, kw_only=True)
class AnomalyPredictor(prep.Preprocessed):
    """Rows -> calibrated anomaly scores; see the module docstring."""

    detector: DetectorEnsemble
    threshold: float
    contamination: float
    estimated: bool
    stats: ColumnStats
    description: str

    @classmethod
    def fit(cls, frame: pd.DataFrame, preprocessor: Any, detector: DetectorEnsemble,
            contamination: float | str, stats: ColumnStats,
            description: str) -> AnomalyPredictor:
        A = prep.fit_matrix(preprocessor, frame)
        detector.fit(A)
        estimated = contamination == "auto"
        if estimated:
            share = robust_share({n: d.train_scores_ for n, d in detector.members_.items()})
        else:
            share = float(contamination)
        return cls(preprocessor=preprocessor, detector=detector,
                   threshold=threshold_for(detector.train_scores_, share), contamination=share,
                   estimated=estimated, stats=stats, description=description)

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.detector.score_samples(self.matrix(frame)))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The calibrated score (what `Model.predict_scores` and drift read)."""
        return self.score(frame)

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        s = self.score(frame)
        return pd.DataFrame({"anomaly_score": np.round(s, 6), "is_anomaly": s >= self.threshold},
                            index=frame.index)

    def reasons(self, frame: pd.DataFrame, top: int = 3) -> list[list[str]]:
        return [self.stats.unusual(row, top) for _, row in frame.iterrows()]


def threshold_for(train_scores: np.ndarray, share: float) -> float:
    """The calibrated score above which `share` of the training rows lie (share 0: never)."""
    if share <= 0:
        return 1.0 + 1e-9
    return float(np.quantile(train_scores, 1.0 - share))
