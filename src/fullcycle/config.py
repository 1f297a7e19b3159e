"""The one typed config tree behind `fullcycle.yaml`.

Every section forbids unknown keys, so a typo is an error that names the key, where it is, and
the valid keys at that place."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from fullcycle.errors import ConfigError, did_you_mean

CRITERION = re.compile(r"^\s*(>=|<=|>|<|==)\s*(-?[0-9.eE+-]+)\s*$")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class HttpConfig(Section):
    """How to read an http(s) source: a JSON API returning records, or an HTML page's tables."""

    format: Literal["auto", "json", "html"] = Field(
        "auto", description="auto: by the answer's Content-Type")
    records_path: str | None = Field(
        None, description="dotted key holding the list of records, e.g. data.items; default: the "
        "answer itself, or its only list-valued key")
    pagination: Literal["none", "page", "offset", "cursor", "next_link"] = "none"
    page_param: str = Field("page", description="query parameter carrying the page number")
    first_page: int = Field(1, ge=0)
    offset_param: str = Field("offset", description="query parameter carrying the offset")
    size_param: str | None = Field(None, description="query parameter carrying the page size")
    page_size: int = Field(100, ge=1)
    cursor_param: str = Field("cursor", description="query parameter carrying the cursor")
    cursor_path: str = Field("next_cursor", description="dotted key of the next cursor")
    next_path: str = Field("next", description="dotted key of the next page URL (a Link: "
                           "rel=next header works too)")
    max_pages: int = Field(10_000, ge=1)
    headers_env: dict[str, str] = Field(
        default_factory=dict, description="header name -> environment variable holding its value, "
        "e.g. {Authorization: API_TOKEN}")
    timeout: float = Field(30.0, gt=0, description="seconds to wait for each answer")
    retries: int = Field(3, ge=0, description="retries on 429, 5xx, timeouts and connection errors")
    backoff: float = Field(0.5, ge=0, description="first retry delay in seconds; doubles each time")
    table_index: int = Field(0, ge=0, description="HTML: which table (0 = first matching)")
    table_match: str | None = Field(None, description="HTML: only tables containing this text")


class DataConfig(Section):
    source: str | None = Field(
        None, description="file path or glob, SQLAlchemy URL, or http(s) URL")
    table: str | None = Field(None, description="table to read when source is a database URL")
    query: str | None = Field(None, description="SQL query to run when source is a database URL")
    params: dict[str, Any] = Field(default_factory=dict, description="bound SQL query parameters")
    target: str | None = Field(None, description="column to predict")
    roles: dict[str, str] = Field(
        default_factory=dict,
        description="override inferred column roles: numeric, categorical, boolean, datetime, "
        "text, identifier, ignore",
    )
    drop_duplicates: bool = Field(True, description="drop exact duplicate rows before training")
    drop_missing_target: bool = Field(True, description="drop rows whose target is missing")
    drop_constant: bool = Field(True, description="exclude constant and all-missing columns")
    exclude_identifiers: bool = Field(True, description="exclude identifier-like columns")
    leakage_check: bool = Field(True, description="report features that alone predict the target "
                                "almost perfectly")
    encoding: str = Field("auto", description="text encoding; auto: UTF-8, else Windows-1252")
    delimiter: str | None = Field(None, description="field separator; default: detected")
    sheet: str | int = Field(0, description="Excel sheet name or index")
    row_order: Literal["source", "content"] = Field(
        "source", description="source: rows as read; content: sorted by content, so the same "
        "rows give the same model from any source (database tables have no order)")
    max_columns: int = Field(
        10_000, ge=1, description="data with more columns is refused before any work, with a "
        "clear message (bounded work on pathological files); raise it for wide data")
    http: HttpConfig = Field(default_factory=HttpConfig)


