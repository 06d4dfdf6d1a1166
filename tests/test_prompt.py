"""PromptClassifier: label scoring, LoRA, in-context learning, calibration, saving.

Unit tests run on a tiny Llama built in the test process (seconds). Integration tests use the
shipped SmolLM2-135M on fixed, seeded 300-sentence samples of the sst2 and emotion test splits.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import fewshot
from fewshot.data import sample_k_shot, subsample
from fewshot.datasets import load_dataset_folder
from fewshot.errors import DataError, UnknownModelError
from fewshot.strategies.prompt import CONTENT_FREE, PromptClassifier

TEMPLATE = "Message: {text}\nTopic:"
KEEP = ("billing", "delivery", "account")


@pytest.fixture(scope="module")
def intent():
    """Three demo intents: 6 training and 4 test messages each."""
    ds = fewshot.load_demo("intent")

    def take(split, n):
        rows = [(x, t) for lab in KEEP for x, t in [r for r in zip(split.X, split.y) if r[1] == lab][:n]]
        return [x for x, _ in rows], [t for _, t in rows]

    return take(ds.train, 6), take(ds.test, 4)


@pytest.fixture(autouse=True)
def _one_thread_for_tiny_models(request):
    """Tiny models run faster on one thread when the cores are shared; real models keep them all."""
    from fewshot.compat import torch_threads

    with torch_threads(None if "integration" in request.keywords else 1):
        yield


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir):
    return str(tiny_llama_dir)


def sharpened_llama(tiny_llama_dir, folder) -> str:
    """The tiny Llama with its (tied) embeddings scaled up, so its logits can move far from uniform
    within a few LoRA steps (the randomly initialised one is stuck near log(vocab))."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    lm = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    with torch.no_grad():
        lm.get_input_embeddings().weight.mul_(20.0)
    lm.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_llama_dir).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def sharp(tiny_llama_dir, tmp_path_factory):
    return sharpened_llama(tiny_llama_dir, tmp_path_factory.mktemp("sharp") / "llama")


LORA = dict(template=TEMPLATE, mode="lora", epochs=8, learning_rate=5e-2, batch_size=6, target_modules="all-linear")


@pytest.fixture(scope="module")
def lora_clf(sharp, intent):
    """A LoRA classifier on the sharpened tiny Llama, fitted once for the module."""
    from fewshot.compat import torch_threads

    (X, y), _ = intent
    with torch_threads(1):
        return PromptClassifier(model=sharp, seed=0, **LORA).fit(X, y)


@pytest.fixture(scope="module")
def zero_clf(sharp, intent):
    from fewshot.compat import torch_threads

    (X, y), _ = intent
    with torch_threads(1):
        return PromptClassifier(model=sharp, template=TEMPLATE, mode="zero").fit(X, y)


def brute_force(clf, X, words_per_class, *, prefix_text="", mean=False):
    """log p(words | prompt) by one plain full forward per (input, label), logits at every position."""
    import torch

    tok, lm = clf.tokenizer_, clf.lm_
    out = np.zeros((len(X), len(words_per_class)))
    with torch.no_grad():
        for i, x in enumerate(X):
            text, pair = x if isinstance(x, tuple) else (x, None)
            prompt = prefix_text + clf.template_.format(text=text, text_pair=pair)
            p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
            for j, words in enumerate(words_per_class):
                w_ids = tok(words, add_special_tokens=False)["input_ids"]
                ids = torch.tensor([p_ids + w_ids])
                logp = torch.log_softmax(lm(input_ids=ids).logits[0].float(), dim=-1)
                token_lp = [logp[len(p_ids) - 1 + k, w_ids[k]].item() for k in range(len(w_ids))]
                out[i, j] = np.mean(token_lp) if mean else np.sum(token_lp)
    return out


# ----------------------------------------------------------------------------- scoring
@pytest.mark.parametrize("label_score", ["sum", "mean"])
def test_multi_token_labels_match_brute_force(tiny, intent, label_score):
    (X, y), (Xt, _) = intent
    # shared first tokens ("the") and different lengths exercise the prefix tree
    verbalizer = {"billing": " the bill is wrong", "delivery": " the parcel", "account": " my account login"}
    clf = PromptClassifier(model=tiny, template=TEMPLATE, mode="zero", verbalizer=verbalizer,
                           label_score=label_score).fit(X, y)
    words = [verbalizer[c] for c in clf.classes_]
    assert max(len(clf.tokenizer_(w, add_special_tokens=False)["input_ids"]) for w in words) >= 3
    fast = clf.label_log_likelihood(Xt)
    np.testing.assert_allclose(fast, brute_force(clf, Xt, words, mean=label_score == "mean"), atol=2e-4)


def test_single_token_labels_and_lora_model_match_brute_force(lora_clf, intent):
    _, (Xt, _) = intent
    words = [v[0] for v in lora_clf.verbalizations_]
    np.testing.assert_allclose(lora_clf.label_log_likelihood(Xt), brute_force(lora_clf, Xt, words), atol=2e-4)


