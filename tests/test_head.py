"""HeadClassifier: unit tests on tiny in-process models, integration tests on minilm + real data."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fewshot
from fewshot.metrics import multilabel_metrics, regression_metrics
from fewshot.strategies.head import HeadClassifier


def _by_class(split, labels, n):
    X, y = [], []
    for lab in labels:
        rows = [x for x, t in zip(split.X, split.y) if t == lab][:n]
        X += rows
        y += [lab] * len(rows)
    return X, y


@pytest.fixture(scope="module")
def intent():
    """Two easy demo intents, 12 training and 10 test messages each."""
    ds = fewshot.load_demo("intent")
    labels = ["delivery", "technical"]
    return _by_class(ds.train, labels, 12), _by_class(ds.test, labels, 10)


@pytest.fixture(autouse=True)
def one_torch_thread(request):
    """Tiny models gain nothing from intra-op threads, and the test machine is shared; real models
    (integration tests) keep every core."""
    from fewshot.compat import torch_threads

    with torch_threads(None if "integration" in request.keywords else 1):
        yield


def tiny(model_dir, **kw):
    params = dict(model=str(model_dir), epochs=10, learning_rate=1e-2, batch_size=8, max_length=48)
    params.update(kw)
    return HeadClassifier(**params)


def _accuracy(clf, X, y):
    return float(np.mean(np.asarray(clf.predict(X)) == np.asarray(y)))


# --------------------------------------------------------------------------- single-label
@pytest.mark.parametrize("fixture", ["tiny_bert_dir", "tiny_llama_dir"])
def test_learns_training_data_and_round_trips(fixture, intent, request, tmp_path, clean_cwd):
    (X, y), (Xt, yt) = intent
    clf = tiny(request.getfixturevalue(fixture)).fit(X, y)
    assert _accuracy(clf, X, y) >= 0.9, "a fine-tuned head must fit 24 training messages"
    proba = clf.predict_proba(Xt)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert clf.model_.config.id2label == {0: "delivery", 1: "technical"}
    path = clf.save(tmp_path / "clf")
    assert (path / "model" / "model.safetensors").is_file()
    loaded = fewshot.load(path)
    np.testing.assert_allclose(loaded.predict_proba(Xt), proba, atol=1e-6)


def test_decoder_pad_token_from_eos(tiny_llama_dir, intent):
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(str(tiny_llama_dir)).pad_token is None
    (X, y), _ = intent
    clf = tiny(tiny_llama_dir, epochs=1).fit(X[:4] + X[-4:], y[:4] + y[-4:])
    assert clf.tokenizer_.pad_token == clf.tokenizer_.eos_token
    assert clf.model_.config.pad_token_id == clf.tokenizer_.eos_token_id


def test_decoder_reads_last_real_token_whatever_the_padding(tiny_llama_dir, intent):
    """A short text scores the same alone and padded in a batch with a long one."""
    (X, y), _ = intent
    clf = tiny(tiny_llama_dir, epochs=1).fit(X[:4] + X[-4:], y[:4] + y[-4:])
    short, long = "where is my parcel", X[0] + " " + X[1]
    alone = clf.predict_proba([short])
    batched = clf.predict_proba([short, long])
    np.testing.assert_allclose(batched[0], alone[0], atol=1e-5)


def test_deterministic_for_a_seed(tiny_bert_dir, intent):
    (X, y), (Xt, _) = intent
    a = tiny(tiny_bert_dir, epochs=2, seed=3).fit(X, y).predict_proba(Xt)
    b = tiny(tiny_bert_dir, epochs=2, seed=3).fit(X, y).predict_proba(Xt)
    c = tiny(tiny_bert_dir, epochs=2, seed=4).fit(X, y).predict_proba(Xt)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c), "another seed must give another model"


@pytest.mark.parametrize("kw", [
    {"loss": "weighted"},
    {"loss": "weighted", "class_weight": "sqrt_inverse"},
    {"loss": "weighted", "class_weight": "effective", "class_weight_beta": 0.9},
    {"loss": "focal", "epochs": 25},  # (1 - p_t)^2 shrinks every gradient: focal needs more steps
    {"loss": "focal", "focal_gamma": 1.0, "class_weight": "inverse"},
    {"oversample": True},
])
def test_imbalance_options_learn(tiny_bert_dir, intent, kw):
    (X, y), _ = intent
    # imbalanced: 12 delivery, 4 technical
    Xi, yi = X[:12] + X[12:16], y[:12] + y[12:16]
    clf = tiny(tiny_bert_dir, **{"epochs": 15, **kw}).fit(Xi, yi)
    pred = clf.predict(Xi)
    assert _accuracy(clf, Xi, yi) >= 0.9
    assert (pred == "technical").sum() >= 3, "the minority class must be predicted"


def test_weighted_loss_moves_the_boundary_towards_the_minority(tiny_bert_dir, intent):
    """Same seed, same data: class weights raise the minority class' predicted probability."""
    (X, y), (Xt, _) = intent
    Xi, yi = X[:12] + X[12:14], y[:12] + y[12:14]
    plain = tiny(tiny_bert_dir, epochs=2).fit(Xi, yi).predict_proba(Xt)[:, 1]
    weighted = tiny(tiny_bert_dir, epochs=2, loss="weighted").fit(Xi, yi).predict_proba(Xt)[:, 1]
    assert weighted.mean() > plain.mean()


