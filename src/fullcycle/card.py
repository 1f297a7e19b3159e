"""The model card: everything a model says about itself, typed, readable without unpickling.

A card travels with every Model (`model.card`) and is saved as `model.json` next to the
predictor. Every stage reads what it needs from here: the task kind that predicts and monitors
the model (`kind`), the supervised facts (`task`, `target`, `classes`, `threshold`, `metric`),
the data contract (`schema`), ONE reference profile of the training data and of the model's own
outputs (`reference`, the drift sketches of monitor/reference.py), where the model came from
(`provenance`), a synthetic input example, what training found (`training`) and the kind's own
facts (`task_info`: horizon, frequency, series ids, catalogue size...).

Foundation layer: imports only errors, the schema and the secret masking.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from fullcycle.data.schema import Schema
from fullcycle.errors import ModelError
from fullcycle.provenance import mask_secrets, mask_text

CARD_VERSION = 2  # model.json's `format_version`; 1 = the untyped metadata dict (retrain)


@dataclass
class Provenance:
    """Where a model came from. `config` is the whole config with secrets masked."""

    data_fingerprint: str | None = None
    data_source: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    code_version: str | None = None
    trained_at: str | None = None
    rows_train: int | None = None
    rows_test: int | None = None


@dataclass
class TrainingSummary:
    """What training found: the search, the chosen model and how it scored."""

    best_candidate: str | None = None
    family: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    cv_score: float | None = None  # of `card.metric`, out of fold
    cv_fold_scores: list[float] = field(default_factory=list)
    test_metrics: dict[str, float] = field(default_factory=dict)
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    search: dict[str, Any] = field(default_factory=dict)  # trials, finished, pruned, seconds...
    final_model: dict[str, Any] = field(default_factory=dict)  # what was refit (ensemble...)
    ensemble: list[dict[str, Any]] | None = None
    calibration: dict[str, Any] | None = None
    threshold_tuning: dict[str, Any] | None = None
    diagnosis: list[str] = field(default_factory=list)


@dataclass
class ModelCard:
    kind: str  # the task kind (taskkind.get_kind) that predicts, evaluates and monitors it
    task: str  # a task of that kind: binary, multiclass, regression, forecast, cluster...
    target: str | None
    metric: str
    schema: Schema
    classes: list[str] = field(default_factory=list)  # classification: positive class last
    threshold: float | None = None  # binary decision threshold on P(positive class)
    success: dict[str, str] = field(default_factory=dict)  # metric -> rule, e.g. ">= 0.8"
    # The one reference profile: {"format", "rows", "features": {column: sketch},
    # "prediction": sketch} (see monitor/reference.py). Drift, serving buckets and typical
    # values all read it.
    reference: dict[str, Any] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)
    input_example: dict[str, Any] = field(default_factory=dict)  # synthetic, typical values
    training: TrainingSummary = field(default_factory=TrainingSummary)
    task_info: dict[str, Any] = field(default_factory=dict)  # kind-specific facts
    version: str | None = None  # registry version once loaded from it (not saved)

    @property
    def labels(self) -> list[str]:
        return self.classes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, secrets masked (a card is shipped to servers and logged to MLflow)."""
        out = asdict(self)
        out.pop("version")
        out["schema"] = self.schema.to_dict()
        prov = out["provenance"]
        prov["config"] = mask_secrets(prov["config"])
        if prov["data_source"]:
            prov["data_source"] = mask_text(prov["data_source"])
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelCard:
        try:
            data = dict(raw)
            data["schema"] = Schema.from_dict(data["schema"])
            data["provenance"] = _build(Provenance, data.get("provenance") or {})
            data["training"] = _build(TrainingSummary, data.get("training") or {})
            return _build(cls, data)
        except (KeyError, TypeError) as exc:
            raise ModelError(f"model card is incomplete or malformed ({exc}); retrain the "
                             "model with this fullcycle") from None


def _build(cls: Any, raw: dict[str, Any]) -> Any:
    """A dataclass from a dict, ignoring keys a newer fullcycle may have added."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in raw.items() if k in names})


def typical_example(schema: Schema, reference: dict[str, Any]) -> dict[str, Any]:
    """A synthetic input row of typical values (median number, most frequent category) read
    from the reference sketches and the data contract, never a verbatim training row."""
    features = reference.get("features", {})
    row: dict[str, Any] = {}
    for spec in schema.features:
        sketch = features.get(spec.name) or {}
        row[spec.name] = _typical(spec, sketch)
    return row


def _typical(spec: Any, sketch: dict[str, Any]) -> Any:
    if spec.role == "numeric":
        value = _median(sketch)
        if value is None:
            value = _middle(spec.minimum, spec.maximum)
        if value is None:
            return None
        if spec.dtype.startswith(("int", "Int", "uint")) or _integral(spec):
            return int(round(value))
        return float(value)
    if spec.role == "boolean":
        share = _median(sketch)
        if share is not None:
            return bool(share >= 0.5)
        top = _top_category(sketch)
        return None if top is None else str(top).strip().lower() in ("true", "1", "yes")
    if spec.role == "datetime":
        return None  # optional in the contract; a made-up date would be a guess
    top = _top_category(sketch)
    if top is None and spec.categories:
        top = spec.categories[0]
    return top


def _integral(spec: Any) -> bool:
    lo, hi = spec.minimum, spec.maximum
    return lo is not None and hi is not None and float(lo).is_integer() \
        and float(hi).is_integer() and spec.dtype.startswith(("int", "Int"))


def _median(sketch: dict[str, Any]) -> float | None:
    if sketch.get("quantiles"):
        qs = sketch["quantiles"]
        if isinstance(qs, dict):
            qs = list(qs.values())
        return float(qs[len(qs) // 2])
    values, counts = sketch.get("values"), sketch.get("counts")
    if values and counts and len(values) == len(counts):
        half, seen = sum(counts) / 2, 0
        for value, count in zip(values, counts, strict=True):
            seen += count
            if seen >= half:
                return float(value)
    if sketch.get("mean") is not None:
        return float(sketch["mean"])
    return None


def _middle(lo: float | None, hi: float | None) -> float | None:
    return None if lo is None or hi is None else (float(lo) + float(hi)) / 2


def _top_category(sketch: dict[str, Any]) -> Any:
    cats, counts = sketch.get("categories"), sketch.get("counts")
    if cats and counts and len(cats) == len(counts):
        return cats[max(range(len(cats)), key=lambda i: counts[i])]
    return cats[0] if cats else None
