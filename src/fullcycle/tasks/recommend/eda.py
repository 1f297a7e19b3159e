"""What the EDA report adds for interactions: counts, sparsity, activity and popularity
distributions (the long tail), rating values, duplicate pairs."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fullcycle.taskkind import ReportSection

if TYPE_CHECKING:
    from fullcycle.config import Config


def _rows(pairs: list[tuple[str, object]]) -> str:
    return "<table>" + "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td>"
                               "</tr>" for k, v in pairs) + "</table>"


def interaction_sections(frame: pd.DataFrame, config: Config) -> list[ReportSection]:
    p = config.problem
    if not p.user_column or not p.item_column or p.user_column not in frame.columns \
            or p.item_column not in frame.columns:
        return []
    data = frame[[p.user_column, p.item_column]].dropna()
    per_user = data.groupby(p.user_column).size()
    per_item = data.groupby(p.item_column).size()
    n_users, n_items, n = len(per_user), len(per_item), len(data)
    pairs = data.drop_duplicates()
    top = per_item.sort_values(ascending=False)
    head = max(1, int(np.ceil(0.1 * n_items)))
    facts: dict[str, object] = {
        "interactions": n, "users": n_users, "items": n_items,
        "density": round(len(pairs) / max(n_users * n_items, 1), 6),
        "duplicate user-item rows": n - len(pairs),
        "interactions per user (min / median / max)":
            f"{per_user.min()} / {per_user.median():g} / {per_user.max()}",
        "users with one interaction": int((per_user == 1).sum()),
        "interactions per item (min / median / max)":
            f"{per_item.min()} / {per_item.median():g} / {per_item.max()}",
        "items with one interaction": int((per_item == 1).sum()),
        "share of interactions on the top 10% items": round(float(top.iloc[:head].sum() / n), 3),
    }
    if p.rating_column and p.rating_column in frame.columns:
        values = pd.to_numeric(frame[p.rating_column], errors="coerce")
        counts = values.value_counts().sort_index()
        if len(counts) <= 11:
            facts["rating values"] = ", ".join(f"{k:g}: {v}" for k, v in counts.items())
        else:
            facts["weight (min / median / max)"] = \
                f"{values.min():g} / {values.median():g} / {values.max():g}"
    body = _rows(list(facts.items()))
    body += "<h3>Most popular items</h3>" + _rows([(str(k), v) for k, v in top.head(10).items()])
    return [ReportSection("interactions", "Interactions", body,
                          data={k: (v if isinstance(v, int | float) else str(v))
                                for k, v in facts.items()})]
