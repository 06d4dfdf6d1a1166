"""EnsembleClassifier on tiny in-process models: member forms, weights learned by cross-validation,
combining rules, save/load with members in subfolders, and bad input refused before any training."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from sklearn.base import clone

import fewshot
from fewshot import EnsembleClassifier, MajorityClassifier
from fewshot.ensemble import combine, learn_weights
from fewshot.errors import NotASavedClassifierError, UnknownStrategyError

# Keyword intents built from the demo vocabulary (so the tiny models know every word): a frozen tiny
# sentence-transformer plus a logistic head separates them, the majority class cannot.
KEYWORDS = {
    "billing": ["card", "invoice", "payment", "pay", "receipt", "billing"],
    "delivery": ["delivery", "tracking", "courier", "parcel", "arrived", "order"],
    "account": ["account", "email", "password", "login", "reset", "sign"],
}


def keyword_data(per_class: int, seed: int = 0, labels: tuple = ("billing", "delivery", "account")):
    rng = random.Random(seed)
    X, y = [], []
    for intent, label in zip(KEYWORDS, labels, strict=True):
        for _ in range(per_class):
            X.append("my " + " ".join(rng.sample(KEYWORDS[intent], 3)))
            y.append(label)
    return X, y


def fast_setfit(st_dir, **extra) -> dict:
    """A frozen tiny sentence-transformer with a logistic head: fits in well under a second."""
    return {"name": "setfit", "params": {"model": str(st_dir), "epochs": 0, "quantize": False, **extra}}


@pytest.fixture(scope="module")
def data():
    return keyword_data(6, seed=0), keyword_data(5, seed=1)


def test_member_forms_name_dict_and_instance_give_the_same_classifier(data):
    (X, y), (Xt, _) = data
    by_name = EnsembleClassifier(members=["majority", "majority"]).fit(X, y)
    by_dict = EnsembleClassifier(members=[{"name": "majority"}, {"name": "majority", "params": {}}]).fit(X, y)
    mine = MajorityClassifier()
    by_instance = EnsembleClassifier(members=[mine, MajorityClassifier().fit(X[:4], ["a", "b", "a", "b"])]).fit(X, y)
    for clf in (by_dict, by_instance):
        np.testing.assert_allclose(clf.predict_proba(Xt), by_name.predict_proba(Xt))
    assert not hasattr(mine, "classes_"), "the ensemble trains its own copies, never the user's instance"
    assert by_name.member_labels_ == ["majority", "majority-2"]
    np.testing.assert_allclose(by_name.weights_, [0.5, 0.5])


def test_cv_weights_favour_the_good_member(data, tiny_st_dir):
    (X, y), (Xt, yt) = data
    clf = EnsembleClassifier(members=["majority", fast_setfit(tiny_st_dir)], weights="cv", cv=3).fit(X, y)
    assert clf.weights_.shape == (2,) and np.all(clf.weights_ >= 0)
    assert clf.weights_.sum() == pytest.approx(1.0)
    assert clf.weights_[1] > 0.8 > 0.2 > clf.weights_[0], clf.weights_
    assert clf.oof_loss_["learned"] < clf.oof_loss_["equal"]
    assert np.mean(clf.predict(Xt) == np.asarray(yt)) > 0.8


def test_learn_weights_drops_a_confidently_wrong_member():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 3, size=60)
    good = np.full((60, 3), 0.1)
    good[np.arange(60), target] = 0.8
    bad = np.full((60, 3), 0.45)
    bad[np.arange(60), target] = 0.1  # most mass on wrong classes
    for how in ("proba", "log_proba"):
        w = learn_weights([bad, good], target, how, "single_label")
        assert w[0] < 0.05 and w[1] > 0.95, (how, w)
        assert np.array_equal(w, learn_weights([bad, good], target, how, "single_label")), "deterministic"


def test_combining_rules():
    a = np.array([[0.9, 0.1], [0.5, 0.5]])
    b = np.array([[0.5, 0.5], [0.2, 0.8]])
    np.testing.assert_allclose(combine([a, b], np.array([0.5, 0.5]), "proba", "single_label"), (a + b) / 2)
    geo = np.sqrt(a * b)
    np.testing.assert_allclose(combine([a, b], np.array([0.5, 0.5]), "log_proba", "single_label"),
                               geo / geo.sum(axis=1, keepdims=True))
    # multi-label: each label against its complement (weighted geometric mean, renormalised)
    got = combine([a, b], np.array([0.5, 0.5]), "log_proba", "multi_label")
    np.testing.assert_allclose(got, geo / (geo + np.sqrt((1 - a) * (1 - b))))


def test_fixed_weights_and_log_proba(data):
    (X, y), (Xt, _) = data
    w = EnsembleClassifier(members=["majority", "majority"], weights=[3, 1]).fit(X, y)
    np.testing.assert_allclose(w.weights_, [0.75, 0.25])
    with pytest.raises(ValueError, match="weights has 3 value.*2 members"):
        EnsembleClassifier(members=["majority", "majority"], weights=[1, 1, 1]).fit(X, y)
    with pytest.raises(ValueError, match="^weights must be None, 'cv' or a list of non-negative"):
        EnsembleClassifier(members=["majority"], weights=[-1]).fit(X, y)


def test_members_probabilities_come_with_the_ensembles_from_one_pass(data, tiny_st_dir):
    (X, y), (Xt, yt) = data
    ens = EnsembleClassifier(members=[fast_setfit(tiny_st_dir), "majority"], weights=[3, 1]).fit(X, y)
    proba, members = ens.predict_proba_with_members(Xt)
    np.testing.assert_allclose(proba, ens.predict_proba(Xt))
    assert list(members) == ["setfit", "majority"]
    np.testing.assert_allclose(members["setfit"], ens.members_[0].predict_proba(Xt))
    np.testing.assert_allclose(members["majority"], ens.members_[1].predict_proba(Xt))
    np.testing.assert_allclose(proba, 0.75 * members["setfit"] + 0.25 * members["majority"])


def test_save_writes_each_member_into_its_own_subfolder_and_loads_exactly(data, tiny_st_dir, tmp_path):
    (X, y), (Xt, _) = data
    members = [MajorityClassifier(), fast_setfit(tiny_st_dir)]
    clf = EnsembleClassifier(members=members, weights=[0.3, 0.7], combine="log_proba").fit(X, y)
    path = clf.save(tmp_path / "ens")
    meta = json.loads((path / "fewshot.json").read_text())
    assert meta["strategy"] == "ensemble" and meta["state"]["members"] == ["member_0", "member_1"]
    assert meta["params"]["members"][0] == {"name": "majority", "params": {"multi_label": False, "threshold": 0.5}}
    for i, member in enumerate(clf.members_):  # each subfolder is a normal saved classifier
        alone = fewshot.load(path / f"member_{i}")
        np.testing.assert_array_equal(alone.predict_proba(Xt), member.predict_proba(Xt))
    loaded = fewshot.load(path)
    assert type(loaded) is EnsembleClassifier
    np.testing.assert_array_equal(loaded.predict_proba(Xt), clf.predict_proba(Xt))
    np.testing.assert_array_equal(loaded.weights_, clf.weights_)
    # the top-level manifest covers the members' files: an edited member is refused
    head = path / "member_1" / "head.safetensors"
    assert head.is_file()
    head.write_bytes(head.read_bytes()[:-1] + b"\0")
    with pytest.raises(NotASavedClassifierError, match="member_1/head.safetensors differs"):
        fewshot.load(path)


def test_saved_params_are_validated_on_load(data, tmp_path):
    (X, y), _ = data
    path = EnsembleClassifier(members=["majority", "majority"]).fit(X, y).save(tmp_path / "ens")
    meta_file = path / "fewshot.json"
    meta = json.loads(meta_file.read_text())
    for bad, message in [({"members": ["majority", "nope"]}, "unknown strategy 'nope'"),
                         ({"combine": "median"}, "combine must be 'proba' or 'log_proba'"),
                         ({"members": ["majority"]}, "1 member.*2 saved member")]:
        meta_file.write_text(json.dumps({**meta, "params": {**meta["params"], **bad}}))
        with pytest.raises(NotASavedClassifierError, match=message):
            fewshot.load(path)


def test_clone_and_grid_search_with_instance_members(data):
    from sklearn.model_selection import GridSearchCV

    (X, y), _ = data
    est = EnsembleClassifier(members=[MajorityClassifier(), MajorityClassifier(threshold=0.4)])
    copy = clone(est)
    assert copy.members is not est.members and copy.members[1].threshold == 0.4
    search = GridSearchCV(est, {"combine": ["proba", "log_proba"]}, cv=2).fit(X, y)
    assert search.best_params_["combine"] in ("proba", "log_proba")


class _RenamedLabels(MajorityClassifier):
    """A member that learns other labels than it was given (upper-cased): its classes_ differ."""

    def fit(self, X, y):
        return super().fit(X, [str(v).upper() for v in y])


# --------------------------------------------------------------------------- bad input, before training
def _never_trained(tmp_path) -> dict:
    """A member whose training would fail at once with another error (its model folder does not exist)."""
    return {"name": "setfit", "params": {"model": str(tmp_path / "no-such-model")}}


@pytest.mark.parametrize("members, error, message", [
    ([], ValueError, r"members is empty"),
    (["majority", "setfitt"], UnknownStrategyError, r"members\[1\]: unknown strategy 'setfitt'; known strategies: .*setfit"),
    ([{"name": "majority", "parms": {}}], ValueError, r"members\[0\] has unknown key\(s\) 'parms'"),
    (["majority", {"name": "head", "params": {"epochs": 0}}], ValueError, r"members\[1\] \(head\): epochs must be"),
    ([{"name": "majority", "params": {"multi_label": True}}, "majority"], ValueError,
     r"solve different problems \(majority: multi_label, majority: single_label, setfit: single_label"),
    ([{"name": "setfit", "params": {"no_such": 1}}], UnknownStrategyError, r"has no parameter\(s\) no_such"),
])
def test_bad_members_are_refused_before_training(members, error, message, data, tmp_path):
    (X, y), _ = data
    full = [*members, _never_trained(tmp_path)] if members else []  # training would fail otherwise
    with pytest.raises(error, match=message):
        EnsembleClassifier(members=full).fit(X, y)


def test_too_few_examples_per_class_for_the_folds(data, tmp_path):
    (X, y), _ = data
    with pytest.raises(ValueError, match=r"7 folds need at least 7 examples of every class, but class '\w+' has 6"):
        EnsembleClassifier(members=["majority", _never_trained(tmp_path)], weights="cv", cv=7).fit(X, y)


def test_members_with_different_classes_after_fitting(data):
    (X, y), _ = data
    with pytest.raises(ValueError, match=r"member '[\w-]+' learned the classes \['ACCOUNT'.*every member must predict"):
        EnsembleClassifier(members=["majority", _RenamedLabels()]).fit(X, y)


def test_a_benchmark_suite_can_name_ensemble_members_as_a_list_of_tables():
    from fewshot.bench.suite import parse_suite
    from fewshot.registry import make_classifier

    suite = parse_suite('''
name = "meta"
datasets = ["demo:intent"]
k = [8]
seeds = [0]
[[strategies]]
name = "ensemble"
label = "ensemble-setfit-prompt"
params = { members = [ { name = "setfit" }, { name = "prompt", params = { mode = "zero" } } ], weights = "cv" }
[[strategies]]
name = "auto"
params = { candidates = ["setfit", { name = "head", params = { epochs = 2 } }] }
''')
    ens, auto = (make_classifier(s.name, **s.params) for s in suite.strategies)
    assert ens.members[1] == {"name": "prompt", "params": {"mode": "zero"}} and ens.weights == "cv"
    for clf in (ens, auto):
        clf._check_params()  # names and member parameters are valid without loading any model
        assert clf._problem() == "single_label"
