"""Native codes of a many-level categorical column next to its target encoding (catcodes.py):
the encoder gives both, serving compiles both, and the search tries the default boosted model
both ways and follows the form its cross-validation prefers. Counted searches, no wall clock."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from fullcycle.config import Config
from fullcycle.data.dataset import Dataset
from fullcycle.features.encode import RARE, CategoryEncoder, _compile_category_encoder
from fullcycle.tasks.tabular.search.catcodes import CAT_CODES
from fullcycle.tasks.tabular.search.train import train_model


def _grid(levels: int, rows_per_level: int, seed: int) -> pd.DataFrame:
    """A house-price-like table: each level of `cell` has its own slope on `income`, which a
    level's mean target (its encoding) cannot carry but a split on the levels can."""
    rng = np.random.default_rng(seed)
    n = levels * rows_per_level
    cell = rng.integers(0, levels, n)
    slope, base = rng.normal(size=levels) * 3, rng.normal(size=levels)
    income = rng.normal(size=n)
    return pd.DataFrame({"cell": [f"c{c}" for c in cell], "income": income,
                         "noise": rng.normal(size=n),
                         "y": base[cell] + slope[cell] * income + rng.normal(scale=0.3, size=n)})


def _encoder(**kw) -> CategoryEncoder:
    return CategoryEncoder(kind="native", native_max=64, **kw)


def test_a_qualifying_column_keeps_its_codes_next_to_its_encoding() -> None:
    frame = _grid(80, 15, 0)  # 80 levels > native_max, 15 rows each >= CODES_MIN_ROWS
    X, y = frame[["cell"]], frame["y"].to_numpy()
    out = _encoder(keep_codes=True).fit_transform(X, y)
    assert list(out.columns) == ["cell", "cell_te"]
    assert isinstance(out["cell"].dtype, pd.CategoricalDtype) and out["cell_te"].dtype.kind == "f"
    # the codes are the levels themselves; the encoding is the one without codes
    assert (out["cell"].astype(str) == X["cell"]).all()
    plain = _encoder().fit_transform(X, y)
    assert plain.shape[1] == 1 and np.allclose(plain.iloc[:, 0], out.iloc[:, 1])
    # an unseen level: the __rare__ code and the encoding's prior
    enc = _encoder(keep_codes=True).fit(X, y)
    new = enc.transform(pd.DataFrame({"cell": ["never seen"]}))
    assert new["cell"].iloc[0] == RARE
    assert new["cell_te"].iloc[0] == pytest.approx(enc.prior_[0])
    assert enc.decisions_[0]["encoding"] == "native_target"


def test_an_id_like_column_stays_encoding_only() -> None:
    frame = _grid(400, 3, 1)  # 3 rows a level: nothing for the codes to find
    enc = _encoder(keep_codes=True).fit(frame[["cell"]], frame["y"])
    assert enc.method_["cell"] == "target"
    assert enc.transform(frame[["cell"]]).shape[1] == 1
    # and a linear/tree encoder never keeps codes
    onehot = CategoryEncoder(kind="onehot_te", keep_codes=True).fit(frame[["cell"]], frame["y"])
    assert onehot.method_["cell"] == "target"


def test_the_compiled_encoder_gives_what_transform_gives() -> None:
    frame = _grid(80, 15, 2)
    enc = _encoder(keep_codes=True).fit(frame[["cell"]], frame["y"].to_numpy())
    rows = pd.DataFrame({"cell": ["c3", "c17", "never seen", None]})
    expected = enc.transform(rows)
    run, cols = _compile_category_encoder(enc, {"categorical"}, ["cell"], [])
    got = run([rows["cell"].to_numpy(dtype=object)])
    assert cols.names == [str(n) for n in expected.columns]
    assert cols.levels[0] == list(expected["cell"].cat.categories) and cols.levels[1] is None
    assert np.array_equal(got[:, 0], expected["cell"].cat.codes.to_numpy())
    assert np.allclose(got[:, 1], expected.iloc[:, 1])


def _train(frame: pd.DataFrame, families: list[str], trials: int, codes: str = "auto"):
    config = Config.from_dict({"seed": 0, "problem": {"task": "regression"},
                               "features": {"target_transform": "none", "category_codes": codes},
                               "train": {"families": families, "max_trials": trials,
                                         "ensemble": False, "stacking": False}})
    return train_model(Dataset.from_frame(frame, target="y"), config)