def test_oversample_is_seeded_and_changes_training(tiny_bert_dir, intent):
    (X, y), (Xt, _) = intent
    Xi, yi = X[:12] + X[12:14], y[:12] + y[12:14]
    a = tiny(tiny_bert_dir, epochs=2, oversample=True).fit(Xi, yi).predict_proba(Xt)
    b = tiny(tiny_bert_dir, epochs=2, oversample=True).fit(Xi, yi).predict_proba(Xt)
    c = tiny(tiny_bert_dir, epochs=2).fit(Xi, yi).predict_proba(Xt)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_freeze_encoder_trains_only_the_head(tiny_bert_dir, intent):
    from transformers import AutoModel

    (X, y), _ = intent
    clf = tiny(tiny_bert_dir, freeze_encoder=True, epochs=3).fit(X, y)
    original = AutoModel.from_pretrained(str(tiny_bert_dir)).state_dict()
    trained = clf.model_.bert.state_dict()
    for key, value in original.items():
        np.testing.assert_array_equal(trained[key].numpy(), value.numpy(), err_msg=key)
    assert clf.head_modules_ == ["classifier"]


def test_lora_head_survives_save_and_load(tiny_bert_dir, intent, tmp_path):
    """peft issues #310/#876: a LoRA classifier whose trained head is lost on save."""
    from transformers import AutoModel

    (X, y), (Xt, _) = intent
    clf = tiny(tiny_bert_dir, lora=True, lora_r=8, epochs=20).fit(X, y)
    assert _accuracy(clf, X, y) >= 0.8
    # the adapters were merged: a plain transformers model, encoder weights changed, head trained
    assert type(clf.model_).__name__ == "BertForSequenceClassification"
    original = AutoModel.from_pretrained(str(tiny_bert_dir)).state_dict()
    query = "encoder.layer.0.attention.self.query.weight"
    assert not np.allclose(clf.model_.bert.state_dict()[query].numpy(), original[query].numpy())
    proba = clf.predict_proba(Xt)
    loaded = fewshot.load(clf.save(tmp_path / "lora"))
    np.testing.assert_allclose(loaded.predict_proba(Xt), proba, atol=1e-6)
    np.testing.assert_array_equal(loaded.model_.classifier.weight.detach().numpy(),
                                  clf.model_.classifier.weight.detach().numpy())
    # a freshly initialized head (what peft's bug left behind) predicts differently
    fresh = tiny(tiny_bert_dir, lora=True, lora_r=4, epochs=1, learning_rate=1e-12).fit(X, y)
    assert not np.allclose(fresh.predict_proba(Xt), proba, atol=1e-3)


def test_lora_on_decoder(tiny_llama_dir, intent, tmp_path):
    (X, y), (Xt, _) = intent
    clf = tiny(tiny_llama_dir, lora=True, lora_r=4).fit(X, y)
    assert type(clf.model_).__name__ == "LlamaForSequenceClassification"
    assert _accuracy(clf, X, y) >= 0.8
    loaded = fewshot.load(clf.save(tmp_path / "lora-llama"))
    np.testing.assert_allclose(loaded.predict_proba(Xt), clf.predict_proba(Xt), atol=1e-6)