def test_icl_prefix_scoring_matches_brute_force(tiny, intent):
    (X, y), (Xt, _) = intent
    clf = PromptClassifier(model=tiny, template=TEMPLATE, mode="icl", icl_k=1, seed=3).fit(X, y)
    assert len(clf.demonstrations_) == 3
    prefix = "".join(f"{clf.template_.format(text=x)} {clf.classes_[c]}\n\n" for x, c in clf.demonstrations_)
    words = [v[0] for v in clf.verbalizations_]
    np.testing.assert_allclose(clf.label_log_likelihood(Xt[:6]), brute_force(clf, Xt[:6], words, prefix_text=prefix),
                               atol=2e-4)


def test_alternative_words_add_up_as_probabilities(tiny, intent):
    (X, y), (Xt, _) = intent
    verbalizer = {"billing": [" bill", " payment"], "delivery": " parcel", "account": " login"}
    clf = PromptClassifier(model=tiny, template=TEMPLATE, mode="zero", verbalizer=verbalizer).fit(X, y)
    bf = brute_force(clf, Xt, [" bill", " payment", " parcel", " login"])
    expected = np.column_stack([np.logaddexp(bf[:, 1], bf[:, 0]), bf[:, 2], bf[:, 3]])
    order = [list(clf.classes_).index(c) for c in ("billing", "delivery", "account")]
    np.testing.assert_allclose(clf.label_log_likelihood(Xt)[:, order], expected, atol=2e-4)


def test_pairs_use_text_pair(tiny):
    ds = fewshot.load_demo("pairs")
    X, y = ds.train.X[:12], ds.train.y[:12]
    clf = PromptClassifier(model=tiny, mode="zero", template="Q: {text}\nA: {text_pair}\nVerdict:").fit(X, y)
    words = [v[0] for v in clf.verbalizations_]
    np.testing.assert_allclose(clf.label_log_likelihood(X[:4]), brute_force(clf, X[:4], words), atol=2e-4)
    with pytest.raises(DataError, match="fitted on .text, text_pair. pairs"):
        clf.predict(["a single text"])


def test_training_scores_are_the_prediction_scores(tiny, intent):
    """objective="classify" trains on the scoring engine itself: with autograd on, it gives the same
    label log-likelihoods as prediction (multi-token labels included) and gradients reach the model."""
    import torch

    from fewshot.strategies.prompting.scoring import continuation_scores, score_continuations

    (X, y), _ = intent
    clf = PromptClassifier(model=tiny, mode="zero", template=TEMPLATE,
                           verbalizer={"billing": [" money back", " bill"], "delivery": " parcel late",
                                       "account": " log in"}).fit(X, y)
    assert not clf._tree.single_token
    prompts = clf._prompt_ids(X[:5])
    with torch.enable_grad():
        live = continuation_scores(clf.lm_, prompts, clf._tree, pad_id=clf._pad)
        assert live.requires_grad
        embeddings = clf.lm_.get_input_embeddings().weight
        (grad,) = torch.autograd.grad(live.sum(), embeddings)
    fixed = score_continuations(clf.lm_, prompts, clf._tree, pad_id=clf._pad)
    np.testing.assert_allclose(live.detach().numpy(), fixed, atol=1e-4)
    touched = grad.abs().sum(dim=1) > 0
    assert touched[clf._tree.node_token].all(), "the label tokens fed to the model get gradients"


def test_long_texts_are_truncated_keeping_the_template(tiny, intent):
    (X, y), _ = intent
    clf = PromptClassifier(model=tiny, template=TEMPLATE, mode="zero", max_length=40).fit(X, y)
    long_text = " ".join(X) * 3
    ids = clf._prompt_ids([long_text])[0]
    assert len(ids) <= 40 - clf._label_budget
    tail = clf.tokenizer_("\nTopic:", add_special_tokens=False)["input_ids"]
    assert ids[-len(tail):] == tail
    assert clf.predict_proba([long_text]).shape == (1, 3)


HEAD, TAIL = "alpha beta gamma", "psi chi omega"


@pytest.mark.parametrize("side", ["end", "middle", "start"])
def test_truncation_decides_which_part_of_a_long_text_survives(tiny, intent, side, tmp_path):
    (X, y), _ = intent
    clf = PromptClassifier(model=tiny, template=TEMPLATE, mode="zero", max_length=40, truncation=side).fit(X, y)
    long_text = f"{HEAD} {' '.join(X) * 3} {TAIL}"
    budget = 40 - clf._label_budget
    ids = clf._prompt_ids([long_text])[0]
    assert budget - 3 <= len(ids) <= budget, "the text fills the room the template leaves, and no more"
    prompt = clf.tokenizer_.decode(ids, skip_special_tokens=True)
    assert prompt.startswith("Message: ") and prompt.endswith("\nTopic:"), "the template is never cut"
    body = prompt[len("Message: "):-len("\nTopic:")]
    assert body.startswith(HEAD) == (side in ("end", "middle"))
    assert body.endswith(TAIL) == (side in ("start", "middle"))
    if side == "middle":
        assert " ... " in body
    clf.save(tmp_path / "clf")
    loaded = fewshot.load(tmp_path / "clf")
    assert loaded.truncation == side
    assert loaded._prompt_ids([long_text])[0] == ids