class ProblemConfig(Section):
    """What to solve. `task` names a task kind's task (binary, multiclass, regression, forecast,
    recommend, cluster, anomaly, or a plugin's); the other keys belong to the kinds that read
    them and a kind refuses keys that make no sense for it (`TaskKind.check_config`)."""

    task: str = Field("auto", description="auto (detected from the data) or a task name: "
                      "binary, multiclass, regression, forecast, recommend, cluster, anomaly")
    metric: str | None = Field(None, description="metric to optimise; default depends on task")
    positive_class: str | None = Field(None, description="class treated as positive (binary)")
    success: dict[str, str] = Field(
        default_factory=dict, description='criteria checked at the end, e.g. {roc_auc: ">= 0.8"}'
    )
    # forecast
    horizon: int | None = Field(None, ge=1, description="forecast: steps ahead to predict")
    time_column: str | None = Field(None, description="forecast, recommend: the time column")
    series_id: list[str] = Field(default_factory=list, description="forecast: series-id columns "
                                 "(none: one series)")
    frequency: str | None = Field(None, description="forecast: pandas frequency (D, W-FRI, MS, "
                                  "QS, h); default: inferred")
    season_length: int | list[int] | None = Field(
        None, description="forecast: season length(s) in steps; default: from the frequency")
    # recommend
    user_column: str | None = Field(None, description="recommend: the user id column")
    item_column: str | None = Field(None, description="recommend: the item id column")
    rating_column: str | None = Field(None, description="recommend: explicit rating or implicit "
                                      "weight (plays, clicks); none: every interaction counts 1")
    items: str | None = Field(None, description="recommend: item metadata file (genres, text)")
    item_key: str | None = Field(None, description="recommend: item id column of `items`")
    # cluster, anomaly
    n_clusters: int | None = Field(None, ge=1, description="cluster: number of clusters; "
                                   "default: chosen from internal indices")
    contamination: float | Literal["auto"] = Field(
        "auto", description="anomaly: expected share of anomalies (0..0.5), or auto")
    label_column: str | None = Field(None, description="anomaly, cluster: labels used only to "
                                     "evaluate and choose, never to train")
    options: dict[str, Any] = Field(default_factory=dict, description="settings of a plugin "
                                    "task kind")

    @field_validator("success")
    @classmethod
    def _criteria_parse(cls, value: dict[str, str]) -> dict[str, str]:
        for metric, rule in value.items():
            if not CRITERION.match(str(rule)):
                raise ValueError(
                    f"success criterion for {metric!r} is {rule!r}; write it as an operator and a "
                    "number, e.g. '>= 0.80'"
                )
        return {k: str(v) for k, v in value.items()}


class SplitConfig(Section):
    test_size: float = Field(0.2, gt=0.0, lt=0.9, description="share of rows held out for test")
    strategy: Literal["auto", "random", "stratified", "group", "time"] = "auto"
    group_column: str | None = None
    time_column: str | None = None
    cv_folds: int = Field(5, ge=2, le=20)


class TrainConfig(Section):
    time_budget: float = Field(60.0, gt=0, description="wall-clock seconds for model search")
    promote: Literal["better", "always"] = Field(
        "better", description="after training: better = the new model becomes champion unless "
        "it scores worse than the current champion on this training's held-out rows (then it "
        "is registered as challenger); always = it becomes champion")
    max_trials: int | None = Field(
        None, ge=1, description="deterministic mode: stop after this many candidates, ignore time"
    )
    families: list[str] = Field(
        default_factory=lambda: ["linear", "lightgbm", "xgboost", "catboost", "extra_trees",
                                 "random_forest", "knn", "mlp"],
        description="model families to search",
    )
    ensemble: bool = Field(True, description="greedy ensemble selection over candidates")
    stacking: bool = Field(False, description="also try a linear stacker over the top candidates")
    max_predict_ms_per_row: float | None = Field(
        None, gt=0, description="cap on the final model's prediction cost; keeps ensembles small")
    class_weight: Literal["none", "balanced"] = Field(
        "none", description="balanced: weight classes inversely to their frequency")
    calibration: Literal["auto", "none", "sigmoid", "isotonic", "temperature"] = Field(
        "auto", description="probability calibration on out-of-fold predictions; auto keeps it "
        "only if it lowers cross-validated log loss")
    threshold: Literal["auto", "none", "f1", "cost"] = Field(
        "auto", description="binary decision threshold tuned on out-of-fold predictions; auto = "
        "cost when cost_matrix is set, else none (0.5)")
    cost_matrix: list[list[float]] | None = Field(
        None, description="binary costs [[TN, FP], [FN, TP]] (rows: true class negative/positive)")
    adaptive_folds: bool = Field(
        True, description="use 3 CV folds above 20,000 training rows so the budget buys trials")


class RegistryConfig(Section):
    tracking_uri: str | None = Field(None, description="MLflow URI; default: SQLite in workspace")
    model_name: str | None = Field(None, description="registered model name; default: project")
    log_data_snapshot: bool = Field(
        True, description="log the training data as Parquet with each run, so `fullcycle "
        "reproduce` can retrain; turn off for data too large or too sensitive to copy")


class ServeConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_keys_env: str = Field("FULLCYCLE_API_KEYS", description="env var with comma-separated keys")
    max_rows: int = Field(10_000, ge=1, description="rows accepted in one request")
    max_body_bytes: int = Field(10_000_000, ge=1024)
    log_url: str | None = Field(None, description="prediction log database; default SQLite")
    reload_seconds: float = Field(0.0, ge=0, description="poll the champion alias; 0 = off")
    api_keys_file: str | None = Field(None, description="file with one API key per line")
    max_upload_bytes: int = Field(200_000_000, ge=1024, description="cap for POST /predict/file")
    cors_origins: list[str] = Field(default_factory=list, description="CORS origins; [] = off")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes")
    log_predictions: bool = Field(True, description="write every prediction to the log")
    open_metrics: bool = Field(
        False, description="with API keys on, let /metrics answer without a key (for a "
        "Prometheus scraper); /health and /ready are always open")


class MonitorConfig(Section):
    psi_threshold: float = Field(0.2, gt=0, description="PSI at or above this flags a feature")
    drift_share: float = Field(0.3, gt=0, le=1, description="share of drifted features = alert")
    performance_drop: float = Field(0.05, ge=0, description="relative metric drop = alert")
    promote_margin: float = Field(0.0, ge=0, description="challenger must win by this much")
    wasserstein_threshold: float | None = Field(
        0.1, gt=0, description="Wasserstein distance / reference std flagging a numeric feature")
    js_threshold: float | None = Field(
        0.1, gt=0, description="Jensen-Shannon distance (bits) flagging a categorical feature")
    ks_threshold: float | None = Field(None, gt=0, description="KS statistic flagging; off=None")
    cramers_v_threshold: float | None = Field(None, gt=0, description="chi-square Cramér's V")
    missing_jump: float = Field(0.1, gt=0, le=1, description="missing-rate rise = alert")
    min_rows: int = Field(30, ge=1, description="fewer present values: drift not judged")
    quality_share: float = Field(
        0.01, ge=0, le=1, description="share of rows out of range / unseen / invalid = alert")
    warning_share: float = Field(
        0.05, ge=0, le=1, description="share of logged predictions that carried data-quality "
        "warnings (imputed blanks, unseen categories, out of range) above which monitoring of "
        "the prediction log alerts")
    performance_window: str = Field("1D", description="time window for live metrics (pandas "
                                    "frequency, e.g. 1h, 1D, 7D)")
    min_labels: int = Field(30, ge=1, description="labelled rows a window needs to be judged")
    holdout_share: float = Field(
        0.3, gt=0, lt=1, description="retrain: newest share of labelled rows held out to compare")
    retrain_on: list[Literal["drift", "quality", "performance"]] = Field(
        default_factory=list, description="alerts that make `fullcycle monitor` retrain")
    sample_rows: int | None = Field(
        None, ge=1000, description="drift/quality on a random sample of this many rows; "
        "None = the whole window")


class EvaluateConfig(Section):
    sensitive_columns: list[str] = Field(
        default_factory=list, description="columns whose groups get a fairness table in the report")
    intended_use: str | None = Field(None, description="model card: what the model is for")
    limitations: list[str] = Field(default_factory=list, description="model card: known limits")
    bootstrap: int = Field(200, ge=0, le=10_000, description="resamples for 95% intervals")
    cv: bool = Field(True, description="cross-validate the full metric suite on training rows")
    learning_curve: bool = Field(True, description="refit on growing shares of training rows")
    shap_rows: int = Field(300, ge=10, description="rows sampled for SHAP plots")


