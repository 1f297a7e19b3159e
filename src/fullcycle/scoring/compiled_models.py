"""The estimator half of the compiled path (see `compiled.py` for the preprocessing half).

Each fitted estimator becomes `scores(matrix) -> probabilities (n, k) | values (n,)`, computed the
way its sklearn wrapper computes them but without the wrapper's DataFrame checks:

- LightGBM: `booster.predict` on the float matrix (native categorical columns hold the level
  codes, which is what LightGBM's pandas path feeds the booster; the levels are checked against
  the booster's `pandas_categorical`), one thread for request-sized calls;
- XGBoost: `booster.inplace_predict`, float32 arithmetic kept as the wrapper does;
- CatBoost: numeric-only binary/RMSE models as numpy over their oblivious trees for request
  sizes; otherwise its own `predict_proba`/`predict` on the matrix (native categorical columns
  turned back into their level texts, which is what CatBoost reads from a pandas category);
- logistic regression, ridge, linear regression: the dot product, expit/softmax;
- random forest / extra trees: each tree's `apply` and a leaf table; MLP: the forward pass;
- wrappers: FamilyModel, AutoTargetRegressor (log1p target), OutlierDropper;
- EnsembleModel: members compiled one by one (members whose fitted preprocessing is equal
  share one computation of it), blended by weights or a linear stacker, then its calibrator
  (temperature, sigmoid, isotonic: numpy in, numpy out).
Not compiled (Unsupported -> the typed path): k nearest neighbours, multi-output forests,
XGBoost multi:softmax, CatBoost with text features. Inside an ensemble such a member alone runs
as its own pipeline on a typed frame; the other members stay compiled.

`CompiledPath` is what the server (`scores`), batch scoring (`scores_columns`) and `/explain`
(`matrix`) call."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from fullcycle.scoring.compiled import Columns, Inputs, compile_preprocess, parse_dates
from fullcycle.scoring.fastpath import Unsupported

Scores = Callable[[np.ndarray], np.ndarray]
ONE_THREAD_ROWS = 4096  # request sizes use one thread: the server parallelises over requests
SMALL_BATCH = 64  # up to this many rows numpy tree evaluation beats a library's per-call setup


def _threads(n: int) -> int:
    return 1 if n <= ONE_THREAD_ROWS else os.cpu_count() or 1


def _width(est: Any, cols: Columns) -> None:
    n = getattr(est, "n_features_in_", None)
    if n is not None and int(n) != len(cols.names):
        raise Unsupported(f"{type(est).__name__} expects {n} columns, gets {len(cols.names)}")


def _numeric_only(cols: Columns, what: str) -> None:
    if any(lv is not None for lv in cols.levels):
        raise Unsupported(f"{what} with native categorical columns")


# --- libraries -------------------------------------------------------------------------------
def _lightgbm(est: Any, cols: Columns, classify: bool) -> Scores:
    _width(est, cols)
    booster = est.booster_
    wanted = [list(lv) for lv in cols.levels if lv is not None]
    known = [list(c) for c in (getattr(booster, "pandas_categorical", None) or [])]
    if wanted != known:
        raise Unsupported("native categories differ from the booster's pandas_categorical")
    if classify:
        if est.n_classes_ == 2:
            def binary(x: np.ndarray) -> np.ndarray:
                raw = booster.predict(x, num_threads=_threads(len(x)))
                return np.column_stack([1.0 - raw, raw])
            return binary
        return lambda x: booster.predict(x, num_threads=_threads(len(x)))
    return lambda x: booster.predict(x, num_threads=_threads(len(x)))


def _xgboost(est: Any, cols: Columns, classify: bool) -> Scores:
    _width(est, cols)
    if not est._can_use_inplace_predict() or est.objective == "multi:softmax":
        raise Unsupported("xgboost model without in-place prediction")
    booster = est.get_booster()
    natives = sum(lv is not None for lv in cols.levels)
    if natives and list(booster.feature_types or []).count("c") != natives:
        raise Unsupported("xgboost categorical columns differ")
    iteration_range = est._get_iteration_range(None)
    missing = est.missing

    def raw(x: np.ndarray) -> np.ndarray:
        return booster.inplace_predict(data=x, iteration_range=iteration_range,
                                       predict_type="value", missing=missing,
                                       validate_features=False)
    if not classify:
        return raw
    n_classes = est.n_classes_

    def proba(x: np.ndarray) -> np.ndarray:
        p = raw(x)
        if p.ndim == 2 and p.shape[1] == n_classes:
            return p
        return np.vstack((1.0 - p, p)).transpose()  # float32, as the wrapper returns it

    return proba


def _catboost(est: Any, cols: Columns, classify: bool) -> Scores:
    if est.get_param("text_features") or est.get_param("embedding_features"):
        raise Unsupported("CatBoost with text features")
    if [str(n) for n in est.feature_names_] != cols.names:
        raise Unsupported("CatBoost was fitted on other column names")
    predict = est.predict_proba if classify else est.predict
    cats = [str(c) for c in (est.get_param("cat_features") or [])]
    native = [j for j, lv in enumerate(cols.levels) if lv is not None]
    if [cols.names[j] for j in native] != cats:
        raise Unsupported("CatBoost categorical features differ from the native columns")
    if not native:
        trees = _oblivious_trees(est, classify)
        if trees is None:
            return predict
        return lambda x: trees(x) if len(x) <= SMALL_BATCH else predict(x)
    # CatBoost reads a pandas category column by its values: hand it the level texts.
    levels = {j: np.asarray(cols.levels[j], dtype=object) for j in native}

    def with_texts(x: np.ndarray) -> np.ndarray:
        data = x.astype(object)
        for j, texts in levels.items():
            data[:, j] = texts[x[:, j].astype(np.int64)]
        return predict(data)

    return with_texts


def _oblivious_trees(est: Any, classify: bool) -> Scores | None:
    """A numeric-only CatBoost model (binary Logloss or RMSE) as numpy over its oblivious
    trees, read from the model's JSON export: each split compares the float32 feature with its
    float32 border (NaN -> the feature's nan_value_treatment), the first split is the lowest
    bit of the leaf index; raw = scale * sum(leaf values) + bias. For a few rows this takes
    ~0.02 ms where CatBoost's own predict (a Pool per call) takes ~0.25 ms; larger batches use
    CatBoost's predict. None when the model is of another kind."""
    import json
    import tempfile

    loss = str(est.get_all_params().get("loss_function", ""))
    if loss != ("Logloss" if classify else "RMSE") or (classify and len(est.classes_) != 2):
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.json")
        est.save_model(path, format="json")
        with open(path) as handle:
            spec = json.load(handle)
    if set(spec["features_info"]) != {"float_features"} or "scale_and_bias" not in spec:
        return None
    floats = {f["feature_index"]: f for f in spec["features_info"]["float_features"]}
    features, borders, bit, nans, starts, values, offsets = [], [], [], [], [], [], []
    for tree in spec["oblivious_trees"]:
        splits = tree["splits"]
        if not splits or len(tree["leaf_values"]) != 1 << len(splits) or \
                any(s.get("split_type") != "FloatFeature" for s in splits):
            return None
        starts.append(len(features))
        offsets.append(len(values))
        for depth, split in enumerate(splits):
            feature = floats[split["float_feature_index"]]
            features.append(feature["flat_feature_index"])
            nans.append(feature.get("nan_value_treatment") == "AsTrue")
            borders.append(split["border"])
            bit.append(1 << depth)
        values += tree["leaf_values"]
    nan_true = np.asarray(nans)
    scale, bias = spec["scale_and_bias"]
    index, limit = np.asarray(features), np.asarray(borders, dtype=np.float32)
    weight, first = np.asarray(bit), np.asarray(starts)
    leaves, base = np.asarray(values, dtype="float64"), np.asarray(offsets)

    def raw(x: np.ndarray) -> np.ndarray:
        v = x.astype(np.float32)[:, index]
        leaf = np.add.reduceat(np.where(np.isnan(v), nan_true, v > limit) * weight, first, axis=1)
        return scale * leaves[base + leaf].sum(axis=1) + bias[0]

    if not classify:
        return raw
    from scipy.special import expit

    def proba(x: np.ndarray) -> np.ndarray:
        p = expit(raw(x))
        return np.column_stack([1 - p, p])

    return proba


def _logistic(est: Any, cols: Columns, classify: bool) -> Scores:
    _numeric_only(cols, "logistic regression")
    _width(est, cols)
    from scipy.special import expit  # what sklearn's _expit calls for numpy

    coef_t, intercept = est.coef_.T, est.intercept_
    if len(est.classes_) <= 2:
        def binary(x: np.ndarray) -> np.ndarray:
            p = expit((x @ coef_t + intercept).reshape(-1))
            return np.stack([1 - p, p], axis=1)
        return binary

    def multinomial(x: np.ndarray) -> np.ndarray:
        z = x @ coef_t + intercept
        z -= z.max(axis=1).reshape(-1, 1)
        np.exp(z, out=z)
        z /= z.sum(axis=1).reshape(-1, 1)
        return z

    return multinomial


def _linear_regression(est: Any, cols: Columns, classify: bool) -> Scores:
    _numeric_only(cols, "linear regression")
    _width(est, cols)
    coef_t, intercept = (est.coef_.T if est.coef_.ndim == 2 else est.coef_), est.intercept_

    def predict(x: np.ndarray) -> np.ndarray:
        out = x @ coef_t + intercept
        return out.reshape(-1) if out.ndim > 1 and out.shape[1] == 1 else out

    return predict


def _forest(est: Any, cols: Columns, classify: bool) -> Scores:
    """RandomForest / ExtraTrees: every tree's `apply` on the float32 matrix (the forest's own
    input dtype) and a table of each leaf's output, normalised per leaf for classifiers as
    `DecisionTreeClassifier.predict_proba` does; the average over trees as the forest does."""
    _numeric_only(cols, "forest")
    _width(est, cols)
    if getattr(est, "n_outputs_", 1) != 1:
        raise Unsupported("multi-output forest")
    trees, tables = [], []
    for tree in est.estimators_:
        value = tree.tree_.value[:, 0, :]
        if classify:
            value = value[:, :int(est.n_classes_)].astype("float64", copy=True)
            total = value.sum(axis=1, keepdims=True)
            total[total == 0.0] = 1.0
            value /= total
        else:
            value = value[:, 0].astype("float64", copy=True)
        trees.append(tree.tree_)
        tables.append(value)
    count = len(trees)

    def average(x: np.ndarray) -> np.ndarray:
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        total = sum(table[tree.apply(x32)] for tree, table in zip(trees, tables, strict=True))
        return total / count

    return average


def _mlp(est: Any, cols: Columns, classify: bool) -> Scores:
    """MLP forward pass with sklearn's own activation functions."""
    from sklearn.neural_network._base import ACTIVATIONS

    _numeric_only(cols, "MLP")
    _width(est, cols)
    hidden, output = ACTIVATIONS[est.activation], ACTIVATIONS[est.out_activation_]
    coefs, intercepts, last = est.coefs_, est.intercepts_, est.n_layers_ - 2

    def forward(x: np.ndarray) -> np.ndarray:
        a = x
        for i, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
            a = a @ w
            a += b
            if i != last:
                hidden(a)
        output(a)
        if not classify:
            return a[:, 0] if a.shape[1] == 1 else a
        a = a.ravel() if est.n_outputs_ == 1 else a
        return np.vstack([1 - a, a]).T if a.ndim == 1 else a

    return forward


def _target_scaled(est: Any, cols: Columns, classify: bool) -> Scores:
    """TransformedTargetRegressor (the MLP family's scaled target)."""
    inner, _ = compile_estimator(est.regressor_, cols, classify)
    back = est.transformer_.inverse_transform
    squeeze = est._training_dim == 1

    def predict(x: np.ndarray) -> np.ndarray:
        pred = np.asarray(inner(x))
        out = back(pred.reshape(-1, 1) if pred.ndim == 1 else pred)
        return out.squeeze(axis=1) if squeeze and out.ndim == 2 and out.shape[1] == 1 else out

    return predict


ESTIMATORS: dict[str, Callable[[Any, Columns, bool], Scores]] = {
    "lightgbm.sklearn.LGBMClassifier": _lightgbm,
    "lightgbm.sklearn.LGBMRegressor": _lightgbm,
    "xgboost.sklearn.XGBClassifier": _xgboost,
    "xgboost.sklearn.XGBRegressor": _xgboost,
    "catboost.core.CatBoostClassifier": _catboost,
    "catboost.core.CatBoostRegressor": _catboost,
    "sklearn.linear_model._logistic.LogisticRegression": _logistic,
    "sklearn.linear_model._ridge.Ridge": _linear_regression,
    "sklearn.linear_model._base.LinearRegression": _linear_regression,
    "sklearn.ensemble._forest.RandomForestClassifier": _forest,
    "sklearn.ensemble._forest.RandomForestRegressor": _forest,
    "sklearn.ensemble._forest.ExtraTreesClassifier": _forest,
    "sklearn.ensemble._forest.ExtraTreesRegressor": _forest,
    "sklearn.neural_network._multilayer_perceptron.MLPClassifier": _mlp,
    "sklearn.neural_network._multilayer_perceptron.MLPRegressor": _mlp,
    "sklearn.compose._target.TransformedTargetRegressor": _target_scaled,
}


# --- fullcycle wrappers ----------------------------------------------------------------------
def compile_estimator(est: Any, cols: Columns, classify: bool) -> tuple[Scores, str]:
    """(scores function, a short name for the label)."""
    from fullcycle.automl.families import FamilyModel
    from fullcycle.features.outliers import OutlierDropper
    from fullcycle.features.scale import AutoTargetRegressor

    if isinstance(est, FamilyModel):
        if (est.task == "regression") == classify:
            raise Unsupported("FamilyModel task differs from the problem")
        fn, _ = compile_estimator(est.estimator_, cols, classify)
        return fn, est.family
    if isinstance(est, OutlierDropper):
        return compile_estimator(est.estimator_, cols, classify)
    if isinstance(est, AutoTargetRegressor):
        inner, name = compile_estimator(est.regressor_, cols, classify)
        if not est.log_:
            return inner, name
        cap = est.log_cap_
        return (lambda x: np.expm1(np.clip(np.asarray(inner(x), dtype="float64"), None, cap))), \
            f"{name} on log1p(target)"
    key = f"{type(est).__module__}.{type(est).__qualname__}"
    make = ESTIMATORS.get(key)
    if make is None:
        raise Unsupported(f"estimator {type(est).__name__}")
    return make(est, cols, classify), type(est).__name__


def _halves(pipe: Any) -> tuple[Any, Any]:
    from sklearn.pipeline import Pipeline

    if not isinstance(pipe, Pipeline) or len(pipe.steps) != 2:
        raise Unsupported(f"{type(pipe).__name__} is not Pipeline[preprocess, model]")
    return pipe.steps[0][1], pipe.steps[1][1]


def compile_member(pipe: Any, inputs: Inputs, classify: bool
                   ) -> tuple[Callable[[list[np.ndarray]], np.ndarray], Scores, str]:
    """Pipeline[preprocess, model] -> (canonical columns -> the estimator's matrix,
    matrix -> scores, a name)."""
    pre_step, est_step = _halves(pipe)
    pre, cols = compile_preprocess(pre_step, inputs)
    est, name = compile_estimator(est_step, cols, classify)
    return pre, est, name


def _members(ens: Any, inputs: Inputs, classify: bool
             ) -> tuple[list[Callable[[list[np.ndarray]], np.ndarray]], list[tuple[int, Scores]],
                        list[str]]:
    """Distinct preprocessings and (preprocessing index, estimator) per member. Members of one
    family kind were fitted with the same preprocessing on the same rows, so it is usually the
    same fitted object (equal pickles): computed once per call instead of once per member.
    A member that does not compile (e.g. k nearest neighbours) runs as its own pipeline on a
    typed frame (index -1: it takes the canonical columns), so one member does not send the
    whole ensemble to the typed path."""
    import pickle

    seen: dict[bytes, int] = {}
    pres: list[Callable[[list[np.ndarray]], np.ndarray]] = []
    members: list[tuple[int, Scores]] = []
    labels: list[str] = []
    layouts: list[Columns] = []
    for pipe in ens.members:
        pre_step, est_step = _halves(pipe)
        key = pickle.dumps(pre_step)
        try:
            if key not in seen:
                fn, cols = compile_preprocess(pre_step, inputs)
                seen[key] = len(pres)
                pres.append(fn)
                layouts.append(cols)
            est, name = compile_estimator(est_step, layouts[seen[key]], classify)
        except Unsupported as exc:
            est, name = _typed_member(pipe, inputs, classify), f"{_name(est_step)} (typed: {exc})"
            members.append((-1, est))
        else:
            members.append((seen[key], est))
        labels.append(name)
    if all(i < 0 for i, _ in members):
        raise Unsupported("no ensemble member compiles")
    return pres, members, labels


def _name(est: Any) -> str:
    return str(getattr(est, "family", type(est).__name__))


def _typed_member(pipe: Any, inputs: Inputs, classify: bool) -> Scores:
    """The member's own pipeline, coercer skipped, on a typed frame of the canonical columns
    (what the typed path does for a whole model)."""
    import copy

    import pandas as pd

    from fullcycle.scoring.fastpath import _skip_coercers

    member = copy.deepcopy(pipe)
    if _skip_coercers(member) == 0:
        raise Unsupported("member without a SchemaCoercer")

    def run(values: list[np.ndarray]) -> np.ndarray:
        data: dict[str, Any] = {}
        for name, role, v in zip(inputs.names, inputs.roles, values, strict=True):
            if role in ("numeric", "boolean", "datetime"):  # dates: parsed by parse_dates
                data[name] = v
            else:
                data[name] = np.array([np.nan if x is None else x for x in v], dtype=object)
        frame = pd.DataFrame(data, copy=False)
        return member.predict_proba(frame) if classify else member.predict(frame)

    return run


def _calibrator(cal: Any) -> Scores:
    from fullcycle.automl.calibrate import (
        IsotonicCalibrator,
        SigmoidCalibrator,
        TemperatureCalibrator,
    )

    if type(cal) not in (TemperatureCalibrator, SigmoidCalibrator, IsotonicCalibrator):
        raise Unsupported(f"calibrator {type(cal).__name__}")
    return cal.transform  # numpy in, numpy out: nothing to strip


def compile_ensemble(ens: Any, inputs: Inputs, classify: bool
                     ) -> tuple[Callable[[list[np.ndarray]], np.ndarray], str]:
    """EnsembleModel._raw / predict_proba with every member compiled."""
    from fullcycle.automl.ensemble import stack_features

    if (ens.task == "regression") == classify:
        raise Unsupported("ensemble task differs from the problem")
    pres, members, labels = _members(ens, inputs, classify)
    label = "ensemble of " + ", ".join(labels)
    stacker = None
    if ens.stacker is not None:
        width = Columns.numeric([f"s{i}" for i in range(getattr(ens.stacker, "n_features_in_",
                                                                   0))])
        stacker, _ = compile_estimator(ens.stacker, width, classify)
        label += " stacked"
    weights = list(ens.weights or [])
    calibrate = _calibrator(ens.calibrator) if ens.calibrator is not None and classify else None
    if calibrate is not None:
        label += f", {type(ens.calibrator).__name__}"

    def run(values: list[np.ndarray]) -> np.ndarray:
        matrices = [pre(values) for pre in pres]
        outputs = [np.asarray(est(matrices[i] if i >= 0 else values), dtype="float64")
                   for i, est in members]
        if not classify:
            outputs = [o.reshape(-1) for o in outputs]
        if stacker is not None:
            raw = stacker(stack_features(outputs, classify))
        else:
            raw = sum(w * o for w, o in zip(weights, outputs, strict=True))
        return calibrate(raw) if calibrate is not None else raw

    return run, label


class CompiledPath:
    """A fullcycle-trained pipeline (one model or an ensemble) compiled to numpy."""

    def __init__(self, model: Any, validator: Any) -> None:
        from fullcycle.automl.ensemble import EnsembleModel

        self.names = list(validator.names)
        self.roles = [c.spec.role for c in validator.columns]
        self.classify = bool(model.card.classes)
        inputs = Inputs(self.names, self.roles,
                        [getattr(c.spec, "format", None) for c in validator.columns])
        self.dates = [(i, fmt) for i, (role, fmt) in enumerate(zip(inputs.roles, inputs.formats,
                                                                   strict=True))
                      if role == "datetime"]
        pipe = model.pipeline
        self._pre: Callable[[list[np.ndarray]], np.ndarray] | None = None
        if isinstance(pipe, EnsembleModel):
            self.fn, self.describe = compile_ensemble(pipe, inputs, self.classify)
        else:
            pre, est, self.describe = compile_member(pipe, inputs, self.classify)
            self._pre = pre
            self.fn = lambda values: est(pre(values))

    def scores_columns(self, columns: list[np.ndarray]) -> np.ndarray:
        return np.asarray(self.fn(self._dates(columns)), dtype="float64")

    def _dates(self, columns: list[np.ndarray]) -> list[np.ndarray]:
        if not self.dates:
            return columns
        columns = list(columns)
        for i, fmt in self.dates:
            columns[i] = parse_dates(columns[i], fmt)
        return columns

    def columns(self, rows: list[list[Any]]) -> list[np.ndarray]:
        from fullcycle.scoring.fastpath import columns_of

        return columns_of(self.roles, rows)

    def scores(self, rows: list[list[Any]]) -> np.ndarray:
        return self.scores_columns(self.columns(rows))

    def matrix(self, rows: list[list[Any]]) -> np.ndarray:
        """What the estimator of a single-model pipeline sees (native categorical columns as
        their level codes, as LightGBM sees them): `/explain` reuses it. An ensemble has no
        single matrix: ValueError."""
        if self._pre is None:
            raise ValueError("an ensemble has one matrix per member")
        return self._pre(self._dates(self.columns(rows)))
