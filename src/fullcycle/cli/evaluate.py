"""`fullcycle evaluate` and `fullcycle compare`: the evaluation stage on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fullcycle.cli._app import ModelRef, Workspace, app, console

DataOpt = Annotated[str | None, typer.Option(
    "--data", "-d",
    help="labelled rows to evaluate on (default: the test rows held out at training)")]


ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", help="fullcycle.yaml to use (default: the workspace's)")]


def _project(workspace: Path, config: Path | None = None):  # lazy imports
    from fullcycle.cli._app import load_config
    from fullcycle.project import Project

    return Project(load_config(config, workspace), workspace)


@app.command()
def evaluate(
    workspace: Workspace = Path("workspace"),
    model: ModelRef = "champion",
    data: DataOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Metrics with 95% intervals, CV, baseline, verdict, charts, explanations, slices and model
    card: reports/evaluation.html and reports/evaluation.json."""
    from fullcycle.cli._show import attach_reports, emit, metrics_table

    project = _project(workspace, config)
    with console.status("evaluating"):
        result = project.evaluate(model_ref=model, data=data)
    attach_reports(project, result["model"].get("version"),
                   [result["paths"].get("html"), result["paths"].get("json")], "reports")
    # every kind reports flat `metrics`; tables add intervals, verdict and slices
    console.print(metrics_table(dict(result["metrics"]),
                                f"model {result['model']['version']} on "
                                f"{result['data']['rows']} {result['data']['label']}"))
    verdict = result.get("verdict") or {"passed": True, "criteria": []}
    for item in verdict["criteria"]:
        mark = "[green]PASS[/]" if item["passed"] else "[red]FAIL[/]"
        console.print(f"success: {item['metric']} {item['rule']}: {item['value']} {mark}")
    flagged = [s for s in result.get("slices", []) if s.get("flag")]
    if flagged:
        console.print(f"[yellow]{len(flagged)} slice(s) clearly worse than overall[/], e.g. "
                      + ", ".join(f"{s['feature']} = {s['slice']}" for s in flagged[:3]))
    console.print(f"report: [bold]{result['paths']['html']}[/]\nmetrics: {result['paths']['json']}")
    emit("evaluate", {"model": result["model"], "data": result["data"],
                      "test": result.get("test", result["metrics"]), "verdict": verdict,
                      "slices_flagged": flagged, "paths": result["paths"]})
    if verdict["criteria"] and not verdict["passed"]:
        raise typer.Exit(1)


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="first model: version, alias, models:/ URI or path")],
    b: Annotated[str, typer.Argument(help="second model")],
    workspace: Workspace = Path("workspace"),
    data: DataOpt = None,
    resamples: Annotated[int, typer.Option("--resamples",
                                           help="paired bootstrap resamples")] = 1000,
) -> None:
    """Evaluate two model versions on the same rows and say which is better (paired bootstrap
    95% interval on the difference of the primary metric)."""
    from fullcycle.evaluate.render import to_json
    from fullcycle.evaluate.run import evaluation_rows

    project = _project(workspace)
    frame, label = evaluation_rows(project.workspace.reports, data)
    with console.status("comparing"):
        first, second = project.load_model(a), project.load_model(b)
        result = first.kind.compare(first, second, frame, names=(a, b), resamples=resamples,
                                    seed=project.config.seed)
    result["data"] = label
    path = project.workspace.reports / "compare.json"
    path.write_text(to_json(result))
    from fullcycle.cli._show import emit

    emit("compare", {**result, "path": str(path)})
    metric, adv = result["metric"], result["advantage_a"]
    for name in (a, b):
        console.print(f"{name:>12}: {metric} {result['scores'][name][metric]:.4f}")
    console.print(f"{a} - {b} (positive = {a} better): {adv['value']:+.4f} "
                  f"[95% {adv['low']:+.4f}, {adv['high']:+.4f}] on {result['rows']} {label}")
    console.print(f"[bold]{result['verdict']}[/]; details: {path}")