class FeaturesConfig(Section):
    """Preprocessing and feature engineering; `auto` means chosen per column from the data."""

    impute: Literal["auto", "median", "mean", "mode", "constant", "iterative"] = Field(
        "auto", description="numeric missing values; auto picks per column")
    missing_indicators: Literal["auto", "always", "never"] = Field(
        "auto", description="auto: add a flag column where missingness is informative")
    outliers: Literal["none", "iqr", "zscore", "isolation_forest"] = "none"
    outlier_action: Literal["clip", "flag", "drop"] = Field(
        "clip", description="drop removes rows from training only, never at prediction")
    one_hot_max: int = Field(15, ge=2, description="one-hot at or below this many categories")
    native_max: int = Field(64, ge=2, description="native categorical (LightGBM...) up to this")
    rare_min_count: int = Field(10, ge=1, description="rarer categories are grouped as __rare__")
    target_encoding_folds: int = Field(5, ge=2, le=20)
    target_smoothing: float | Literal["auto"] = Field(
        "auto", description="target encoding shrinkage: a count m, or auto (empirical Bayes)")
    scaler: Literal["standard", "robust", "quantile"] = "standard"
    log_skewed: bool = Field(True, description="log1p skewed non-negative features (linear)")
    skew_threshold: float = Field(1.0, gt=0)
    target_transform: Literal["auto", "log", "none"] = Field(
        "auto", description="regression: log1p a skewed non-negative target, inverse at predict")
    category_codes: Literal["auto", "always", "never"] = Field(
        "auto", description="boosting: a many-level column's native codes next to its target "
                            "encoding: tried against the encoding alone (auto), always, never")
    text: Literal["tfidf", "hashing"] = "tfidf"
    text_max_features: int = Field(100, ge=1, le=5000)
    datetime_elapsed: bool = Field(True, description="days since the training start")
    generate: bool = Field(False, description="search ratios/differences/group means/counts; "
                           "keep a kind only when it improves the out-of-fold score")
    # null by default: two columns correlated at 0.98 can still differ where it matters (the
    # California population follows households, correlated 0.98 with total_bedrooms)
    drop_correlated: float | None = Field(None, gt=0, le=1, description="|r| above which one "
                                          "of two features is dropped; null = keep both")
    select: Literal["none", "mutual_info", "importance"] = "none"
    select_k: int | float = Field(0.8, gt=0, description="features kept: a count or a share")
    pca: int | float | None = Field(None, gt=0, description="PCA components (count or variance "
                                    "share) for linear/tree families")


class ContractConfig(Section):
    missing: Literal["impute", "strict"] = Field(
        "impute", description="a missing value in a column that had none in training: impute "
        "(the model's own imputer fills it; counted as a data-quality warning) or strict "
        "(refused: 422 / a row error)")


class ComputeConfig(Section):
    """Where the work runs: one process (default) or a Dask cluster."""

    cluster: str | None = Field(
        None, description="Dask scheduler address (tcp://host:8786), or local[:N] to start N "
        "local workers; none: everything in this process")
    worker_memory: str | None = Field(
        None, description="memory limit per worker of a local cluster, e.g. 3GB; default: "
        "the machine's memory shared between the workers")
    blocksize: str = Field("64MB", description="bytes of CSV per partition the workers read")
    sql_key: str | None = Field(
        None, description="database source: the integer column whose ranges split data.table "
        "into the workers' partitions; default: its integer primary key (SQLite: rowid)")
    sample_rows: int = Field(
        200_000, ge=1000, description="rows sampled to fit the preprocessing and to search the "
        "families that train on one machine (linear, k-NN, MLP, CatBoost) on a cluster")


class Config(Section):
    project: str = Field("fullcycle", pattern=r"^[A-Za-z0-9_.-]+$")
    seed: int = 42
    data: DataConfig = Field(default_factory=DataConfig)
    problem: ProblemConfig = Field(default_factory=ProblemConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    compute: ComputeConfig = Field(default_factory=ComputeConfig)
    contract: ContractConfig = Field(default_factory=ContractConfig)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str = "config") -> Config:
        try:
            return cls.model_validate(raw)
        except PydanticValidationError as exc:
            raise ConfigError(_explain(exc, where)) from None

    @classmethod
    def load(cls, path: str | Path) -> Config:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"config file {path} does not exist; create one with `fullcycle init`")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path} must hold a mapping of settings, not {type(raw).__name__}")
        config = cls.from_dict(raw, where=str(path))
        # A relative data source is relative to the config file, not to the current directory.
        src = config.data.source
        if src and "://" not in src and not Path(src).is_absolute():
            candidate = path.parent / src
            if candidate.exists() or any(candidate.parent.glob(candidate.name)):
                config.data.source = str(candidate)
        return config

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def _section_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(str(part))
        if field is None or not isinstance(field.annotation, type):
            return model
        if issubclass(field.annotation, BaseModel):
            model = field.annotation
        else:
            return model
    return model


def _explain(exc: PydanticValidationError, where: str) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc)
        if err["type"] == "extra_forbidden":
            section = _section_at(loc[:-1])
            valid = section.model_fields.keys() if section else []
            lines.append(f"{where}: unknown key {key!r}.{did_you_mean(str(loc[-1]), valid)}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {key}: {msg} (got {err.get('input')!r})")
    return "\n".join(lines)
