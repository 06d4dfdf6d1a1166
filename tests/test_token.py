"""TokenClassifier (few-shot NER): unit tests on a tiny in-process BERT, one integration test on
minilm + conll2003. Also the NER helpers: IOB checks, spans, Viterbi, files, sampling, metrics."""

from __future__ import annotations

import itertools
import json
import random
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import fewshot
from fewshot.errors import DataError, NotASavedClassifierError
from fewshot.metrics import entity_metrics
from fewshot.ner import data as nerdata
from fewshot.ner.tags import check_iob2, entity_spans, iob1_to_iob2, tag_set, viterbi
from fewshot.strategies.token import TokenClassifier, _align, _window_bounds

PEOPLE = ["anna", "bob", "carla", "dieter", "emma", "felix"]
PLACES = ["paris", "london", "berlin", "rome", "madrid", "vienna"]
FIRMS = ["acme", "globex", "initech", "umbrella"]


def _sentences(n: int, seed: int) -> tuple[list, list]:
    """Toy sentences in a handful of patterns, entities drawn from small name lists."""
    rng = random.Random(seed)
    X, y = [], []
    for _ in range(n):
        p, q, place, firm = rng.choice(PEOPLE), rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(FIRMS)
        pattern = rng.randrange(4)
        if pattern == 0:
            X.append([p, "lives", "in", place])
            y.append(["B-PER", "O", "O", "B-LOC"])
        elif pattern == 1:
            X.append([firm, "hired", p, q])
            y.append(["B-ORG", "O", "B-PER", "I-PER"])
        elif pattern == 2:
            X.append(["yesterday", p, "visited", place, "."])
            y.append(["O", "B-PER", "O", "B-LOC", "O"])
        else:
            X.append([p, "works", "at", firm, "in", place])
            y.append(["B-PER", "O", "O", "B-ORG", "O", "B-LOC"])
    return X, y


CORPUS = [" ".join(PEOPLE + PLACES + FIRMS), "lives in hired yesterday visited works at . the a is it"]


@pytest.fixture(scope="module")
def ner_bert(tmp_path_factory):
    from tiny_models import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("tiny") / "ner-bert", CORPUS)


@pytest.fixture(autouse=True)
def one_torch_thread():
    from fewshot.compat import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def toy():
    return _sentences(40, seed=0), _sentences(30, seed=1)


def tiny(model_dir, **kw):
    params = dict(model=str(model_dir), epochs=15, learning_rate=1e-2, batch_size=8, max_length=32, decoding="argmax")
    params.update(kw)
    return TokenClassifier(**params)


@pytest.fixture(scope="module")
def fitted(ner_bert, toy):
    from fewshot.compat import torch_threads

    (X, y), _ = toy
    with torch_threads(1):
        clf = tiny(ner_bert)
        assert clf.fit(X, y) is clf, "fit must return self"
    return clf


# --------------------------------------------------------------------------- the estimator
def test_learns_and_tags_held_out_sentences(fitted, toy):
    _, (Xt, yt) = toy
    pred = fitted.predict(Xt)
    assert [len(p) for p in pred] == [len(x) for x in Xt]
    assert list(fitted.classes_) == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    assert fitted.score(Xt, yt) >= 0.9, "the toy patterns are easy: held-out entity F1 must be high"
    proba = fitted.predict_proba(Xt)
    assert [p.shape for p in proba] == [(len(x), 7) for x in Xt]
    np.testing.assert_allclose(np.concatenate(proba).sum(axis=1), 1.0, atol=1e-6)
    argmax = [[str(fitted.classes_[i]) for i in p.argmax(axis=1)] for p in proba]
    assert argmax == pred
    assert fitted.model_.config.id2label[5] == "B-PER"
    assert len(fitted.loss_history_) == 15 and fitted.loss_history_[-1] < fitted.loss_history_[0] / 5


def test_predict_entities_word_indices_and_character_offsets(fitted):
    words = ["yesterday", "anna", "visited", "vienna", "."]
    [found] = fitted.predict_entities([words])
    assert [(e["text"], e["type"], e["start"], e["end"]) for e in found] == [("anna", "PER", 1, 2), ("vienna", "LOC", 3, 4)]
    text = "Acme hired Bob  Carla; then Emma works at Globex in Rome."
    [found] = fitted.predict_entities([text])
    for e in found:
        assert text[e["start"]:e["end"]] == e["text"]
        assert 0 < e["score"] <= 1
    assert ("Bob  Carla", "PER") in {(e["text"], e["type"]) for e in found}  # the original spacing is kept
    assert ("Rome", "LOC") in {(e["text"], e["type"]) for e in found}
    assert nerdata.split_words("Emma's U.S. trip, 1996-08-22.") == [
        ("Emma's", 0, 6), ("U.S", 7, 10), (".", 10, 11), ("trip", 12, 16), (",", 16, 17), ("1996-08-22", 18, 28),
        (".", 28, 29)]


