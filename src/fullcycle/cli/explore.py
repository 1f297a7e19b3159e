"""`fullcycle explore`: the exploratory data analysis report of a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fullcycle.cli._app import Workspace, app, console

TOP_WARNINGS = 12
SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


@app.command()
def explore(
    data: Annotated[str | None, typer.Argument(help="data: a file, folder or glob, a database "
                                               "URL (with --table/--query), or an http(s) URL; "
                                               "default: data.source")] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="column to predict")] = None,
    workspace: Workspace = Path("workspace"),
    config: Annotated[Path | None, typer.Option("--config", "-c",
                                                help="fullcycle.yaml to use")] = None,
    table: Annotated[str | None, typer.Option("--table", help="table, for a database URL")] = None,
    query: Annotated[str | None, typer.Option("--query", help="SQL, for a database URL")] = None,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="read DATA on a Dask cluster (tcp://host:8786 or local[:N]); the "
        "report covers a seeded sample of compute.sample_rows rows, with exact counts")] = None,
) -> None:
    """Write an HTML exploratory analysis of DATA to <workspace>/reports/eda.html: distributions,
    relations to the target, correlations and data-quality warnings ranked by severity."""
    from fullcycle.cli.cycle import resolve_config
    from fullcycle.explore.report import explore_source

    cfg = resolve_config(config, workspace)
    if data:
        cfg.data.source = data
    if target:
        cfg.data.target = target
    if table:
        cfg.data.table = table
    if query:
        cfg.data.query = query
    from fullcycle.workspace import Workspace as Ws

    output = Ws.at(workspace).reports / "eda.html"
    dataset = None
    if cluster:
        cfg.compute.cluster = cluster
    if cfg.compute.cluster:
        from fullcycle.project import Project

        with console.status("reading the data on the cluster"):
            dataset = Project(cfg, workspace).cluster_dataset()
        console.print(f"[dim]{dataset.source}[/]", soft_wrap=True, highlight=False)
    with _progress() as update:
        analysis = explore_source(cfg, output, dataset, progress=update)
    console.print(_warnings_table(analysis.findings))
    console.print(f"{analysis.rows:,} rows × {len(analysis.stats):,} columns; "
                  f"{len(analysis.findings)} warnings")
    console.print(f"EDA report: [bold]{output}[/]", soft_wrap=True)


def _progress() -> Any:
    from contextlib import contextmanager

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    @contextmanager
    def bar() -> Any:
        with Progress(TextColumn("[bold]exploring[/]"), BarColumn(),
                      TextColumn("{task.percentage:>3.0f}%"), TextColumn("{task.description}"),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            task = progress.add_task("reading data", total=None)

            def update(what: str, done: int, total: int) -> None:
                progress.update(task, description=what, completed=done, total=total)

            yield update

    return bar()


def _warnings_table(findings: list[Any]) -> Any:
    from rich.table import Table

    table = Table(title=f"Top data-quality warnings ({min(len(findings), TOP_WARNINGS)} of "
                  f"{len(findings)})", header_style="bold cyan", show_lines=False)
    table.add_column("severity")
    table.add_column("column")
    table.add_column("warning", overflow="fold")
    for f in findings[:TOP_WARNINGS]:
        style = SEVERITY_STYLE.get(f.severity, "")
        table.add_row(f"[{style}]{f.severity}[/]", f.column or "–", f.message)
    return table
