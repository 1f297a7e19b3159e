"""Would an established converter replace fullcycle's compiled path? skl2onnx + onnxruntime on
the serving reference pipeline (median impute, scale, one-hot, LightGBM 200 trees; the contract
coercion and the missing-value indicator are left out: skl2onnx converts neither), 1-row and
100-row latency.

    .venv/bin/python bench/serving_onnx.py        # runs itself in bench/.venvs/onnx

Compare with `bench/serving.py --only floor` ("fullcycle serving path, 1 row (validate +
compiled)"), which includes the request validation this script does not do."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TELCO = ROOT.parent / "src" / "fullcycle" / "datasets" / "telco_churn.csv"
PACKAGES = ["skl2onnx", "onnxmltools", "onnxruntime", "lightgbm", "scikit-learn", "pandas"]


def median_ms(func, reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run() -> dict:
    import lightgbm as lgb
    import numpy as np
    import onnxruntime as ort
    import pandas as pd
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import convert_sklearn, update_registered_converter
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    update_registered_converter(
        lgb.LGBMClassifier, "LightGbmLGBMClassifier", calculate_linear_classifier_output_shapes,
        convert_lightgbm, options={"nocl": [True, False], "zipmap": [True, False, "columns"]})
    frame = pd.read_csv(TELCO)
    frame["TotalCharges"] = pd.to_numeric(frame["TotalCharges"], errors="coerce")
    y = (frame.pop("Churn") == "Yes").astype(int)
    frame = frame.drop(columns=["customerID"])
    numeric = ["tenure", "MonthlyCharges", "TotalCharges", "SeniorCitizen"]
    categorical = [c for c in frame.columns if c not in numeric]
    frame[numeric] = frame[numeric].astype("float32")
    pre = ColumnTransformer([
        # add_indicator=True (the reference pipeline's) fails in skl2onnx's scaler shape check
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical)])
    pipe = Pipeline([("pre", pre), ("model", lgb.LGBMClassifier(
        n_estimators=200, learning_rate=0.05, num_leaves=31, n_jobs=1, verbose=-1))])
    pipe.fit(frame, y)
    types = [(c, FloatTensorType([None, 1])) for c in numeric] + \
        [(c, StringTensorType([None, 1])) for c in categorical]
    start = time.perf_counter()
    onx = convert_sklearn(pipe, initial_types=types, target_opset={"": 17, "ai.onnx.ml": 3},
                          options={id(pipe.steps[-1][1]): {"zipmap": False}})
    convert_s = time.perf_counter() - start
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(onx.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])

    def feeds(rows: pd.DataFrame) -> dict:
        return {c: rows[c].to_numpy().reshape(-1, 1).astype(
            "float32" if c in numeric else object) for c in frame.columns}

    one, hundred = frame.iloc[[11]], frame.iloc[200:300]
    one_feed, hundred_feed = feeds(one), feeds(hundred)
    onnx_proba = session.run(None, hundred_feed)[1][:, 1]
    sk_proba = pipe.predict_proba(hundred)[:, 1]
    return {
        "onnxruntime session.run, 1 row (ms, p50)": median_ms(
            lambda: session.run(None, one_feed), 2000),
        "onnxruntime 1 row incl. building the feed from a record (ms, p50)": median_ms(
            lambda: session.run(None, feeds(one)), 1000),
        "onnxruntime session.run, 100 rows (ms, p50)": median_ms(
            lambda: session.run(None, hundred_feed), 300),
        "sklearn pipeline predict_proba, 1 row (ms, p50)": median_ms(
            lambda: pipe.predict_proba(one), 200),
        "max |onnx - sklearn| (100 rows)": float(np.abs(onnx_proba - sk_proba).max()),
        "conversion seconds": round(convert_s, 2),
        "onnx model bytes": len(onx.SerializeToString()),
    }


if __name__ == "__main__":
    if "--inside" in sys.argv:
        print(json.dumps(run(), indent=1))
    else:
        sys.path.insert(0, str(ROOT))
        from peers import peer_python

        python = peer_python("onnx", PACKAGES)
        subprocess.run([python, __file__, "--inside"], check=True)
