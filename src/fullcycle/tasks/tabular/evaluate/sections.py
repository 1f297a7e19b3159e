"""The report's sections beyond the test metrics: cross-validation, learning curve and
leaderboard, explanations, error analysis by slice, fairness, and the model card."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.config import Config
from fullcycle.data.schema import coerce_frame
from fullcycle.evaluate import plots
from fullcycle.model import Model
from fullcycle.tasks.tabular.evaluate.explain import (
    explainer_for,
    permutation_importance,
    shap_summary,
)
from fullcycle.tasks.tabular.evaluate.prepared import Prepared, cross_validate, learning_curve
from fullcycle.tasks.tabular.evaluate.slices import fairness_table, slice_table


def model_summary(model: Model) -> dict[str, Any]:
    tr, card = model.card.training, model.card
    final = tr.final_model or {}
    return {"version": model.version_label, "family": tr.family,
            "kind": final.get("kind", "single"), "members": final.get("members"),
            "best_candidate": tr.best_candidate, "trained_at": card.provenance.trained_at,
            "threshold": card.threshold, "calibration": tr.calibration,
            "diagnosis": list(tr.diagnosis)}


def cv_section(model: Model, train: tuple[pd.DataFrame, np.ndarray] | None, config: Config,
               notes: list[str]) -> dict[str, Any]:
    """The search's own fold scores of the primary metric (from the model's metadata) and, when
    the training rows are at hand, the full metric suite cross-validated by refitting."""
    metric = model.problem.metric
    tr = model.card.training
    folds = tr.cv_fold_scores or (tr.final_model or {}).get("cv_fold_scores")
    out: dict[str, Any] = {"metric": metric}
    if folds:
        out["search"] = {"folds": [float(f) for f in folds], "mean": float(np.mean(folds)),
                         "std": float(np.std(folds))}
    elif tr.cv_score is not None:
        out["search"] = {"folds": [], "mean": float(tr.cv_score), "std": None}
    if train is None:
        notes.append("The training rows were not available (data source moved or changed), so "
                     "the full metric suite was not cross-validated and there is no learning "
                     "curve.")
    elif config.evaluate.cv and _split_strategy(model, config) in ("time", "group"):
        notes.append("The full metric suite is cross-validated with shuffled folds only; this "
                     "model was split by time or group, so only the search's own fold scores "
                     "are shown.")
    elif config.evaluate.cv:
        try:
            out["suite"] = cross_validate(model, train[0], train[1], config)
        except (ValueError, TypeError, AttributeError) as exc:
            notes.append(f"Cross-validating the full suite failed: {exc}")
    return out


def _split_strategy(model: Model, config: Config) -> str:
    trained = (model.card.provenance.config or {}).get("split", {}).get("strategy")
    return str(trained or config.split.strategy)


def curve_reading(points: list[dict[str, Any]], greater_is_better: bool) -> str:
    """What this learning curve says, from its own points (so the words match the chart)."""
    sign = 1.0 if greater_is_better else -1.0
    last = points[-1]
    if last.get("train") is None or last.get("test") is None:
        return "Training and evaluation score as the model sees more training rows."
    gap = sign * (last["train"] - last["test"])
    scale = max(abs(last["test"]), 1e-9)
    words = [f"At {last['rows']:,} rows the training score is {gap:+.3g} better than on the "
             "evaluation rows" if gap > 0 else f"At {last['rows']:,} rows training and "
             "evaluation scores are level"]
    if len(points) > 1 and points[-2].get("test") is not None:
        gain = sign * (last["test"] - points[-2]["test"])
        if gain > 0.01 * scale:
            words.append("the evaluation score still rises at the right: more data would help")
        else:
            words.append("the evaluation score has flattened: more rows of the same data would "
                         "help little")
    if gap > 0.1 * scale:
        words.append("the wide gap points to overfitting")
    return "; ".join(words) + "."


def training_figures(model: Model, data: Prepared, train: tuple[pd.DataFrame, np.ndarray] | None,
                     config: Config, result: dict[str, Any], figures: dict[str, list[str]]) -> None:
    figs: list[str] = []
    metric = model.problem.metric
    if train is not None and config.evaluate.learning_curve:
        points = learning_curve(model, train[0], train[1], data, config.seed)
        result["learning_curve"] = points
        if points:
            rows = [p["rows"] for p in points]
            figs.append(plots.line_chart(
                "learning-curve", f"Learning curve ({metric})",
                [{"x": rows, "y": [p["train"] for p in points], "label": "training rows",
                  "markers": True},
                 {"x": rows, "y": [p["test"] for p in points], "label": "evaluation rows",
                  "markers": True}],
                xlabel="training rows used", ylabel=metric,
                caption=curve_reading(points, model.problem.scorer.greater_is_better)))
    board = model.card.training.leaderboard
    if board:
        frame = pd.DataFrame(board)
        col = next((c for c in frame.columns if c.startswith("cv_") and c != "cv_std"), None)
        if col is not None:
            frame = frame.head(15)
            chosen = {m.get("model") for m in (model.card.training.final_model or {})
                      .get("members") or []} or {model.card.training.best_candidate}
            result["leaderboard"] = frame.to_dict(orient="records")
            figs.append(plots.hbar(
                "leaderboard", f"Candidates: cross-validated {metric} (± std)",
                frame["model"].astype(str).tolist(), frame[col].tolist(), xlabel=col,
                errors=frame["cv_std"].tolist() if "cv_std" in frame else None,
                highlight=[m in chosen for m in frame["model"]], zero=None,
                caption="Red: the candidates in the final model."))
    figures["training"] = figs


def explanations(model: Model, data: Prepared, config: Config, result: dict[str, Any],
                 figures: dict[str, list[str]]) -> None:
    figs: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imp = permutation_importance(model, data.X, data.y, seed=config.seed)
    result["permutation_importance"] = imp.to_dict(orient="records")
    top = imp.head(15)
    figs.append(plots.hbar("permutation-importance",
                           f"Permutation importance on test ({model.problem.metric} drop)",
                           top["feature"].tolist(), top["importance"].tolist(),
                           errors=top["std"].tolist(), xlabel=f"drop in {model.problem.metric}"))
    result["explainer"] = explainer_for(model).method
    summary = shap_summary(model, data.X, rows=config.evaluate.shap_rows, seed=config.seed)
    if summary is None:
        result["shap"] = None
        figures["explanations"] = figs
        return
    mean_abs = summary["mean_abs"].head(12)
    result["shap"] = {"output": summary["output_name"], "method": summary["method"],
                      "expected_value": summary["base"],
                      "mean_abs": {k: float(v) for k, v in mean_abs.items()}}
    figs.append(plots.hbar("shap-bar", "Mean |SHAP value| per input", mean_abs.index.tolist(),
                           mean_abs.tolist(),
                           xlabel=f"mean |contribution| to {summary['output_name']}"))
    names = mean_abs.index.tolist()[:10]
    values = _numeric_values(model, summary["frame"], names)
    figs.append(plots.beeswarm("shap-beeswarm", "SHAP summary", names,
                               summary["contributions"][names].to_numpy(), values,
                               caption="Each dot is one row: red = high feature value, blue = "
                                       "low, grey = not numeric."))
    for i, name in enumerate(names[:3]):
        figs.append(_dependence(i, name, summary, values[:, i]))
    figures["explanations"] = figs


def _numeric_values(model: Model, X: pd.DataFrame, names: list[str]) -> np.ndarray:
    typed = coerce_frame(X, model.schema, require_all=False)
    cols = []
    for name in names:
        col = typed[name] if name in typed else pd.Series(np.nan, index=X.index)
        numeric = pd.to_numeric(col, errors="coerce") if col.dtype.kind in "biuf" else None
        cols.append(numeric.to_numpy(dtype="float64") if numeric is not None
                    else np.full(len(X), np.nan))
    return np.column_stack(cols) if cols else np.empty((len(X), 0))


def _dependence(i: int, name: str, summary: dict[str, Any], numeric: np.ndarray) -> str:
    contrib = summary["contributions"][name].to_numpy()
    title = f"SHAP dependence: {name}"
    if np.isfinite(numeric).sum() >= max(5, len(numeric) // 2):
        return plots.scatter(f"shap-dependence-{i}", title, numeric, contrib, xlabel=name,
                             ylabel="SHAP value", hline=0.0)
    raw = summary["frame"][name].astype("string").fillna("missing")
    groups = raw.value_counts().index[:8].tolist()
    return plots.strip(f"shap-dependence-{i}", title, groups,
                       [contrib[(raw == g).to_numpy()] for g in groups], ylabel="SHAP value")


def error_analysis(model: Model, data: Prepared, config: Config, result: dict[str, Any],
                   figures: dict[str, list[str]]) -> None:
    problem = model.problem
    min_rows = max(10, min(30, len(data.y) // 20))
    table = slice_table(problem, model.schema, data.X, data.y, data.scores, data.pred,
                        min_rows=min_rows)
    result["slices"] = table.to_dict(orient="records")
    result["slice_min_rows"] = min_rows
    figs = []
    if not table.empty:
        key = "error_rate" if problem.is_classification else "mae"
        worst = table.sort_values(key, ascending=False).head(12)
        figs.append(plots.hbar("slices", f"Worst slices by {key.replace('_', ' ')}",
                               [f"{f} = {s}" for f, s in zip(worst["feature"], worst["slice"],
                                                             strict=True)],
                               worst[key].tolist(), xlabel=key, highlight=worst["flag"].tolist(),
                               caption="Red: clearly worse than on all rows."))
    sensitive = [c for c in config.evaluate.sensitive_columns if c in data.X.columns]
    missing = [c for c in config.evaluate.sensitive_columns if c not in data.X.columns]
    if missing:
        result["notes"].append(f"Sensitive columns not among the model's inputs, so not "
                               f"analysed: {', '.join(missing)}.")
    result["fairness"] = fairness_table(problem, model.schema, data.X, data.y, data.pred,
                                        sensitive) if sensitive else []
    figures["errors"] = figs


def model_card(model: Model, frame: pd.DataFrame, train_frame: pd.DataFrame | None,
               config: Config, result: dict[str, Any]) -> dict[str, Any]:
    problem, prov, ec = model.problem, model.card.provenance, config.evaluate
    intended = ec.intended_use or (
        f"Predict {problem.target!r} ({problem.task}) for new rows shaped like the training data "
        f"({prov.data_source or 'unknown source'}). Decisions should use the model's "
        "probabilities together with human review where errors are costly.")
    primary = result["test"].get(problem.metric, {})
    return {"intended_use": intended,
            "data": {"fingerprint": prov.data_fingerprint, "source": prov.data_source,
                     "rows_train": prov.rows_train, "rows_test": prov.rows_test,
                     "period": _period(model, frame, train_frame),
                     "trained_at": prov.trained_at},
            "metrics": {"metric": problem.metric, "test": primary,
                        "cv": (result["cv"].get("search") or {}).get("mean")},
            "limitations": list(ec.limitations) + _limitations(model, result),
            "fairness_columns": [f["column"] for f in result.get("fairness", [])]}


def _period(model: Model, frame: pd.DataFrame, train_frame: pd.DataFrame | None) -> str:
    columns = model.schema.by_role("datetime")
    if not columns:
        return "no date column: the period the data covers is unknown"
    both = pd.concat([f for f in (train_frame, frame) if f is not None], ignore_index=True)
    dates = pd.to_datetime(both[columns[0]], errors="coerce").dropna()
    if dates.empty:
        return f"{columns[0]} has no readable dates"
    return f"{columns[0]} from {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}"


def _limitations(model: Model, result: dict[str, Any]) -> list[str]:
    problem = model.problem
    out = []
    n = result["data"]["rows"]
    primary = result["test"].get(problem.metric)
    if primary and primary.get("high") == primary.get("high"):
        width = primary["high"] - primary["low"]
        out.append(f"Evaluated on {n} rows: the 95% interval of {problem.metric} is "
                   f"{width:.3g} wide.")
    flagged = [s for s in result.get("slices", []) if s.get("flag")]
    if flagged:
        names = ", ".join(f"{s['feature']} = {s['slice']}" for s in flagged[:4])
        out.append(f"Clearly worse on {len(flagged)} slice(s), e.g. {names}.")
    if problem.is_classification:
        shares = np.asarray([c["support"] for c in result.get("per_class", [])], float)
        if len(shares) and shares.min() / shares.sum() < 0.3:
            out.append(f"Imbalanced classes (smallest is {shares.min() / shares.sum():.0%} of "
                       "rows): accuracy is a poor guide; read balanced accuracy, PR-AUC and the "
                       "baseline row.")
        ece = result.get("calibration", {}).get("ece")
        if ece is not None and ece > 0.05:
            out.append(f"Probabilities are not well calibrated (ECE {ece:.3f}).")
    out.append("Valid only for data like the training data; monitor drift once deployed.")
    return out
