"""Explanations: why the model predicts what it predicts.

- Per prediction: exact SHAP values for tree models (LightGBM's own `pred_contrib`, XGBoost's
  `pred_contribs`, SHAP's TreeExplainer for the others), computed on the transformed row and summed
  back onto the input columns (a one-hot encoded column's parts add up to the column). Other models
  get an occlusion explanation: the change in output when one input is set to its typical value.
- Global: permutation importance on the test rows (any model), and SHAP summaries for trees.

`explain_records(model, records)` is what `POST /explain` and `Project.explain` call; the
explainer is built once per model and cached on it, so per-request cost is one transform and one
tree traversal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.errors import DataError
from fullcycle.model import Model
from fullcycle.tasks.tabular.search.search import score_predictions

_PREFIX = re.compile(r"^[A-Za-z0-9]+__")
_GENERATED = ("_per_", "_minus_", "_mean_by_")  # features/generate.py: pairs of inputs


@dataclass
class Explanation:
    """Contributions per input feature: `base + contributions.sum(axis=1) == raw output` for the
    exact (tree) methods."""

    contributions: pd.DataFrame  # rows x input features
    base: np.ndarray  # (rows,)
    output: np.ndarray  # (rows,) the raw output being explained
    output_name: str
    method: str
    exact: bool


def _split_pipeline(pipeline: Any) -> tuple[Any, Any]:
    """(transformer, final estimator) of a sklearn Pipeline; (None, obj) otherwise."""
    steps = getattr(pipeline, "steps", None)
    if not steps or len(steps) < 2:
        return None, pipeline
    return pipeline[:-1], steps[-1][1]


def _tree_kind(estimator: Any) -> str | None:
    module = type(estimator).__module__
    if module.startswith("lightgbm"):
        return "lightgbm"
    if module.startswith("xgboost"):
        return "xgboost"
    if module.startswith("catboost") or module.startswith("sklearn.ensemble._forest") or \
            module.startswith("sklearn.tree") or module.startswith("sklearn.ensemble._gb"):
        import importlib.util

        # SHAP is the optional extra `fullcycle[explain]`; without it, occlusion explains
        return "shap_tree" if importlib.util.find_spec("shap") is not None else None
    return None


def _unwrap(estimator: Any) -> Any:
    """fullcycle's family wrapper (and similar) keep the real model in `estimator_`."""
    for _ in range(3):
        if _tree_kind(estimator) is not None or not hasattr(estimator, "estimator_"):
            break
        estimator = estimator.estimator_
    return estimator


def input_groups(output_names: list[str], inputs: list[str]) -> list[str]:
    """The input column each transformed column comes from: `num__tenure`, `num__tenure_missing`,
    `cat__Contract=One year`, `cat__Contract_One year`, `dt__date_month_sin` all map back by the
    longest input name they start with; generated pair features (`a_per_b`) and unknown outputs
    keep their own name, without the branch prefix."""
    by_length = sorted(inputs, key=len, reverse=True)
    groups = []
    for name in output_names:
        bare = _PREFIX.sub("", str(name)).removeprefix("missingindicator_")
        if bare not in inputs and any(m in bare for m in _GENERATED):
            groups.append(bare)  # built from two inputs: it keeps its own name
            continue
        match = next((c for c in by_length
                      if bare == c or bare.startswith((c + "_", c + "="))), None)
        groups.append(match if match is not None else bare)
    return groups


