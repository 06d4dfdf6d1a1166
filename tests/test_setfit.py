"""SetFitClassifier (and the plain-setfit baseline wrapper): unit tests on a tiny in-process
sentence-transformer, integration tests on the shipped MiniLM and the benchmark datasets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fewshot
from fewshot.data import sample_k_shot, subsample
from fewshot.errors import DataError
from fewshot.strategies.setfit import (
    SetFitClassifier,
    pair_budget,
    pair_targets,
    stratified_batches,
)
from fewshot.strategies.setfit_upstream import SetFitUpstreamClassifier

INTENTS = ["billing", "delivery", "account"]
# Plain setfit (setfit 1.2 Trainer, paper settings, all-MiniLM-L6-v2) on the very splits the SST-2 test
# uses: the k = 8 sample of each seed and the same 500 test sentences. Measured by the quick suite's
# setfit-upstream cells (`fewshot bench benchmarks/quick.toml`, cells sst2/setfit-upstream/k8-seed*.json).
# Ours must stay within 2 points of it. In the quick suite of commit ee7ad08 (the same splits), ours
# scored {0: 0.672, 1: 0.696, 2: 0.568}: +2.6, -0.8 and +1.0 points. The test suite checks seed 0;
# seeds 1 and 2 are the quick suite's to compare (the suite's time budget).
PLAIN_SETFIT_SST2_K8 = {0: 0.646, 1: 0.704, 2: 0.558}


@pytest.fixture(scope="module")
def intent_data():
    """Three demo intents: 8 training and 10 test messages each."""
    ds = fewshot.load_demo("intent")

    def take(split, n):
        X, y = [], []
        for lab in INTENTS:
            rows = [x for x, t in zip(split.X, split.y) if t == lab][:n]
            X += rows
            y += [lab] * len(rows)
        return X, y

    return take(ds.train, 8), take(ds.test, 10)


@pytest.fixture(scope="module")
def tags_data():
    return fewshot.load_demo("tags")


def tiny(tiny_st_dir, **params) -> SetFitClassifier:
    params.setdefault("num_iterations", 2)
    params.setdefault("epochs", 1)
    return SetFitClassifier(model=str(tiny_st_dir), **params)


def separation(clf, X, y) -> float:
    """Mean cosine similarity of same-label pairs minus that of different-label pairs."""
    E = clf._embed(X)
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    S = E @ E.T
    T = pair_targets(np.unique(y, return_inverse=True)[1], multi_label=False)
    upper = np.triu(np.ones_like(S, dtype=bool), 1)
    return float(S[upper & (T > 0)].mean() - S[upper & (T == 0)].mean())


# ----------------------------------------------------------------------------- pair sampling
def test_pair_budget_follows_sampling_and_num_iterations():
    y = np.array([0, 0, 0, 0, 1, 1])  # 6 + 1 = 7 positive pairs, 8 negative pairs
    targets = pair_targets(y, multi_label=False)
    assert pair_budget(targets, "unique", None) == 15
    assert pair_budget(targets, "oversampling", None) == 16
    assert pair_budget(targets, "undersampling", None) == 14
    assert pair_budget(targets, "unique", 3) == 2 * 3 * 6  # setfit's 2 * num_iterations * n


def test_multi_label_pairs_are_positive_when_they_share_a_label():
    Y = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    T = pair_targets(Y, multi_label=True)
    assert T[0, 1] == 1 and T[1, 2] == 1  # share label 0 / label 1
    assert T[0, 2] == 0 and T[0, 3] == 0 and T[2, 3] == 0


def test_stratified_batches_cover_every_example_once_and_mix_labels():
    y = np.repeat(np.arange(4), 5)
    batches = stratified_batches(y, 8, np.random.RandomState(0))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(20))
    assert all(len(b) >= 2 for b in batches)
    assert all(len(set(y[b])) >= min(4, len(b) // 2) for b in batches)


# ----------------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "params, match",
    [
        ({"sampling": "random"}, "sampling must be one of oversampling, undersampling, unique; got 'random'"),
        ({"num_iterations": 0}, "num_iterations must be a positive integer or None"),
        ({"epochs": -1}, r"epochs must be an integer >= 0"),
        ({"epochs": 1.5}, r"epochs must be an integer >= 0"),
        ({"train_layers": 0}, r"train_layers must be a positive integer \(top layers to fine-tune\) or None"),
        ({"batch_size": 1}, r"batch_size must be an integer >= 2"),
        ({"body_learning_rate": 0}, "body_learning_rate must be a number between 0 and 1"),
        ({"body_learning_rate": "fast"}, "body_learning_rate must be a number between 0 and 1"),
        ({"max_length": 2}, r"max_length must be an integer >= 4 tokens, or None"),
        ({"head_c": -1.0}, "head_c must be a positive number"),
        ({"class_weight": "auto"}, "class_weight must be None or 'balanced'; got 'auto'"),
        ({"multi_label": "yes"}, "multi_label must be True or False"),
        ({"quantize": "int4"}, "quantize must be"),
        ({"seed": -3}, "seed must be a non-negative integer"),
        ({"model": ""}, "model must be a model alias"),
    ],
)
def test_bad_parameters_fail_before_any_work(params, match, intent_data):
    (X, y), _ = intent_data
    clf = SetFitClassifier(**{"model": "no-such-model", **params})  # parameters are checked before the model
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "classes_")


def test_unknown_model_names_the_known_aliases(intent_data):
    (X, y), _ = intent_data
    with pytest.raises(ValueError, match="unknown model 'no-such-model'.*minilm"):
        SetFitClassifier(model="no-such-model").fit(X, y)


def test_pairs_input_is_refused_with_a_clear_message(tiny_st_dir):
    with pytest.raises(DataError, match="pair, but this strategy takes single texts"):
        tiny(tiny_st_dir).fit([("q", "a"), ("q2", "a2")], ["yes", "no"])


# ----------------------------------------------------------------------------- training
def test_contrastive_training_separates_the_classes(tiny_st_dir, intent_data):
    # The tiny body is random, so nothing transfers to unseen texts (the integration tests on MiniLM
    # check accuracy); here we check that the pair objective pulls same-label examples together.
    (X, y), _ = intent_data
    frozen = tiny(tiny_st_dir, epochs=0).fit(X, y)
    tuned = tiny(tiny_st_dir, epochs=10, num_iterations=5, body_learning_rate=3e-3).fit(X, y)
    assert len(tuned.loss_history_) == 10
    assert tuned.loss_history_[-1] < 0.7 * tuned.loss_history_[0]
    assert separation(tuned, X, y) > separation(frozen, X, y) + 0.02


@pytest.mark.parametrize("sampling", ["oversampling", "undersampling", "unique"])
def test_every_sampling_mode_trains(tiny_st_dir, intent_data, sampling):
    (X, y), (Xt, _) = intent_data
    clf = tiny(tiny_st_dir, sampling=sampling, body_learning_rate=1e-3).fit(X, y)
    assert len(clf.loss_history_) == 1 and np.isfinite(clf.loss_history_[0])
    proba = clf.predict_proba(Xt)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)


def test_epoch_zero_keeps_the_body_frozen(tiny_st_dir, intent_data):
    from sentence_transformers import SentenceTransformer

    (X, y), (Xt, _) = intent_data
    clf = tiny(tiny_st_dir, epochs=0, quantize=False).fit(X, y)
    original = SentenceTransformer(str(tiny_st_dir), device="cpu").encode(Xt)
    np.testing.assert_allclose(clf._embed(Xt), original, atol=1e-5)
    assert clf.loss_history_ == []


def test_train_layers_tunes_only_the_top_layers_and_still_learns(tiny_st_dir, intent_data, tmp_path):
    """train_layers=1 on the 2-layer tiny body: the embeddings and the bottom layer keep their pretrained
    weights exactly, the top layer moves and lowers the pair loss (what it does for accuracy on a real
    body is a benchmark's question: the tiny body's random embeddings carry most of what it can learn);
    the parameter is saved."""
    from sentence_transformers import SentenceTransformer

    (X, y), _ = intent_data
    pretrained = dict(SentenceTransformer(str(tiny_st_dir), device="cpu")[0].auto_model.named_parameters())
    kw = dict(epochs=10, num_iterations=5, body_learning_rate=3e-3, quantize=False)
    top = tiny(tiny_st_dir, train_layers=1, **kw).fit(X, y)
    moved = {name for name, p in top.body_[0].auto_model.named_parameters()
             if not torch.equal(p.detach(), pretrained[name].detach())}
    assert moved and all(name.startswith("encoder.layer.1.") for name in moved), sorted(moved)
    assert top.loss_history_[-1] < 0.8 * top.loss_history_[0], top.loss_history_
    assert fewshot.load(top.save(tmp_path / "top-layer")).train_layers == 1


def test_train_layers_beyond_the_bodys_depth_is_a_clear_error(tiny_st_dir, intent_data):
    (X, y), _ = intent_data
    with pytest.raises(ValueError, match=r"train_layers=3, but this body has 2 transformer layers; use at most 2"):
        tiny(tiny_st_dir, train_layers=3).fit(X, y)


def test_same_seed_same_probabilities_other_seed_differs(tiny_st_dir, intent_data):
    (X, y), (Xt, _) = intent_data
    a = tiny(tiny_st_dir, seed=3, body_learning_rate=1e-3).fit(X, y).predict_proba(Xt)
    b = tiny(tiny_st_dir, seed=3, body_learning_rate=1e-3).fit(X, y).predict_proba(Xt)
    c = tiny(tiny_st_dir, seed=4, body_learning_rate=1e-3).fit(X, y).predict_proba(Xt)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_balanced_class_weight_favours_the_rare_class(tiny_st_dir, intent_data):
    (X, y), (Xt, _) = intent_data
    first_account = y.index("account")
    keep = [i for i, lab in enumerate(y) if lab != "account" or i < first_account + 2]
    Xi, yi = [X[i] for i in keep], [y[i] for i in keep]  # 8 billing, 8 delivery, 2 account
    plain = tiny(tiny_st_dir, epochs=0, head_c=10.0, class_weight=None).fit(Xi, yi)
    balanced = tiny(tiny_st_dir, epochs=0, head_c=10.0, class_weight="balanced").fit(Xi, yi)
    rare = list(plain.classes_).index("account")
    assert balanced.predict_proba(Xt)[:, rare].mean() > plain.predict_proba(Xt)[:, rare].mean()


def test_head_c_regularises_the_head(tiny_st_dir, intent_data):
    (X, y), _ = intent_data
    strong = tiny(tiny_st_dir, epochs=0, head_c=0.01).fit(X, y)
    weak = tiny(tiny_st_dir, epochs=0, head_c=100.0).fit(X, y)
    assert np.linalg.norm(strong.coef_) < np.linalg.norm(weak.coef_)


def test_max_length_caps_the_token_limit(tiny_st_dir, intent_data):
    (X, y), _ = intent_data
    clf = tiny(tiny_st_dir, max_length=8, epochs=0).fit(X, y)
    assert clf.body_.max_seq_length == 8
    long_text = " ".join(["billing"] * 50)
    # tokens beyond the limit are ignored: appending more words changes nothing
    np.testing.assert_allclose(clf._embed([long_text]), clf._embed([long_text + " delivery parcel"]), atol=1e-6)


def test_multi_label_one_vs_rest(tiny_st_dir, tags_data):
    clf = tiny(tiny_st_dir, multi_label=True, body_learning_rate=1e-3).fit(tags_data.train.X[:60], tags_data.train.y[:60])
    assert clf._problem() == "multi_label" and clf.problem_ == "multi_label"
    assert list(clf.classes_) == sorted(tags_data.labels)
    proba = clf.predict_proba(tags_data.test.X[:20])
    assert proba.shape == (20, len(clf.classes_))
    assert not np.allclose(proba.sum(axis=1), 1.0)  # independent sigmoids, not a softmax
    predicted = clf.predict(tags_data.test.X[:20])
    assert all(set(row) <= set(clf.classes_) for row in predicted)
    assert [list(clf.classes_[p >= 0.5]) for p in proba] == predicted


# ----------------------------------------------------------------------------- saving
@pytest.mark.parametrize("params", [{}, {"quantize": False}, {"multi_label": True}])
def test_save_load_round_trip_is_exact(tiny_st_dir, intent_data, tags_data, tmp_path, params):
    (X, y), (Xt, _) = intent_data
    if params.get("multi_label"):
        X, y, Xt = tags_data.train.X[:40], tags_data.train.y[:40], tags_data.test.X[:20]
    clf = tiny(tiny_st_dir, body_learning_rate=1e-3, **params).fit(X, y)
    path = clf.save(tmp_path / "clf")
    files = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
    assert "head.safetensors" in files and "body/model.safetensors" in files
    assert not [f for f in files if f.endswith((".pkl", ".joblib", ".bin", ".pt"))]
    loaded = fewshot.load(path)
    assert isinstance(loaded, SetFitClassifier) and loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(Xt), clf.predict_proba(Xt))


def test_a_folder_with_the_old_loss_key_still_loads(tiny_st_dir, intent_data, tmp_path):
    """Folders written before the training engine keep the epoch losses under state "train_loss"."""
    import json

    (X, y), _ = intent_data
    clf = tiny(tiny_st_dir, body_learning_rate=1e-3).fit(X, y)
    path = clf.save(tmp_path / "old")
    meta = json.loads((path / "fewshot.json").read_text())
    meta["state"]["train_loss"] = meta["state"].pop("loss_history")
    (path / "fewshot.json").write_text(json.dumps(meta))
    loaded = fewshot.load(path)
    assert loaded.loss_history_ == pytest.approx(clf.loss_history_) and len(clf.loss_history_) == 1
    assert loaded.train_loss_ == loaded.loss_history_  # the former attribute name still reads


def test_epochs_none_takes_the_bodys_measured_default_and_fit_records_it(tiny_st_dir, intent_data, tmp_path):
    from fewshot.strategies.setfit import BODY_EPOCHS, DEFAULT_EPOCHS

    assert SetFitClassifier(model="mpnet").resolved_epochs() == BODY_EPOCHS["mpnet"] == 2
    assert SetFitClassifier().resolved_epochs() == DEFAULT_EPOCHS == 3
    assert SetFitClassifier(model="mpnet", epochs=3).resolved_epochs() == 3, "an explicit value wins"
    (X, y), _ = intent_data
    clf = tiny(tiny_st_dir, epochs=None).fit(X, y)
    assert clf.epochs is None and clf.epochs_ == DEFAULT_EPOCHS, "a local folder gets the general default"
    assert len(clf.loss_history_) == DEFAULT_EPOCHS
    loaded = fewshot.load(clf.save(tmp_path / "clf"))
    assert loaded.epochs is None and loaded.epochs_ == DEFAULT_EPOCHS


def test_a_tampered_parameter_is_named_by_the_check_load_can_run(tiny_st_dir, intent_data, tmp_path):
    import json

    (X, y), _ = intent_data
    path = tiny(tiny_st_dir, epochs=0).fit(X, y).save(tmp_path / "clf")
    meta = json.loads((path / "fewshot.json").read_text())
    meta["params"]["quantize"] = "nope"
    unfitted = SetFitClassifier(**meta["params"])
    with pytest.raises(ValueError, match=r"^quantize must be 'auto', False, True \('int8'\), 'int8' or 'bf16'; got 'nope'"):
        unfitted._check_params()
    assert not hasattr(unfitted, "classes_")


def test_quantize_is_a_prediction_time_switch(tiny_st_dir, intent_data):
    (X, y), (Xt, _) = intent_data
    clf = tiny(tiny_st_dir, body_learning_rate=1e-3, quantize=False).fit(X, y)
    full = clf.predict_proba(Xt)
    for mode in ("int8", "bf16"):
        reduced = clf.set_params(quantize=mode).predict_proba(Xt)
        assert not np.array_equal(reduced, full)  # the reduced-precision body really runs ...
        assert np.abs(reduced - full).max() < 0.1  # ... and stays close to float32
    assert clf._infer_body.dtype == torch.bfloat16 and clf.body_.dtype == torch.float32
    clf.set_params(quantize=True)
    clf.predict_proba(Xt[:2])
    assert "quantized.dynamic" in type(clf._infer_body[0].auto_model.encoder.layer[0].intermediate.dense).__module__
    assert "quantized" not in type(clf.body_[0].auto_model.encoder.layer[0].intermediate.dense).__module__
    np.testing.assert_array_equal(clf.set_params(quantize=False).predict_proba(Xt), full)


def test_auto_precision_is_int8_only_for_the_body_it_was_measured_on(tiny_st_dir, intent_data, tmp_path):
    """int8 lost 5 to 14 points on mpnet (validation rows) and kept MiniLM within a point: "auto", the
    default, predicts in int8 on minilm only; any other body predicts exactly as float32 does."""
    assert SetFitClassifier().quantize == "auto"
    assert SetFitClassifier().prediction_precision() == "int8"  # minilm, the default body
    assert SetFitClassifier(model="mpnet").prediction_precision() == "float32"
    assert SetFitClassifier(model="mpnet", quantize="int8").prediction_precision() == "int8"
    assert SetFitClassifier(quantize=False).prediction_precision() == "float32"
    assert SetFitClassifier(quantize=True).prediction_precision() == "int8"
    assert SetFitClassifier(quantize="bf16").prediction_precision() == "bf16"
    (X, y), (Xt, _) = intent_data
    clf = tiny(tiny_st_dir, body_learning_rate=1e-3).fit(X, y)  # quantize="auto", a body not in INT8_BODIES
    assert clf.quantize == "auto" and clf.prediction_precision() == "float32"
    auto = clf.predict_proba(Xt)
    np.testing.assert_array_equal(auto, clf.set_params(quantize=False).predict_proba(Xt))
    assert not np.array_equal(auto, clf.set_params(quantize="int8").predict_proba(Xt))
    loaded = fewshot.load(clf.set_params(quantize="auto").save(tmp_path / "auto"))
    assert loaded.quantize == "auto"
    np.testing.assert_array_equal(loaded.predict_proba(Xt), auto)


def test_fit_and_save_write_nothing_into_the_working_directory(tiny_st_dir, intent_data, clean_cwd, tmp_path):
    (X, y), (Xt, _) = intent_data
    clf = tiny(tiny_st_dir, show_progress=True).fit(X, y)
    clf.save(tmp_path / "out")
    up = SetFitUpstreamClassifier(model=str(tiny_st_dir), num_iterations=1).fit(X, y)
    up.save(tmp_path / "up")
    assert len(up.predict(Xt)) == len(Xt)


# ----------------------------------------------------------------------------- the plain-setfit baseline
def test_upstream_wrapper_round_trip_and_bad_params(tiny_st_dir, intent_data, tmp_path):
    (X, y), (Xt, _) = intent_data
    with pytest.raises(ValueError, match=r"num_iterations must be an integer >= 1; got 0"):
        SetFitUpstreamClassifier(num_iterations=0).fit(X, y)
    clf = SetFitUpstreamClassifier(model=str(tiny_st_dir), num_iterations=1, seed=1).fit(X, y)
    proba = clf.predict_proba(Xt)
    # our numpy head reproduces setfit's own scikit-learn head
    np.testing.assert_allclose(proba, np.asarray(clf.setfit_model_.predict_proba(Xt, as_numpy=True)), atol=1e-6)
    path = clf.save(tmp_path / "up")
    assert not list(path.rglob("*.pkl")) and not list(path.rglob("*.joblib"))
    np.testing.assert_array_equal(fewshot.load(path).predict_proba(Xt), proba)


def test_upstream_wrapper_multi_label_matches_setfit(tiny_st_dir, tags_data):
    X, y, Xt = tags_data.train.X[:30], tags_data.train.y[:30], tags_data.test.X[:10]
    clf = SetFitUpstreamClassifier(model=str(tiny_st_dir), num_iterations=1, multi_label=True).fit(X, y)
    proba = clf.predict_proba(Xt)
    assert proba.shape == (10, len(clf.classes_))
    np.testing.assert_allclose(proba, np.asarray(clf.setfit_model_.predict_proba(Xt, as_numpy=True)), atol=1e-6)


# ----------------------------------------------------------------------------- integration
@pytest.fixture(scope="module")
def sst2(data_dir):
    from fewshot.datasets import load_dataset_folder

    return load_dataset_folder(data_dir / "sst2")


def _sst2_k8(minilm_path, sst2, seed: int) -> dict:
    X, y = sample_k_shot(sst2.train.X, sst2.train.y, k=8, seed=seed)
    Xt, yt = subsample(sst2.test.X, sst2.test.y, 500, seed=0)
    clf = SetFitClassifier(model=minilm_path, seed=seed).fit(X, y)
    proba = clf.predict_proba(Xt)
    accuracy = float(np.mean(clf.classes_[proba.argmax(1)] == np.asarray(yt)))
    return {"clf": clf, "proba": proba, "accuracy": accuracy, "test": Xt}


@pytest.fixture(scope="module")
def minilm_sst2_seed0(minilm_path, sst2) -> dict:
    """SetFit on minilm, sst2, k = 8, seed 0, scored on the 500 test sentences: fitted once per module."""
    return _sst2_k8(minilm_path, sst2, 0)


@pytest.mark.integration
@pytest.mark.parametrize("seed", [0])
def test_sst2_k8_accuracy(minilm_path, sst2, seed, tmp_path, request):
    run = request.getfixturevalue("minilm_sst2_seed0") if seed == 0 else _sst2_k8(minilm_path, sst2, seed)
    clf, proba, accuracy, Xt = run["clf"], run["proba"], run["accuracy"], run["test"]
    plain = PLAIN_SETFIT_SST2_K8[seed]
    print(f"\nsst2 k=8 seed {seed}: ours {accuracy:.3f}, plain setfit {plain:.3f}")
    assert accuracy >= plain - 0.02, f"seed {seed}: accuracy {accuracy:.3f} vs plain setfit {plain:.3f} on the same split"
    if seed == 0:  # the real model survives a save/load round trip exactly
        assert clf.prediction_precision() == "int8"  # minilm's folder predicts in int8 under "auto"
        loaded = fewshot.load(clf.save(tmp_path / "sst2"))
        np.testing.assert_array_equal(loaded.predict_proba(Xt), proba)


@pytest.mark.integration
def test_sst2_k8_on_mpnet_beats_minilm_on_the_same_split(sst2, mpnet_path, minilm_sst2_seed0):
    """The larger body pays off: SetFit on `mpnet` against SetFit on `minilm`, both fitted in this run
    on the k = 8 sample of seed 0 and scored on the same 500 test sentences (a first probe gave 0.824
    against 0.660), and against plain setfit on minilm there."""
    X, y = sample_k_shot(sst2.train.X, sst2.train.y, k=8, seed=0)
    Xt, yt = subsample(sst2.test.X, sst2.test.y, 500, seed=0)
    clf = SetFitClassifier(model="mpnet", seed=0).fit(X, y)
    accuracy = float(np.mean(clf.predict(Xt) == np.asarray(yt)))
    minilm = minilm_sst2_seed0["accuracy"]
    print(f"\nsst2 k=8 seed 0: mpnet {accuracy:.3f}, minilm {minilm:.3f}, plain setfit (minilm) {PLAIN_SETFIT_SST2_K8[0]:.3f}")
    assert accuracy >= max(minilm, PLAIN_SETFIT_SST2_K8[0]) + 0.05, (accuracy, minilm)


@pytest.mark.integration
def test_multi_label_tags_beat_the_majority_baseline(minilm_path, tags_data):
    from fewshot.metrics import multilabel_metrics
    from fewshot.strategies.majority import MajorityClassifier

    X, y, test = tags_data.train.X[:32], tags_data.train.y[:32], tags_data.test  # a few-shot budget
    clf = SetFitClassifier(model=minilm_path, multi_label=True, seed=0).fit(X, y)
    base = MajorityClassifier(multi_label=True).fit(X, y)
    ours = multilabel_metrics(test.y, clf.predict(test.X), clf.classes_)["f1_samples"]
    floor = multilabel_metrics(test.y, base.predict(test.X), base.classes_)["f1_samples"]
    assert ours > floor + 0.1, f"example-based F1 {ours:.3f} vs majority {floor:.3f}"
