"""AutoClassifier on tiny in-process models: it picks a strong candidate over a useless one, the
noise rule prefers a cheaper candidate only within the given standard errors, the time budget skips what
would not fit, the table and the pick survive save/load, and bad input fails before any training."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.model_selection import RepeatedStratifiedKFold
from test_ensemble import _never_trained, fast_setfit, keyword_data

import fewshot
from fewshot import AutoClassifier, EnsembleClassifier
from fewshot.auto import _choose, _proper_scores
from fewshot.errors import UnknownStrategyError

COLUMNS = {"candidate", "params", "mean_test_score", "std_test_score", "rank_test_score", "mean_fit_seconds",
           "mean_predict_seconds", "estimated_seconds", "paired_diff", "paired_se", "chosen", "skipped", "reason",
           "mean_test_brier", "mean_test_log_loss"}


@pytest.fixture(scope="module")
def data():
    return keyword_data(6, seed=0), keyword_data(5, seed=1)


@pytest.fixture(scope="module")
def strong_vs_useless(data, tiny_st_dir):
    (X, y), _ = data
    return AutoClassifier(candidates=["majority", fast_setfit(tiny_st_dir)], cv=3).fit(X, y)


def test_picks_the_strong_candidate_over_the_useless_one(strong_vs_useless, data):
    clf = strong_vs_useless
    (X, y), (Xt, yt) = data
    res = clf.cv_results_
    assert list(res["candidate"]) == ["majority", "setfit", "ensemble(setfit+majority)"]
    assert set(res) == COLUMNS | {f"split{s}_test_{m}" for s in range(3) for m in ("score", "brier", "log_loss")}
    assert all(len(v) == 3 for v in res.values())
    np.testing.assert_allclose(res["split0_test_score"][0], 1 / 3)  # balanced folds: the prior guesses one class
    # the proper scores of the prior's 1/3 on every class: Brier (2/3)^2 + 2 (1/3)^2, log loss ln 3
    np.testing.assert_allclose(res["mean_test_brier"][0], 2 / 3)
    np.testing.assert_allclose(res["mean_test_log_loss"][0], np.log(3))
    assert res["mean_test_brier"][1] < 2 / 3 and res["mean_test_log_loss"][1] < np.log(3)
    np.testing.assert_allclose(res["mean_test_brier"], [np.mean([res[f"split{s}_test_brier"][i] for s in range(3)])
                                                        for i in range(3)])
    assert clf.best_candidate_ == "setfit" and list(res["chosen"]) == [False, True, False]
    assert res["mean_test_score"][1] > 0.8 and res["rank_test_score"][0] == 3
    assert res["paired_diff"][0] > res["paired_se"][0] > 0, "the useless candidate is outside the noise"
    assert type(clf.best_estimator_).__name__ == "SetFitClassifier"
    assert len(clf.best_estimator_.classes_) == 3 and clf.best_estimator_.n_features_in_ == 1
    np.testing.assert_array_equal(clf.predict_proba(Xt), clf.best_estimator_.predict_proba(Xt))
    assert np.mean(clf.predict(Xt) == np.asarray(yt)) > 0.8
    table = clf.cv_table()
    assert "setfit" in table and "<- chosen: best mean score" in table


def test_proper_scores_of_a_fold_single_and_multi_label():
    truth = np.array([0, 1])
    proba = np.array([[0.8, 0.2], [0.4, 0.6]])
    brier, log_loss = _proper_scores("single_label", truth, proba)
    np.testing.assert_allclose(brier, ((0.2 ** 2 + 0.2 ** 2) + (0.4 ** 2 + 0.4 ** 2)) / 2)
    np.testing.assert_allclose(log_loss, -(np.log(0.8) + np.log(0.6)) / 2)
    tags = np.array([[1, 0], [0, 1]])  # each label's probability on its own
    brier, log_loss = _proper_scores("multi_label", tags, np.array([[0.8, 0.3], [0.4, 0.9]]))
    np.testing.assert_allclose(brier, (0.2 ** 2 + 0.3 ** 2 + 0.4 ** 2 + 0.1 ** 2) / 4)
    np.testing.assert_allclose(log_loss, -(np.log(0.8) + np.log(0.7) + np.log(0.6) + np.log(0.9)) / 4)
    assert np.isfinite(_proper_scores("single_label", truth, np.array([[0.0, 1.0], [1.0, 0.0]]))).all()  # sure and wrong


def _row(label, scores, cost):
    n = len(scores)
    return {"candidate": label, "scores": np.asarray(scores, dtype=float), "fit": np.full(n, cost),
            "predict": np.zeros(n), "skipped": ""}


BIG = [0.8, 0.7, 0.9, 0.6, 0.8, 0.7]


def test_noise_rule_keeps_a_cheaper_candidate_only_within_the_given_standard_errors():
    # 2 points behind on average, per-fold differences swinging: 0.79 standard errors of the paired difference
    noisy = [_row("big", BIG, 10.0), _row("cheap", [0.7, 0.8, 0.8, 0.7, 0.7, 0.6], 1.0)]
    pick, reasons = _choose(noisy, 1.0)
    assert pick == 1 and "within the noise of big" in reasons[1] and "<= 1 SE of 0.042" in reasons[1]
    assert _choose(noisy, 0.5)[0] == 0, "0.79 SE is outside half a standard error"
    # 0.42 standard errors behind: kept at the default margin, not when the margin is 0 (always the best mean)
    close = [_row("big", BIG, 10.0), _row("cheap", [0.7, 0.8, 0.8, 0.7, 0.8, 0.6], 1.0)]
    pick, reasons = _choose(close, 0.5)
    assert pick == 1 and "<= 0.5 SE of 0.040" in reasons[1]
    assert reasons[0] == "best mean score, but a cheaper candidate is within the noise"
    assert _choose(close, 0.0) == (0, ["best mean score", ""])
    # the same 2-point gap on every fold is a real difference at any reasonable margin: the best is kept
    steady = [_row("big", BIG, 10.0), _row("cheap", [0.78, 0.68, 0.88, 0.58, 0.78, 0.68], 1.0)]
    assert _choose(steady, 1.0) == (0, ["best mean score", ""])
    # a more expensive candidate within the noise is never preferred
    dear = [_row("big", BIG, 1.0), _row("dear", [0.7, 0.8, 0.8, 0.7, 0.7, 0.6], 10.0)]
    assert _choose(dear, 1.0)[0] == 0
    # among several cheaper candidates within the noise, the cheapest
    two = [_row("big", BIG, 10.0), _row("mid", [0.8, 0.7, 0.9, 0.6, 0.7, 0.8], 5.0), _row("cheap", [0.7, 0.8, 0.8, 0.7, 0.8, 0.6], 1.0)]
    assert _choose(two, 0.5)[0] == 2


def test_the_margin_is_a_parameter_that_reaches_the_choice_and_is_checked(data, monkeypatch):
    import fewshot.auto as auto

    (X, y), _ = data
    assert AutoClassifier().cheaper_within_se == 0.5
    real_choose, seen = auto._choose, []
    monkeypatch.setattr(auto, "_choose", lambda rows, within_se: seen.append(within_se) or real_choose(rows, within_se))
    for margin in (0.0, 2.5):
        clf = AutoClassifier(candidates=["majority", "majority"], cv=2, cheaper_within_se=margin).fit(X, y)
        assert clf.get_params()["cheaper_within_se"] == margin
    assert seen == [0.0, 2.5]
    with pytest.raises(ValueError, match="cheaper_within_se.*non-negative number of standard errors"):
        AutoClassifier(candidates=["majority"], cheaper_within_se=-1).fit(X, y)


def test_default_folds_repeat_when_classes_are_small():
    X, y = keyword_data(6)
    clf = AutoClassifier(candidates=["majority", "majority"]).fit(X, y)
    assert sum(k.startswith("split") and k.endswith("_test_score") for k in clf.cv_results_) == 8  # 4 folds, twice
    assert clf.cv_splitter_.startswith("RepeatedStratifiedKFold(n_repeats=2, n_splits=4")
    X, y = keyword_data(16)
    clf = AutoClassifier(candidates=["majority", "majority"]).fit(X, y)
    assert sum(k.startswith("split") and k.endswith("_test_score") for k in clf.cv_results_) == 5
    splitter = RepeatedStratifiedKFold(n_splits=2, n_repeats=3, random_state=0)
    clf = AutoClassifier(candidates=["majority", "majority"], cv=splitter).fit(X, y)
    assert sum(k.startswith("split") and k.endswith("_test_score") for k in clf.cv_results_) == 6


def test_time_budget_skips_what_would_not_fit(data, tiny_st_dir):
    (X, y), _ = data
    clf = AutoClassifier(candidates=["majority", fast_setfit(tiny_st_dir)], cv=3, time_budget=0.05).fit(X, y)
    res = clf.cv_results_
    assert list(res["skipped"]) == [False, True, True]
    assert "exceeds time_budget=0.05 s" in res["reason"][1] and np.isnan(res["mean_test_score"][1])
    assert res["estimated_seconds"][1] > 0.05 and "needs two candidates" in res["reason"][2]
    assert clf.best_candidate_ == "majority"


def test_a_budget_no_candidate_fits_names_the_cheapest_estimate(data, tiny_st_dir):
    (X, y), _ = data
    with pytest.raises(ValueError, match=r"time_budget=1e-09 s fits no candidate: the cheapest, 'majority', is "
                                         r"estimated at \d+\.\d s"):
        AutoClassifier(candidates=[fast_setfit(tiny_st_dir), "majority"], cv=3, time_budget=1e-9).fit(X, y)


def test_save_load_keeps_the_pick_and_the_table(strong_vs_useless, data, tmp_path):
    clf = strong_vs_useless
    _, (Xt, _) = data
    path = clf.save(tmp_path / "auto")
    meta = json.loads((path / "fewshot.json").read_text())
    assert meta["strategy"] == "auto" and meta["state"]["best_candidate"] == "setfit"
    assert json.loads((path / "best" / "fewshot.json").read_text())["strategy"] == "setfit"
    loaded = fewshot.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(Xt), clf.predict_proba(Xt))
    assert loaded.best_candidate_ == "setfit" and loaded.get_params() == clf.get_params()
    assert set(loaded.cv_results_) == set(clf.cv_results_)
    for key, values in clf.cv_results_.items():
        if key == "params":
            assert loaded.cv_results_[key] == values
        else:
            np.testing.assert_array_equal(loaded.cv_results_[key], values)
    assert loaded.cv_table() == clf.cv_table()


def test_a_folder_saved_before_the_margin_existed_loads_with_the_rule_that_made_its_pick(strong_vs_useless, tmp_path):
    path = strong_vs_useless.save(tmp_path / "old")
    meta = json.loads((path / "fewshot.json").read_text())
    del meta["params"]["cheaper_within_se"]
    (path / "fewshot.json").write_text(json.dumps(meta))
    assert fewshot.load(path).cheaper_within_se == 1.0
    assert fewshot.load(strong_vs_useless.save(tmp_path / "new")).cheaper_within_se == 0.5


def test_ties_go_to_the_cheapest_never_to_the_costlier_ensemble(data):
    (X, y), (Xt, _) = data
    clf = AutoClassifier(candidates=["majority", "majority"], cv=2).fit(X, y)
    assert np.all(clf.cv_results_["mean_test_score"] == clf.cv_results_["mean_test_score"][0])
    assert not clf.cv_results_["chosen"][2]  # the ensemble costs the sum of its members


def test_a_chosen_ensemble_is_refitted_on_all_data_and_saved(data, tiny_st_dir, tmp_path, monkeypatch):
    """The refit path of the ensemble row (forced: with tiny models the ensemble rarely wins outright)."""
    import fewshot.auto as auto

    (X, y), (Xt, _) = data
    real_choose = auto._choose
    monkeypatch.setattr(auto, "_choose", lambda rows, within_se: (len(rows) - 1, real_choose(rows, within_se)[1]))
    clf = AutoClassifier(candidates=["majority", fast_setfit(tiny_st_dir)], cv=2).fit(X, y)
    assert clf.best_candidate_ == "ensemble(setfit+majority)"
    best = clf.best_estimator_
    assert isinstance(best, EnsembleClassifier) and best.member_labels_ == ["setfit", "majority"]
    fold_mean = (clf.cv_results_["mean_fit_seconds"][0] + clf.cv_results_["mean_fit_seconds"][1])
    assert clf.cv_results_["mean_fit_seconds"][2] == pytest.approx(fold_mean)
    loaded = fewshot.load(clf.save(tmp_path / "auto"))
    np.testing.assert_array_equal(loaded.predict_proba(Xt), clf.predict_proba(Xt))
    assert (tmp_path / "auto" / "best" / "member_1" / "fewshot.json").is_file()


def test_multi_label_candidates(tmp_path):
    X, y = keyword_data(6)
    tags = [[lab] + (["urgent"] if i % 3 == 0 else []) for i, lab in enumerate(y)]
    ml = {"name": "majority", "params": {"multi_label": True}}
    clf = AutoClassifier(candidates=[ml, {**ml, "params": {"multi_label": True, "threshold": 0.3}}], cv=2).fit(X, tags)
    assert clf.problem_ == "multi_label" and "urgent" in clf.classes_
    assert np.all(clf.cv_results_["mean_test_brier"][:2] > 0) and np.isfinite(clf.cv_results_["mean_test_log_loss"][:2]).all()
    assert isinstance(clf.predict(X[:2])[0], list)
    loaded = fewshot.load(clf.save(tmp_path / "ml"))
    assert loaded.predict(X[:3]) == clf.predict(X[:3])


# --------------------------------------------------------------------------- bad input, before training
@pytest.mark.parametrize("candidates, extra, error, message", [
    (["majority", "promt"], {}, UnknownStrategyError, r"candidates\[1\]: unknown strategy 'promt'; known strategies: "
                                                      r"majority, setfit, .*prompt"),
    ([], {}, ValueError, r"candidates is empty"),
    ([{"name": "majority", "params": {"multi_label": True}}], {}, ValueError, r"candidates solve different problems"),
    (["majority"], {"cv": 7}, ValueError, r"cv: 7 folds need at least 7 examples of every class, but class "
                                          r"'\w+' has 6\. .*\(cv=6\)"),
    (["majority"], {"metric": "f1_samples"}, ValueError, r"metric 'f1_samples' does not score a single_label"),
    (["majority"], {"time_budget": 0}, ValueError, r"time_budget must be None or a positive number"),
])
def test_bad_input_fails_before_any_training(candidates, extra, error, message, tmp_path):
    X, y = keyword_data(6)
    full = [*candidates, _never_trained(tmp_path)] if candidates else []  # training it would fail otherwise
    with pytest.raises(error, match=message):
        AutoClassifier(candidates=full, **extra).fit(X, y)


def test_cli_trains_auto(tmp_path, capsys):
    from fewshot.cli import main

    X, y = keyword_data(4)
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in zip(X, y, strict=True)))
    out = tmp_path / "model"
    code = main(["train", "--strategy", "auto", "--data", str(data), "--out", str(out),
                 "--param", 'candidates=["majority", {"name": "majority", "label": "second"}]', "--param", "cv=2"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "candidate" in printed and "<- chosen" in printed and "trained auto on 12 examples" in printed
    assert fewshot.load(out).best_candidate_ in ("majority", "second")


def test_a_candidate_that_fails_is_skipped_with_its_reason(data, tmp_path):
    """As in scikit-learn's searches, one failing candidate does not stop the search: it is dropped,
    with the reason in cv_results_ and a warning; only when every candidate fails is it an error."""
    (X, y), _ = data
    broken = tmp_path / "not-a-model"
    broken.mkdir()  # exists, so the checks before training pass; loading it fails inside fit
    failing = {"name": "setfit", "params": {"model": str(broken)}}
    with pytest.warns(UserWarning, match="candidate 'setfit' failed on fold 1: .*it is skipped"):
        clf = AutoClassifier(candidates=["majority", failing], cv=3).fit(X, y)
    res = clf.cv_results_
    assert list(res["skipped"]) == [False, True, True]
    assert res["reason"][1].startswith("failed on fold 1: ") and np.isnan(res["mean_test_score"][1])
    assert clf.best_candidate_ == "majority" and type(clf.best_estimator_).__name__ == "MajorityClassifier"
    with pytest.warns(UserWarning), pytest.raises(
        ValueError, match="every candidate failed during cross-validation: setfit: failed on fold 1"
    ):
        AutoClassifier(candidates=[failing, {"name": "head", "params": {"model": str(broken)}}], cv=3).fit(X, y)