def test_truncation_cuts_the_longer_text_of_a_pair(tiny):
    ds = fewshot.load_demo("pairs")
    clf = PromptClassifier(model=tiny, mode="zero", template="Q: {text}\nA: {text_pair}\nVerdict:", max_length=64,
                           truncation="middle").fit(ds.train.X[:12], ds.train.y[:12])
    question, answer = "is it short", f"{HEAD} {' '.join(a for _, a in ds.train.X) * 2} {TAIL}"
    ids = clf._prompt_ids([(question, answer)])[0]
    assert len(ids) <= 64 - clf._label_budget
    prompt = clf.tokenizer_.decode(ids, skip_special_tokens=True)
    assert prompt.startswith(f"Q: {question}\nA: {HEAD}")
    assert prompt.endswith(f"{TAIL}\nVerdict:")


# ----------------------------------------------------------------------------- training
def test_lora_training_learns_the_training_labels(lora_clf, zero_clf, intent):
    (X, y), _ = intent
    assert lora_clf.objective == "classify"
    assert lora_clf.loss_history_[-1] < 0.5 * lora_clf.loss_history_[0]
    cols = [list(lora_clf.classes_).index(t) for t in y]
    rows = np.arange(len(y))
    before = np.log(zero_clf.predict_proba(X)[rows, cols]).mean()
    after = np.log(lora_clf.predict_proba(X)[rows, cols]).mean()
    # The classify objective raises the probability prediction gives the true labels. A random tiny
    # model is too poor a learner for accuracy to be a stable measure here (0.28-0.72 on its training
    # set across seeds); SmolLM2's training and test accuracy are asserted in the integration tests.
    assert after > before + 1.0, (before, after)


def test_generate_objective_raises_the_label_words(sharp, zero_clf, intent):
    """objective="generate" is the language-model loss: the true label's words become likely."""
    (X, y), _ = intent
    clf = PromptClassifier(model=sharp, seed=0, objective="generate", **LORA).fit(X, y)
    assert clf.loss_history_[-1] < 0.5 * clf.loss_history_[0]
    cols = [list(clf.classes_).index(t) for t in y]
    rows = np.arange(len(y))
    before = zero_clf.label_log_likelihood(X)[rows, cols].mean()
    after = clf.label_log_likelihood(X)[rows, cols].mean()
    assert after > before + 3.0, (before, after)


def test_default_epochs_give_small_training_sets_enough_steps(tiny, intent, tmp_path):
    from fewshot.strategies.prompt import MIN_STEPS

    (X, y), _ = intent
    small = dict(model=tiny, template=TEMPLATE, batch_size=6, lora_layers=1, target_modules=["q_proj"])
    clf = PromptClassifier(**small).fit(X[:12], y[:12])  # 2 batches per pass
    assert clf.epochs_ == MIN_STEPS // 2 and len(clf.loss_history_) == clf.epochs_
    clf.save(tmp_path / "m")
    loaded = fewshot.load(tmp_path / "m")
    assert loaded.epochs_ == clf.epochs_ and loaded.learning_rate_ == clf.learning_rate_
    assert clf.learning_rate_ == 3e-3
    other = PromptClassifier(**small, epochs=2, objective="generate").fit(X[:12], y[:12])
    assert other.epochs_ == 2 and other.learning_rate_ == 1e-3


def test_deterministic_for_a_seed(sharp, intent):
    (X, y), (Xt, _) = intent
    params = dict(LORA, model=sharp, epochs=2, lora_dropout=0.1)
    first = PromptClassifier(**params, seed=0).fit(X, y).predict_proba(Xt)
    again = PromptClassifier(**params, seed=0).fit(X, y).predict_proba(Xt)
    np.testing.assert_array_equal(again, first)
    other = PromptClassifier(**params, seed=1).fit(X, y).predict_proba(Xt)
    assert not np.allclose(other, first)


def test_class_weight_shifts_training_toward_weighted_class(sharp, intent):
    (X, y), _ = intent
    base = dict(LORA, model=sharp, epochs=4)
    only_billing = PromptClassifier(**base, class_weight={"billing": 1.0, "delivery": 0.0, "account": 0.0}).fit(X, y)
    assert np.all(only_billing.predict(X) == "billing")
    Xi, yi = X[:14], y[:14]  # 6 billing, 6 delivery, 2 account
    rare = [i for i, t in enumerate(yi) if t == "account"]
    plain = PromptClassifier(**base).fit(Xi, yi).predict_proba(Xi)[rare, 0].mean()
    balanced = PromptClassifier(**base, class_weight="balanced").fit(Xi, yi).predict_proba(Xi)[rare, 0].mean()
    assert balanced > plain, (plain, balanced)