# --------------------------------------------------------------------------- pairs
@pytest.mark.parametrize("fixture", ["tiny_bert_dir", "tiny_llama_dir"])
def test_sentence_pairs_are_tokenized_together(fixture, request, tmp_path):
    ds = fewshot.load_demo("pairs")
    X, y = ds.train.X[:24], ds.train.y[:24]
    clf = tiny(request.getfixturevalue(fixture), max_length=96).fit(X, y)
    enc = clf.tokenizer_([X[0][0]], [X[0][1]])
    if "token_type_ids" in enc:  # BERT: [CLS] A [SEP] B [SEP]
        assert 1 in enc["token_type_ids"][0], "the pair must be encoded as segment A + segment B"
    else:  # decoder: A then B, classified from the last token of B
        n_a, n_b = (len(clf.tokenizer_(t)["input_ids"]) for t in X[0])
        assert len(enc["input_ids"][0]) == n_a + n_b
    assert _accuracy(clf, X, y) >= 0.9
    loaded = fewshot.load(clf.save(tmp_path / "pairs"))
    np.testing.assert_allclose(loaded.predict_proba(ds.test.X[:8]), clf.predict_proba(ds.test.X[:8]), atol=1e-6)
    with pytest.raises(ValueError, match="trained on \\(text, text_pair\\) pairs"):
        clf.predict(["a single text"])


# --------------------------------------------------------------------------- multi-label, regression
@pytest.fixture(scope="module")
def two_topics():
    """Multi-label: delivery messages, technical messages, both glued together (both labels) and
    billing messages (neither label)."""
    ds = fewshot.load_demo("intent")
    (D, _), (T, _), (B, _) = (_by_class(ds.train, [lab], 12) for lab in ("delivery", "technical", "billing"))
    X = D[:8] + T[:8] + [a + " " + b for a, b in zip(D[8:], T[8:])] + B[:8]
    y = [["delivery"]] * 8 + [["technical"]] * 8 + [["delivery", "technical"]] * 4 + [[]] * 8
    return X, y


@pytest.mark.parametrize("fixture, kw", [
    ("tiny_bert_dir", {}), ("tiny_llama_dir", {}),
    ("tiny_bert_dir", {"loss": "weighted"}), ("tiny_llama_dir", {"loss": "weighted"}),
    ("tiny_bert_dir", {"loss": "focal"}), ("tiny_llama_dir", {"loss": "focal"}),
    # the randomly initialised tiny BERT learns too slowly from resampled batches; the Llama does not
    ("tiny_llama_dir", {"oversample": True}),
])
def test_multi_label(fixture, kw, two_topics, request, tmp_path):
    X, y = two_topics
    params = {"problem": "multi_label", "max_length": 96, "epochs": 15, **kw}
    clf = tiny(request.getfixturevalue(fixture), **params).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (28, 2)
    assert not np.allclose(proba.sum(axis=1), 1.0), "independent sigmoids, not a softmax"
    assert clf.model_.config.problem_type == "multi_label_classification"
    pred = clf.predict(X)
    assert all(isinstance(row, list) for row in pred)
    f1 = multilabel_metrics(y, pred, clf.classes_)["f1_micro"]  # micro: rows with no label count too
    assert f1 >= 0.8, f"multi-label fit on its own training data: f1_micro={f1:.2f}"
    assert any(len(labels) == 2 for labels in pred[16:20]), "messages with both topics get both labels"
    assert any(len(labels) == 0 for labels in pred[20:]), "messages with neither topic get no label"
    if not kw:
        loaded = fewshot.load(clf.save(tmp_path / "tags"))
        np.testing.assert_allclose(loaded.predict_proba(X), proba, atol=1e-6)