class Explainer:
    """Built once per model; `explain(frame)` returns an Explanation."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.inputs = [c.name for c in model.schema.features]
        self.transform, self.estimator = _split_pipeline(model.pipeline)
        self.estimator = _unwrap(self.estimator)
        self.kind = _tree_kind(self.estimator) if self.transform is not None else None
        self._shap: Any = None
        self.groups: list[str] = []
        if self.kind is not None:
            try:
                names = [str(n) for n in self.transform.get_feature_names_out()]
            except (AttributeError, ValueError, TypeError):
                names = []
            self.groups = input_groups(names, self.inputs) if names else []
            if not names:
                self.kind = None  # cannot map contributions back to inputs
        self.background = _typical_row(model, self.inputs)
        if self.kind is not None and not self._reproduces_model():
            self.kind = None  # post-processing (e.g. calibration) the tree margin does not show

    def _reproduces_model(self) -> bool:
        """The tree output explained must be the model's own: check on the typical row."""
        frame = pd.DataFrame([self.background])
        try:
            raw = self._tree_contributions(frame).sum(axis=1)
        except Exception:  # any failure means: fall back to occlusion
            return False
        scores = self.model.predict_scores(frame)
        if not self.model.problem.is_classification:
            expected = scores
        elif self.kind == "shap_tree":
            expected = scores[:, -1] if self.model.problem.task == "binary" else scores.max(axis=1)
        else:  # log-odds (binary) or the predicted class's softmax margin (multiclass)
            p = scores[:, -1] if self.model.problem.task == "binary" else None
            if p is None:
                return True  # softmax margins are defined up to a constant; trust the booster
            expected = np.log(p / (1 - p))
        return bool(np.allclose(raw, expected, rtol=1e-4, atol=1e-4))

    @property
    def method(self) -> str:
        return {"lightgbm": "tree SHAP (LightGBM pred_contrib)",
                "xgboost": "tree SHAP (XGBoost pred_contribs)",
                "shap_tree": "tree SHAP (shap.TreeExplainer)"}.get(
                    self.kind or "", "occlusion (set to typical value)")

    def explain(self, data: pd.DataFrame | list[dict[str, Any]] | dict[str, Any], *,
                matrix: np.ndarray | None = None) -> Explanation:
        """`matrix`: the rows already transformed (the server's compiled fast path), which
        saves the pandas preprocessing; used only when its width is the model's."""
        frame = self.model._frame(data)
        if self.kind is None:
            return self._occlusion(frame)
        if matrix is not None and matrix.shape != (len(frame), len(self.groups)):
            matrix = None
        raw = self._tree_contributions(frame, matrix)  # rows x (inputs + 1), explained class
        phi, base = raw[:, :-1], raw[:, -1]
        names, summing = self._grouping()
        grouped = pd.DataFrame(phi @ summing, columns=names)
        return Explanation(contributions=grouped, base=base,
                           output=base + phi.sum(axis=1), output_name=self._output_name(),
                           method=self.method, exact=True)

    def _grouping(self) -> tuple[list[str], np.ndarray]:
        """Input names (the user's order, generated features last) and the 0/1 matrix that
        sums transformed columns onto them: one matrix product per request."""
        if getattr(self, "_grouping_cache", None) is None:
            present = list(dict.fromkeys(self.groups))
            names = [c for c in self.inputs if c in present] + \
                [c for c in present if c not in self.inputs]
            index = {n: i for i, n in enumerate(names)}
            summing = np.zeros((len(self.groups), len(names)))
            for j, group in enumerate(self.groups):
                summing[j, index[group]] = 1.0
            self._grouping_cache = (names, summing)
        return self._grouping_cache

    def scores_from(self, explanation: Explanation) -> np.ndarray | None:
        """The model's scores rebuilt from the explained output (checked at construction to be
        the model's own), so explaining does not transform the rows a second time; None where
        the output does not determine them (multiclass, occlusion)."""
        problem = self.model.problem
        if not explanation.exact or problem.task == "multiclass":
            return None
        out = explanation.output
        if problem.task == "regression":
            return out
        p1 = out if self.kind == "shap_tree" else 1 / (1 + np.exp(-out))
        return np.column_stack([1 - p1, p1])

    def _output_name(self) -> str:
        problem = self.model.problem
        if not problem.is_classification:
            return f"predicted {problem.target}"
        if self.kind == "shap_tree":
            space = "probability"
        else:
            space = "log-odds" if problem.task == "binary" else "raw score (softmax input)"
        if problem.task == "binary":
            return f"{space} of {problem.labels[-1]!r}"
        return f"{space} of the predicted class"

    def _tree_contributions(self, frame: pd.DataFrame, matrix: np.ndarray | None = None,
                            ) -> np.ndarray:
        Xt = self.transform.transform(frame) if matrix is None else matrix
        if hasattr(Xt, "toarray"):
            Xt = Xt.toarray()
        Xt = np.asarray(Xt, dtype="float64")
        if self.kind == "lightgbm":
            # The booster itself: the sklearn wrapper's checks cost more than one row's trees.
            # One thread for small requests: an OpenMP team per one-row call costs more than
            # the trees on a busy machine (the server's concurrency comes from requests).
            threads = {"num_threads": 1} if len(Xt) <= 64 else {}
            raw = np.asarray(self.estimator.booster_.predict(Xt, pred_contrib=True, **threads))
        elif self.kind == "xgboost":
            import xgboost as xgb

            raw = np.asarray(self.estimator.get_booster().predict(xgb.DMatrix(Xt),
                                                                  pred_contribs=True))
        else:
            raw = self._shap_tree(Xt)
        width = Xt.shape[1] + 1
        if raw.ndim == 3:  # (rows, classes, features+1) from xgboost multiclass
            raw = raw.reshape(len(Xt), -1)
        n_out = raw.shape[1] // width
        if n_out <= 1:
            return raw
        per_class = raw.reshape(len(Xt), n_out, width)
        if self.model.problem.task == "binary":
            return per_class[:, -1, :]
        chosen = per_class.sum(axis=2).argmax(axis=1)  # the class with the largest margin
        return per_class[np.arange(len(Xt)), chosen, :]

    def _shap_tree(self, Xt: np.ndarray) -> np.ndarray:
        if self._shap is None:
            import shap  # ~2 s to import: only when a non-LightGBM tree model is explained

            self._shap = shap.TreeExplainer(self.estimator)
        values = self._shap.shap_values(Xt, check_additivity=False)
        expected = np.atleast_1d(np.asarray(self._shap.expected_value, dtype="float64"))
        values = np.asarray(values)
        if values.ndim == 2:  # regression, or one output
            return np.column_stack([values, np.full(len(Xt), expected[0])])
        if values.shape[0] != len(Xt):  # old layout: (classes, rows, features)
            values = np.transpose(values, (1, 0, 2))
        rows = [np.column_stack([values[:, :, c], np.full(len(Xt), expected[c])])
                for c in range(values.shape[2])]
        return np.concatenate(rows, axis=1)

    def _occlusion(self, frame: pd.DataFrame) -> Explanation:
        """Output change when each input is replaced by its typical (training) value; all
        variants go through the model in one batch."""
        cols = [c for c in self.inputs if c in frame.columns]
        n = len(frame)
        variants = [frame.reset_index(drop=True), pd.DataFrame([self.background] * n)]
        for col in cols:
            occluded = variants[0].copy()
            occluded[col] = pd.Series([self.background.get(col)] * n, dtype=object)
            variants.append(occluded)
        outputs = self._scalar_output(pd.concat(variants, ignore_index=True)).reshape(-1, n)
        out, base = outputs[0], outputs[1]
        contributions = pd.DataFrame({c: out - outputs[2 + i] for i, c in enumerate(cols)})
        return Explanation(contributions=contributions, base=base, output=out,
                           output_name=self._occlusion_name(), method=self.method, exact=False)

    def _scalar_output(self, frame: pd.DataFrame) -> np.ndarray:
        scores = self.model.predict_scores(frame)
        return scores[:, -1] if scores.ndim == 2 else scores

    def _occlusion_name(self) -> str:
        problem = self.model.problem
        if problem.is_classification:
            return f"probability of {problem.labels[-1]!r}"
        return f"predicted {problem.target}"