def test_the_search_tries_both_forms_and_follows_the_better() -> None:
    train = _grid(70, 40, 3)
    out = _train(train, ["lightgbm", "xgboost"], trials=3)
    names = [c.name for c in out.search.candidates]
    assert names[:2] == ["lightgbm", "lightgbm_codes"]
    by = {c.name: c for c in out.search.candidates}
    assert by["lightgbm_codes"].score < by["lightgbm"].score  # the premise: RMSE, lower wins
    # the next native candidate takes the form that won
    assert names[2] == "lightgbm_p3_codes" and by[names[2]].params[CAT_CODES]
    assert any("with codes scored better" in line for line in out.diagnosis)
    # served the same way, compiled or not, unseen levels included
    from fullcycle.scoring.compiled import CompiledPath
    from fullcycle.scoring.validation import RecordValidator

    rows = train.drop(columns="y").head(20).assign(cell=["c1"] * 19 + ["never seen"])
    pred = out.model.predict_scores(rows)
    compiled = CompiledPath(out.model, RecordValidator(out.model.schema))
    assert compiled.scores(rows.to_numpy().tolist()) == pytest.approx(pred)


@pytest.mark.parametrize("family", ["xgboost", "catboost"])
def test_the_other_native_families_fit_and_serve_with_codes(family: str) -> None:
    from fullcycle.scoring.compiled import CompiledPath
    from fullcycle.scoring.validation import RecordValidator

    train = _grid(70, 20, 4)
    config = Config.from_dict({"seed": 0, "problem": {"task": "regression"},
                               "train": {"families": [family], "max_trials": 2,
                                         "ensemble": False, "stacking": False}})
    out = train_model(Dataset.from_frame(train, target="y"), config)
    assert [c.name for c in out.search.candidates] == [family, f"{family}_codes"]
    rows = train.drop(columns="y").head(10).assign(cell=["c5"] * 9 + ["never seen"])
    pred = out.model.predict_scores(rows)
    compiled = CompiledPath(out.model, RecordValidator(out.model.schema))
    assert compiled.scores(rows.to_numpy().tolist()) == pytest.approx(pred)


def test_no_twin_without_a_qualifying_column() -> None:
    few = _grid(20, 40, 5)  # 20 levels: native (or one-hot) already, nothing to add
    ids = _grid(600, 2, 6)  # 2 rows a level: ID-like
    for frame in (few, ids):
        out = _train(frame, ["lightgbm"], trials=2)
        assert not any(c.params.get(CAT_CODES) for c in out.search.candidates)


def test_the_config_can_force_or_forbid_the_codes() -> None:
    train = _grid(70, 40, 3)
    always = _train(train, ["lightgbm", "linear"], trials=3, codes="always")
    native = [c for c in always.search.candidates if c.family == "lightgbm"]
    assert native and all(c.params.get(CAT_CODES) for c in native)
    assert not any(c.params.get(CAT_CODES) for c in always.search.candidates
                   if c.family == "linear")  # a one-hot/encoding family has no codes to keep
    assert native[0].name == "lightgbm_codes"
    never = _train(train, ["lightgbm"], trials=3, codes="never")
    assert not any(c.params.get(CAT_CODES) for c in never.search.candidates)


def test_the_cluster_full_data_fit_drops_the_codes_key(tmp_path) -> None:
    """The Dask full fit uses the plain native preprocessing: the searched settings it takes
    must not carry the search's own key to LightGBM."""
    from fullcycle.tasks.tabular.full_fit import searched

    path = tmp_path / "candidates.json"
    path.write_text(json.dumps([{"family": "lightgbm", "mean": 0.9,
                                 "params": {CAT_CODES: True, "num_leaves": 15}}]))
    scorer = SimpleNamespace(sign=lambda: 1.0)
    result = SimpleNamespace(report_files={"candidates": path},
                             model=SimpleNamespace(problem=SimpleNamespace(scorer=scorer)))
    assert searched(result)["lightgbm"].searched == {"num_leaves": 15}  # type: ignore[arg-type]