def test_lora_layers_adapts_only_the_top_layers(tiny, intent):
    (X, y), _ = intent
    clf = PromptClassifier(model=tiny, template=TEMPLATE, epochs=1, lora_layers=1, target_modules=["q_proj"]).fit(X, y)
    names = [n for n, p in clf.peft_model_.named_parameters() if p.requires_grad]
    assert names and all(".layers.1.self_attn.q_proj.lora_" in n for n in names), names
    every = PromptClassifier(model=tiny, template=TEMPLATE, epochs=1, lora_layers=1, target_modules="all-linear").fit(X, y)
    adapted = {n.split(".lora_")[0] for n, p in every.peft_model_.named_parameters() if p.requires_grad}
    assert len(adapted) == 7 and all(".layers.1." in n for n in adapted), adapted  # q k v o gate up down


def test_fit_writes_nothing_to_cwd(clean_cwd, tiny, intent, tmp_path):
    (X, y), (Xt, _) = intent
    clf = PromptClassifier(model=tiny, template=TEMPLATE, epochs=1, batch_size=6, show_progress=True).fit(X, y)
    clf.save(tmp_path / "saved")
    fewshot.load(tmp_path / "saved").predict(Xt[:2])


def test_show_progress_draws_bars(tiny, intent, capsys):
    (X, y), (Xt, _) = intent
    PromptClassifier(model=tiny, template=TEMPLATE, mode="zero", show_progress=True).fit(X, y).predict(Xt)
    assert "scoring" in capsys.readouterr().err
    PromptClassifier(model=tiny, template=TEMPLATE, mode="zero").fit(X, y).predict(Xt)
    assert "scoring" not in capsys.readouterr().err


# ----------------------------------------------------------------------------- calibration
def test_calibration_divides_by_the_content_free_prior(tiny, intent):
    (X, y), (Xt, _) = intent
    plain = PromptClassifier(model=tiny, template=TEMPLATE, mode="zero").fit(X, y)
    calibrated = PromptClassifier(model=tiny, template=TEMPLATE, mode="zero", calibrate="N/A").fit(X, y)
    prior = plain.predict_proba(["N/A"])[0]
    np.testing.assert_allclose(calibrated.prior_, prior, rtol=1e-6)
    # the content-free input itself becomes uniform: the prior is removed
    np.testing.assert_allclose(calibrated.predict_proba(["N/A"])[0], np.full(3, 1 / 3), atol=1e-6)
    expected = plain.predict_proba(Xt) / prior
    np.testing.assert_allclose(calibrated.predict_proba(Xt), expected / expected.sum(1, keepdims=True), rtol=1e-6)
    default = PromptClassifier(model=tiny, template=TEMPLATE, mode="zero", calibrate=True).fit(X, y)
    np.testing.assert_allclose(default.prior_, plain.predict_proba(list(CONTENT_FREE)).mean(0), rtol=1e-6)


# ----------------------------------------------------------------------------- ICL
def test_icl_demonstrations_are_balanced_seeded_and_fit_the_context(tiny, intent):
    (X, y), _ = intent
    clf = PromptClassifier(model=tiny, template=TEMPLATE, mode="icl", icl_k=2, seed=0).fit(X, y)
    demo_classes = [c for _, c in clf.demonstrations_]
    assert sorted(demo_classes) == [0, 0, 1, 1, 2, 2]
    assert sorted(demo_classes[:3]) == [0, 1, 2]  # interleaved by class
    assert all(x in X for x, _ in clf.demonstrations_)
    same = PromptClassifier(model=tiny, template=TEMPLATE, mode="icl", icl_k=2, seed=0).fit(X, y)
    assert same.demonstrations_ == clf.demonstrations_
    short = PromptClassifier(model=tiny, template=TEMPLATE, mode="icl", icl_k=2, max_length=160).fit(X, y)
    assert 0 < len(short.demonstrations_) < 6
    assert len(short._prefix) + max(len(p) for p in short._prompt_ids(X, with_bos=False)) + short._label_budget <= 160


def test_default_templates_follow_the_kind_of_task(tiny, intent):
    (X, y), _ = intent
    assert PromptClassifier(model=tiny, mode="zero").fit(X, y).template_ == "Text: {text}\nLabel:"
    sentiment = PromptClassifier(model=tiny, mode="zero").fit(X[:4], ["positive", "negative"] * 2)
    assert sentiment.template_ == "Review: {text}\nSentiment:"
    assert sentiment.verbalizations_ == [[" negative"], [" positive"]]
    pairs = fewshot.load_demo("pairs").train
    assert "{text_pair}" in PromptClassifier(model=tiny, mode="zero").fit(pairs.X[:6], pairs.y[:6]).template_


def test_int_labels_are_verbalized_as_strings(tiny, intent):
    (X, y), (Xt, _) = intent
    ids = [KEEP.index(t) for t in y]
    clf = PromptClassifier(model=tiny, template="Message: {text}\nClass number:", mode="zero").fit(X, ids)
    assert clf.verbalizations_ == [[" 0"], [" 1"], [" 2"]]
    assert set(clf.predict(Xt).tolist()) <= {0, 1, 2}


