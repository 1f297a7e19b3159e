"""Diagnostic curves of the test predictions and their charts: confusion matrices, ROC, PR,
calibration, threshold-vs-metric and cumulative gain for classification; predicted vs actual,
residuals and their distribution for regression."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn import metrics as skm

from fullcycle.evaluate import plots
from fullcycle.problem import Problem


def confusion(problem: Problem, y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    k = len(problem.labels)
    counts = skm.confusion_matrix(y, pred, labels=np.arange(k))
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = counts / counts.sum(axis=1, keepdims=True)
    return {"labels": list(problem.labels), "counts": counts.tolist(),
            "normalised": np.nan_to_num(normalised).tolist()}


def threshold_curve(y_pos: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """Precision, recall, F1 and accuracy at thresholds 0.01..0.99, and the F1-best threshold."""
    ts = np.round(np.linspace(0.01, 0.99, 99), 2)
    pred = p[None, :] >= ts[:, None]
    tp = (pred & y_pos[None, :]).sum(axis=1)
    fp = (pred & ~y_pos[None, :]).sum(axis=1)
    fn = (~pred & y_pos[None, :]).sum(axis=1)
    tn = len(y_pos) - tp - fp - fn
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    accuracy = (tp + tn) / len(y_pos)
    best = int(np.argmax(f1))
    return {"thresholds": ts.tolist(), "precision": precision.tolist(), "recall": recall.tolist(),
            "f1": f1.tolist(), "accuracy": accuracy.tolist(),
            "best_f1_threshold": float(ts[best]),
            "at_best": {"threshold": float(ts[best]), "precision": float(precision[best]),
                        "recall": float(recall[best]), "f1": float(f1[best]),
                        "accuracy": float(accuracy[best])},
            "at_half": {"threshold": 0.5, "precision": float(precision[49]),
                        "recall": float(recall[49]), "f1": float(f1[49]),
                        "accuracy": float(accuracy[49])}}


def gain_curve(y_pos: np.ndarray, p: np.ndarray) -> dict[str, list[float]]:
    """Share of all positives found when contacting the top-scored share of rows."""
    order = np.argsort(-p, kind="stable")
    found = np.cumsum(y_pos[order]) / max(y_pos.sum(), 1)
    share = np.arange(1, len(p) + 1) / len(p)
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = found / share
    return {"share": share.tolist(), "gain": found.tolist(), "lift": lift.tolist()}


def calibration(y_pos: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, Any]:
    from sklearn.calibration import calibration_curve

    bins = max(2, min(bins, len(np.unique(p))))
    frac, mean = calibration_curve(y_pos, p, n_bins=bins, strategy="quantile")
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    counts = np.histogram(p, bins=edges)[0] if len(edges) > 1 else np.array([len(p)])
    ece = float(np.sum(np.abs(frac - mean) * counts[: len(frac)]) / max(counts.sum(), 1)) \
        if len(counts) == len(frac) else float(np.mean(np.abs(frac - mean)))
    return {"predicted": mean.tolist(), "observed": frac.tolist(), "ece": ece}


def classification_curves(problem: Problem, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """Per-class one-vs-rest ROC and PR curves; calibration, threshold and gain for the
    positive class (binary) or for the top-class confidence (multiclass)."""
    out: dict[str, Any] = {"roc": [], "pr": []}
    classes = [len(problem.labels) - 1] if problem.task == "binary" else range(len(problem.labels))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for c in classes:
            y_c = y == c
            if y_c.all() or not y_c.any():
                continue
            fpr, tpr, _ = skm.roc_curve(y_c, scores[:, c])
            prec, rec, _ = skm.precision_recall_curve(y_c, scores[:, c])
            name = str(problem.labels[c])
            out["roc"].append({"label": name, "fpr": fpr.tolist(), "tpr": tpr.tolist(),
                               "auc": float(skm.auc(fpr, tpr))})
            out["pr"].append({"label": name, "recall": rec.tolist(), "precision": prec.tolist(),
                              "ap": float(skm.average_precision_score(y_c, scores[:, c])),
                              "prevalence": float(y_c.mean())})
    if problem.task == "binary":
        y_pos, p = y == len(problem.labels) - 1, scores[:, -1]
        out["calibration"] = calibration(y_pos, p)
        out["threshold"] = threshold_curve(y_pos, p)
        out["gain"] = gain_curve(y_pos, p)
    else:
        conf, correct = scores.max(axis=1), scores.argmax(axis=1) == y
        out["calibration"] = calibration(correct, conf)
    return out


def classification_plots(problem: Problem, conf: dict[str, Any], curves: dict[str, Any],
                         model_threshold: float | None) -> list[str]:
    labels = conf["labels"]
    figs = [plots.heatmap("confusion-counts", "Confusion matrix (counts)",
                          np.asarray(conf["counts"], float), labels),
            plots.heatmap("confusion-normalised", "Confusion matrix (share of each actual class)",
                          np.asarray(conf["normalised"]), labels, fmt="{:.2f}",
                          scale_label="share of the actual class")]
    if curves["roc"]:
        figs.append(plots.line_chart(
            "roc", "ROC curve", [{"x": r["fpr"], "y": r["tpr"], "label": f"{r['label']} "
                                  f"(AUC {r['auc']:.3f})"} for r in curves["roc"]],
            xlabel="false positive rate", ylabel="true positive rate", diagonal=True,
            unit_box=True))
        figs.append(plots.line_chart(
            "pr", "Precision-recall curve",
            [{"x": r["recall"], "y": r["precision"], "label": f"{r['label']} (AP {r['ap']:.3f})"}
             for r in curves["pr"]]
            + [{"x": [0, 1], "y": [r["prevalence"]] * 2, "label": "no-skill (prevalence)",
                "color": "#9ca3af"} for r in curves["pr"][:1]],
            xlabel="recall", ylabel="precision", unit_box=True,
            caption="The dashed grey line is what random ranking achieves: the class share."))
    cal = curves["calibration"]
    what = "positive class" if problem.task == "binary" else "top-class confidence"
    figs.append(plots.line_chart(
        "calibration", f"Calibration ({what})",
        [{"x": cal["predicted"], "y": cal["observed"], "label": f"ECE {cal['ece']:.3f}",
          "markers": True}], xlabel="mean predicted probability", ylabel="observed frequency",
        diagonal=True, unit_box=True))
    if "threshold" in curves:
        th = curves["threshold"]
        figs.append(plots.line_chart(
            "threshold", "Metrics vs decision threshold",
            [{"x": th["thresholds"], "y": th[k], "label": k}
             for k in ("precision", "recall", "f1", "accuracy")],
            xlabel="threshold on P(positive)", ylabel="metric", unit_box=True,
            vline=model_threshold if model_threshold is not None else th["best_f1_threshold"],
            caption=f"Best F1 at threshold {th['best_f1_threshold']:.2f}"
                    + (f"; the model uses {model_threshold:.2f}" if model_threshold else "")))
        g = curves["gain"]
        figs.append(plots.line_chart(
            "gain", "Cumulative gain", [{"x": g["share"], "y": g["gain"], "label": "model"}],
            xlabel="share of rows contacted (highest score first)",
            ylabel="share of positives found", diagonal=True, unit_box=True,
            caption=_lift_caption(g)))
    return figs


def _lift_caption(g: dict[str, list[float]]) -> str:
    share, lift = np.asarray(g["share"]), np.asarray(g["lift"])
    i = int(np.searchsorted(share, 0.1))
    return f"Lift in the top 10%: {lift[min(i, len(lift) - 1)]:.2f}x the base rate."


def regression_plots(problem: Problem, y: np.ndarray, pred: np.ndarray) -> list[str]:
    resid = y - pred
    target = problem.target
    return [
        plots.scatter("pred-actual", "Predicted vs actual", y, pred, xlabel=f"actual {target}",
                      ylabel=f"predicted {target}", diagonal=True),
        plots.scatter("residuals", "Residuals vs predicted", pred, resid,
                      xlabel=f"predicted {target}", ylabel="actual - predicted", hline=0.0),
        plots.histogram("residual-hist", "Residual distribution", resid,
                        xlabel="actual - predicted", vline=0.0,
                        caption=f"mean {np.mean(resid):.4g}, std {np.std(resid):.4g}"),
    ]
