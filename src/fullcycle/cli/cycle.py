"""The cycle's commands: init, train, predict, serve, monitor, run, demo."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from fullcycle.cli._app import ModelRef, Workspace, app, console, load_config
from fullcycle.cli._show import (
    TrainDisplay,
    emit,
    frame_records,
    frame_table,
    metrics_table,
    print_next_steps,
    print_train_summary,
    result,
)
from fullcycle.errors import ConfigError

if TYPE_CHECKING:  # the config module (pydantic) loads only when a command runs: fast --help
    from fullcycle.config import Config

Data = Annotated[str, typer.Argument(help="data: a CSV/TSV/Parquet file")]
Target = Annotated[str | None, typer.Option("--target", "-t", help="column to predict")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="fullcycle.yaml to use")]


def resolve_config(config: Path | None, workspace: Path) -> Config:
    """--config, else the workspace's saved config, else ./fullcycle.yaml, else defaults."""
    return load_config(config, workspace)


def _project(config: Config, workspace: Path):  # lazy import keeps --help fast
    from fullcycle.project import Project

    return Project(config, workspace)


@app.command()
def init(
    data: Data,
    target: Annotated[str, typer.Option("--target", "-t", help="column to predict")],
    output: Annotated[Path, typer.Option("--output", "-o", help="config file to write")] = Path(
        "fullcycle.yaml"),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Look at DATA and write a commented fullcycle.yaml."""
    from fullcycle.init import write_config

    if output.exists() and not force:
        raise ConfigError(f"{output} exists; pass --force to overwrite it")
    summary = write_config(data, target, output)
    console.print(f"wrote [bold]{output}[/]: {summary}")


@app.command()
def train(
    data: Annotated[str | None, typer.Argument(help="data file; default: data.source")] = None,
    target: Target = None,
    time_budget: Annotated[float | None, typer.Option("--time-budget", "-b",
                                                      help="seconds for model search")] = None,
    max_trials: Annotated[int | None, typer.Option(
        "--max-trials", help="deterministic mode: stop after N candidates")] = None,
    workspace: Workspace = Path("workspace"),
    config: ConfigOpt = None,
    seed: Annotated[int | None, typer.Option("--seed", help="random seed")] = None,
    table: Annotated[str | None, typer.Option("--table", help="table to read when DATA is a "
                                              "database URL")] = None,
    query: Annotated[str | None, typer.Option("--query", help="SQL to run when DATA is a "
                                              "database URL")] = None,
    task: Annotated[str | None, typer.Option(
        "--task", help="auto, or a task: binary, multiclass, regression, forecast, recommend, "
        "cluster, anomaly (or a plugin's)", rich_help_panel="Task")] = None,
    horizon: Annotated[int | None, typer.Option(
        "--horizon", help="forecast: steps ahead", rich_help_panel="Task")] = None,
    time_column: Annotated[str | None, typer.Option(
        "--time-column", help="forecast, recommend: the time column",
        rich_help_panel="Task")] = None,
    series_id: Annotated[list[str] | None, typer.Option(
        "--series-id", help="forecast: a series-id column (repeat for several)",
        rich_help_panel="Task")] = None,
    frequency: Annotated[str | None, typer.Option(
        "--frequency", help="forecast: pandas frequency (D, W-FRI, MS...)",
        rich_help_panel="Task")] = None,
    season_length: Annotated[int | None, typer.Option(
        "--season-length", help="forecast: season length in steps",
        rich_help_panel="Task")] = None,
    user_column: Annotated[str | None, typer.Option(
        "--user-column", help="recommend: the user id column", rich_help_panel="Task")] = None,
    item_column: Annotated[str | None, typer.Option(
        "--item-column", help="recommend: the item id column", rich_help_panel="Task")] = None,
    rating_column: Annotated[str | None, typer.Option(
        "--rating-column", help="recommend: rating or weight column",
        rich_help_panel="Task")] = None,
    items: Annotated[str | None, typer.Option(
        "--items", help="recommend: item metadata file", rich_help_panel="Task")] = None,
    item_key: Annotated[str | None, typer.Option(
        "--item-key", help="recommend: item id column of --items",
        rich_help_panel="Task")] = None,
    n_clusters: Annotated[int | None, typer.Option(
        "--n-clusters", help="cluster: number of clusters (default: chosen)",
        rich_help_panel="Task")] = None,
    contamination: Annotated[str | None, typer.Option(
        "--contamination", help="anomaly: auto or the expected share of anomalies (0..0.5)",
        rich_help_panel="Task")] = None,
    label_column: Annotated[str | None, typer.Option(
        "--label-column", help="anomaly, cluster: labels used only to evaluate",
        rich_help_panel="Task")] = None,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="train on a Dask cluster: a scheduler address (tcp://host:8786) or "
        "local[:N]; the workers read the data (compute.cluster in the config)")] = None,
    promote: Annotated[str | None, typer.Option(
        "--promote", help="better (default): the new model becomes champion unless the current "
        "champion scores better on the held-out rows (then it is registered as challenger); "
        "always: it becomes champion (train.promote)")] = None,
) -> None:
    """Train, compare and register the best model for DATA (a file, folder or glob, a database
    URL with --table/--query, or an http(s) URL). --target names the column to predict; kinds
    that learn without one (cluster, anomaly) need only --task."""
    # a bare `fullcycle train` after `fullcycle init` uses ./fullcycle.yaml
    cfg = load_config(config, workspace, prefer_cwd=True)
    if data:
        cfg.data.source = data
    if table or query:
        cfg.data.table, cfg.data.query = table, query
    if target:
        cfg.data.target = target
    if time_budget is not None:
        cfg.train.time_budget = time_budget
    if max_trials is not None:
        cfg.train.max_trials = max_trials
    if seed is not None:
        cfg.seed = seed
    if cluster:
        cfg.compute.cluster = cluster
    if promote is not None:
        if promote not in ("better", "always"):
            raise ConfigError(f"--promote {promote!r}: give better or always")
        cfg.train.promote = promote  # type: ignore[assignment]
    _task_options(cfg, task=task, horizon=horizon, time_column=time_column,
                  series_id=series_id, frequency=frequency, season_length=season_length,
                  user_column=user_column, item_column=item_column,
                  rating_column=rating_column, items=items, item_key=item_key,
                  n_clusters=n_clusters, contamination=contamination,
                  label_column=label_column)
    project = _project(cfg, workspace)
    report = _train(project, cfg)
    alias = getattr(report, "alias", "champion")
    result(f"model version [bold]{report.version}[/] registered as [bold]{alias}[/]"
           + (f" ({report.kept})" if getattr(report, "kept", None) else ""))
    paths = _train_paths(project, report)
    print_next_steps(project.workspace, report.version, paths)
    emit("train", {
        "version": report.version, "alias": alias, "workspace": str(project.workspace.root),
        "metric": cfg.problem.metric or report.model.card.metric,
        "kind": report.model.card.kind, "task": report.model.card.task,
        "test_metrics": report.test_metrics, "verdict": report.verdict,
        "leaderboard": frame_records(report.leaderboard),
        "paths": {name: str(path) for name, path in paths.items()},
    })


def _task_options(cfg: Config, **flags: object) -> None:
    """The kind flags of `train` onto problem.* (only those given)."""
    contamination = flags.pop("contamination")
    if contamination is not None:
        try:
            flags["contamination"] = "auto" if contamination == "auto" else float(
                str(contamination))
        except ValueError:
            raise ConfigError(f"--contamination {contamination!r}: give auto or a share such "
                              "as 0.05") from None
    values = {k: v for k, v in flags.items() if v is not None and v != []}
    if values:
        merged = cfg.problem.model_dump() | values
        cfg.problem = type(cfg.problem).model_validate(merged)


def _train_paths(project, report) -> dict:
    """Where `train` put things: the model folder and the reports it wrote."""
    paths = dict(getattr(report, "paths", None) or {})
    paths.setdefault("reports", project.workspace.reports)
    return paths


def _load(project):
    with console.status("reading data"):
        dataset = project.load_data()
    for line in dataset.cleaning + dataset.schema.warnings:
        console.print(f"[yellow]note:[/] {escape(line)}", soft_wrap=True, highlight=False)
    return dataset


def _train(project, cfg: Config, dataset=None):
    from fullcycle.metrics import get_metric

    if dataset is None and not cfg.compute.cluster:  # on a cluster the workers read it
        dataset = _load(project)
    metric = cfg.problem.metric or "score"
    greater = get_metric(metric).greater_is_better if cfg.problem.metric else True
    with TrainDisplay(metric, cfg.train.time_budget, greater,
                      max_trials=cfg.train.max_trials) as display:
        report = project.train(dataset, on_candidate=display)
    console.print(frame_table(report.leaderboard, title="leaderboard (cross-validated)",
                              max_rows=10))
    console.print(metrics_table(report.test_metrics, "test set"))
    diagnosis = set(report.model.card.training.diagnosis)
    for note in [n for n in report.notes if n not in diagnosis][:4]:  # task guess, cluster
        console.print(f"[dim]{note}[/]", soft_wrap=True, highlight=False)
    print_train_summary(_training_facts(report.model.card))
    _verdict(report.verdict)
    return report


def _training_facts(card) -> dict:
    """What the train summary shows: search stats, diagnosis, threshold tuning."""
    from dataclasses import asdict

    return asdict(card.training)


def _verdict(verdict: dict) -> None:
    for item in verdict.get("criteria", []):
        mark = "[green]PASS[/]" if item["passed"] else "[red]FAIL[/]"
        value = "not measured" if item["value"] is None else f"{item['value']:.4f}"
        console.print(f"success: {item['metric']} {item['rule']}: {value} {mark}")


@app.command()
def predict(
    output: Annotated[Path, typer.Option("--output", "-o", help="where to write (CSV/Parquet)")],
    input: Annotated[Path | None, typer.Option(
        "--input", "-i", help="rows to score (CSV/TSV/Parquet); optional for a forecast "
        "(default: after the training history)")] = None,
    workspace: Workspace = Path("workspace"),
    model: ModelRef = "champion",
    id_column: Annotated[str | None, typer.Option("--id-column", help="input column copied to "
                                                  "the output")] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", help="rows per chunk (memory "
                                            "bound)")] = 100_000,
    on_error: Annotated[str, typer.Option(
        "--on-error", help="a row the data contract refuses: fail (exit 2, nothing written) or "
        "skip (score the valid rows; refused ones go to --rejects with the reason)")] = "fail",
    rejects: Annotated[Path | None, typer.Option(
        "--rejects", help="with --on-error skip: where refused rows go (default: "
        "<output>.rejects.csv)")] = None,
    horizon: Annotated[int | None, typer.Option("--horizon", help="forecast: steps ahead")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", help="recommend: items per user")] = None,
    include_seen: Annotated[bool, typer.Option(
        "--include-seen", help="recommend: keep items the user already had")] = False,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="score on a Dask cluster: a scheduler address (tcp://host:8786) or "
        "local[:N]; default: compute.cluster of the workspace config, else this process")] = None,
) -> None:
    """Predict with a registered model. Tables, clusters, anomalies: a file scored in chunks
    (a `prediction` column, and `proba_<class>` columns for classification). Forecast and
    recommend: the kind's own output (--horizon, --top-k)."""
    from fullcycle.deploy.batch import run_batch
    from fullcycle.taskkind import PredictOptions

    options = PredictOptions(horizon=horizon, top_k=top_k, include_seen=include_seen)
    compute = _compute_config(workspace, cluster)
    if compute.cluster and options == PredictOptions():
        from fullcycle.deploy.distributed import run_on_cluster

        report, note = run_on_cluster(
            workspace, input, output, address=compute.cluster, model_ref=model,
            id_column=id_column, worker_memory=compute.worker_memory,
            blocksize=compute.blocksize, on_error=on_error, rejects=rejects)
    else:
        report = run_batch(workspace, input, output, model_ref=model, id_column=id_column,
                           chunk_rows=chunk_rows, options=options, on_error=on_error,
                           rejects=rejects)
        note = f"{report.rows_per_second:,.0f} rows/s"
    console.print(f"wrote {report.rows - report.rejected:,} predictions to [bold]{output}[/] "
                  f"({note})")
    if report.rejected:
        console.print(f"[yellow]skipped:[/] {report.rejected:,} row(s) the data contract "
                      f"refuses, written with the reason to [bold]{report.rejects}[/]")
    for column, count in report.imputed.most_common(10):
        console.print(f"[yellow]note:[/] {column}: {count:,} missing value(s) filled by the "
                      "model's imputer (training had none; contract.missing: strict refuses)")
    for column, count in report.unseen.most_common(10):
        console.print(f"[yellow]note:[/] {column}: {count:,} rows with a category not seen in "
                      "training")
    emit("predict", {"output": str(output), "rows": report.rows, "rejected": report.rejected,
                     "rejects": str(report.rejects) if report.rejected else None,
                     "rows_per_second": report.rows_per_second,
                     "imputed": dict(report.imputed), "unseen": dict(report.unseen)})


def _compute_config(workspace: Path, cluster: str | None):
    """`--cluster` over the workspace config's compute section."""
    from fullcycle.workspace import Workspace as Ws

    compute = Ws.at(workspace).load_config().compute
    return compute.model_copy(update={"cluster": cluster}) if cluster else compute


def _drift_summary(result: dict) -> None:
    from fullcycle.cli.monitor import print_summary  # `fullcycle monitor` lives in cli/monitor.py

    print_summary(result)


@app.command()
def run(
    config: Annotated[Path | None, typer.Argument(
        help="fullcycle.yaml (default: ./fullcycle.yaml, as `fullcycle init` writes it)")] = None,
    data: Annotated[str | None, typer.Option("--data", "-d", help="data source; overrides "
                                             "data.source")] = None,
    workspace: Workspace = Path("workspace"),
    time_budget: Annotated[float | None, typer.Option("--time-budget", "-b")] = None,
) -> None:
    """The whole cycle from a config: explore, train, register, evaluate, batch-predict, and
    check drift."""
    from fullcycle.config import Config

    if config is None and not Path("fullcycle.yaml").is_file():
        raise ConfigError("no config: give one (fullcycle run CONFIG) or write ./fullcycle.yaml "
                          "with `fullcycle init DATA --target COL`")
    cfg = Config.load(config or Path("fullcycle.yaml"))
    if data:
        cfg.data.source = data
    if time_budget is not None:
        cfg.train.time_budget = time_budget
    _cycle(_project(cfg, workspace), cfg)


def _cycle(project, cfg: Config) -> dict:
    """Explore -> train + register -> evaluate -> batch predict -> drift check."""
    dataset = _load(project)
    with console.status("exploring the data (EDA report)"):
        eda = project.explore(dataset)
    report = _train(project, cfg, dataset)
    console.print(f"model version [bold]{report.version}[/] registered as [bold]champion[/]")
    evaluation = None
    with console.status("evaluating the champion on the held-out rows"):
        try:
            evaluation = project.evaluate(report.version)
        except ConfigError as exc:  # a kind without evaluation says so
            console.print(f"[yellow]note:[/] {escape(str(exc))}", highlight=False)
    outputs = project.after_training(report)
    if outputs["drift"] is not None:
        _drift_summary(outputs["drift"])
    outputs["paths"] = {"eda": eda, **outputs["paths"]}
    console.print(f"EDA report: [bold]{eda}[/]")
    if evaluation is not None:
        outputs["paths"]["evaluation"] = Path(evaluation["paths"]["html"])
        console.print(f"evaluation report: [bold]{evaluation['paths']['html']}[/]")
    if outputs["predictions"] is not None:
        console.print(f"predictions: [bold]{outputs['predictions']}[/]")
    from fullcycle.cli._show import attach_reports

    # the EDA and evaluation reports of this cycle belong to the run of the version it trained
    attach_reports(project, report.version, [eda], "reports")
    if evaluation is not None:
        attach_reports(project, report.version, [evaluation["paths"].get("html"),
                                                 evaluation["paths"].get("json")], "reports")
    return outputs


@app.command()
def demo(
    workspace: Workspace = Path("fullcycle-demo"),
    time_budget: Annotated[float, typer.Option("--time-budget", "-b")] = 30.0,
) -> None:
    """The whole cycle on the bundled Telco churn data, ending with a live prediction."""
    from fullcycle.demo import demo_config, sample_live_prediction

    cfg = demo_config(time_budget)
    project = _project(cfg, workspace)
    outputs = _cycle(project, cfg)
    with console.status("starting the prediction server for a sample request"):
        request, answer = sample_live_prediction(project)
    console.print("[bold]sample real-time prediction[/] (POST /predict):")
    console.print_json(data={"request": request, "response": answer})
    ws = project.workspace
    console.print(f"\n[bold]workspace[/] {ws.root}")
    for name, path in outputs["paths"].items():
        console.print(f"  {name:<12} {path}")
    console.print(f"  {'mlflow':<12} mlflow ui --backend-store-uri {ws.tracking_uri}")
    console.print(f"  {'log':<12} {ws.root / 'predictions.db'} (the sample request is in it; "
                  "`fullcycle monitor` reads it)")
