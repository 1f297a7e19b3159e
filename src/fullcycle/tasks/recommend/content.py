"""Item metadata (an items file: genres, text, categories, prices) as unit-length vectors, for
items similar by content: the answer for items nobody has interacted with yet.

Columns used: 0/1 flags and numbers (scaled to 0..1), short categoricals (one-hot), free text
(TF-IDF over words). Columns that are links or dates, or empty, are left out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from fullcycle.errors import ConfigError
from fullcycle.tasks.recommend.data import id_strings

MAX_TEXT_FEATURES = 5000


@dataclass
class ItemContent:
    items: np.ndarray  # ids (str) of the items in the metadata file
    vectors: sp.csr_matrix  # one unit-length row per item
    columns: list[str]  # metadata columns used
    titles: dict[str, str]  # id -> a readable name (first text column), for reports

    def index(self) -> dict[str, int]:
        return {item: i for i, item in enumerate(self.items)}

    def similar(self, row: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        sims = np.asarray((self.vectors @ self.vectors[row].T).todense()).ravel()
        sims[row] = -np.inf
        k = min(k, len(sims) - 1)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return top, sims[top].astype(np.float32)


def _looks_like_links_or_dates(values: pd.Series) -> bool:
    text = values.dropna().astype(str).head(200)
    if text.empty:
        return True
    if text.str.match(r"^(https?://|www\.)").mean() > 0.5:
        return True
    parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.8)


def _blocks(frame: pd.DataFrame) -> tuple[list[sp.csr_matrix], list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    blocks: list[sp.csr_matrix] = []
    used: list[str] = []
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    if numeric:
        values = frame[numeric].astype(float).fillna(0.0)
        span = (values.max() - values.min()).replace(0, 1.0)
        blocks.append(sp.csr_matrix(((values - values.min()) / span).to_numpy(np.float32)))
        used += numeric
    for column in frame.columns.difference(numeric, sort=False):
        values = frame[column]
        if values.isna().all() or _looks_like_links_or_dates(values):
            continue
        text = values.fillna("").astype(str)
        if values.nunique() <= max(50, len(frame) // 20):  # a category: one-hot
            dummies = pd.get_dummies(text).to_numpy(np.float32)
            blocks.append(sp.csr_matrix(dummies))
        else:
            vec = TfidfVectorizer(max_features=MAX_TEXT_FEATURES, token_pattern=r"(?u)\b\w\w+\b",
                                  sublinear_tf=True)
            try:
                blocks.append(sp.csr_matrix(vec.fit_transform(text), dtype=np.float32))
            except ValueError:  # no words at all
                continue
        used.append(str(column))
    return blocks, used


def build_content(frame: pd.DataFrame, key: str) -> ItemContent:
    """Vectors of every item in an items table keyed by `key`."""
    if key not in frame.columns:
        raise ConfigError(f"the item key {key!r} is not a column of the items file (columns: "
                          f"{', '.join(map(str, frame.columns[:20]))}); set problem.item_key / "
                          "--item-key")
    frame = frame.dropna(subset=[key]).drop_duplicates(subset=[key], keep="last")
    ids = id_strings(frame[key].to_numpy())
    features = frame.drop(columns=[key]).reset_index(drop=True)
    blocks, used = _blocks(features)
    if not blocks:
        raise ConfigError(f"the items file has no usable metadata besides {key!r} (numbers, "
                          "categories or text)")
    matrix = sp.hstack(blocks, format="csr", dtype=np.float32)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    matrix = sp.csr_matrix(sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ matrix,
                           dtype=np.float32)
    text_cols = [c for c in features.columns if features[c].dtype == object]
    titles = {}
    if text_cols:
        titles = dict(zip(ids, features[text_cols[0]].fillna("").astype(str), strict=True))
    return ItemContent(items=ids, vectors=matrix, columns=used, titles=titles)
