"""`fullcycle monitor` and `fullcycle retrain`: watch the served model, replace it when a better
one is earned.

`fullcycle monitor` exit codes: 0 no alert; 1 drift (data or prediction); 4 data quality;
8 performance; the sum when several fire (e.g. 5 = drift + quality); 2 a usage or config error.
`fullcycle retrain` exits 0 whether or not the challenger was promoted (the decision is printed
and recorded in the registry), 2 on an error."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fullcycle.cli._app import ModelRef, Workspace, app, console

Since = Annotated[str | None, typer.Option(
    "--since", help="only log rows newer than this: a duration (24h, 7d) or an ISO time")]


def _project(workspace: Path) -> Any:
    from fullcycle.cli._app import load_config
    from fullcycle.project import Project

    return Project(load_config(None, workspace), workspace)


def print_summary(result: dict[str, Any]) -> None:
    """Drift table, alerts and report paths (also used by `fullcycle run`)."""
    from rich.markup import escape

    from fullcycle.cli._show import new_table

    if "features" not in result:  # a task kind that watches other signals than feature drift
        for alert in result.get("alerts", []):
            console.print(f"[bold red]alert[/] {escape('[' + alert['kind'] + ']')} "
                          f"{escape(alert['message'])}", highlight=False)
        if not result.get("alerts"):
            console.print("[green]no alert[/]")
        console.print(f"report: [bold]{result.get('html')}[/]")
        return

    table = new_table(f"drift vs training reference ({result['rows']} rows, "
                      f"{result.get('source', 'data')})")
    for col in ("feature", "kind", "PSI", "KS / JS", "Wass./std", "missing", "drifted"):
        table.add_column(col, justify="left" if col in ("feature", "kind", "drifted") else "right")
    rows = sorted(result["features"], key=lambda f: -f["psi"])
    for f in rows[:25]:
        second = f.get("ks", f.get("jensenshannon", 0.0))
        wass = f"{f['wasserstein_norm']:.3f}" if "wasserstein_norm" in f else ""
        flag = ("[red]" + ", ".join(f["reasons"]) + "[/]") if f["drifted"] else (
            "" if f["judged"] else "[dim]too few rows[/]")
        table.add_row(f["feature"], f["kind"], f"{f['psi']:.3f}", f"{second:.3f}", wass,
                      f"{f['current_missing']:.1%}", flag)
    if len(rows) > 25:
        table.caption = f"{len(rows) - 25} more features in the report"
    console.print(table)
    share = result["drift_share"]
    flag = "[red]DRIFT[/]" if result["dataset_drift"] else "[green]no dataset drift[/]"
    console.print(f"drifted features: {len(result['drifted_features'])} ({share:.0%}) {flag}")
    for alert in result.get("alerts", []):
        console.print(f"[bold red]alert[/] {escape('[' + alert['kind'] + ']')} "
                      f"{escape(alert['message'])}", highlight=False)
    _print_logged_warnings(result.get("warnings"))
    perf = result.get("performance")
    if perf and perf.get("labelled"):
        metric = perf["metric"]
        console.print(f"performance: {metric} {perf['overall'].get(metric, float('nan')):.4f} on "
                      f"{perf['labelled']} labelled rows (training test set: "
                      f"{perf['reference'] if perf['reference'] is not None else 'n/a'})")
    paths = [p for p in (result.get("html"), result.get("path")) if p]
    if paths:
        console.print("report: " + "  ".join(str(p) for p in paths))


def _print_logged_warnings(logged: dict[str, Any] | None) -> None:
    """The prediction log's data-quality warnings over the window, per column and kind."""
    from rich.markup import escape

    if logged is None:
        return
    counts = logged["counts"]
    if not counts:
        console.print(f"logged warnings: none in {logged['rows']} predictions")
        return
    named = ", ".join(f"{c['column']} {c['kind']} {c['count']}" for c in counts[:10])
    more = f" (+{len(counts) - 10} more in the report)" if len(counts) > 10 else ""
    console.print(f"logged warnings: {logged['warned_rows']} of {logged['rows']} predictions "
                  f"({logged['warned_share']:.1%}): {escape(named)}{more}", highlight=False)