def test_default_words_read_underscores_as_spaces(tiny, intent):
    (X, y), _ = intent
    names = {"billing": "card_payment_fee", "delivery": "parcel_late", "account": "account"}
    clf = PromptClassifier(model=tiny, mode="zero").fit(X, [names[t] for t in y])
    assert clf.verbalizations_ == [[" account"], [" card payment fee"], [" parcel late"]]
    assert set(clf.predict(X[:3])) <= set(names.values())
    # when spaces would make two labels alike, the names are kept as they are
    clashing = PromptClassifier(model=tiny, mode="zero").fit(X[:4], ["a_b", "a b", "a_b", "a b"])
    assert sorted(clashing.verbalizations_) == [[" a b"], [" a_b"]]


# ----------------------------------------------------------------------------- precision
def test_bf16_scoring_merges_the_adapters_and_leaves_the_model_alone(lora_clf, zero_clf, intent):
    """``precision="bf16"`` scores with a bfloat16 copy holding the merged LoRA weights: its
    log-likelihoods follow the LoRA model's (not the base model's, which the adapters moved far
    from), and the float32 model, adapters and scores are untouched."""
    import torch

    _, (Xt, _) = intent
    full = lora_clf.label_log_likelihood(Xt)
    base = zero_clf.label_log_likelihood(Xt)
    try:
        reduced = lora_clf.set_params(precision="bf16").label_log_likelihood(Xt)
        scoring = lora_clf._scoring_lm()
    finally:
        lora_clf.set_params(precision="float32")
    assert not np.array_equal(reduced, full)  # the bfloat16 copy really ran ...
    # ... and rounds within bfloat16's relative precision (2**-8) of float32, while the adapters
    # moved the base model's scores by far more
    assert np.abs(reduced - full).max() < 0.05 * (1 + np.abs(full).max()) < np.abs(base - full).max()
    assert scoring.get_decoder().dtype == torch.bfloat16
    assert scoring.get_output_embeddings().weight.dtype == torch.float32  # the vocabulary projection
    assert lora_clf.lm_.dtype == torch.float32 and lora_clf.peft_model_ is not None
    assert any("lora" in name for name, _ in lora_clf.lm_.named_parameters())
    np.testing.assert_array_equal(lora_clf.label_log_likelihood(Xt), full)


def test_bf16_scores_multi_token_labels_after_a_shared_prefix(tiny, intent):
    """The prefix-tree pass (a 4-D attention mask) and the in-context prefix cache run in bfloat16 too."""
    (X, y), (Xt, _) = intent
    verbalizer = {"billing": " the bill is wrong", "delivery": " the parcel", "account": " my account login"}
    clf = PromptClassifier(model=tiny, template=TEMPLATE, mode="icl", icl_k=1, verbalizer=verbalizer).fit(X, y)
    full = clf.label_log_likelihood(Xt)
    reduced = clf.set_params(precision="bf16").label_log_likelihood(Xt)
    assert not np.array_equal(reduced, full)
    assert np.abs(reduced - full).max() < 0.05 * (1 + np.abs(full).max())


def test_precision_is_saved_and_the_copy_is_not(lora_clf, intent, tmp_path):
    import copy

    _, (Xt, _) = intent
    try:
        lora_clf.set_params(precision="bf16")
        proba = lora_clf.predict_proba(Xt)
        path = lora_clf.save(tmp_path / "clf")
        twin = copy.deepcopy(lora_clf)
    finally:
        lora_clf.set_params(precision="float32")
    assert json.loads((path / "fewshot.json").read_text())["params"]["precision"] == "bf16"
    assert getattr(twin, "_scoring", None) is None  # rebuilt on demand, not carried along
    loaded = fewshot.load(path)
    assert loaded.precision == "bf16"
    np.testing.assert_allclose(loaded.predict_proba(Xt), proba, atol=1e-6)
    np.testing.assert_allclose(twin.predict_proba(Xt), proba, atol=1e-6)


def test_auto_precision_scores_in_bf16_only_where_the_hardware_has_it(lora_clf, intent, monkeypatch):
    """``precision="auto"`` gives exactly the bf16 scores on hardware with native bfloat16 and exactly
    the float32 scores elsewhere, asking again when the answer changes (a classifier moved)."""
    import fewshot.training

    _, (Xt, _) = intent
    full = lora_clf.label_log_likelihood(Xt)
    try:
        reduced = lora_clf.set_params(precision="bf16").label_log_likelihood(Xt)
        lora_clf.set_params(precision="auto")
        for native, expected in [(True, reduced), (False, full), (True, reduced)]:
            monkeypatch.setattr(fewshot.training, "native_bfloat16", lambda device, native=native: native)
            np.testing.assert_array_equal(lora_clf.label_log_likelihood(Xt), expected)
    finally:
        lora_clf.set_params(precision="float32")
    assert not np.array_equal(reduced, full)