def test_regression(tiny_bert_dir, tmp_path):
    ds = fewshot.load_demo("csat")
    X, y = ds.train.X[:50], ds.train.y[:50]
    clf = tiny(tiny_bert_dir, problem="regression", epochs=10).fit(X, y)
    assert clf.model_.config.num_labels == 1
    values = clf.predict_values(X)
    pred = clf.predict(X)
    assert set(np.unique(pred)) <= {1, 2, 3, 4, 5}
    np.testing.assert_array_equal(pred, np.clip(np.round(values), 1, 5).astype(int))
    mean_mae = regression_metrics(y, np.full(len(y), np.mean(y)))["mae"]
    assert regression_metrics(y, values)["mae"] < 0.7 * mean_mae
    loaded = fewshot.load(clf.save(tmp_path / "csat"))
    np.testing.assert_allclose(loaded.predict_values(X), values, atol=1e-5)
    meta = json.loads((tmp_path / "csat" / "fewshot.json").read_text())
    assert meta["problem"] == "regression" and "target_mean" in meta["state"]


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kw, message", [
    ({"problem": "ordinal"}, "unknown problem 'ordinal'"),
    ({"loss": "hinge"}, "loss must be one of ce, weighted, focal; got 'hinge'"),
    ({"class_weight": "balanced", "loss": "weighted"},
     "class_weight must be None or one of inverse, sqrt_inverse, effective; got 'balanced'"),
    ({"class_weight": "inverse"}, "no effect with loss='ce'; use loss='weighted'"),
    ({"focal_gamma": -1.0, "loss": "focal"}, "focal_gamma must be a non-negative number"),
    ({"class_weight_beta": 1.0, "loss": "weighted", "class_weight": "effective"}, r"class_weight_beta must be in \[0, 1\)"),
    ({"epochs": 0}, "epochs must be a positive integer; got 0"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer"),
    ({"learning_rate": 0}, "learning_rate must be a positive number"),
    ({"warmup_ratio": 1.5}, r"warmup_ratio must be in \[0, 1\)"),
    ({"lora": True, "freeze_encoder": True}, "pick one"),
    ({"problem": "regression", "loss": "focal"}, "problem='regression' trains with MSE"),
    ({"problem": "regression", "oversample": True}, "does not apply to problem='regression'"),
    ({"threshold": 1.0, "problem": "multi_label"}, "threshold must be between 0 and 1"),
    ({"model": ""}, "model must be a model alias"),
])
def test_bad_params_fail_before_any_work(kw, message, clean_cwd):
    with pytest.raises(ValueError, match=message):
        HeadClassifier(**kw).fit(["a", "b"], ["x", "y"])


def test_unknown_model_alias_lists_known_ones():
    with pytest.raises(ValueError, match="unknown model 'no-such-model'.*minilm"):
        HeadClassifier(model="no-such-model").fit(["a", "b"], ["x", "y"])


def test_params_are_stored_unchanged():
    clf = HeadClassifier(loss="focal", class_weight="effective", epochs=3)
    assert clf.get_params()["class_weight"] == "effective" and clf.get_params()["epochs"] == 3
    assert HeadClassifier().get_params()["model"] == "minilm"


def test_training_writes_nothing_to_cwd_and_stays_quiet(tiny_bert_dir, intent, clean_cwd, capfd):
    (X, y), _ = intent
    tiny(tiny_bert_dir, epochs=1).fit(X, y)
    out, err = capfd.readouterr()
    assert "LOAD REPORT" not in out + err and "newly initialized" not in out + err
    assert "Loading weights" not in err


def test_show_progress_shows_a_bar(tiny_bert_dir, intent, capfd):
    (X, y), _ = intent
    tiny(tiny_bert_dir, epochs=1, show_progress=True).fit(X, y)
    assert "training" in capfd.readouterr().err


# --------------------------------------------------------------------------- integration (minilm)
@pytest.mark.integration
def test_minilm_sst2_k32(minilm_path, data_dir):
    from fewshot.data import sample_k_shot, subsample
    from fewshot.datasets import load_dataset_folder

    ds = load_dataset_folder(data_dir / "sst2")
    X, y = sample_k_shot(ds.train.X, ds.train.y, k=32, seed=0)
    Xt, yt = subsample(ds.test.X, ds.test.y, 500, seed=0)
    clf = HeadClassifier(model=minilm_path, seed=0).fit(X, y)
    acc = _accuracy(clf, Xt, yt)
    majority = max(set(ds.train.y), key=list(ds.train.y).count)
    floor = float(np.mean(np.asarray(yt) == majority))  # the majority class on the same 500 sentences
    # Measured with the defaults: 0.736 (majority 0.51; the frozen MiniLM body with a logistic head,
    # SetFitClassifier(epochs=0, quantize=False), 0.714 on this split; learning rate 2e-4: 0.682).
    assert acc >= floor + 0.10, f"sst2 k=32 accuracy {acc:.3f}, majority {floor:.3f}"