def _typical_row(model: Model, inputs: list[str]) -> dict[str, Any]:
    """Median of numeric inputs and most frequent category: the card's synthetic example."""
    example = model.card.input_example
    return {name: example.get(name) for name in inputs}


def explainer_for(model: Model) -> Explainer:
    cached = getattr(model, "_fc_explainer", None)
    if cached is None:
        cached = Explainer(model)
        model._fc_explainer = cached  # type: ignore[attr-defined]
    return cached


def explain_records(model: Model, records: pd.DataFrame | list[dict[str, Any]] | dict[str, Any],
                    top: int | None = None, *, matrix: np.ndarray | None = None,
                    ) -> list[dict[str, Any]]:
    """One explanation per record: prediction, base value, and the contribution of each input
    (largest first); the contributions and the base add up to `output` for tree models."""
    frame = model._frame(records)
    if len(frame) == 0:
        raise DataError("no records to explain; send at least one")
    explainer = explainer_for(model)
    explanation = explainer.explain(frame, matrix=matrix)
    scores = explainer.scores_from(explanation)
    if scores is None:
        scores = model.predict_scores(frame)
    labels = model.labels_from_scores(scores)
    names = [str(c) for c in explanation.contributions.columns]
    values = explanation.contributions.to_numpy(dtype="float64")
    raw_rows = frame.to_dict(orient="records")  # plain per-row access; iloc costs ms per row
    out = []
    for i, raw in enumerate(raw_rows):
        order = np.argsort(-np.abs(values[i]), kind="stable")[: top or len(names)]
        items = [{"feature": names[j], "value": _plain(raw.get(names[j])),
                  "contribution": float(values[i, j])} for j in order]
        out.append({"prediction": _plain(labels[i]), "base_value": float(explanation.base[i]),
                    "output": float(explanation.output[i]), "output_name": explanation.output_name,
                    "method": explanation.method, "exact": explanation.exact,
                    "contributions": items})
    return out


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value if isinstance(value, (int, float, str, bool)) else str(value)


