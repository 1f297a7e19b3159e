"""The sections of a supervised table's evaluation report (verdict, metrics with intervals,
charts, explanations, slices, fairness, model card) as (id, title, html), on the shared page of
fullcycle/evaluate/render.py."""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np

from fullcycle.evaluate.render import _f, page, table
from fullcycle.metrics import METRICS
from fullcycle.tasks.tabular.evaluate.report import Evaluation


def _metrics_table(res: dict[str, Any]) -> str:
    suite = (res["cv"].get("suite") or {}).get("metrics", {})
    base = res["baseline"]["metrics"]
    rows = []
    for name, t in res["test"].items():
        cv = suite.get(name)
        rows.append({"metric": name + (" ★" if name == res["problem"]["metric"] else ""),
                     "test": t["value"], "95% interval": f"{_f(t['low'])} – {_f(t['high'])}",
                     "cross-validated": f"{_f(cv['mean'])} ± {_f(cv['std'])}" if cv else "–",
                     "baseline": base.get(name),
                     "direction": "↑" if METRICS[name].greater_is_better else "↓"})
    return table(rows)


def _verdict(res: dict[str, Any]) -> str:
    v = res["verdict"]
    if not v["criteria"]:
        return ('<p class="note">No success criteria in the config (problem.success); add e.g. '
                '<code>roc_auc: "&gt;= 0.8"</code> to get a pass/fail verdict.</p>')
    cls = "pass" if v["passed"] else "fail"
    rows = [{"criterion": f"{c['metric']} {c['rule']}", "measured": c["value"],
             "result": "PASS" if c["passed"] else "FAIL"} for c in v["criteria"]]
    return (f'<p class="verdict {cls}">{"PASSES" if v["passed"] else "FAILS"} the success '
            f"criteria</p>{table(rows)}")


def _why_accuracy(res: dict[str, Any]) -> str:
    """For classification: the sentences that show what accuracy hides."""
    if "per_class" not in res:
        return ""
    support = np.asarray([c["support"] for c in res["per_class"]], float)
    minority = support.min() / support.sum()
    base_acc = res["baseline"]["metrics"].get("accuracy")
    acc = res["test"].get("accuracy", {}).get("value")
    parts = [f"The baseline ({escape(res['baseline']['predictor'])}) scores "
             f"accuracy {_f(base_acc)}; the model scores {_f(acc)}."]
    if minority < 0.3:
        parts.append(f"The smallest class is {minority:.1%} of the rows, so accuracy mostly "
                     "rewards predicting the common class: compare balanced accuracy, recall of "
                     "the small class and PR-AUC instead.")
    pr = res["test"].get("pr_auc", {}).get("value")
    base_pr = res["baseline"]["metrics"].get("pr_auc")
    if pr is not None and base_pr is not None:
        parts.append(f"PR-AUC is {_f(pr)} against {_f(base_pr)} for no skill (the positive "
                     "share).")
    th = res.get("threshold")
    if th:
        b, h = th["at_best"], th["at_half"]
        parts.append(f"At threshold 0.50 precision/recall/F1 are {_f(h['precision'], 3)}/"
                     f"{_f(h['recall'], 3)}/{_f(h['f1'], 3)}; at the F1-best threshold "
                     f"{b['threshold']:.2f} they are {_f(b['precision'], 3)}/{_f(b['recall'], 3)}/"
                     f"{_f(b['f1'], 3)} (accuracy {_f(h['accuracy'], 3)} → "
                     f"{_f(b['accuracy'], 3)}).")
    return '<p class="note" id="why-accuracy">' + " ".join(parts) + "</p>"


def _figures(ev: Evaluation, section: str) -> str:
    return "".join(ev.figures.get(section, [])) or '<p class="muted">no charts</p>'


def _card(res: dict[str, Any]) -> str:
    card = res["model_card"]
    d = card["data"]
    rows = [{"field": k, "value": d.get(k)} for k in
            ("source", "fingerprint", "period", "rows_train", "rows_test", "trained_at")]
    lim = "".join(f"<li>{escape(x)}</li>" for x in card["limitations"])
    m = card["metrics"]
    return (f"<h3>Intended use</h3><p>{escape(card['intended_use'])}</p><h3>Data</h3>"
            f"{table(rows)}<h3>Metrics</h3><p>{escape(m['metric'])}: test "
            f"{_f((m['test'] or {}).get('value'))}, cross-validated {_f(m['cv'])}</p>"
            f"<h3>Limitations</h3><ul>{lim}</ul>")


def _fairness(res: dict[str, Any]) -> str:
    if not res.get("fairness"):
        return ('<p class="muted">No sensitive columns named (evaluate.sensitive_columns in the '
                'config), so no fairness table.</p>')
    out = []
    for f in res["fairness"]:
        di = f["disparate_impact"]
        out.append(f"<h3>{escape(f['column'])}</h3>{table(f['groups'])}"
                   + (f"<p>Selection-rate ratio (lowest/highest): {_f(di, 3)}"
                      f"{' — below the 0.8 rule of thumb' if di is not None and di < 0.8 else ''}"
                      "</p>" if di is not None else ""))
    return "".join(out)


def render_html(ev: Evaluation) -> str:
    res = ev.result
    prob, model = res["problem"], res["model"]
    return page(f'Evaluation of model {model["version"]} — {prob["target"]} ({prob["task"]})',
                f'{res["data"]["rows"]} {res["data"]["label"]} · generated '
                f'{res["generated_at"]}', html_sections(ev))


def html_sections(ev: Evaluation) -> list[tuple[str, str, str]]:
    """The (id, title, html) sections of a supervised table's evaluation."""
    res = ev.result
    prob, model = res["problem"], res["model"]
    cv = res["cv"].get("search") or {}
    cv_text = (f"cross-validated {prob['metric']} {_f(cv.get('mean'))} ± {_f(cv.get('std'))} over "
               f"{len(cv.get('folds') or [])} folds (model search)") if cv else ""
    notes = "".join(f"<li>{escape(n)}</li>" for n in res["notes"] + model.get("diagnosis", []))
    slices = [s for s in res.get("slices", [])][:25]
    sections = [
        ("verdict", "Verdict", _verdict(res) + f'<p class="note">{escape(cv_text)}</p>'),
        ("metrics", "Metrics on the test rows", _metrics_table(res)
         + f'<p class="muted">95% intervals: stratified bootstrap. Baseline: '
           f'{escape(res["baseline"]["predictor"])} (learned on '
           f'{res["baseline"]["learned_on"]}). ★ = the metric the model was selected on.</p>'
         + _why_accuracy(res)
         + (f"<h3>Per class</h3>{table(res['per_class'])}" if "per_class" in res else "")),
        ("performance", "Performance charts", _figures(ev, "performance")),
        ("training", "Learning curve and candidates", _figures(ev, "training")),
        ("explanations", "Explanations", f'<p class="note">Per-prediction method (Python API '
         f'and POST /explain): {escape(res.get("explainer", ""))}.'
         + (f' SHAP charts: {escape(res["shap"]["method"])}, on the scale of '
            f'{escape(res["shap"]["output"])}.' if res.get("shap") else "")
         + "</p>" + _figures(ev, "explanations")),
        ("errors", "Error analysis by slice", _figures(ev, "errors")
         + table(slices, ["feature", "slice", "rows", prob["metric"],
                          "error_rate" if "per_class" in res else "mae", "flag"], flag="flag")),
        ("fairness", "Fairness", _fairness(res)),
        ("card", "Model card", _card(res)),
        ("notes", "Notes", f"<ul>{notes}</ul>" if notes else '<p class="muted">none</p>'),
    ]
    return sections