def test_empty_sentence_at_prediction_gets_no_tags(fitted):
    assert fitted.predict([[], ["anna", "lives", "in", "rome"]])[0] == []
    assert fitted.predict_entities(["   "]) == [[]]
    assert fitted.predict_proba([[]])[0].shape == (0, 7)


def test_long_sentences_are_windowed_never_cut(fitted, ner_bert):
    """A sentence many times longer than max_length: every word gets a tag, and an entity at the very
    end (beyond the first window) is found."""
    clf = clone(fitted).set_params(max_length=8)
    (X, y) = _sentences(40, seed=0)
    clf.fit(X, y)
    long = ["yesterday", "anna", "visited", "paris", "."] * 9 + ["bob", "lives", "in", "rome"]
    assert len(clf.tokenizer_(long, is_split_into_words=True)["input_ids"]) > 6 * 8
    [tags] = clf.predict([long])
    assert len(tags) == len(long)
    assert tags[-4:] == ["B-PER", "O", "O", "B-LOC"]
    assert tags[:5] == ["O", "B-PER", "O", "B-LOC", "O"]
    windows = clf._windows([tuple(long)])
    assert len(windows) > 6
    assert all(len(f["input_ids"]) <= 8 for _, _, _, f, _ in windows)
    covered = set()
    for (_, s, e, _, _), (_, s2, _, _, _) in itertools.pairwise(windows):
        assert s < s2 < e, "consecutive windows overlap and move forward"
    for _, s, e, _, _ in windows:
        covered |= set(range(s, e))
    assert covered == set(range(len(long)))


def test_window_bounds():
    assert _window_bounds([1, 1, 1], 5) == [(0, 3)]
    bounds = _window_bounds([1] * 20, 8)
    assert bounds[0] == (0, 8) and bounds[-1][1] == 20
    assert all(b[0] < a[1] for a, b in itertools.pairwise(bounds))  # overlap
    assert _window_bounds([1, 30, 1, 1], 4) == [(0, 1), (1, 2), (2, 4)]  # a huge word alone


def test_alignment_first_subword_and_label_all_subwords(fitted):
    """A word the tokenizer splits ("anna's" -> anna ' s): its tag on the first subword only, or with
    label_all_subwords its continuation tag (B-PER -> I-PER) on the rest; -100 on special tokens."""
    (_, _, _, feature, word_ids), = fitted._windows([("anna's", "lives", "in", "rome")])
    assert word_ids == [None, 0, 0, 0, 1, 2, 3, None]
    b_per, b_loc = 5, 1
    assert _align(word_ids, [b_per, 0, 0, b_loc], None) == [-100, b_per, -100, -100, 0, 0, b_loc, -100]
    from fewshot.strategies.token import _continuation_labels

    label_of = _continuation_labels(list(fitted.classes_))
    assert _align(word_ids, [b_per, 0, 0, b_loc], label_of) == [-100, b_per, 6, 6, 0, 0, b_loc, -100]
    [tags] = fitted.predict([["anna's", "lives", "in", "rome"]])
    assert len(tags) == 4


def test_label_all_subwords_trains(ner_bert, toy):
    (X, y), (Xt, yt) = toy
    X = [[w + "'s" if t == "B-PER" else w for w, t in zip(x, tags)] for x, tags in zip(X, y)]
    clf = tiny(ner_bert, label_all_subwords=True).fit(X, y)
    assert clf.score(Xt, yt) >= 0.8


@pytest.mark.parametrize("options", [dict(loss="weighted"), dict(loss="focal", class_weight="sqrt_inverse"),
                                     dict(loss="focal", focal_gamma=0.0)])
def test_class_weights_and_focal_loss_train(ner_bert, toy, options):
    (X, y), (Xt, yt) = toy
    clf = tiny(ner_bert, epochs=10, **options).fit(X, y)
    assert clf.loss_history_[-1] < clf.loss_history_[0]
    assert clf.score(Xt, yt) >= 0.8


