"""The cluster kind's report sections: sizes and profiles in words, a 2-D projection coloured
by cluster, silhouette by cluster, and how k was chosen."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fullcycle.taskkind import ReportSection
from fullcycle.tasks.unsupervised.common import cli_fields, sample_rows
from fullcycle.tasks.unsupervised.profile import (
    describe_group,
    projection,
    scatter_svg,
    table_html,
)


def _silhouette_by_cluster(A: np.ndarray, labels: np.ndarray, seed: int) -> dict[int, float]:
    from sklearn.metrics import silhouette_samples


    rows = sample_rows(len(A), seed, 4000)
    sub = labels[rows]
    if len(np.unique(sub)) < 2:
        return {}
    values = silhouette_samples(A[rows], sub)
    return {int(c): float(values[sub == c].mean()) for c in np.unique(sub)}


def sections(model: Any, data: pd.DataFrame, A: np.ndarray, labels: np.ndarray,
             metrics: dict[str, float], seed: int) -> list[ReportSection]:
    pred = model.predictor
    schema = model.schema
    sil = _silhouette_by_cluster(A, labels, seed)
    rows = []
    for c in sorted(np.unique(labels)):
        inside = labels == c
        rows.append({"cluster": int(c), "rows": int(inside.sum()),
                     "share": f"{inside.mean():.1%}",
                     "silhouette": round(sil[int(c)], 3) if int(c) in sil else "",
                     "how it differs from the rest": "; ".join(describe_group(data, inside,
                                                                               schema))})
    intro = (f"<p>{len(labels)} rows in {len(rows)} clusters; model: {pred.description}. "
             "Profiles compare each cluster's rows with all the others, in the original units "
             "and categories.</p>")
    metric_rows = [{"metric": k, "value": round(v, 4)} for k, v in metrics.items()]
    profiles = ReportSection("clusters", "Clusters: sizes and profiles",
                             intro + table_html(rows) + table_html(metric_rows),
                             data={"clusters": rows, **cli_fields(model, metrics)})
    idx, xy = projection(A, seed)
    legend = {int(c): f"cluster {int(c)}" for c in np.unique(labels)}
    chart = ReportSection("projection", "2-D projection (first two principal components)",
                          scatter_svg(xy, labels[idx], legend))
    choice = model.card.training.search.get("k_choice") or []
    parts = [profiles, chart]
    if choice:
        table = [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
                 for r in choice]
        parts.append(ReportSection("k_choice", "How the number of clusters was chosen",
                                   "<p>Internal indices of KMeans for each k (silhouette, "
                                   "Calinski-Harabasz, stability: higher is better; "
                                   "Davies-Bouldin, BIC: lower is better); each votes for its "
                                   "best k.</p>" + table_html(table)))
    return parts
