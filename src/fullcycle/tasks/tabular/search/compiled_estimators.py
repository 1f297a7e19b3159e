"""How the estimators of the model families compile for serving (fullcycle.features.compiling):
each fitted estimator becomes `scores(matrix) -> probabilities (n, k) | values (n,)`, computed the
way its sklearn wrapper computes them but without the wrapper's DataFrame checks. Registered by
import path, so nothing private is imported; `families.py` imports this module.

- LightGBM: `booster.predict` on the float matrix (native categorical columns hold the level
  codes, which is what LightGBM's pandas path feeds the booster; the levels are checked against
  the booster's `pandas_categorical`), one thread for request-sized calls;
- XGBoost: `booster.inplace_predict`, float32 arithmetic kept as the wrapper does;
- CatBoost: numeric-only binary/RMSE models as numpy over their oblivious trees for request
  sizes; otherwise its own `predict_proba`/`predict` on the matrix (native categorical columns
  turned back into their level texts, which is what CatBoost reads from a pandas category);
- logistic regression, ridge, linear regression: the dot product, expit/softmax;
- random forest / extra trees: each tree's `apply` and a leaf table; MLP: the forward pass.
Not compiled (Unsupported -> the typed path): k nearest neighbours, multi-output forests,
XGBoost multi:softmax, CatBoost with text features."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any

import numpy as np

from fullcycle.features.compiling import (
    SMALL,
    Columns,
    Scores,
    Unsupported,
    check_width,
    compile_estimator,
    compiles,
    numeric_only,
    threads,
)


def _labelled(make: Callable[[Any, Columns, bool], Scores]
              ) -> Callable[[Any, Columns, bool], tuple[Scores, str]]:
    """A compiler of a library estimator, labelled with the estimator's class name."""
    @wraps(make)
    def compile_labelled(est: Any, cols: Columns, classify: bool) -> tuple[Scores, str]:
        return make(est, cols, classify), type(est).__name__

    return compile_labelled


def _inplace(name: str) -> Callable[[np.ndarray], None]:
    """scikit-learn's MLP activations, applied in place (its ACTIVATIONS table)."""
    def logistic(a: np.ndarray) -> None:
        from scipy.special import expit

        expit(a, out=a)

    def relu(a: np.ndarray) -> None:
        np.maximum(a, 0, out=a)

    def softmax(a: np.ndarray) -> None:
        a -= a.max(axis=1)[:, np.newaxis]
        np.exp(a, out=a)
        a /= a.sum(axis=1)[:, np.newaxis]

    table: dict[str, Callable[[np.ndarray], None]] = {
        "identity": lambda a: None, "logistic": logistic, "tanh": lambda a: np.tanh(a, out=a),
        "relu": relu, "softmax": softmax}
    if name not in table:
        raise Unsupported(f"MLP activation {name!r}")
    return table[name]


@compiles("estimator", "lightgbm.sklearn.LGBMClassifier", "lightgbm.sklearn.LGBMRegressor")
@_labelled
def _lightgbm(est: Any, cols: Columns, classify: bool) -> Scores:
    check_width(est, cols)
    booster = est.booster_
    wanted = [list(lv) for lv in cols.levels if lv is not None]
    known = [list(c) for c in (getattr(booster, "pandas_categorical", None) or [])]
    if wanted != known:
        raise Unsupported("native categories differ from the booster's pandas_categorical")
    if classify:
        if est.n_classes_ == 2:
            def binary(x: np.ndarray) -> np.ndarray:
                raw = booster.predict(x, num_threads=threads(len(x)))
                return np.column_stack([1.0 - raw, raw])
            return binary
        return lambda x: booster.predict(x, num_threads=threads(len(x)))
    return lambda x: booster.predict(x, num_threads=threads(len(x)))


@compiles("estimator", "xgboost.sklearn.XGBClassifier", "xgboost.sklearn.XGBRegressor")
@_labelled
def _xgboost(est: Any, cols: Columns, classify: bool) -> Scores:
    check_width(est, cols)
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


@compiles("estimator", "catboost.core.CatBoostClassifier", "catboost.core.CatBoostRegressor")
@_labelled
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
        return lambda x: trees(x) if len(x) <= SMALL else predict(x)
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
    features: list[int] = []
    borders: list[float] = []
    bit: list[int] = []
    nans: list[bool] = []
    starts: list[int] = []
    values: list[float] = []
    offsets: list[int] = []
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


@compiles("estimator", "sklearn.linear_model._logistic.LogisticRegression")
@_labelled
def _logistic(est: Any, cols: Columns, classify: bool) -> Scores:
    numeric_only(cols, "logistic regression")
    check_width(est, cols)
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


@compiles("estimator",
          "sklearn.linear_model._ridge.Ridge",
          "sklearn.linear_model._base.LinearRegression")
@_labelled
def _linear_regression(est: Any, cols: Columns, classify: bool) -> Scores:
    numeric_only(cols, "linear regression")
    check_width(est, cols)
    coef_t, intercept = (est.coef_.T if est.coef_.ndim == 2 else est.coef_), est.intercept_

    def predict(x: np.ndarray) -> np.ndarray:
        out = x @ coef_t + intercept
        return out.reshape(-1) if out.ndim > 1 and out.shape[1] == 1 else out

    return predict


@compiles("estimator",
          "sklearn.ensemble._forest.RandomForestClassifier",
          "sklearn.ensemble._forest.RandomForestRegressor",
          "sklearn.ensemble._forest.ExtraTreesClassifier",
          "sklearn.ensemble._forest.ExtraTreesRegressor")
@_labelled
def _forest(est: Any, cols: Columns, classify: bool) -> Scores:
    """RandomForest / ExtraTrees: every tree's `apply` on the float32 matrix (the forest's own
    input dtype) and a table of each leaf's output, normalised per leaf for classifiers as
    `DecisionTreeClassifier.predict_proba` does; the average over trees as the forest does."""
    numeric_only(cols, "forest")
    check_width(est, cols)
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


@compiles("estimator",
          "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
          "sklearn.neural_network._multilayer_perceptron.MLPRegressor")
@_labelled
def _mlp(est: Any, cols: Columns, classify: bool) -> Scores:
    """MLP forward pass with the activation functions sklearn applies (in place)."""
    numeric_only(cols, "MLP")
    check_width(est, cols)
    hidden, output = _inplace(est.activation), _inplace(est.out_activation_)
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


@compiles("estimator", "sklearn.compose._target.TransformedTargetRegressor")
@_labelled
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