def test_focal_gamma_zero_is_cross_entropy(ner_bert, toy):
    (X, y), _ = toy
    a = tiny(ner_bert, epochs=2).fit(X, y)
    b = tiny(ner_bert, epochs=2, loss="focal", focal_gamma=0.0).fit(X, y)
    np.testing.assert_allclose(a.loss_history_, b.loss_history_, rtol=1e-4)


def test_viterbi_decoding_never_opens_with_i():
    tags = tag_set(["LOC", "PER"])  # O B-LOC I-LOC B-PER I-PER
    proba = np.array([[0.6, 0.0, 0.1, 0.0, 0.3],   # argmax O
                      [0.1, 0.0, 0.1, 0.0, 0.8],   # argmax I-PER after O: invalid
                      [0.2, 0.0, 0.5, 0.0, 0.3]])  # argmax I-LOC after I-PER: invalid
    path = [tags[i] for i in viterbi(proba, tags)]
    check_iob2(path)
    rng = np.random.RandomState(0)
    for _ in range(50):  # against brute force over every valid path
        p = rng.dirichlet(np.ones(5) * 0.3, size=4)
        best = max((seq for seq in itertools.product(range(5), repeat=4)
                    if _valid([tags[i] for i in seq])),
                   key=lambda seq: sum(np.log(max(p[t, i], 1e-12)) for t, i in enumerate(seq)))
        assert viterbi(p, tags) == list(best)


def _valid(tags):
    try:
        check_iob2(tags)
        return True
    except DataError:
        return False


def test_viterbi_option_gives_valid_iob2(fitted, toy):
    _, (Xt, _) = toy
    clf = clone(fitted).set_params(decoding="viterbi")
    for attr in ("classes_", "model_", "tokenizer_", "device_", "entity_types_", "problem_", "loss_history_"):
        setattr(clf, attr, getattr(fitted, attr))
    weird = [["rome", "anna", "bob", "in", "acme"], ["in", "in", "paris", "berlin", "acme", "acme"]]
    for tags in clf.predict(Xt + weird):
        check_iob2(tags)


# --------------------------------------------------------------------------- the contract
def test_clone_params_and_state(fitted, toy):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "classes_")
    with pytest.raises(NotFittedError):
        copy.predict([["anna"]])
    assert fewshot.TokenClassifier is TokenClassifier
    assert fewshot.get_strategy("token") is TokenClassifier


