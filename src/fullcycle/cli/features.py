"""`fullcycle features`: what the model's preprocessing did to each column, and why."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fullcycle.cli._app import ModelRef, Workspace, app, console


@app.command()
def features(workspace: Workspace = Path("workspace"), model: ModelRef = "champion") -> None:
    """Show, per input column, the imputation, encoding, transforms and selection the model's
    saved pipeline applies, with the reason for each choice."""
    from rich.table import Table

    from fullcycle.errors import ModelError
    from fullcycle.features.report import describe_pipeline, model_pipelines
    from fullcycle.project import Project

    loaded = Project.open(workspace).load_model(model)
    found = model_pipelines(loaded.pipeline)
    if not found:
        raise ModelError(f"model {loaded.version_label} has no fullcycle preprocessing to "
                         "describe (was it trained by another tool?)")
    for name, pipeline in found:
        table = Table(title=f"model {loaded.version_label}: {name}", header_style="bold cyan")
        columns: tuple[tuple[str, Literal["left", "right"]], ...] = (
            ("column", "left"), ("role", "left"), ("treatment and why", "left"),
            ("outputs", "right"), ("dropped", "left"))
        for col, justify in columns:
            table.add_column(col, justify=justify, overflow="fold")
        for row in describe_pipeline(pipeline):
            table.add_row(row["column"], row["role"], row["treatment"], str(row["outputs"]),
                          row["dropped"])
        console.print(table)