@pytest.mark.parametrize("cpuinfo, native", [
    ("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n", True),  # Zen 4, Cooper Lake
    ("flags\t\t: fpu sse2 avx2 amx_bf16 amx_tile amx_int8\n", True),  # Sapphire Rapids
    ("flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw\n", False),  # AVX-512 without BF16
    ("flags\t\t: fpu sse2 avx avx2 fma\n", False),  # this project's EPYC (AVX2): bf16 emulated, 5x slower
    ("Features\t: fp asimd evtstrm sve i8mm bf16 svebf16\n", True),  # Arm Neoverse V1
    ("Features\t: fp asimd evtstrm aes crc32\n", False),  # Arm Neoverse N1
    ("", False),  # no /proc/cpuinfo (not Linux): assume emulated
])
def test_native_bfloat16_reads_the_cpu_flags(cpuinfo, native):
    from fewshot.training import native_bfloat16

    assert native_bfloat16("cpu", cpuinfo=cpuinfo) is native
    assert native_bfloat16(None, cpuinfo=cpuinfo) is native
    assert native_bfloat16("meta", cpuinfo=cpuinfo) is False  # neither CPU nor CUDA: not assumed


def test_native_bfloat16_on_a_gpu_counts_no_emulation():
    import torch

    from fewshot.training import native_bfloat16

    if torch.cuda.is_available():  # on a GPU machine: the answer for native support, emulation not counted
        assert native_bfloat16("cuda") is torch.cuda.is_bf16_supported(including_emulation=False)
    else:
        assert native_bfloat16("cuda") is False


# ----------------------------------------------------------------------------- saving
@pytest.mark.parametrize("mode", ["lora", "icl"])
def test_save_load_round_trip(tiny, intent, lora_clf, tmp_path, mode):
    (X, y), (Xt, _) = intent
    clf = lora_clf if mode == "lora" else PromptClassifier(model=tiny, template=TEMPLATE, mode="icl", icl_k=1,
                                                            calibrate=True, label_score="mean").fit(X, y)
    path = clf.save(tmp_path / "clf")
    meta = json.loads((path / "fewshot.json").read_text())
    state = meta["state"]
    assert state["template"] == TEMPLATE and state["base_model"] == clf.model and state["mode"] == mode
    files = sorted(p.name for p in path.rglob("*") if p.is_file())
    if mode == "lora":
        assert "adapter_model.safetensors" in files
    else:
        assert len(state["demonstrations"]) == 3 and state["prior"] is not None and state["adapter"] is None
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pkl", ".pickle", ".joblib"))]
    loaded = fewshot.load(path)
    assert isinstance(loaded, PromptClassifier)
    np.testing.assert_allclose(loaded.predict_proba(Xt), clf.predict_proba(Xt), atol=1e-6)
    np.testing.assert_array_equal(loaded.predict(Xt), clf.predict(Xt))


# ----------------------------------------------------------------------------- bad input
BAD = [
    (dict(template="Classify this:"), ValueError, "has no {text} placeholder"),
    (dict(template="Text: {text} {label}"), ValueError, r"unknown placeholder\(s\) \['label'\]"),
    (dict(template="Text: {text"), ValueError, "not a valid format string"),
    (dict(template="A: {text}\nB: {text_pair}\nLabel:"), ValueError, "uses {text_pair} but X holds single texts"),
    (dict(verbalizer={"billing": " money", "delivery": " money", "account": " login"}), ValueError,
     "'billing' and 'delivery' have the same words"),
    (dict(verbalizer={"billing": " money", "delivery": " parcel"}), ValueError, "has no words for label.*'account'"),
    (dict(verbalizer={"billing": " a", "delivery": " b", "account": " c", "refund": " d"}), ValueError,
     r"names label\(s\) \['refund'\] that are not in y"),
    (dict(verbalizer={"billing": "", "delivery": " parcel", "account": " login"}), ValueError, "encode to no tokens"),
    (dict(verbalizer={"billing": 3}), ValueError, "verbalizer.'billing'. is 3"),
    (dict(mode="generate"), ValueError, "mode must be one of lora, icl, zero"),
    (dict(label_score="max"), ValueError, "label_score must be 'sum' or 'mean'"),
    (dict(objective="mlm"), ValueError, "objective must be 'classify' or 'generate'"),
    (dict(calibrate=3), ValueError, "calibrate must be"),
    (dict(lora_r=0), ValueError, "lora_r must be an integer >= 1"),
    (dict(epochs=1.5), ValueError, "epochs must be an integer"),
    (dict(learning_rate=0), ValueError, "learning_rate must be a positive number"),
    (dict(lora_dropout=1.0), ValueError, r"lora_dropout must be in \[0, 1\)"),
    (dict(target_modules=["no_such_proj"], lora_layers=None), ValueError, "cannot add LoRA adapters with target_modules"),
    (dict(lora_layers=2, target_modules=".*proj"), ValueError, "lora_layers=2 cannot be combined with the pattern"),
    (dict(class_weight="inverse"), ValueError, "class_weight must be None, 'balanced' or a dict"),
    (dict(class_weight={"refund": 2.0}), ValueError, r"class_weight names label\(s\) \['refund'\]"),
    (dict(max_length=10), ValueError, "max_length=10 is too small"),
    (dict(truncation="left"), ValueError, "truncation must be one of end, middle, start"),
    (dict(precision="int8"), ValueError, "precision must be one of float32, bf16, auto"),
    (dict(model="no-such-model"), UnknownModelError, "unknown model 'no-such-model'"),
]