def test_fit_leaves_params_and_global_random_state_alone_and_is_deterministic(ner_bert, toy):
    import torch

    (X, y), (Xt, _) = toy
    clf = tiny(ner_bert, epochs=2)
    before = clf.get_params()
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    states = random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state()
    first = clf.fit(X, y).predict_proba(Xt)
    assert clf.get_params() == before
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])
    torch.manual_seed(99)
    second = tiny(ner_bert, epochs=2).fit(X, y).predict_proba(Xt)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_cross_val_score_and_grid_search(ner_bert, toy):
    from sklearn.model_selection import GridSearchCV, cross_val_score

    (X, y), _ = toy
    scores = cross_val_score(tiny(ner_bert, epochs=3), X, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    search = GridSearchCV(tiny(ner_bert, epochs=2), {"decoding": ["argmax", "viterbi"]}, cv=2).fit(X, y)
    assert set(search.best_params_) == {"decoding"}
    assert len(search.predict(X[:3])) == 3


def test_save_load_identical_and_nothing_in_the_working_directory(fitted, toy, tmp_path, clean_cwd):
    _, (Xt, _) = toy
    path = fitted.save(tmp_path / "ner")
    assert (path / "model" / "model.safetensors").is_file()
    assert not list(path.rglob("*.pkl")) and not list(path.rglob("*.bin")) and not list(path.rglob("*.joblib"))
    meta = json.loads((path / "fewshot.json").read_text())
    assert meta["strategy"] == "token" and meta["problem"] == "token"
    assert meta["classes"] == list(fitted.classes_)
    assert meta["state"]["tag_scheme"] == "IOB2" and meta["state"]["entity_types"] == ["LOC", "ORG", "PER"]
    loaded = fewshot.load(path)
    assert type(loaded) is TokenClassifier and loaded.get_params() == fitted.get_params()
    assert loaded.predict(Xt) == fitted.predict(Xt)
    for a, b in zip(loaded.predict_proba(Xt), fitted.predict_proba(Xt), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert loaded.predict_entities(["anna lives in rome"]) == fitted.predict_entities(["anna lives in rome"])
    assert loaded.loss_history_ == pytest.approx(fitted.loss_history_)


def test_load_refuses_a_tag_list_that_does_not_match(fitted, tmp_path):
    path = fitted.save(tmp_path / "ner")
    meta = json.loads((path / "fewshot.json").read_text())
    meta["classes"] = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    meta["state"]["entity_types"] = ["LOC", "ORG"]
    (path / "fewshot.json").write_text(json.dumps(meta))
    with pytest.raises(NotASavedClassifierError, match="5 tags but the saved model gives 7"):
        fewshot.load(path)
    meta["classes"] = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-XYZ", "I-XYZ"]
    meta["state"]["entity_types"] = ["LOC", "ORG", "XYZ"]
    (path / "fewshot.json").write_text(json.dumps(meta))
    with pytest.raises(NotASavedClassifierError, match="differ from the model's tags"):
        fewshot.load(path)
    (path / "model" / "extra.txt").write_text("x")
    with pytest.raises(NotASavedClassifierError, match="extra.txt"):
        fewshot.load(path)


def test_iob1_input_is_converted(ner_bert, toy):
    (X, y), _ = toy
    iob1 = [[("I-" + t[2:]) if t.startswith("B-") else t for t in tags] for tags in y]
    assert iob1_to_iob2(iob1[1]) == y[1]
    assert iob1_to_iob2(["I-PER", "B-PER", "I-PER", "O", "I-LOC"]) == ["B-PER", "B-PER", "I-PER", "O", "B-LOC"]
    a = tiny(ner_bert, epochs=2).fit(X, y)
    b = tiny(ner_bert, epochs=2, tag_scheme="IOB1").fit(X, iob1)
    np.testing.assert_array_equal(np.concatenate(a.predict_proba(X[:5])), np.concatenate(b.predict_proba(X[:5])))


# --------------------------------------------------------------------------- bad input, before training
@pytest.mark.parametrize("X, y, message", [
    ([["anna", "lives"]], [["B-PER"]], "sentence 0 has 2 words but y\\[0\\] has 1 tags"),
    ([["anna"], []], [["B-PER"], []], "X\\[1\\] is an empty sentence"),
    (["anna lives", "   "], [["B-PER", "O"], []], "X\\[1\\] is an empty sentence"),
    ([["anna", "lives"]], [["S-PER", "O"]], "BIOES/BILOU"),
    ([["anna", "lives"]], [["PER", "O"]], "not a tag of a known scheme"),
    ([["anna", "lives"]], [["O", "I-PER"]], "y\\[0\\]\\[1\\] is 'I-PER' after 'O': not valid IOB2.*tag_scheme='IOB1'"),
    ([["anna", "lives"]], [["O", "O"]], "only 'O' tags"),
    ([["anna", None]], [["B-PER", "O"]], "X\\[0\\]\\[1\\] is missing"),
    ([["anna"], "bob"], [["B-PER"], ["B-PER"]], "mixes word lists and raw strings"),
    ([["anna"], ["bob"]], [["B-PER"]], "X has 2 sentences but y has 1 tag lists"),
])
def test_bad_input_fails_before_any_model_is_loaded(X, y, message):
    clf = TokenClassifier(model="/no/such/model")  # loading it would fail differently
    with pytest.raises(DataError, match=message):
        clf.fit(X, y)


def test_bad_parameters():
    with pytest.raises(ValueError, match="tag_scheme must be 'IOB2' or 'IOB1'; got 'BIOES'"):
        TokenClassifier(model="/no/such/model", tag_scheme="BIOES").fit([["a"]], [["B-X"]])
    with pytest.raises(ValueError, match="class_weight='inverse' has no effect with loss='ce'"):
        TokenClassifier(model="/no/such/model", class_weight="inverse").fit([["a"]], [["B-X"]])
    with pytest.raises(ValueError, match="decoding must be 'argmax' or 'viterbi'; got 'crf'"):
        TokenClassifier(model="/no/such/model", decoding="crf").fit([["a"]], [["B-X"]])


# --------------------------------------------------------------------------- files and folders
def test_read_conll(tmp_path):
    f = tmp_path / "train.conll"
    f.write_text("-DOCSTART- -X- O\n\nAnna NNP B-PER\nlives VBZ O\n\n\t\nin IN O\nRome NNP B-LOC\n")
    X, y = nerdata.read_conll(f)
    assert X == [["Anna", "lives"], ["in", "Rome"]] and y == [["B-PER", "O"], ["O", "B-LOC"]]
    f.write_text("Anna I-PER\nSmith I-PER\n\nRome I-LOC\n")
    assert nerdata.read_conll(f, tag_scheme="IOB1")[1] == [["B-PER", "I-PER"], ["B-LOC"]]
    with pytest.raises(DataError, match="line 1: the sentence's tags\\[0\\] is 'I-PER'.*not valid IOB2"):
        nerdata.read_conll(f)
    f.write_text("Anna B-PER\nlives O\n\nRome\n")
    with pytest.raises(DataError, match="train.conll line 4 is 'Rome': one column"):
        nerdata.read_conll(f)
    f.write_text("Anna NNP B-PER\nlives O\n")
    with pytest.raises(DataError, match="line 2 has 2 columns but the file's first line has 3"):
        nerdata.read_conll(f)
    f.write_text("Anna NNP PERSON\n")
    with pytest.raises(DataError, match="line 1: the tag is 'PERSON', which is not a tag of a known scheme"):
        nerdata.read_conll(f)


def test_read_token_jsonl(tmp_path):
    f = tmp_path / "train.jsonl"
    f.write_text('{"tokens": ["Anna", "lives"], "tags": ["B-PER", "O"]}\n\n{"tokens": ["Rome"], "tags": ["B-LOC"]}\n')
    assert nerdata.read_token_file(f) == ([["Anna", "lives"], ["Rome"]], [["B-PER", "O"], ["B-LOC"]])
    assert nerdata.is_token_file(f)
    f.write_text('{"tokens": ["Anna", "lives"], "tags": ["B-PER"]}\n')
    with pytest.raises(DataError, match="line 1 has 2 tokens but 1 tags"):
        nerdata.read_token_file(f)
    f.write_text('{"tokens": [], "tags": []}\n')
    with pytest.raises(DataError, match="line 1 is an empty sentence"):
        nerdata.read_token_file(f)
    f.write_text('{"text": "hi", "label": "x"}\n')
    assert not nerdata.is_token_file(f)


def _ner_folder(tmp_path, scheme="IOB2"):
    folder = tmp_path / "toyner"
    folder.mkdir()
    for split, seed in (("train", 0), ("test", 1)):
        X, y = _sentences(20, seed)
        if scheme == "IOB1":
            y = [[("I-" + t[2:]) if t.startswith("B-") else t for t in tags] for tags in y]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps({"tokens": x, "tags": t}) + "\n" for x, t in zip(X, y)))
    (folder / "dataset.json").write_text(json.dumps({"name": "toyner", "task": "token classification (NER)",
                                                     "metric": "entity_f1", "tag_scheme": scheme}))
    return folder


