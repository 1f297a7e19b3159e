"""The EDA report: one self-contained HTML file rendered from an `Analysis`.

Tables, text and charts are rendered here, in Python, so the report is readable (and testable)
without JavaScript. The charts come from fullcycle.charts, like every other page's; each waits in
a <template> until its section is first opened (`charts.lazy`). Nothing is loaded from the
network."""

from __future__ import annotations

import datetime as dt
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from fullcycle.charts import lazy, svg
from fullcycle.config import ProblemConfig
from fullcycle.data.sources import read_source
from fullcycle.data.sql import mask_url
from fullcycle.errors import ConfigError, FullcycleError
from fullcycle.explore import plots
from fullcycle.explore import warnings as warn
from fullcycle.explore.analysis import Analysis, Progress, analyse
from fullcycle.taskkind import resolve_task

SECTIONS = [("overview", "Overview"), ("warnings", "Warnings"), ("columns", "Columns"),
            ("correlations", "Correlations"), ("mutual-information", "Mutual information"),
            ("duplicates", "Duplicates"), ("time", "Time"), ("method", "How this was computed")]


def build_report(frame: pd.DataFrame, output: str | Path, target: str | None = None, *,
                 source: str = "<frame>", roles: dict[str, str] | None = None,
                 problem: ProblemConfig | None = None, seed: int = 0,
                 progress: Progress | None = None, version: str | None = None,
                 cleaning: list[str] | None = None, extra: list[Any] | None = None) -> Analysis:
    """Analyse `frame` and write the HTML report to `output`; returns the analysis.
    `cleaning`: steps already applied to `frame` (a loaded Dataset's), shown in the overview.
    `extra`: the task kind's sections (`TaskKind.eda_sections`: seasonality, interactions...)."""
    analysis = analyse(frame, target, source=source, roles=roles, problem=problem, seed=seed,
                       progress=progress, version=version)
    analysis.cleaning = list(cleaning or [])
    analysis.extra = list(extra or [])
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(analysis), encoding="utf-8")
    return analysis


def _asset(name: str) -> str:
    return resources.files("fullcycle.explore").joinpath(f"assets/{name}").read_text("utf-8")


class _Plots:
    """Hands out chart ids and keeps each chart for drawing when its section opens."""

    def __init__(self) -> None:
        self.count = 0

    def key(self) -> str:
        self.count += 1
        return f"p{self.count}"

    def div(self, chart: str) -> str:
        return lazy.slot(chart)


def render(a: Analysis) -> str:
    p = _Plots()
    ids = {name: f"col-{i}" for i, name in enumerate(a.stats)}
    body = "\n".join([_overview(a, p), _warnings(a, ids), _columns(a, p, ids),
                      _correlations(a, p), _mutual_information(a, p, ids), _duplicates(a),
                      _time(a, p), *_kind_sections(a), _method(a)])
    title = f"EDA · {Path(a.source).name}"
    now = dt.datetime.now(dt.UTC)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_asset("report.css")}{svg.CSS}{lazy.CSS}</style></head>
<body>
{_toc(a, ids)}
<main>
<h1>{escape(title)}</h1>
<div class="sub">{a.rows:,} rows × {len(a.stats):,} columns · data version
<code>{a.fingerprint}</code> · generated {now:%Y-%m-%d %H:%M} UTC by fullcycle</div>
{body}
</main>
<script>{lazy.SCRIPT}{_asset("report.js")}</script>
</body></html>
"""


def _kind_sections(a: Analysis) -> list[str]:
    """The task kind's own sections (ReportSection: key, title, self-contained HTML)."""
    return [_section(f"kind-{s.key}", s.title, s.html) for s in a.extra]


def _toc(a: Analysis, ids: dict[str, str]) -> str:
    links = "".join(f'<a href="#{sid}">{label}</a>' for sid, label in SECTIONS)
    cols = "".join(f'<a href="#{ids[n]}" title="{escape(n)}">{escape(n)}</a>' for n in a.stats)
    return (f'<nav id="toc"><h2>Contents</h2>{links}<div class="muted" style="margin-top:10px">'
            f'Columns</div><div class="cols">{cols}</div></nav>')


