"""`fullcycle reproduce REF`: retrain a registered version from its recorded data snapshot,
config and seed, and say whether the metrics match."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fullcycle.cli._app import Workspace, app, console


@app.command()
def reproduce(
    ref: Annotated[str, typer.Argument(help="champion, a version number, models:/NAME@ALIAS, "
                                       "models:/NAME/VERSION")] = "champion",
    workspace: Workspace = Path("workspace"),
    tolerance: Annotated[float, typer.Option(
        "--tolerance", help="relative difference accepted as a match (0 = identical)")] = 0.0,
) -> None:
    """Retrain from what a version's run recorded; exit 1 when the metrics differ."""
    import pandas as pd

    from fullcycle.cli._show import emit, frame_table
    from fullcycle.project import Project
    from fullcycle.registry.reproduce import reproduce as do_reproduce

    registry = Project.open(workspace).registry
    with console.status("retraining from the recorded data snapshot, config and seed"):
        result = do_reproduce(registry, ref, tolerance=tolerance)
    if not result.deterministic:
        console.print("[yellow]note:[/] the run was time-budgeted (no train.max_trials), so the "
                      "search may try other candidates; set train.max_trials for exact repeats")
    if result.code["recorded"] != result.code["now"]:
        console.print(f"[yellow]note:[/] trained by code {result.code['recorded']}, reproduced "
                      f"with {result.code['now']}", highlight=False)
    emit("reproduce", {"version": result.version, "run_id": result.run_id,
                       "matched": result.matched, "data_matches": result.data_matches,
                       "deterministic": result.deterministic, "code": result.code,
                       "metrics": result.rows})
    data = "[green]same data[/]" if result.data_matches else "[red]data fingerprint differs[/]"
    console.print(f"version {result.version} (run {result.run_id[:8]}): {data}")
    table = pd.DataFrame(result.rows)
    if not table.empty:
        table["match"] = table["match"].map({True: "yes", False: "NO"})
        console.print(frame_table(table, title="recorded vs reproduced", max_rows=60))
    if result.matched:
        console.print(f"[green]reproduced[/]: all {len(result.rows)} metrics match")
        return
    differ = sum(not r["match"] for r in result.rows)
    console.print(f"[red]not reproduced[/]: {differ} of {len(result.rows)} metrics differ")
    raise typer.Exit(1)
