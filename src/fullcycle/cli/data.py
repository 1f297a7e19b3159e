"""Data commands: `validate` (new data against a model's contract) and `inspect` (a source's
schema, fingerprint and row count). Both stream the source in chunks with a progress bar, so a
file larger than memory is fine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from fullcycle.cli._app import ModelRef, Workspace, app, console, load_config
from fullcycle.cli._show import emit, new_table
from fullcycle.cli._show import result as result_line

Table = Annotated[str | None, typer.Option("--table", help="table to read when DATA is a "
                                           "database URL")]
Query = Annotated[str | None, typer.Option("--query", help="SQL to run when DATA is a database "
                                           "URL")]
ChunkRows = Annotated[int, typer.Option("--chunk-rows", min=1, help="rows per streamed chunk")]


@contextmanager
def progress_bar(label: str) -> Iterator[Any]:
    """A Rich progress bar fed by `on_progress(rows_done, rows_expected_or_None)`."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from fullcycle.cli._app import OUTPUT

    with Progress(SpinnerColumn(), TextColumn(f"[bold]{label}[/]"), BarColumn(),
                  MofNCompleteColumn(), TextColumn("rows"), TimeElapsedColumn(),
                  console=console, transient=True,
                  disable=not console.is_terminal or OUTPUT.quiet) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, expected: int | None) -> None:
            progress.update(task, completed=done, total=expected)

        yield update


@app.command()
def validate(
    data: Annotated[str, typer.Argument(help="data to check: a file, folder or glob, a database "
                                        "URL (with --table/--query), or an http(s) URL")],
    workspace: Workspace = Path("workspace"),
    model: ModelRef = "champion",
    table: Table = None,
    query: Query = None,
    chunk_rows: ChunkRows = 100_000,
) -> None:
    """Check DATA against a model's data contract and list every violation; exit 1 when any is
    an error (missing columns, wrong types), 0 when there are only warnings or none."""
    from fullcycle.cli.cycle import resolve_config
    from fullcycle.data.contract import errors_only
    from fullcycle.data.stream import validate_source
    from fullcycle.project import Project

    project = Project(resolve_config(None, workspace), workspace)
    schema = project.registry.load_card(model).schema  # no unpickling: the contract only
    with progress_bar("validating") as update:
        violations, rows = validate_source(data, schema, config=project.config.data, table=table,
                                           query=query, params=project.config.data.params,
                                           chunk_rows=chunk_rows, on_progress=update,
                                           missing=project.config.contract.missing)
    errors = errors_only(violations)
    emit("validate", {"model": model, "rows": rows, "errors": len(errors),
                      "warnings": len(violations) - len(errors), "passed": not errors,
                      "violations": [_violation_dict(v) for v in violations]})
    if violations:
        console.print(violation_table(violations, f"data contract violations ({rows} rows)"))
    verdict = (f"[red]{len(errors)} error(s)[/]" if errors else "[green]no errors[/]")
    result_line(f"{verdict}, {len(violations) - len(errors)} warning(s) in {rows} rows "
                f"checked against model {model}")
    if errors:
        # SystemExit, not typer.Exit: main() runs click with standalone_mode=False, where
        # typer.Exit's code is returned and dropped rather than raised.
        raise SystemExit(1)


def _violation_dict(v: Any) -> dict[str, Any]:
    return {"severity": v.severity, "column": v.column, "kind": v.kind, "count": v.count,
            "message": v.message}


def violation_table(violations: list[Any], title: str) -> Any:
    table = new_table(title)
    for name, justify in (("severity", "left"), ("column", "left"), ("kind", "left"),
                          ("count", "right"), ("message", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    order = sorted(violations, key=lambda v: (v.severity != "error", v.column or ""))
    for v in order:
        style = "red" if v.severity == "error" else "yellow"
        table.add_row(f"[{style}]{v.severity}[/]", v.column or "(table)", v.kind, str(v.count),
                      v.message)
    return table


@app.command()
def inspect(
    data: Annotated[str, typer.Argument(help="a file, folder or glob, a database URL (with "
                                        "--table/--query), or an http(s) URL")],
    target: Annotated[str | None, typer.Option("--target", "-t", help="column to predict")] = None,
    table: Table = None,
    query: Query = None,
    sample_rows: Annotated[int, typer.Option("--sample-rows", min=100, help="rows sampled for "
                                             "role inference")] = 100_000,
    chunk_rows: ChunkRows = 100_000,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="fullcycle.yaml to take "
                                                "data.* reading options from")] = None,
) -> None:
    """Stream DATA once: its data version (fingerprint), row count, and the inferred schema."""
    from fullcycle.data.sql import mask_url
    from fullcycle.data.stream import scan

    cfg = load_config(config, Path("."))  # --config, else ./fullcycle.yaml
    with progress_bar("scanning") as update:
        result = scan(data, target=target or cfg.data.target, config=cfg.data, table=table,
                      query=query, params=cfg.data.params, sample_rows=sample_rows,
                      chunk_rows=chunk_rows, on_progress=update)
    emit("inspect", {"source": mask_url(data), "rows": result.rows,
                     "fingerprint": result.fingerprint, "warnings": result.schema.warnings,
                     "columns": [_column_dict(c) for c in result.schema.columns]})
    console.print(schema_table(result.schema, f"{mask_url(data)}: {result.rows} rows"))
    for line in result.schema.warnings:
        console.print(f"[yellow]note:[/] {escape(line)}", soft_wrap=True, highlight=False)
    result_line(f"fingerprint (data version): [bold]{result.fingerprint}[/]")


def _column_dict(c: Any) -> dict[str, Any]:
    return {"name": c.name, "role": c.role, "dtype": c.dtype, "missing_rate": c.missing_rate,
            "minimum": c.minimum, "maximum": c.maximum, "categories": list(c.categories or []),
            "note": c.note}


def schema_table(schema: Any, title: str) -> Any:
    table = new_table(title)
    for name in ("column", "role", "dtype", "missing", "range / categories", "note"):
        table.add_column(name)
    for c in schema.columns:
        if c.minimum is not None:
            span = f"{c.minimum:g} .. {c.maximum:g}"
        elif c.categories:
            span = ", ".join(c.categories[:5]) + (" ..." if len(c.categories) > 5 else "")
        else:
            span = ""
        table.add_row(c.name, c.role, c.dtype, f"{c.missing_rate:.1%}", span, c.note or "")
    return table
