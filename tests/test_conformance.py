"""One conformance suite, run over every strategy from a table of (strategy, tiny config).

A new strategy joins with one line in CASES: a factory that builds a small, fast estimator
(tiny in-process models), and a parameter grid for the GridSearchCV check; and one line in FITS:
parameters with which it fits a small training set (the label-order checks).
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score

import fewshot
from fewshot.errors import NotASavedClassifierError
from fewshot.registry import get_strategy, strategy_names

# name -> (factory(request) -> estimator, param grid for GridSearchCV)
CASES = {
    "majority": (lambda request: get_strategy("majority")(), {"threshold": [0.3, 0.6]}),
    "setfit": (lambda request: get_strategy("setfit")(model=str(request.getfixturevalue("tiny_st_dir")), num_iterations=2, epochs=1), {"head_c": [0.5, 1.0]}),
    "setfit-upstream": (lambda request: get_strategy("setfit-upstream")(model=str(request.getfixturevalue("tiny_st_dir")), num_iterations=1, batch_size=8), {"seed": [0, 1]}),
    "prompt": (lambda request: get_strategy("prompt")(model=str(request.getfixturevalue("tiny_llama_dir")), mode="lora", epochs=1, batch_size=6, max_length=64), {"label_score": ["sum", "mean"]}),
    "head": (lambda request: get_strategy("head")(model=str(request.getfixturevalue("tiny_bert_dir")), epochs=1, max_length=48), {"learning_rate": [1e-3, 1e-2]}),
    "ensemble": (lambda request: get_strategy("ensemble")(members=["majority", _frozen_setfit(request)]),
                 {"combine": ["proba", "log_proba"]}),
    "auto": (lambda request: get_strategy("auto")(candidates=["majority", _frozen_setfit(request)], cv=2),
             {"metric": ["accuracy", "f1_macro"]}),
    # without unlabeled texts the teacher labels the training texts themselves
    "distill": (lambda request: get_strategy("distill")(teacher=_frozen_setfit(request), student=_frozen_setfit(request)),
                {"labeled_weight": [0.5, 1.0]}),
}


def _frozen_setfit(request, **extra) -> dict:
    """A member spec: the tiny sentence-transformer, frozen, with a logistic head (well under a second)."""
    return {"name": "setfit", "params": {"model": str(request.getfixturevalue("tiny_st_dir")), "epochs": 0,
                                         "quantize": False, **extra}}


# name -> factory(request) -> parameters that let the strategy fit 18 training messages (None: nothing is trained)
FITS = {
    "majority": lambda request: None,
    "setfit": lambda request: {"model": str(request.getfixturevalue("tiny_st_dir")), "num_iterations": 2, "epochs": 1},
    "setfit-upstream": lambda request: {"model": str(request.getfixturevalue("tiny_st_dir")), "num_iterations": 2,
                                        "batch_size": 8},
    "head": lambda request: {"model": str(request.getfixturevalue("tiny_bert_dir")), "epochs": 30,
                             "learning_rate": 1e-2, "max_length": 48},
    "prompt": lambda request: {"model": request.getfixturevalue("sharp_llama_dir"), "mode": "lora", "epochs": 60,
                               "learning_rate": 3e-2, "batch_size": 6, "max_length": 64, "label_score": "mean",
                               "target_modules": "all-linear"},
    # two trained members (a frozen tiny sentence-transformer, two head strengths), weights learned on 2 folds
    "ensemble": lambda request: {"members": [_frozen_setfit(request, head_c=10.0), _frozen_setfit(request, head_c=100.0)],
                                 "weights": "cv", "cv": 2},
    "auto": lambda request: {"candidates": [_frozen_setfit(request, head_c=10.0),
                                            {**_frozen_setfit(request, head_c=100.0), "label": "setfit-c100"}], "cv": 2},
    "distill": lambda request: {"teacher": _frozen_setfit(request, head_c=100.0),
                                "student": _frozen_setfit(request, head_c=100.0)},
}


@pytest.fixture(scope="module")
def sharp_llama_dir(tiny_llama_dir, tmp_path_factory) -> str:
    """The tiny Llama made able to learn in a few LoRA steps (see test_prompt.sharpened_llama)."""
    from test_prompt import sharpened_llama

    return sharpened_llama(tiny_llama_dir, tmp_path_factory.mktemp("sharp") / "llama")


# Strategies whose inputs are not texts with one label each: the parts of this suite that apply to
# them (clone, fit returns self, save/load identical, random state, no files in the working
# directory) run in their own test file.
NOT_TEXT_LABELS = {"token": "tests/test_token.py"}


def test_every_registered_strategy_imports_and_is_in_the_tables():
    """A strategy whose import fails fails here (it is never dropped from the tables silently)."""
    for name in strategy_names():
        assert get_strategy(name).strategy_name == name
    assert set(CASES) == set(strategy_names()) - set(NOT_TEXT_LABELS) == set(FITS)


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


# --------------------------------------------------------------------------- label order
INTENTS = ("billing", "delivery", "account")
COUNTS = (7, 6, 5)  # distinct class frequencies, so a constant prior tells its columns apart
LABEL_SETS = {"strings": ("zeta", "alpha", "mid"), "ints": (10, -3, 7)}  # neither sorted nor contiguous


@pytest.fixture(scope="module")
def unordered_train():
    ds = fewshot.load_demo("intent")
    X, intents = [], []
    for intent, n in zip(INTENTS, COUNTS, strict=True):
        rows = [x for x, t in zip(ds.train.X, ds.train.y) if t == intent][:n]
        X += rows
        intents += [intent] * len(rows)
    return X, intents


@pytest.mark.parametrize("labels", list(LABEL_SETS), ids=list(LABEL_SETS))
def test_unordered_labels_fit_and_columns_follow_classes(case, unordered_train, labels, request):
    """Labels in neither alphabetical nor numeric order: ``classes_`` is sorted, and the probability
    columns belong to those classes. A trained strategy fits its own 18 messages at twice chance (2/3;
    always naming the most frequent label scores 7/18); the majority strategy's columns are the training
    frequencies of ``classes_``. Columns in any other order fail (checked by permuting them)."""
    name, factory, _ = case
    X, intents = unordered_train
    mapping = dict(zip(INTENTS, LABEL_SETS[labels], strict=True))
    y = [mapping[t] for t in intents]
    params = FITS[name](request)
    est = factory(request) if params is None else get_strategy(name)(**params)
    est.fit(X, y)
    check_columns_follow_classes(name, est, X, y, trained=params is not None)


def check_columns_follow_classes(name, est, X, y, *, trained: bool) -> None:
    """The checks of the test above on a fitted ``est``: sorted ``classes_``; a trained strategy fits its
    own data at twice chance, an untrained one returns the training frequencies of ``classes_``."""
    assert list(est.classes_) == sorted(set(y))
    proba = est.predict_proba(X)
    truth = np.asarray(y)
    if not trained:
        frequencies = [np.mean(truth == c) for c in est.classes_]
        np.testing.assert_allclose(proba, np.tile(frequencies, (len(X), 1)), atol=1e-9)
    accuracy = float(np.mean(est.classes_[proba.argmax(axis=1)] == truth))
    floor = max(COUNTS) / sum(COUNTS) if not trained else 2 / 3
    assert accuracy >= floor, f"{name} fits its own training data with accuracy {accuracy:.2f} (< {floor:.2f})"
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])


class _RotatedMajority(get_strategy("majority")):
    """A broken strategy: its probability columns are rotated away from ``classes_``."""

    def _predict_scores(self, X):
        return np.roll(super()._predict_scores(X), 1, axis=1)


@pytest.mark.parametrize("meta", ["ensemble", "auto"])
def test_the_label_order_check_catches_a_member_with_permuted_columns(meta, unordered_train):
    """The check above can fail: an ensemble (or auto) whose member permutes its columns is caught."""
    X, intents = unordered_train
    y = [dict(zip(INTENTS, LABEL_SETS["ints"], strict=True))[t] for t in intents]
    key = "members" if meta == "ensemble" else "candidates"
    good = get_strategy(meta)(**{key: ["majority", "majority"]}).fit(X, y)
    check_columns_follow_classes(meta, good, X, y, trained=False)
    broken = get_strategy(meta)(**{key: [_RotatedMajority(), _RotatedMajority()]}).fit(X, y)
    with pytest.raises(AssertionError):
        check_columns_follow_classes(meta, broken, X, y, trained=False)


# --------------------------------------------------------------------------- random state
def _global_states():
    import torch

    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def test_fit_leaves_the_global_random_state_alone_and_is_deterministic(case, small_data, request):
    import torch

    name, factory, _ = case
    (X, y), (Xt, _) = small_data
    random.seed(123), np.random.seed(123), torch.manual_seed(123)
    before = _global_states()
    first = factory(request).fit(X, y).predict_proba(Xt)
    after = _global_states()
    assert after[0] == before[0], "fit changed Python's random state"
    assert all(np.array_equal(a, b) for a, b in zip(after[1][1:3], before[1][1:3])), "fit changed NumPy's"
    assert torch.equal(after[2], before[2]), "fit changed torch's random state"
    torch.manual_seed(999)  # another global state: the same seed still gives the same model
    np.testing.assert_array_equal(factory(request).fit(X, y).predict_proba(Xt), first)


# --------------------------------------------------------------------------- parameters and devices
def test_parameters_are_checkable_without_fitting(case, request):
    """``_check_params`` runs on an unfitted instance (as ``load`` builds one) and changes nothing."""
    name, factory, _ = case
    est = factory(request)
    before = dict(vars(est))
    est._check_params()
    assert vars(est) == before
    bad = clone(est).set_params(seed=-1) if "seed" in est.get_params() else clone(est).set_params(threshold=2.0)
    field = "seed" if "seed" in est.get_params() else "threshold"
    with pytest.raises(ValueError, match=f"^{field} must be .*; got "):
        bad._check_params()


def test_device_parameter(case, fitted, small_data, request, tmp_path):
    import torch

    name, factory, _ = case
    if "device" not in fitted.get_params():
        # the ensemble and auto pass devices through their members' parameters
        assert name in ("majority", "ensemble", "auto", "distill"), f"{name} trains a torch model and must take a device"
        return
    assert factory(request).device == "auto"
    (X, y), (Xt, _) = small_data
    for bad in ("gpu", "cuda:x", 0):
        with pytest.raises(ValueError, match=r"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'"):
            factory(request).set_params(device=bad).fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            factory(request).set_params(device="cuda").fit(X, y)
        # a classifier saved on a GPU machine loads on the CPU here
        path = fitted.save(tmp_path / "clf")
        meta = json.loads((path / "fewshot.json").read_text())
        meta["params"]["device"] = "cuda:1"
        (path / "fewshot.json").write_text(json.dumps(meta))
        loaded = fewshot.load(path)
        assert loaded.device == "cuda:1"
        np.testing.assert_allclose(loaded.predict_proba(Xt), fitted.predict_proba(Xt), atol=1e-6)


def test_loss_history_is_saved_and_reloaded(fitted, tmp_path):
    history = fitted.loss_history_
    assert isinstance(history, list) and all(np.isfinite(history))
    if fitted.strategy_name in ("setfit", "head", "prompt"):
        assert len(history) == fitted.get_params()["epochs"], "one mean loss per epoch"
    assert fewshot.load(fitted.save(tmp_path / "clf")).loss_history_ == pytest.approx(history)


def test_renamed_parameters_of_an_old_folder_still_load(small_data, tmp_path, monkeypatch):
    """The migration table: a folder written when a parameter had another name loads with the new name."""
    (X, y), _ = small_data
    majority = get_strategy("majority")
    path = majority(threshold=0.3).fit(X, y).save(tmp_path / "old")
    meta = json.loads((path / "fewshot.json").read_text())
    meta["params"]["cutoff"] = meta["params"].pop("threshold")  # as an older fewshot would have written it
    (path / "fewshot.json").write_text(json.dumps(meta))
    with pytest.raises(NotASavedClassifierError, match="unknown parameter.*cutoff"):
        fewshot.load(path)
    monkeypatch.setattr(majority, "_renamed_params", {"cutoff": "threshold"})
    loaded = fewshot.load(path)
    assert loaded.threshold == 0.3 and "cutoff" not in loaded.get_params()


def test_parameter_rules_say_what_is_allowed_and_what_was_given():
    from fewshot._validate import BOOL, DEVICE, NONE, Integer, Options, Real, check_params

    rules = {"epochs": Integer(1), "lr": Real(0, 1, closed="neither") | NONE, "mode": Options("a", "b", "c"),
             "flag": BOOL, "device": DEVICE, "ratio": Real(0, 1, closed="left")}
    good = {"epochs": np.int64(3), "lr": None, "mode": np.str_("b"), "flag": np.bool_(True), "device": "cuda:1",
            "ratio": 0.0}
    check_params(good, rules)
    for name, value, message in [
        ("epochs", True, "epochs must be an integer >= 1; got True."),
        ("epochs", 2.0, "epochs must be an integer >= 1; got 2.0."),
        ("lr", 1.0, "lr must be between 0 and 1 or None; got 1.0."),
        ("lr", float("nan"), "lr must be between 0 and 1 or None; got nan."),
        ("mode", "d", "mode must be one of a, b, c; got 'd'."),
        ("flag", 1, "flag must be True or False; got 1."),
        ("device", "gpu", "device must be 'auto', 'cpu', 'cuda' or 'cuda:N' (N a GPU index); got 'gpu'."),
        ("ratio", 1, "ratio must be in [0, 1); got 1."),
    ]:
        with pytest.raises(ValueError) as info:
            check_params({**good, name: value}, rules)
        assert str(info.value) == message