@pytest.mark.parametrize("scheme", ["IOB2", "IOB1"])
def test_dataset_folder(tmp_path, scheme):
    from fewshot.datasets import resolve_dataset

    ds = resolve_dataset(str(_ner_folder(tmp_path, scheme)))
    assert ds.metric == "entity_f1" and ds.validation is None
    assert (ds.train.X, ds.train.y) == _sentences(20, 0)
    assert ds.labels == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]


# --------------------------------------------------------------------------- sampling
def test_sample_k_mentions():
    X, y = _sentences(300, seed=3)
    y = [t if i % 50 else ["O"] * len(t) for i, t in enumerate(y)]  # some sentences without entities
    Xk, yk = nerdata.sample_k_mentions(X, y, k=5, seed=0)
    counts = nerdata.mention_counts(yk)
    assert set(counts) == {"PER", "LOC", "ORG"} and min(counts.values()) >= 5
    assert len(Xk) < 20, "greedy sampling stops once every type has k mentions"
    assert all(entity_spans(t) for t in yk), "sentences without entities are never drawn"
    assert nerdata.sample_k_mentions(X, y, k=5, seed=0) == (Xk, yk)
    assert nerdata.sample_k_mentions(X, y, k=5, seed=1) != (Xk, yk)
    # a rare type: every sentence holding it is taken, with a warning
    y_rare = [t if i != 7 else ["B-MISC"] + t[1:] for i, t in enumerate(y)]
    with pytest.warns(UserWarning, match="fewer than k=5 mentions.*'MISC': 1"):
        _, got = nerdata.sample_k_mentions(X, y_rare, k=5, seed=0)
    assert nerdata.mention_counts(got)["MISC"] == 1
    with pytest.raises(DataError, match="no entities"):
        nerdata.sample_k_mentions(X, [["O"] * len(t) for t in y], k=2)


