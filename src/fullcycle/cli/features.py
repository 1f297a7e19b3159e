"""`fullcycle features`: what the model's preprocessing did to each column, and why."""

from __future__ import annotations

from pathlib import Path

from fullcycle.cli._app import ModelRef, Workspace, app, console


@app.command()
def features(workspace: Workspace = Path("workspace"), model: ModelRef = "champion") -> None:
    """Show, per input column, the imputation, encoding, transforms and selection the model's
    saved pipeline applies, with the reason for each choice."""
    from rich.table import Table

    from fullcycle.features.report import describe_pipeline
    from fullcycle.project import Project

    loaded = Project.open(workspace).load_model(model)
    rows = describe_pipeline(loaded.pipeline)
    family = loaded.metadata.get("family", "?")
    table = Table(title=f"features of model {loaded.version_label} ({family})",
                  header_style="bold cyan", show_lines=False)
    for name, justify in (("column", "left"), ("role", "left"), ("treatment and why", "left"),
                          ("outputs", "right"), ("dropped", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for row in rows:
        table.add_row(row["column"], row["role"], row["treatment"], str(row["outputs"]),
                      row["dropped"])
    console.print(table)