def _sst2_head_above_majority_and_round_trip(data_dir, tmp_path, alias, k, **params):
    """Fit the head on an alias (sst2, k per class, seed 0), score 200 test sentences against the
    majority class on the same sentences, and reload the saved folder onto the alias exactly."""
    from fewshot.data import sample_k_shot, subsample
    from fewshot.datasets import load_dataset_folder

    ds = load_dataset_folder(data_dir / "sst2")
    X, y = sample_k_shot(ds.train.X, ds.train.y, k=k, seed=0)
    Xt, yt = subsample(ds.test.X, ds.test.y, 200, seed=0)
    clf = HeadClassifier(model=alias, seed=0, **params).fit(X, y)
    proba = clf.predict_proba(Xt)
    acc = float(np.mean(clf.classes_[proba.argmax(1)] == np.asarray(yt)))
    majority = max(set(ds.train.y), key=list(ds.train.y).count)
    floor = float(np.mean(np.asarray(yt) == majority))
    print(f"\nsst2 k={k} head on {alias} {params}: {acc:.3f}, majority {floor:.3f} (200 sentences)")
    assert acc >= floor + 0.10, (acc, floor)
    loaded = fewshot.load(clf.save(tmp_path / alias))
    assert loaded.model == alias
    np.testing.assert_allclose(loaded.predict_proba(Xt[:8]), proba[:8], atol=1e-5)


@pytest.mark.integration
def test_mpnet_trains_a_head_well_above_the_majority_class(mpnet_path, data_dir, tmp_path):
    """Issue 14: the head strategy accepts the larger encoder by alias (`mpnet`, 110M, fine-tuned whole).
    sst2, k = 16, 5 epochs (half the default, to keep the suite short)."""
    _sst2_head_above_majority_and_round_trip(data_dir, tmp_path, "mpnet", 16, epochs=5)


@pytest.mark.integration
def test_gemma_trains_a_lora_head_well_above_the_majority_class(gemma_path, data_dir, tmp_path):
    """Issue 14: the head strategy accepts the larger decoder by alias (`gemma3-270m`, its last
    non-padding token pooled), with LoRA at the rate chosen on validation rows (1e-3, not the
    default 5e-5; benchmarks/results/tune_head_gemma/tuning.md). sst2, k = 8 (measured: 0.670
    against a majority class of 0.530)."""
    _sst2_head_above_majority_and_round_trip(data_dir, tmp_path, "gemma3-270m", 8, lora=True, learning_rate=1e-3)


@pytest.mark.integration
def test_minilm_regression_beats_the_mean_on_csat(minilm_path):
    ds = fewshot.load_demo("csat")
    # the first 90 of the 180 training messages, 5 epochs: a short test (MAE 0.58 against the mean's
    # 1.21 when measured; the default 10 epochs are tuned for 8-64 examples per class)
    X, y = ds.train.X[:90], ds.train.y[:90]
    clf = HeadClassifier(model=minilm_path, problem="regression", epochs=5, seed=0).fit(X, y)
    mae = regression_metrics(ds.test.y, clf.predict(ds.test.X))["mae"]
    baseline = regression_metrics(ds.test.y, np.full(len(ds.test.y), np.mean(y)))["mae"]
    assert mae < baseline, f"MAE {mae:.3f} vs predicting the training mean {baseline:.3f}"


@pytest.mark.integration
def test_minilm_multi_label_beats_majority_on_tags(minilm_path):
    from fewshot.strategies.majority import MajorityClassifier

    ds = fewshot.load_demo("tags")
    # the default learning rate: seven sigmoids start at 0.5 and must move far, so multi-label trains
    # at 2e-4 (at 5e-5, f1_samples stayed at 0.41, below the majority baseline's 0.43). 180 messages:
    # 5 epochs keep the test short, as for csat (the default 10 is tuned for 8-64 examples per class)
    clf = HeadClassifier(model=minilm_path, problem="multi_label", epochs=5, seed=0).fit(
        ds.train.X, ds.train.y)
    base = MajorityClassifier(multi_label=True).fit(ds.train.X, ds.train.y)
    f1 = multilabel_metrics(ds.test.y, clf.predict(ds.test.X), clf.classes_)["f1_samples"]
    f1_base = multilabel_metrics(ds.test.y, base.predict(ds.test.X), base.classes_)["f1_samples"]
    assert f1 > f1_base, f"example-based F1 {f1:.3f} vs majority {f1_base:.3f}"


def test_default_learning_rate_depends_on_the_problem():
    assert HeadClassifier().learning_rate is None
    assert HeadClassifier().effective_learning_rate() == 5e-5
    assert HeadClassifier(problem="regression").effective_learning_rate() == 5e-5
    assert HeadClassifier(problem="multi_label").effective_learning_rate() == 2e-4
    assert HeadClassifier(problem="multi_label", learning_rate=1e-3).effective_learning_rate() == 1e-3