# --------------------------------------------------------------------------- metrics against seqeval
def _random_tags(rng, n, types=("PER", "LOC", "ORG")):
    pool = ["O", "O", "O"] + [f"{p}-{t}" for t in types for p in "BI"]
    return [rng.choice(pool) for _ in range(n)]


def test_entity_spans_match_seqeval_strict():
    from seqeval.scheme import IOB2, Entities

    rng = random.Random(0)
    for _ in range(300):
        tags = _random_tags(rng, rng.randrange(1, 12))
        theirs = {(e.tag, e.start, e.end) for e in Entities([tags], IOB2).entities[0]}
        assert set(entity_spans(tags)) == theirs, tags


def test_entity_metrics_equal_seqeval():
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    rng = random.Random(1)
    truth = [[t for t in _random_tags(rng, rng.randrange(1, 15))] for _ in range(200)]
    truth = [iob1_to_iob2(t) for t in truth]
    pred = [[tag if rng.random() < 0.7 else rng.choice(["O", "B-PER", "I-PER", "B-LOC", "I-ORG", "B-MISC"])
             for tag in t] for t in truth]
    ours = entity_metrics(truth, pred)
    strict = dict(mode="strict", scheme=IOB2, zero_division=0)
    assert ours["precision"] == pytest.approx(precision_score(truth, pred, **strict))
    assert ours["recall"] == pytest.approx(recall_score(truth, pred, **strict))
    assert ours["f1"] == ours["entity_f1"] == pytest.approx(f1_score(truth, pred, **strict))
    report = classification_report(truth, pred, output_dict=True, **strict)
    for kind in ("PER", "LOC", "ORG", "MISC"):
        assert ours["per_type"][kind]["f1"] == pytest.approx(report[kind]["f1-score"])
        assert ours["per_type"][kind]["support"] == report[kind]["support"]
    # and the same figures counted independently from our own strict spans
    t_spans = {(i, *s) for i, t in enumerate(truth) for s in entity_spans(t)}
    p_spans = {(i, *s) for i, p in enumerate(pred) for s in entity_spans(p)}
    hit = len(t_spans & p_spans)
    assert ours["precision"] == pytest.approx(hit / len(p_spans))
    assert ours["recall"] == pytest.approx(hit / len(t_spans))
    tokens = [a == b for t, p in zip(truth, pred) for a, b in zip(t, p)]
    assert ours["token_accuracy"] == pytest.approx(np.mean(tokens))


def test_entity_metrics_by_hand():
    truth = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "O", "O", "B-LOC"], ["I-ORG", "O"]]  # PER cut short; I-ORG after nothing is no entity
    m = entity_metrics(truth, pred)
    assert (m["precision"], m["recall"]) == (pytest.approx(1 / 2), pytest.approx(1 / 3))
    assert m["f1"] == pytest.approx(0.4)
    assert m["per_type"]["LOC"]["f1"] == 1.0 and m["per_type"]["ORG"]["recall"] == 0.0
    assert m["token_accuracy"] == pytest.approx(4 / 6)
    from fewshot.metrics import format_entity_report

    table = format_entity_report(m)
    assert "micro avg" in table and "PER" in table
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no UndefinedMetricWarning from seqeval
        entity_metrics([["O", "B-PER"]], [["O", "O"]])


