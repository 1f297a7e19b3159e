"""Free-text columns -> a bounded number of numeric columns (TF-IDF or feature hashing)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from fullcycle.features.compiling import Block, Columns, Unsupported, compiles
from fullcycle.features.impute import as_frame


def _docs(col: pd.Series) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else str(v)
            for v in col.astype(object)]


class TextVectorizer(TransformerMixin, BaseEstimator):
    """Each text column -> at most `max_features` columns. TF-IDF keeps the most frequent terms
    seen in training (vocabulary saved in the model); hashing needs no vocabulary. A column with
    no usable words in training gives no columns."""

    def __init__(self, *, method: str = "tfidf", max_features: int = 100) -> None:
        self.method = method
        self.max_features = max_features

    def fit(self, X: Any, y: Any = None) -> TextVectorizer:
        from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer

        if self.method not in ("tfidf", "hashing"):
            raise ValueError(f"method {self.method!r}; valid: tfidf, hashing")
        frame = as_frame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        self.vectorizers_: dict[str, Any] = {}
        for name, col in zip(self.feature_names_in_, frame.columns, strict=True):
            docs = _docs(frame[col])
            if self.method == "hashing":
                self.vectorizers_[name] = HashingVectorizer(n_features=self.max_features,
                                                            alternate_sign=False, norm="l2")
                continue
            vec = TfidfVectorizer(max_features=self.max_features, min_df=2 if len(docs) >= 20
                                  else 1, sublinear_tf=True, dtype=np.float64)
            try:
                vec.fit(docs)
            except ValueError:  # empty vocabulary: all missing or only stop words
                continue
            self.vectorizers_[name] = vec
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = as_frame(X, self.feature_names_in_)
        blocks = [self.vectorizers_[name].transform(_docs(frame[col])).toarray()
                  for name, col in zip(self.feature_names_in_, frame.columns, strict=True)
                  if name in self.vectorizers_]
        return np.hstack(blocks) if blocks else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names: list[str] = []
        for name in self.feature_names_in_:
            vec = self.vectorizers_.get(name)
            if vec is None:
                continue
            if self.method == "hashing":
                names += [f"{name}_hash{i}" for i in range(self.max_features)]
            else:
                names += [f"{name}_tfidf_{w}" for w in vec.get_feature_names_out()]
        return np.asarray(names, dtype=object)


# --- compiled serving (fullcycle.features.compiling): this step as numpy -------------------------
@compiles("columns", TextVectorizer)
def _compile_text(vec: Any, roles: set[str], names: list[str], rest: list[Any]
                  ) -> tuple[Block, Columns]:
    """TextVectorizer.transform: each text column's fitted vectorizer on the documents
    (missing -> empty text), densified; columns without vocabulary give nothing."""
    if roles != {"text"} or rest:
        raise Unsupported(f"TextVectorizer over {sorted(roles)}")
    fitted = [(j, vec.vectorizers_[name]) for j, name in enumerate(vec.feature_names_in_)
              if name in vec.vectorizers_]

    def docs(values: np.ndarray) -> list[str]:
        return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in values]

    def run(values: list[np.ndarray]) -> np.ndarray:
        if not fitted:
            return np.empty((len(values[0]), 0))
        return np.hstack([v.transform(docs(values[j])).toarray() for j, v in fitted])

    return run, Columns.numeric(vec.get_feature_names_out())