@pytest.mark.parametrize("params, error, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_input_fails_with_a_clear_message(tiny, intent, params, error, message):
    (X, y), _ = intent
    kwargs = {"model": tiny, "template": TEMPLATE, "epochs": 1, **params}
    with pytest.raises(error, match=message):
        PromptClassifier(**kwargs).fit(X, y)


def test_pairs_without_text_pair_in_template(tiny):
    ds = fewshot.load_demo("pairs")
    with pytest.raises(ValueError, match="has no {text_pair}"):
        PromptClassifier(model=tiny, mode="zero", template="Q: {text}\nVerdict:").fit(ds.train.X[:6], ds.train.y[:6])


def test_the_compute_bound_counts_the_work_torch_runs(tiny, intent):
    """benchmarks/prompt_speed.py --parts bound divides matmul throughput by the work one text needs.
    Its count of the linear layers and vocabulary projections must equal what torch's own FLOP counter
    sees in one unpadded scoring pass (attention runs in SDPA, which the counter does not see; it is
    checked against its closed form), for a multi-token label tree."""
    import sys
    from pathlib import Path

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        import prompt_speed
    finally:
        sys.path.pop(0)
    (X, y), (Xt, _) = intent
    verbalizer = {"billing": " the bill is wrong", "delivery": " the parcel", "account": " my account login"}
    clf = PromptClassifier(model=tiny, template=TEMPLATE, mode="zero", verbalizer=verbalizer).fit(X, y)
    text = [Xt[0]]
    assert not clf._tree.single_token
    prompts = clf._prompt_ids(text, budget=clf.max_length_ - clf._label_budget)
    work = prompt_speed.flops_per_text(clf.lm_, prompts, clf._tree)
    linear = sum(m.in_features * m.out_features for m in clf.lm_.modules()
                 if isinstance(m, torch.nn.Linear) and m is not clf.lm_.get_output_embeddings())
    n, nodes, (H, V) = len(prompts[0]), len(clf._tree.node_token), clf.lm_.get_output_embeddings().weight.shape[::-1]
    assert (work["tokens"], work["tree_nodes"], work["linear_params"]) == (n, nodes, linear)
    with FlopCounterMode(display=False) as counter:
        clf.label_log_likelihood(text)
    edges, labels = clf._tree.path.shape[1], clf._tree.path.shape[0]
    matmuls = 2 * linear * (n + nodes) + 2 * H * V * (1 + nodes)
    assert counter.get_total_flops() == matmuls + 2 * edges * labels  # + summing edges into labels
    cfg = clf.lm_.config
    attention = 4 * cfg.num_attention_heads * (cfg.hidden_size // cfg.num_attention_heads) * cfg.num_hidden_layers * (
        n * (n + 1) / 2 + nodes * (n + 1))
    assert work["flops"] == pytest.approx(matmuls + attention)


# ----------------------------------------------------------------------------- integration: SmolLM2-135M
N_TEST = {"sst2": 300, "emotion": 200}  # emotion's ICL prompts are long: fewer rows keep the suite short
PLAIN = {"sst2": "Review: {text}\nSentiment:", "emotion": "Text: {text}\nEmotion:"}


@pytest.fixture(scope="module")
def real(data_dir):
    """Seeded test samples (N_TEST) and the k=8 emotion training sample; results cached per module."""
    out = {"results": {}}
    for name in ("sst2", "emotion"):
        ds = load_dataset_folder(data_dir / name)
        out[name] = {"train": ds.train, "test": subsample(ds.test.X, ds.test.y, N_TEST[name], seed=0)}
    out["emotion"]["k8"] = sample_k_shot(out["emotion"]["train"].X, out["emotion"]["train"].y, k=8, seed=0)
    return out


def _accuracy(real, name, key, make, fit_data):
    if key not in real["results"]:
        X, y = real[name]["test"]
        clf = make().fit(*fit_data)
        real["results"][key] = float(np.mean(clf.predict(X) == np.asarray(y)))
        print(f"\n{key}: accuracy {real['results'][key]:.3f} on {N_TEST[name]} {name} test sentences")
    return real["results"][key]


def _majority_accuracy(real, name) -> float:
    """Accuracy of always predicting the training set's most frequent label, on the same test rows."""
    train = real[name]["train"]
    majority = max(set(train.y), key=list(train.y).count)
    return float(np.mean(np.asarray(real[name]["test"][1]) == majority))


def _emotion_zero(real, smollm_path):
    return _accuracy(real, "emotion", "emotion zero-shot",
                     lambda: PromptClassifier(model=smollm_path, mode="zero", template=PLAIN["emotion"]),
                     real["emotion"]["k8"])


@pytest.mark.integration
def test_sst2_zero_shot(real, smollm_path):
    train = real["sst2"]["train"]
    acc = _accuracy(real, "sst2", "sst2 zero-shot",
                    lambda: PromptClassifier(model=smollm_path, mode="zero", template=PLAIN["sst2"]),
                    (train.X[:8], train.y[:8]))
    assert acc >= _majority_accuracy(real, "sst2") + 0.20, acc  # majority 0.51 on these rows; measured 0.837


@pytest.mark.integration
def test_emotion_lora_k8_beats_zero_shot(real, smollm_path):
    zero = _emotion_zero(real, smollm_path)
    lora = _accuracy(real, "emotion", "emotion LoRA k=8",
                     lambda: PromptClassifier(model=smollm_path, mode="lora", template=PLAIN["emotion"], seed=0,
                                              epochs=5),
                     real["emotion"]["k8"])
    # both measured here on the same test sentences. 30 optimizer steps (5 epochs of 48 examples), half
    # the default, keep the suite short (on these 200: 0.360 zero-shot; LoRA 0.555 with the default 60
    # steps, 0.545 with these 30); test_default_epochs_give_small_training_sets_enough_steps checks
    # the default.
    assert lora >= zero + 0.10, (zero, lora)


@pytest.mark.integration
def test_emotion_icl_k8_beats_chance(real, smollm_path):
    acc = _accuracy(real, "emotion", "emotion ICL k=8",
                    lambda: PromptClassifier(model=smollm_path, mode="icl", icl_k=8, template=PLAIN["emotion"]),
                    real["emotion"]["k8"])
    # Chance for a uniform guess over the 6 labels. The majority class of these rows (about 0.35) is
    # not reached: a 135M model does not use demonstrations well (0.240 on these 200 rows, 0.257 on
    # 300, below its zero-shot 0.36).
    n_labels = len(set(real["emotion"]["train"].y))
    assert acc > 1 / n_labels + 0.05, acc


@pytest.mark.integration
def test_sms_spam_lora_k8_with_the_generic_template(data_dir, smollm_path):
    """Labels the base model finds unlikely as words (" ham" is 2.6 nats less likely than " spam" after
    "Label:") are learned from 16 examples: the default objective trains the label scores prediction
    compares. The language-model objective called 189 of 200 test messages spam here (macro-F1 0.18).
    Half the default steps keep the suite short (macro-F1 0.757 with the default 60 steps, 0.783 with
    30)."""
    from sklearn.metrics import f1_score

    ds = load_dataset_folder(data_dir / "sms_spam")
    X, y = sample_k_shot(ds.train.X, ds.train.y, k=8, seed=0)
    Xt, yt = subsample(ds.test.X, ds.test.y, 200, seed=0)
    clf = PromptClassifier(model=smollm_path, seed=0, epochs=15).fit(X, y)
    assert np.mean(clf.predict(X) == np.asarray(y)) == 1.0
    f1 = f1_score(yt, clf.predict(Xt), average="macro")
    print(f"\nsms_spam LoRA k=8 (generic template): macro-F1 {f1:.3f} on 200 test messages")
    majority = max(set(ds.train.y), key=list(ds.train.y).count)
    floor = f1_score(yt, [majority] * len(yt), average="macro")  # always the training set's majority class
    assert f1 >= floor + 0.20, (f1, floor)  # majority 0.46 on these 200 messages; measured 0.757


# ----------------------------------------------------------------------------- integration: Gemma 3 270M
@pytest.mark.integration
def test_gemma_lora_k8_learns_sst2_well_beyond_its_zero_shot(real, gemma_path, tmp_path):
    """Gemma 3 270M is a base model, not instruction-tuned: zero-shot it is weak on sst2 (0.645 here).
    LoRA on 16 examples must lift it well above its own zero-shot accuracy and the majority class, both
    measured here on the same 200 test sentences; the saved adapter reloads onto the alias exactly.
    30 optimizer steps, half the default, keep the suite short (LoRA 0.800 with either)."""
    train = real["sst2"]["train"]
    X, y = sample_k_shot(train.X, train.y, k=8, seed=0)
    Xt, yt = (v[:200] for v in real["sst2"]["test"])
    zero = PromptClassifier(model="gemma3-270m", mode="zero", template=PLAIN["sst2"]).fit(X, y)
    zero_acc = float(np.mean(zero.predict(Xt) == np.asarray(yt)))
    lora = PromptClassifier(model="gemma3-270m", template=PLAIN["sst2"], seed=0, epochs=15).fit(X, y)
    proba = lora.predict_proba(Xt)
    lora_acc = float(np.mean(lora.classes_[proba.argmax(1)] == np.asarray(yt)))
    majority = max(set(train.y), key=list(train.y).count)
    floor = float(np.mean(np.asarray(yt) == majority))
    print(f"\nsst2 gemma3-270m: zero-shot {zero_acc:.3f}, LoRA k=8 {lora_acc:.3f}, majority {floor:.3f} (200 sentences)")
    assert lora_acc >= max(zero_acc, floor) + 0.10, (zero_acc, lora_acc, floor)
    loaded = fewshot.load(lora.save(tmp_path / "gemma"))
    assert loaded.model == "gemma3-270m"
    np.testing.assert_allclose(loaded.predict_proba(Xt[:8]), proba[:8], atol=1e-6)
