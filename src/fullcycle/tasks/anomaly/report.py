"""The anomaly kind's report sections: score distribution and the top anomalies with the
columns that make each one unusual, in the original units and categories."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.taskkind import ReportSection
from fullcycle.tasks.unsupervised.common import cli_fields
from fullcycle.tasks.unsupervised.profile import histogram_svg, table_html

TOP = 15


def sections(model: Any, data: pd.DataFrame, scores: np.ndarray,
             metrics: dict[str, float]) -> list[ReportSection]:
    pred = model.predictor
    info = model.card.task_info
    flagged = int(np.sum(scores >= pred.threshold))
    summary = (f"<p>{len(scores)} rows; {flagged} ({flagged / max(len(scores), 1):.1%}) at or "
               f"above the threshold {pred.threshold:.4f} "
               f"({'estimated' if pred.estimated else 'given'} contamination "
               f"{pred.contamination:.2%}). Detectors: {html.escape(pred.description)}. A score "
               "is the share of training rows the model finds less unusual.</p>")
    metric_rows = [{"metric": k, "value": round(v, 4)} for k, v in metrics.items()]
    dist = ReportSection("scores", "Anomaly score distribution",
                         summary + histogram_svg(scores, pred.threshold) + table_html(metric_rows),
                         data={"threshold": pred.threshold, "detectors": info.get("detectors"),
                               **cli_fields(model, metrics)})
    order = np.argsort(-scores)[:TOP]
    rows = []
    for i in order:
        row = data.iloc[int(i)]
        why = pred.stats.unusual(row, 3)
        rows.append({"row": int(i), "anomaly_score": round(float(scores[i]), 4),
                     "why": "; ".join(why) or "an unusual combination of ordinary values"})
    top = ReportSection("top_anomalies", "Top anomalies and what makes each unusual",
                        table_html(rows), data={"top": rows})
    return [dist, top]