# --------------------------------------------------------------------------- the command line
def test_cli_train_predict_evaluate(ner_bert, tmp_path, capsys, clean_cwd):
    from fewshot.cli import main

    X, y = _sentences(40, seed=0)
    train = tmp_path / "train.conll"
    train.write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(x, tags)) for x, tags in zip(X, y)) + "\n")
    out = tmp_path / "ner"
    args = ["train", "--strategy", "token", "--data", str(train), "--out", str(out), "--k", "10",
            "--param", f"model={ner_bert}", "--param", "epochs=15", "--param", "learning_rate=0.01",
            "--param", "show_progress=false"]
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "trained token on" in said and "LOC" in said
    new = tmp_path / "new.txt"
    new.write_text("emma lives in madrid\nglobex hired felix anna\n")
    assert main(["predict", str(out), "--input", str(new)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["text"] == "emma lives in madrid"
    assert {(e["text"], e["type"]) for e in rows[0]["entities"]} == {("emma", "PER"), ("madrid", "LOC")}
    test = tmp_path / "test.jsonl"
    Xt, yt = _sentences(20, seed=5)
    test.write_text("".join(json.dumps({"tokens": x, "tags": t}) + "\n" for x, t in zip(Xt, yt)))
    assert main(["evaluate", str(out), "--data", str(test)]) == 0
    table = capsys.readouterr().out
    assert "micro avg" in table and "precision" in table
    assert main(["evaluate", str(out), "--data", str(test), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["entity_f1"] >= 0.8
    bad = tmp_path / "bad.conll"
    bad.write_text("emma B-PER\nlives\n")
    assert main(["train", "--strategy", "token", "--data", str(bad), "--out", str(tmp_path / "x"),
                 "--param", f"model={ner_bert}"]) == 2
    assert "bad.conll line 2" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- integration
@pytest.mark.integration
def test_minilm_few_shot_conll2003_beats_a_dictionary_baseline(data_dir):
    """16 mentions per type from conll2003 train, 200 validation sentences: minilm must beat a
    dictionary of the training mentions (every exact match of a seen mention is tagged with its type)."""
    import time

    from fewshot.datasets import resolve_dataset

    ds = resolve_dataset("conll2003", data_dir)
    X, y = nerdata.sample_k_mentions(ds.train.X, ds.train.y, k=16, seed=0)
    Xv, yv = ds.validation.X[:200], ds.validation.y[:200]
    baseline = entity_metrics(yv, _dictionary_tagger(X, y, Xv))["f1"]
    started = time.perf_counter()
    clf = TokenClassifier(model="minilm", seed=0).fit(X, y)  # the defaults: 15 epochs, 3e-4, batches of 4
    seconds = time.perf_counter() - started
    argmax = entity_metrics(yv, clf.set_params(decoding="argmax").predict(Xv))
    viterbi_f1 = entity_metrics(yv, clf.set_params(decoding="viterbi").predict(Xv))["f1"]
    print(f"\nconll2003 k=16 ({len(X)} sentences, {seconds:.0f} s): entity F1 argmax {argmax['f1']:.3f}, "
          f"viterbi {viterbi_f1:.3f}, dictionary baseline {baseline:.3f}; per type "
          f"{ {k: round(v['f1'], 3) for k, v in argmax['per_type'].items()} }")
    assert max(argmax["f1"], viterbi_f1) > baseline + 0.05
    assert viterbi_f1 >= argmax["f1"] - 0.01


def _dictionary_tagger(X, y, Xv):
    mentions = {}
    for words, tags in zip(X, y):
        for kind, s, e in entity_spans(tags):
            mentions.setdefault(tuple(words[s:e]), kind)
    longest = max(len(m) for m in mentions)
    out = []
    for words in Xv:
        tags, i = ["O"] * len(words), 0
        while i < len(words):
            for n in range(min(longest, len(words) - i), 0, -1):
                kind = mentions.get(tuple(words[i:i + n]))
                if kind:
                    tags[i:i + n] = [f"B-{kind}"] + [f"I-{kind}"] * (n - 1)
                    i += n
                    break
            else:
                i += 1
        out.append(tags)
    return out


# --------------------------------------------------------------------------- the benchmark harness
def test_harness_runs_token_cells_with_entity_f1(ner_bert, tmp_path):
    """A NER suite: mention sampling, k = 0 (the whole training split) once, entity F1 as the headline;
    the report and plots are written. Suites that mix NER and text are refused before any cell runs."""
    from fewshot.bench import load_suite, run_suite, write_report
    from fewshot.bench.runner import cell_path
    from fewshot.bench.suite import SuiteError

    _ner_folder(tmp_path)
    text = (f'name = "nertoy"\ndatasets = ["toyner"]\nsampling = "mentions"\nseeds = [0, 1]\n'
            f'[[strategies]]\nname = "token"\nk = [2, 0]\n'
            f'params = {{ model = "{ner_bert}", epochs = 10, learning_rate = 0.01, max_length = 32 }}\n')
    (tmp_path / "ner.toml").write_text(text)
    suite = load_suite(tmp_path / "ner.toml")
    assert [(c.k, c.seed) for c in suite.cells()] == [(2, 0), (0, 0), (2, 1)]  # the whole split once, last in its seed
    (tmp_path / "ner.toml").write_text(text.replace("seeds = [0, 1]", "seeds = [0]"))  # two cells are enough to run
    suite = load_suite(tmp_path / "ner.toml")
    out = tmp_path / "results"
    result = run_suite(suite, out, data_dir=tmp_path, jobs=1, log=lambda m: None)
    assert result.ran == 2 and not result.errors
    for key in suite.cells():
        cell = json.loads(cell_path(out, key).read_text())
        assert cell["status"] == "ok", cell.get("error")
        assert cell["metric"] == "entity_f1" and cell["headline"] == cell["metrics"]["entity_f1"]
        assert set(cell["per_class_f1"]) == {"LOC", "ORG", "PER"}
        if key.k == 2:
            assert min(cell["class_counts"].values()) >= 2 and cell["n_train"] < 20
        else:
            assert cell["n_train"] == 20
            assert cell["headline"] >= 0.8
    write_report(out, allow_mixed=True)  # allow cells from a working tree with uncommitted changes
    md = (out / "summary.md").read_text()
    assert "toyner" in md and (out / "curves.png").is_file()
    # budgets are named in the NER suite's own unit, and k = 0 as the whole split
    assert "## k = 2 mentions per entity type" in md and "## the whole training split (k = 0)" in md
    assert "| whole train split | token |" in md and "**whole train split.**" in md and "| k = 0 |" not in md
    for bad, message in [(text.replace('sampling = "mentions"\n', ""), "set sampling = 'mentions'"),
                         (text.replace('name = "token"', 'name = "head"').replace(", max_length = 32", ""),
                          "tags texts but dataset 'toyner' is a NER dataset")]:
        (tmp_path / "bad.toml").write_text(bad)
        with pytest.raises(SuiteError, match=message):
            run_suite(load_suite(tmp_path / "bad.toml"), tmp_path / "r2", data_dir=tmp_path, log=lambda m: None)


def test_max_length_is_capped_at_the_model_limit(fitted, toy):
    """The tiny BERT has 128 positions: max_length=1000 must window at 128, not fail or cut."""
    clf = clone(fitted).set_params(max_length=1000)
    for attr in ("classes_", "model_", "tokenizer_", "device_", "entity_types_", "problem_", "loss_history_"):
        setattr(clf, attr, getattr(fitted, attr))
    long = ["yesterday", "anna", "visited", "paris", "."] * 60
    windows = clf._windows([tuple(long)])
    assert len(windows) > 2 and max(len(f["input_ids"]) for *_, f, _ in windows) <= 128
    [tags] = clf.predict([long])
    assert len(tags) == 300 and tags[-5:] == ["O", "B-PER", "O", "B-LOC", "O"]


def test_cli_iob1_files_use_the_saved_tag_scheme(ner_bert, tmp_path, capsys):
    """An IOB1 CoNLL file trains with --param tag_scheme=IOB1, and evaluate reads IOB1 test data the same way."""
    from fewshot.cli import main

    def write(path, X, y):
        iob1 = [[("I-" + t[2:]) if t.startswith("B-") else t for t in tags] for tags in y]
        path.write_text("\n\n".join("\n".join(f"{w} NN {t}" for w, t in zip(x, tags)) for x, tags in zip(X, iob1)))

    write(tmp_path / "train.conll", *_sentences(40, seed=0))
    write(tmp_path / "test.conll", *_sentences(20, seed=4))
    base = ["--param", f"model={ner_bert}", "--param", "epochs=15", "--param", "learning_rate=0.01",
            "--param", "show_progress=false"]
    assert main(["train", "--strategy", "token", "--data", str(tmp_path / "train.conll"),
                 "--out", str(tmp_path / "a"), *base]) == 2
    err = capsys.readouterr().err
    assert "train.conll line 1" in err and "not valid IOB2" in err and "tag_scheme=IOB1" in err
    assert main(["train", "--strategy", "token", "--data", str(tmp_path / "train.conll"),
                 "--out", str(tmp_path / "a"), *base, "--param", "tag_scheme=IOB1"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "a"), "--data", str(tmp_path / "test.conll"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["entity_f1"] >= 0.8


def test_words_without_subwords_are_tagged_o_and_do_not_break_training(ner_bert):
    """A zero-width space is a word the tokenizer turns into nothing: it is read as O, and a batch
    holding only such words trains to a finite loss."""
    X = [["anna", "\u200b", "paris"], ["\u200b"], ["bob", "lives", "in", "rome"]]
    y = [["B-PER", "O", "B-LOC"], ["O"], ["B-PER", "O", "O", "B-LOC"]]
    clf = tiny(ner_bert, epochs=2, batch_size=1).fit(X, y)
    assert all(np.isfinite(clf.loss_history_))
    proba = clf.predict_proba([["anna", "\u200b", "paris"]])[0]
    assert clf.tokenizer_(["\u200b"], is_split_into_words=True, add_special_tokens=False)["input_ids"] == []
    assert proba[1].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]  # O, B-LOC, I-LOC, B-PER, I-PER