@app.command()
def monitor(
    workspace: Workspace = Path("workspace"),
    input: Annotated[Path | None, typer.Option(
        "--input", "-i", help="recent rows (CSV/TSV/Parquet); default: the prediction log")] = None,
    model: ModelRef = "champion",
    since: Since = None,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="read --input on a Dask cluster (tcp://host:8786 or local[:N]); "
        "drift is judged on a seeded sample of monitor.sample_rows rows (default 200,000)")] = None,
) -> None:
    """Drift, data quality and live performance of recent data against the model's training
    reference. Writes reports/monitoring.html and monitoring.json. Exit 0: no alert; 1 drift;
    4 quality; 8 performance (summed when several fire)."""
    project = _project(workspace)
    if cluster:
        project.config.compute.cluster = cluster
    with console.status("monitoring"):
        result = project.monitor(input, model_ref=model, since=since)
    from fullcycle.cli._show import attach_reports, emit

    attach_reports(project, result.get("model_version"),
                   [result.get("html"), result.get("path")], "monitoring")
    emit("monitor", {key: result.get(key) for key in (
        "rows", "source", "dataset_drift", "drift_share", "drifted_features", "alerts",
        "performance", "features", "quality", "warnings", "exit_code", "html", "path")})
    print_summary(result)
    _apply_policy(project, result, input)
    if result["exit_code"]:
        # SystemExit, not typer.Exit: the CLI runs click with standalone_mode=False, where
        # typer.Exit becomes a return value and the code would be lost.
        raise SystemExit(result["exit_code"])


def _apply_policy(project: Any, result: dict[str, Any], input: Path | None) -> None:
    """monitor.retrain_on: retrain on the monitored data (a labelled file, or the log with its
    feedback). A failed retrain is reported; the exit code still says which alerts fired."""
    from fullcycle.errors import FullcycleError
    from fullcycle.monitor.policy import retrain_reasons

    reasons = retrain_reasons(result, project.config.monitor)
    if not reasons:
        return
    console.print(f"policy monitor.retrain_on: retraining because of {', '.join(reasons)} alerts")
    try:
        with console.status("retraining a challenger"):
            outcome = project.retrain(str(input) if input else None, trigger=", ".join(reasons))
    except FullcycleError as exc:
        console.print(f"[yellow]policy: no retrain:[/] {exc}", highlight=False)
        return
    print_decision(outcome)


def print_decision(outcome: dict[str, Any]) -> None:
    evidence = outcome["evidence"]
    metric = evidence["metric"]
    console.print(f"holdout: {evidence['holdout_rows']} labelled rows; {metric}: champion "
                  f"v{evidence['champion_version']} {evidence['champion_score']:.4f}, challenger "
                  f"v{evidence['challenger_version']} {evidence['challenger_score']:.4f}")
    verdict = "[green]PROMOTED[/]" if outcome["promoted"] else "[yellow]kept champion[/]"
    console.print(f"{verdict}: {outcome['reason']}", highlight=False)


@app.command()
def retrain(
    workspace: Workspace = Path("workspace"),
    input: Annotated[str | None, typer.Option(
        "--input", "-i", help="new labelled data: a file, or a database URL (with --query); "
        "default: the prediction log joined with its feedback labels")] = None,
    query: Annotated[str | None, typer.Option("--query", help="SQL query when --input is a "
                                              "database URL")] = None,
    with_snapshot: Annotated[bool, typer.Option(
        "--with-snapshot", help="train on the new data together with the champion's training "
        "data")] = False,
    time_budget: Annotated[float | None, typer.Option("--time-budget", "-b")] = None,
    max_trials: Annotated[int | None, typer.Option("--max-trials")] = None,
) -> None:
    """Train a challenger on new labelled data, compare it with the champion on the same recent
    holdout, and promote it only if it wins by monitor.promote_margin."""
    project = _project(workspace)
    if time_budget is not None:
        project.config.train.time_budget = time_budget
    if max_trials is not None:
        project.config.train.max_trials = max_trials
    with console.status("retraining a challenger"):
        outcome = project.retrain(input, query=query, with_snapshot=with_snapshot)
    print_decision(outcome)
    console.print(f"record: {outcome['path']}")
    from fullcycle.cli._show import emit

    emit("retrain", outcome)
