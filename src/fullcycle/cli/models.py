"""`fullcycle models …`: the registry from the command line — list, show, promote, rollback,
diff. Every command takes --workspace; references are the same everywhere (champion, 3,
models:/NAME@ALIAS, models:/NAME/3)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fullcycle.cli._app import Workspace, app, console

models_app = typer.Typer(no_args_is_help=True, help="The model registry: versions, aliases, "
                         "promotion and rollback.")
app.add_typer(models_app, name="models")

Ref = Annotated[str, typer.Argument(help="champion, challenger, a version number, "
                                    "models:/NAME@ALIAS or models:/NAME/VERSION")]
Alias = Annotated[str, typer.Option("--alias", "-a", help="alias to move")]
Reason = Annotated[str | None, typer.Option("--reason", "-r", help="why (kept in the history)")]


def _wide() -> Any:
    """A console at least 120 columns wide: registry tables hold hashes and dates that are
    unreadable when wrapped (rich otherwise shrinks them to an 80-column pipe)."""
    from rich.console import Console

    from fullcycle.cli._app import OUTPUT

    return Console(width=max(console.width, 120), highlight=False, quiet=OUTPUT.quiet,
                   stderr=OUTPUT.json)  # --json: stdout is the JSON object's


def _registry(workspace: Path) -> Any:
    from fullcycle.project import Project

    return Project.open(workspace).registry


@models_app.command("list")
def list_(
    workspace: Workspace = Path("workspace"),
    all_: Annotated[bool, typer.Option("--all", help="also show incomplete versions (a run "
                                       "killed during registration)")] = False,
) -> None:
    """Registered versions, newest first, with their aliases and test metric."""
    import pandas as pd

    from fullcycle.cli._show import emit, frame_table
    from fullcycle.registry.inspect import list_versions

    registry = _registry(workspace)
    rows = list_versions(registry, include_incomplete=all_)
    emit("models list", {"model": registry.model_name, "versions": rows})
    if not rows:
        console.print(f"registered model [bold]{registry.model_name}[/] has no versions yet; "
                      "train one with `fullcycle train`")
        return
    table = frame_table(pd.DataFrame(rows), title=f"registered model {registry.model_name}",
                        max_rows=200)
    _wide().print(table)  # one line per version


@models_app.command()
def show(ref: Ref, workspace: Workspace = Path("workspace")) -> None:
    """Everything recorded about one version: data, code, config, metrics, promotions."""
    from fullcycle.cli._show import emit, metrics_table
    from fullcycle.registry.inspect import describe

    info = describe(_registry(workspace), ref)
    emit("models show", info)
    aliases = ", ".join(info["aliases"]) or "none"
    console.print(f"[bold]{info['name']}[/] version [bold]{info['version']}[/] · aliases: "
                  f"{aliases} · {info['state']} · created {info['created']}")
    console.print(f"run {info['run_id']} · source {info['source']}")
    for key in ("data_fingerprint", "task", "fullcycle.digest", "sha256"):
        if key in info["tags"]:
            console.print(f"  {key:<18} {info['tags'][key]}")
    for key, value in info["run_tags"].items():
        console.print(f"  {key:<18} {value}", highlight=False)
    params = {k: v for k, v in info["params"].items() if not k.startswith("config.")}
    for key, value in params.items():
        console.print(f"  {key:<18} {value}", highlight=False)
    metrics = {k: v for k, v in info["metrics"].items() if not k.startswith("candidate_")}
    _wide().print(metrics_table(metrics, "metrics"))
    for event in info["history"]:
        console.print(f"  {event['at']} {event['kind']}: {event['alias']} -> {event['version']} "
                      f"(was {event['previous'] or 'none'}) by {event['by']}: {event['reason']}",
                      highlight=False)


@models_app.command()
def promote(ref: Ref, workspace: Workspace = Path("workspace"), alias: Alias = "champion",
            reason: Reason = None) -> None:
    """Point an alias (default champion) at a version, after checking its artifact."""
    from fullcycle.registry.promotion import promote as do_promote

    event = do_promote(_registry(workspace), ref, alias=alias,
                       reason=reason or "promoted with fullcycle models promote")
    console.print(f"{alias}: version [bold]{event['version']}[/] (was "
                  f"{event['previous'] or 'none'})")


@models_app.command()
def rollback(workspace: Workspace = Path("workspace"), alias: Alias = "champion",
             reason: Reason = None) -> None:
    """Move an alias back to the version that held it before the current one."""
    from fullcycle.registry.promotion import rollback as do_rollback

    event = do_rollback(_registry(workspace), alias=alias,
                        reason=reason or "rolled back with fullcycle models rollback")
    console.print(f"{alias}: rolled back to version [bold]{event['version']}[/] (was "
                  f"{event['previous']})")


@models_app.command()
def diff(a: Ref, b: Ref, workspace: Workspace = Path("workspace")) -> None:
    """What differs between two versions: config, data, metrics."""
    import pandas as pd

    from fullcycle.cli._show import frame_table
    from fullcycle.registry.inspect import diff as do_diff

    result = do_diff(_registry(workspace), a, b)
    va, vb = result["versions"][0]["a"], result["versions"][0]["b"]
    for group in ("config", "data", "metrics"):
        rows = result[group]
        if not rows:
            console.print(f"{group}: identical")
            continue
        frame = pd.DataFrame(rows).rename(columns={"a": f"v{va}", "b": f"v{vb}"})
        _wide().print(frame_table(frame, title=group, max_rows=200))