def _section(sid: str, title: str, inner: str, open_: bool = True) -> str:
    return (f'<section id="{sid}"><details{" open" if open_ else ""}><summary>{escape(title)}'
            f"</summary>{inner}</details></section>")


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if v != v:
            return "–"
        if abs(v) >= 1e15 or (v != 0 and abs(v) < 1e-4):
            return f"{v:.3e}"
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return escape(str(v))


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(f"<tr><th>{escape(k)}</th><td class='num'>{v}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def _card(value: str, label: str) -> str:
    return f'<div class="card"><b>{value}</b><span>{escape(label)}</span></div>'


def _memory(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _overview(a: Analysis, p: _Plots) -> str:
    cells = a.rows * len(a.stats)
    missing = sum(s["missing"] for s in a.stats.values())
    d = a.duplicates
    cards = "".join([
        _card(f"{a.rows:,}", "rows"), _card(f"{len(a.stats):,}", "columns"),
        _card(_memory(a.memory), "memory in pandas"),
        _card(f"{missing:,} ({_pct(missing / max(cells, 1))})", "missing cells"),
        _card(f"{d['duplicate_rows']:,}", "duplicate rows"),
        _card(f"<code>{a.fingerprint}</code>", "data version (fingerprint)"),
        _card(str(sum(f.severity == "high" for f in a.findings)), "high-severity warnings"),
    ])
    roles: dict[str, list[str]] = {}
    for spec in a.schema.columns:
        roles.setdefault(spec.role, []).append(spec.name)
    role_rows = "".join(
        f"<tr><th>{escape(r)}</th><td class='num'>{len(names)}</td><td>"
        f"{escape(', '.join(names[:12]))}{' …' if len(names) > 12 else ''}</td></tr>"
        for r, names in sorted(roles.items(), key=lambda kv: -len(kv[1])))
    cleaned = ("<p class='muted'>This is the data after fullcycle's cleaning: "
               + escape("; ".join(a.cleaning)) + ".</p>") if a.cleaning else ""
    inner = (f'<div class="cards">{cards}</div>{cleaned}<div class="grid2"><div>'
             f"<h3>Column roles</h3><table>{role_rows}</table></div>{_problem(a, p)}</div>"
             f"{p.div(plots.missing_plot(p.key(), a.stats))}")
    return _section("overview", "Overview", inner)


def _problem(a: Analysis, p: _Plots) -> str:
    if a.target_error:
        return f'<div><h3>Problem</h3><p class="muted">{escape(a.target_error)}</p></div>'
    if a.target is None or a.target_summary is None:
        return ('<div><h3>Problem</h3><p class="muted">No target given: the report describes the '
                "data only (pass <code>--target COL</code> for relations to the target).</p></div>")
    pr, ts = a.target.problem, a.target_summary
    rows = [("target", escape(pr.target)), ("task", escape(pr.task)),
            ("metric", escape(pr.metric))]
    if ts["type"] == "classes":
        total = max(sum(ts["counts"]), 1)
        rows += [(f"class {lab}", f"{c:,} ({_pct(c / total)})")
                 for lab, c in zip(ts["labels"], ts["counts"], strict=True)][:12]
    else:
        rows += [("mean", _fmt(ts["mean"])), ("median", _fmt(ts["median"])),
                 ("std", _fmt(ts["std"])), ("skewness", _fmt(ts["skew"]))]
    rows.append(("rows without target", _fmt(ts["missing"])))
    return (f"<div><h3>Problem</h3>{_table(rows)}</div>"
            f"<div>{p.div(plots.target_plot(p.key(), ts, pr.target))}</div>")


def _col_link(name: str | None, ids: dict[str, str]) -> str:
    if not name:
        return "–"
    if name in ids:
        return f'<a href="#{ids[name]}">{escape(name)}</a>'
    return escape(name)


def _warnings(a: Analysis, ids: dict[str, str]) -> str:
    if not a.findings:
        return _section("warnings", "Warnings", "<p>No data-quality warnings.</p>")
    counts = {s: sum(f.severity == s for f in a.findings) for s in warn.SEVERITIES}
    summary = " · ".join(f"{n} {s}" for s, n in counts.items() if n)
    rows = "".join(
        f'<tr class="w-{f.severity}"><td><span class="sev sev-{f.severity}">{f.severity}</span>'
        f"</td><td>{_col_link(f.column, ids)}</td><td>{escape(f.kind.replace('_', ' '))}</td>"
        f"<td>{escape(f.message)}</td></tr>" for f in a.findings)
    inner = (f'<p class="muted">{len(a.findings)} warnings ({summary}), most severe first.</p>'
             f"<table><tr><th>severity</th><th>column</th><th>kind</th><th>what and why</th></tr>"
             f"{rows}</table>")
    return _section("warnings", f"Warnings ({len(a.findings)})", inner)


def _columns(a: Analysis, p: _Plots, ids: dict[str, str]) -> str:
    per_col: dict[str, int] = {}
    for f in a.findings:
        if f.column:
            per_col[f.column] = per_col.get(f.column, 0) + 1
    mi = {r["feature"]: r for r in a.ranking}
    parts = [_column(name, s, a, p, ids[name], per_col.get(name, 0), mi.get(name))
             for name, s in a.stats.items()]
    tools = ('<div class="tools"><input id="search" type="search" placeholder="search columns…" '
             'aria-label="search columns"><button id="expand-all" type="button">expand all'
             '</button><button id="collapse-all" type="button">collapse all</button>'
             '<span id="search-count" class="muted"></span></div>')
    return _section("columns", f"Columns ({len(a.stats)})",
                    tools + '<p class="muted">Click a column to see its distribution and its '
                    "relation to the target; plots are drawn when a column is opened.</p>"
                    + "".join(parts))


def _column(name: str, s: dict[str, Any], a: Analysis, p: _Plots, sid: str, n_warn: int,
            mi: dict[str, Any] | None) -> str:
    miss = s["missing"] / max(s["rows"], 1)
    badges = (f'<span class="badge">{_pct(miss)} missing</span>'
              f'<span class="badge">{s["distinct"]:,} distinct</span>'
              + (f'<span class="badge warn">{n_warn} warning{"s" * (n_warn > 1)}</span>'
                 if n_warn else ""))
    rel = a.relations.get(name) or {}
    rel_plot = (plots.relation(p.key(), rel, a.target.name, name, s["kind"] == "datetime")
                if a.target is not None else "")
    strength = []
    if mi:
        strength.append(("mutual information", f"{mi['mi']:.4f} bits ({_pct(mi['share'])})"))
    if "auc" in rel:
        strength.append(("AUC alone", f"{rel['auc']:.3f}"))
    if "spearman" in rel:
        strength.append(("Spearman with target", f"{rel['spearman']:.3f}"))
    note = f'<p class="muted">{escape(s["note"])}</p>' if s.get("note") else ""
    return (f'<details class="col-section" id="{sid}" data-name="{escape(name.lower())}">'
            f'<summary><b>{escape(name)}</b><span class="role">{escape(s["role"])}</span>'
            f'<span class="badges">{badges}</span></summary>{note}<div class="col-body">'
            f"{_table(_stat_rows(s) + strength)}{p.div(plots.distribution(p.key(), s, name))}"
            f"{p.div(rel_plot)}"
            f"</div></details>")


def _stat_rows(s: dict[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("missing", f"{s['missing']:,} ({_pct(s['missing'] / max(s['rows'], 1))})"),
        ("distinct", _fmt(s["distinct"]))]
    if s.get("disguised"):
        rows.append(("disguised missing", _fmt(s["disguised"])))
    if s["kind"] == "categorical":
        if s.get("top"):
            label, count = s["top"][0]
            rows.append(("most frequent", f"{escape(label)} ({_pct(s['top_share'])})"))
            rows.append(("seen once", _fmt(s.get("singletons"))))
        return rows
    if "mean" not in s:
        return rows
    if s["kind"] == "datetime":
        day = dt.datetime(1970, 1, 1)
        return rows + [(k, f"{day + dt.timedelta(days=s[k]):%Y-%m-%d}")
                       for k in ("min", "median", "max")]
    keys = [("mean", "mean"), ("std", "std"), ("min", "min"), ("25%", "q1"), ("median", "median"),
            ("75%", "q3"), ("max", "max"), ("skewness", "skew"), ("kurtosis", "kurtosis"),
            ("zeros", "zeros"), ("negatives", "negatives"), ("outliers (1.5 IQR)", "outliers"),
            ("extreme (3 IQR)", "far_outliers")]
    return rows + [(label, _fmt(s[key])) for label, key in keys]


def _correlations(a: Analysis, p: _Plots) -> str:
    m = a.matrices
    specs = [("pearson", "Pearson correlation (numeric)", True),
             ("spearman", "Spearman rank correlation (numeric)", True),
             ("cramers_v", "Cramér's V (categorical)", False),
             ("correlation_ratio", "Correlation ratio η (numeric rows × categorical columns)",
              False)]
    parts = [f"<details{' open' if i == 0 else ''}><summary>{escape(title)}</summary>"
             f"{p.div(plots.heatmap(p.key(), m[key], title, signed))}</details>"
             for i, (key, title, signed) in enumerate(s for s in specs if s[0] in m)]
    note = (f'<p class="muted">On {a.samples["relation"]:,} rows; at most 40 columns of each '
            "kind, the most informative about the target first. Categorical columns use their "
            "50 most frequent values; missing is a category of its own.</p>")
    return _section("correlations", "Correlations",
                    note + ("".join(parts) or "<p>Fewer than two columns of a kind.</p>"))


def _mutual_information(a: Analysis, p: _Plots, ids: dict[str, str]) -> str:
    if not a.ranking:
        return _section("mutual-information", "Mutual information with the target",
                        "<p>No target, or the target cannot be modelled.</p>")
    rows = "".join(f"<tr><td class='num'>{i + 1}</td><td>{_col_link(r['feature'], ids)}</td>"
                   f"<td class='num'>{r['mi']:.4f}</td><td class='num'>{_pct(r['share'])}</td></tr>"
                   for i, r in enumerate(a.ranking[:100]))
    inner = ('<p class="muted">Bits of information each feature carries about the target '
             "(numeric features in 20 quantile bins, bias-corrected); the share is of the "
             "target's entropy.</p>"
             f'<div class="grid2">{p.div(plots.ranking_plot(p.key(), a.ranking))}'
             "<table><tr><th>#</th>"
             f"<th>feature</th><th>bits</th><th>share</th></tr>{rows}</table></div>")
    return _section("mutual-information", "Mutual information with the target", inner)


def _duplicates(a: Analysis) -> str:
    d = a.duplicates
    rows = [("duplicate rows (all columns)", _fmt(d["duplicate_rows"])),
            ("duplicates ignoring identifier columns", _fmt(d.get("duplicate_features", 0))),
            ("identical features, different target: groups", _fmt(d.get("conflict_groups", 0))),
            ("… rows in those groups", _fmt(d.get("conflict_rows", 0)))]
    pairs = "".join(f"<tr><td>{escape(x['a'])}</td><td>{escape(x['b'])}</td>"
                    f"<td>{escape(x['measure'].replace('_', ' '))}</td>"
                    f"<td class='num'>{x['value']:.3f}</td></tr>" for x in a.near_duplicates)
    near = (f"<h3>Near-duplicate columns</h3><table><tr><th>column</th><th>column</th>"
            f"<th>measure</th><th>value</th></tr>{pairs}</table>" if pairs
            else "<p>No pair of columns with an association of 0.98 or more.</p>")
    return _section("duplicates", "Duplicates", _table(rows) + near)


def _time(a: Analysis, p: _Plots) -> str:
    t = a.trends
    if t is None:
        return _section("time", "Time", "<p>No datetime column: no trends to show.</p>", False)
    rows = "".join(f"<tr><td>{escape(f['feature'])}</td><td class='num'>{_fmt(f['rho'])}</td></tr>"
                   for f in t["features"][:15])
    target = t.get("target") or {}
    inner = (f"<p>Means per period of <code>{escape(t['column'])}</code> (20 equal periods); the "
             f"Spearman correlation of a mean with time says whether it trends. Target: "
             f"{_fmt(target.get('rho'))}.</p>"
             f"{p.div(plots.trend_plot(p.key(), t, a.target.name if a.target else None))}"
             f"<table><tr><th>feature</th><th>Spearman with time</th></tr>{rows}</table>")
    return _section("time", "Time", inner)


def _method(a: Analysis) -> str:
    s = a.samples
    rows = [("rows analysed", _fmt(s["rows"])),
            ("rows for column roles", _fmt(s["schema"])),
            ("rows for correlations and mutual information", _fmt(s["relation"])),
            ("rows for per-class box plots and AUCs", _fmt(s["plot"]))]
    timing = [(k, f"{v:.2f} s") for k, v in a.timings.items()]
    inner = ("<p>Counts, missing values, distributions, quantiles, outliers, duplicates and "
             "per-category target rates use every row. Plots show aggregates (bins, quartiles), "
             "never individual rows. The column statistics are the same profile fullcycle saves "
             "in every model as the reference for drift monitoring.</p>"
             f'<div class="grid2">{_table(rows)}{_table(timing)}</div>')
    return _section("method", "How this was computed", inner, False)


def explore_source(config: Any, output: str | Path, dataset: Any = None, *,
                   progress: Progress | None = None) -> Analysis:
    """The report of a project's data: `dataset` (a Dataset or DataFrame) when given, else the
    raw table read from `config.data` (before any cleaning, so duplicates and rows without a
    target are seen and counted)."""
    data = config.data
    version, cleaning = None, None
    if dataset is None:
        if not data.source:
            raise ConfigError("no data source; give DATA on the command line or set data.source")
        frame = read_source(data.source, table=data.table, query=data.query, params=data.params,
                            config=data)
        source = data.source
    elif isinstance(dataset, pd.DataFrame):
        frame, source = dataset, "<frame>"
    else:
        frame, source, version = dataset.frame, dataset.source, dataset.fingerprint
        cleaning = list(getattr(dataset, "cleaning", []))

    return build_report(frame, output, data.target, source=mask_url(str(source)),
                        roles=data.roles, problem=config.problem, seed=config.seed,
                        progress=progress, version=version, cleaning=cleaning,
                        extra=kind_sections(config, frame))


def kind_sections(config: Any, frame: pd.DataFrame) -> list[Any]:
    """What the data's task kind adds to the EDA (`problem.task`, or the most confident
    detection); nothing when no kind recognises the table yet."""
    try:
        kind, _, _ = resolve_task(config, frame)
        return list(kind.eda_sections(frame, config))
    except FullcycleError:
        return []