# --- global explanations --------------------------------------------------------------------
def permutation_importance(model: Model, X: pd.DataFrame, y: np.ndarray, *, repeats: int = 3,
                           seed: int = 0, max_rows: int = 2000) -> pd.DataFrame:
    """Drop in the model's metric when one input column is shuffled (on raw input rows, so it
    works for every model and speaks in the user's columns)."""
    rng = np.random.default_rng(seed)
    if len(X) > max_rows:
        keep = np.sort(rng.choice(len(X), max_rows, replace=False))
        X, y = X.iloc[keep], y[keep]
    X = X.reset_index(drop=True)
    problem = model.problem
    sign = problem.scorer.sign()
    base = score_predictions(problem, y, model.predict_scores(X))
    variants, keys = [], []
    for col in X.columns:
        for _ in range(repeats):
            shuffled = X.copy()
            shuffled[col] = X[col].to_numpy()[rng.permutation(len(X))]
            variants.append(shuffled)
            keys.append(col)
    # One batch through the model: per-call overhead, not rows, dominates small test sets.
    scores = model.predict_scores(pd.concat(variants, ignore_index=True))
    drops: dict[str, list[float]] = {}
    for i, col in enumerate(keys):
        part = scores[i * len(X):(i + 1) * len(X)]
        drops.setdefault(col, []).append(sign * (base - score_predictions(problem, y, part)))
    rows = [{"feature": c, "importance": float(np.mean(d)), "std": float(np.std(d))}
            for c, d in drops.items()]
    return pd.DataFrame(rows).sort_values("importance", ascending=False, ignore_index=True)


def shap_summary(model: Model, X: pd.DataFrame, *, rows: int = 300, seed: int = 0,
                 ) -> dict[str, Any] | None:
    """SHAP values on a sample of rows, for tree models only (None otherwise)."""
    explainer = explainer_for(model)
    member_note = ""
    if explainer.kind is None:
        found = _tree_member(model)
        if found is None:
            return None
        explainer, member_note = found
    if len(X) > rows:
        X = X.iloc[np.sort(np.random.default_rng(seed).choice(len(X), rows, replace=False))]
    X = X.reset_index(drop=True)
    explanation = explainer.explain(X)
    contrib = explanation.contributions
    order = contrib.abs().mean().sort_values(ascending=False)
    return {"frame": X, "contributions": contrib[order.index], "mean_abs": order,
            "output_name": explanation.output_name, "method": explanation.method + member_note,
            "base": float(np.mean(explanation.base))}


def _tree_member(model: Model) -> tuple[Explainer, str] | None:
    """For a weighted ensemble, the tree member with the largest weight: its SHAP values show
    what drives most of the blend (labelled as such; per-row answers stay occlusion)."""
    members = getattr(model.pipeline, "members", None)
    weights = getattr(model.pipeline, "weights", None)
    if not members or not weights or getattr(model.pipeline, "stacker", None) is not None:
        return None
    names = getattr(model.pipeline, "names", None) or [str(i) for i in range(len(members))]
    for i in np.argsort(weights)[::-1]:
        member = Model(members[i], model.card)
        explainer = Explainer(member)
        if explainer.kind is not None:
            return explainer, f", of ensemble member {names[i]} (weight {weights[i]:.2f})"
    return None
