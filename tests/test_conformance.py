"""One conformance suite, run over every strategy from a table of (strategy, tiny config).

A new strategy joins with one line in CASES: a factory that builds a small, fast estimator
(tiny in-process models), and a parameter grid for the GridSearchCV check.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score

import fewshot
from fewshot.registry import get_strategy

# name -> (factory(request) -> estimator, param grid for GridSearchCV)
CASES = {
    "majority": (lambda request: get_strategy("majority")(), {"threshold": [0.3, 0.6]}),
    "setfit": (lambda request: get_strategy("setfit")(model=str(request.getfixturevalue("tiny_st_dir")), num_iterations=2, epochs=1), {"head_c": [0.5, 1.0]}),
    "setfit-upstream": (lambda request: get_strategy("setfit-upstream")(model=str(request.getfixturevalue("tiny_st_dir")), num_iterations=1, batch_size=8), {"seed": [0, 1]}),
    "prompt": (lambda request: get_strategy("prompt")(model=str(request.getfixturevalue("tiny_llama_dir")), mode="lora", epochs=1, batch_size=6, max_length=64), {"label_score": ["sum", "mean"]}),
    "head": (lambda request: get_strategy("head")(model=str(request.getfixturevalue("tiny_bert_dir")), epochs=1, max_length=48), {"learning_rate": [1e-3, 1e-2]}),
}


@pytest.fixture(scope="module")
def small_data():
    """18 training and 12 test messages from three demo intents: enough to fit, fast to run."""
    ds = fewshot.load_demo("intent")
    keep = ["billing", "delivery", "account"]

    def take(split, n):
        X, y = [], []
        for lab in keep:
            rows = [x for x, t in zip(split.X, split.y) if t == lab][:n]
            X += rows
            y += [lab] * len(rows)
        return X, y

    return take(ds.train, 6), take(ds.test, 4)


@pytest.fixture(params=list(CASES), scope="module")
def case(request):
    factory, grid = CASES[request.param]
    return request.param, factory, grid


@pytest.fixture(scope="module")
def fitted(case, small_data, request):
    name, factory, _ = case
    (X, y), _ = small_data
    est = factory(request)
    assert est.fit(X, y) is est, "fit must return self"
    return est


def test_registered_under_its_name(case, request):
    name, factory, _ = case
    est = factory(request)
    assert type(est) is get_strategy(name)
    assert est.strategy_name == name


def test_clone_keeps_params_and_drops_state(case, fitted, request):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "classes_")
    with pytest.raises(NotFittedError):
        copy.predict(["hello"])


def test_fit_leaves_params_unchanged(case, small_data, request):
    name, factory, _ = case
    (X, y), _ = small_data
    est = factory(request)
    before = est.get_params()
    est.fit(X, y)
    assert est.get_params() == before


def test_predict_is_argmax_of_proba(fitted, small_data):
    _, (Xt, yt) = small_data
    proba = fitted.predict_proba(Xt)
    assert proba.shape == (len(Xt), len(fitted.classes_))
    assert np.all(proba >= 0) and np.all(proba <= 1)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(fitted.predict(Xt), fitted.classes_[proba.argmax(axis=1)])
    assert list(fitted.classes_) == sorted(fitted.classes_)
    assert set(fitted.predict(Xt)) <= set(fitted.classes_)


def test_save_load_round_trip(fitted, small_data, tmp_path):
    _, (Xt, _) = small_data
    path = fitted.save(tmp_path / "clf")
    assert (path / "fewshot.json").is_file()
    assert not list(path.rglob("*.pkl")) and not list(path.rglob("*.bin")) and not list(path.rglob("*.joblib"))
    loaded = fewshot.load(path)
    assert type(loaded) is type(fitted)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    np.testing.assert_array_equal(loaded.predict(Xt), fitted.predict(Xt))
    np.testing.assert_allclose(loaded.predict_proba(Xt), fitted.predict_proba(Xt), atol=1e-6)


def test_int_labels(case, small_data, request):
    name, factory, _ = case
    (X, y), (Xt, _) = small_data
    ids = {lab: i for i, lab in enumerate(sorted(set(y)))}
    est = factory(request).fit(X, [ids[t] for t in y])
    assert est.classes_.dtype.kind == "i"
    assert set(est.predict(Xt).tolist()) <= set(ids.values())


def test_cross_val_score_and_grid_search(case, small_data, request):
    name, factory, grid = case
    (X, y), _ = small_data
    scores = cross_val_score(factory(request), X, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    search = GridSearchCV(factory(request), grid, cv=2).fit(X, y)
    assert set(search.best_params_) == set(grid)
    assert len(search.predict(X[:3])) == 3
