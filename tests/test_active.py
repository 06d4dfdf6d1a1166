"""fewshot.active (suggest, prelabel, ActiveLearner, simulate), its CLI and its harness cells, on tiny
in-process models and the built-in demo data."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

import fewshot
from fewshot.active import (
    METHODS,
    ActiveLearner,
    bulk_share,
    collapse_duplicates,
    normalize_text,
    prelabel,
    reliability_table,
    simulate,
    suggest,
    uncertainty,
    zero_shot_classifier,
)
from fewshot.cli import main
from fewshot.errors import DataError, FewshotError


@pytest.fixture(scope="module")
def intent():
    ds = fewshot.load_demo("intent")
    X, y = fewshot.sample_k_shot(ds.train.X, ds.train.y, 4, seed=0)
    taken = set(X)
    pool = [x for x in ds.train.X if x not in taken][:80]
    return X, y, pool, ds


def tiny_setfit(st_dir, **kw):
    # float32 body: the int8 default encodes one text at a time, slow for pools
    params = dict(model=str(st_dir), num_iterations=2, epochs=1, quantize=False)
    params.update(kw)
    return fewshot.SetFitClassifier(**params)


@pytest.fixture(scope="module")
def fitted(tiny_st_dir, intent):
    X, y, _, _ = intent
    return tiny_setfit(tiny_st_dir).fit(X, y)


@pytest.fixture(scope="module")
def zero(tiny_llama_dir):
    return zero_shot_classifier(["billing", "delivery", "technical"], model=str(tiny_llama_dir))


# --------------------------------------------------------------------------- methods
@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_returns_n_distinct_pool_texts(fitted, intent, method):
    _, _, pool, _ = intent
    out = suggest(fitted, pool, 7, method)
    idx = [s.index for s in out]
    assert len(idx) == 7 and len(set(idx)) == 7
    assert all(0 <= i < len(pool) and pool[i] == s.text for i, s in zip(idx, out, strict=True))
    assert out.method == method
    assert all(s.label in fitted.classes_ and 0 < s.confidence <= 1 for s in out)


@pytest.mark.parametrize("method", ["margin", "entropy", "least_confidence"])
def test_uncertainty_methods_pick_what_the_classifier_is_least_sure_of(fitted, intent, method):
    _, _, pool, _ = intent
    proba = fitted.predict_proba(pool)
    top = np.sort(proba, axis=1)[:, ::-1]
    expected_score = {"margin": -(top[:, 0] - top[:, 1]), "least_confidence": -top[:, 0],
                      "entropy": -(proba * np.log(np.clip(proba, 1e-12, 1))).sum(axis=1)}[method]
    picked = [s.index for s in suggest(fitted, pool, 5, method)]
    cutoff = np.sort(expected_score)[::-1][4]
    assert all(expected_score[i] >= cutoff - 1e-9 for i in picked)
    rest = [i for i in range(len(pool)) if i not in picked]
    assert min(expected_score[picked]) >= max(expected_score[rest]) - 1e-9
    # the guess and confidence shown are the classifier's own
    s = suggest(fitted, pool, 1, method)[0]
    assert s.confidence == pytest.approx(proba[s.index].max())
    assert s.label == fitted.classes_[proba[s.index].argmax()]


def _planted_clusters(fitted, pool):
    """Forty pool texts plus three clusters of near-duplicates of the texts the model is least sure
    of: ``(texts, family)`` with ``family[i]`` the base text that text ``i`` was made from."""
    base = pool[:40]
    # words outside the tiny model's vocabulary: each variant reads "<text> [UNK]" to the model, a
    # near-duplicate it cannot tell apart, yet a different text (not collapsed as a duplicate)
    fillers = ["qwv", "qwx", "qwz", "vqk", "vqj", "xkq", "zjq", "jxv"]
    margin = uncertainty(fitted.predict_proba([f"{b} {fillers[0]}" for b in base]), "margin")
    seeds = np.argsort(-margin)[:3]  # three clusters of the texts the model is least sure of
    planted = list(base)
    family = {i: i for i in range(len(base))}
    for s in seeds:
        for w in fillers:
            family[len(planted)] = int(s)
            planted.append(f"{base[s]} {w}")
    return planted, family


@pytest.mark.parametrize("method", ["hybrid", "badge"])
def test_uncertain_and_diverse_batches_are_more_diverse_than_margin_on_near_duplicate_clusters(
        fitted, intent, method):
    _, _, pool, _ = intent
    planted, family = _planted_clusters(fitted, pool)

    def families(method):
        return len({family[x.index] for x in suggest(fitted, planted, 8, method, seed=0)})

    assert families("margin") <= 2  # uncertainty alone takes a whole cluster
    assert families(method) >= families("margin") + 3


def test_badge_starts_from_the_longest_gradient_embedding(fitted, intent):
    _, _, pool, _ = intent
    proba = fitted.predict_proba(pool)
    residual = proba.copy()
    residual[np.arange(len(pool)), proba.argmax(1)] -= 1.0
    emb = fitted.embed(pool)
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    lengths = (residual ** 2).sum(1) * (emb ** 2).sum(1)  # |(p - onehot(guess)) x embedding|^2
    first = suggest(fitted, pool, 5, "badge", seed=0)[0].index
    assert lengths[first] == pytest.approx(lengths.max())
    # the surest text has the shortest gradient: the model would learn least from its label
    assert lengths[first] > lengths[np.argmax(proba.max(1))]


class _Counting:
    """A fitted classifier seen through its public methods, counting the passes over texts; with
    ``joint=False`` it lacks ``embed_and_predict_proba``, so a pool reads it in two passes."""

    def __init__(self, clf, joint: bool):
        self.clf, self.classes_, self.texts_seen = clf, clf.classes_, 0
        if joint:
            self.embed_and_predict_proba = self._both

    def _count(self, texts):
        self.texts_seen += len(texts)
        return texts

    def predict_proba(self, texts):
        return self.clf.predict_proba(self._count(texts))

    def embed(self, texts):
        return self.clf.embed(self._count(texts))

    def _both(self, texts):
        return self.clf.embed_and_predict_proba(self._count(texts))


def test_embed_and_predict_proba_is_embed_and_predict_proba_in_one_pass(fitted, intent):
    _, _, pool, _ = intent
    vectors, proba = fitted.embed_and_predict_proba(pool[:12])
    np.testing.assert_array_equal(vectors, fitted.embed(pool[:12]))
    np.testing.assert_array_equal(proba, fitted.predict_proba(pool[:12]))


def test_badge_reads_the_pool_once_and_picks_the_same_texts(fitted, intent):
    _, _, pool, _ = intent
    one, two = _Counting(fitted, joint=True), _Counting(fitted, joint=False)
    picks = [[s.index for s in suggest(c, pool, 6, "badge", seed=3)] for c in (one, two)]
    assert picks[0] == picks[1]
    # the pool (its near-duplicates collapsed) once for both arrays, not twice; guesses from the same pass
    size = len(fewshot.active.collapse_duplicates(pool)[0])
    assert (one.texts_seen, two.texts_seen) == (size, 2 * size)
    assert suggest(one, pool, 6, "badge", seed=3, features="tfidf").features == "tfidf"


def test_a_pool_shared_by_methods_gives_each_the_features_it_asks_for(fitted, intent):
    _, _, pool, _ = intent
    shared = fewshot.active.Pool(pool)
    for features in ("tfidf", "embeddings", "tfidf"):
        kmeans = fewshot.active.get_method("kmeans", seed=0, features=features)
        alone = kmeans.query(fitted, fewshot.active.Pool(pool), 6)
        np.testing.assert_array_equal(kmeans.query(fitted, shared, 6), alone)
        assert shared.features_used == features


class _SureClassifier:
    """A classifier certain of every text (one-hot probabilities): every gradient embedding is zero."""

    classes_ = np.array(["a", "b"])

    def predict_proba(self, texts):
        return np.tile([1.0, 0.0], (len(texts), 1))


def test_badge_without_a_signal_still_fills_the_batch(intent):
    _, _, pool, _ = intent
    X, y, _, _ = intent
    out = suggest(fewshot.MajorityClassifier().fit(X, y), pool, 6, "badge")  # no embed(): TF-IDF
    assert out.features == "tfidf" and len({s.index for s in out}) == 6
    sure = suggest(_SureClassifier(), pool, 6, "badge", seed=1)
    assert len({s.index for s in sure}) == 6


def test_hybrid_warmup_picks_typical_texts_of_regions_no_label_covers(fitted, intent):
    X, _, pool, _ = intent
    # five tight groups of texts the model embeds alike (words outside its vocabulary read as [UNK]);
    # the labeled texts sit in groups 0 and 1, so a young model's picks should come from 2, 3 and 4
    fillers = ["qwv", "qwx", "qwz", "vqk", "vqj", "xkq"]
    groups = {g: [f"{pool[g]} {w}" for w in fillers] for g in range(5)}
    planted = [t for g in range(5) for t in groups[g]]
    group_of = {t: g for g in groups for t in groups[g]}
    labeled = groups[0][:1] + groups[1][:1]

    def picked_groups(warmup, labeled):
        out = suggest(fitted, planted, 3, "hybrid", labeled=labeled, warmup=warmup, seed=0)
        return sorted(group_of[s.text] for s in out)

    n_classes = len(fitted.classes_)
    assert picked_groups(warmup=len(labeled), labeled=labeled) == [2, 3, 4]  # 2 labels < warmup x classes
    # warmup=0, or as many labels as warmup x classes: uncertainty picks, blind to what is covered
    margin = uncertainty(fitted.predict_proba(planted), "margin")
    by_margin = {group_of[planted[i]] for i in np.argsort(-margin)[:1]}
    assert by_margin <= set(picked_groups(warmup=0, labeled=labeled))
    assert picked_groups(warmup=0, labeled=labeled) != [2, 3, 4]
    grown = labeled + [f"{x} grown" for x in X][: n_classes * 2]
    assert picked_groups(warmup=1, labeled=grown) == picked_groups(warmup=0, labeled=grown)
    # without labeled= the method cannot tell a young model: uncertainty from the first round
    assert [s.index for s in suggest(fitted, planted, 3, "hybrid", warmup=50, seed=0)] == \
        [s.index for s in suggest(fitted, planted, 3, "hybrid", warmup=0, seed=0)]
    with pytest.raises(ValueError, match="warmup must be"):
        suggest(fitted, planted, 3, "hybrid", warmup=-1)
    with pytest.raises(ValueError, match="beta must be"):
        suggest(fitted, planted, 3, "hybrid", beta=0)


def test_near_duplicates_are_collapsed_and_labeled_texts_dropped(fitted):
    pool = ["Where is my parcel #123?", "where is my  parcel 456", "I was charged twice", "refund please",
            "REFUND please!"]
    assert normalize_text(pool[0]) == normalize_text(pool[1]) == "where is my parcel 0"
    keep, counts = collapse_duplicates(pool)
    assert keep == [0, 2, 3] and counts == [2, 1, 2]
    out = suggest(fitted, pool, 3, "random")
    assert sorted(s.index for s in out) == [0, 2, 3]
    assert {s.index: s.duplicates for s in out} == {0: 2, 2: 1, 3: 2}
    left = suggest(fitted, pool, 2, "random", labeled=["refund, please"])
    assert sorted(s.index for s in left) == [0, 2]
    with pytest.raises(ValueError, match="larger than the pool"):
        suggest(fitted, pool, 4, "margin")


def test_same_seed_same_suggestions(fitted, intent):
    _, _, pool, _ = intent
    for method in ("random", "kmeans", "hybrid", "coreset", "badge"):
        a = [s.index for s in suggest(fitted, pool, 6, method, seed=3)]
        assert a == [s.index for s in suggest(fitted, pool, 6, method, seed=3)], method
    assert [s.index for s in suggest(fitted, pool, 6, "random", seed=3)] != \
        [s.index for s in suggest(fitted, pool, 6, "random", seed=4)]
    state = np.random.get_state()[1].copy()
    suggest(fitted, pool, 6, "kmeans", seed=1)
    assert np.array_equal(np.random.get_state()[1], state)  # the global random state is untouched


def test_diversity_says_which_features_it_used(fitted, intent):
    _, _, pool, _ = intent
    assert suggest(fitted, pool, 4, "kmeans").features == "embeddings"
    assert suggest(fitted, pool, 4, "kmeans", features="tfidf").features == "tfidf"
    X, y, _, _ = intent
    majority = fewshot.MajorityClassifier().fit(X, y)  # no embed(): TF-IDF, or a clear error when asked for
    assert suggest(majority, pool, 4, "kmeans").features == "tfidf"
    with pytest.raises(FewshotError, match="no embed"):
        suggest(majority, pool, 4, "kmeans", features="embeddings")
    assert suggest(None, pool, 4, "kmeans").features == "tfidf"
    with pytest.raises(FewshotError, match="needs a classifier"):
        suggest(None, pool, 4, "margin")


def test_head_classifier_embeddings_drive_diversity(tiny_bert_dir, intent):
    X, y, pool, _ = intent
    head = fewshot.HeadClassifier(model=str(tiny_bert_dir), epochs=1, batch_size=8, max_length=48).fit(X, y)
    emb = head.embed(pool[:5])
    assert emb.shape == (5, 32) and np.isfinite(emb).all()
    out = suggest(head, pool, 5, "hybrid", features="embeddings")
    assert out.features == "embeddings" and len({s.index for s in out}) == 5
    vectors, proba = head.embed_and_predict_proba(pool[:7])  # badge's single pass: the same two arrays
    np.testing.assert_array_equal(vectors, head.embed(pool[:7]))
    np.testing.assert_array_equal(proba, head.predict_proba(pool[:7]))
    assert suggest(head, pool, 5, "badge").features == "embeddings"


def test_setfit_embed_is_what_its_head_classifies(fitted, intent):
    _, _, pool, _ = intent
    emb = fitted.embed(pool[:3])
    assert emb.shape[0] == 3
    logits = emb @ fitted.coef_.T + fitted.intercept_
    assert np.array_equal(logits.argmax(1), fitted.predict_proba(pool[:3]).argmax(1))


# --------------------------------------------------------------------------- cold start
def test_cold_start_covers_every_class_the_zero_shot_model_proposes(zero, intent):
    _, _, pool, _ = intent
    guesses = set(zero.predict(pool).tolist())
    out = suggest(zero, pool, 9, "cold")
    assert {s.label for s in out} == guesses
    same = suggest(None, pool, 9, labels="billing, delivery, technical", prompt_params={"model": zero.model})
    assert same.method == "cold" and [s.index for s in same] == [s.index for s in out]


def test_cold_start_needs_two_labels():
    with pytest.raises(DataError, match="at least two distinct label names"):
        suggest(None, ["a text"], 1, labels=["billing"])
    with pytest.raises(DataError, match="at least two"):
        zero_shot_classifier("billing, billing")


# --------------------------------------------------------------------------- prelabel
def test_prelabel_is_least_confident_first_and_filters(fitted, intent):
    _, _, pool, _ = intent
    rows = prelabel(fitted, pool)
    assert sorted(r.index for r in rows) == list(range(len(pool)))
    conf = [r.confidence for r in rows]
    assert conf == sorted(conf)
    proba = fitted.predict_proba(pool)
    assert all(r.confidence == pytest.approx(proba[r.index].max()) for r in rows)
    cut = float(np.median(conf))
    sure = prelabel(fitted, pool, min_confidence=cut)
    assert sure and all(r.confidence >= cut for r in sure)
    assert len(sure) == sum(c >= cut for c in conf)
    with pytest.raises(ValueError, match="between 0 and 1"):
        prelabel(fitted, pool, min_confidence=1.5)


def test_reliability_table_and_bulk_share():
    y_true = ["a", "a", "b", "b", "a"]
    y_pred = ["a", "b", "b", "a", "a"]
    conf = [0.99, 0.55, 0.9, 0.6, 0.8]
    table = {r["threshold"]: r for r in reliability_table(y_true, y_pred, conf, thresholds=(0.0, 0.7, 0.95))}
    assert table[0.0] == {"threshold": 0.0, "kept": 5, "share": 1.0, "accuracy": 0.6}
    assert table[0.7]["kept"] == 3 and table[0.7]["accuracy"] == 1.0
    assert table[0.95]["kept"] == 1
    bulk = bulk_share(y_true, y_pred, conf, target=0.95)
    assert bulk["kept"] == 3 and bulk["share"] == pytest.approx(0.6) and bulk["threshold"] == 0.8


def _many_classes(n_classes, per_class=3, pool_per_class=4):
    """Texts of ``n_classes`` made-up intents (each its own words) and a TF-IDF + logistic regression
    fitted on them: a real scikit-learn classifier with probabilities, fast with many classes."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    def word(i):  # letters only: digits are normalized away by the near-duplicate collapse
        return "".join("abcdefghij"[int(d)] for d in str(i))

    def texts(c, n, offset):
        return [f"intent q{word(c)} about z{word(c)} request {word(offset + i)}x" for i in range(n)]

    X = [t for c in range(n_classes) for t in texts(c, per_class, 0)]
    y = [f"c{c}" for c in range(n_classes) for _ in range(per_class)]
    pool = [t for c in range(n_classes) for t in texts(c, pool_per_class, per_class)]
    pool_y = [f"c{c}" for c in range(n_classes) for _ in range(pool_per_class)]
    clf = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=200))
    return clf, X, y, pool, pool_y


def test_the_default_method_follows_the_number_of_classes():
    from fewshot.active import MANY_CLASSES, MANY_CLASSES_METHOD, default_method

    assert default_method(2) == default_method(MANY_CLASSES) == default_method(None) == "badge"
    assert default_method(MANY_CLASSES + 1) == default_method(77) == MANY_CLASSES_METHOD == "hybrid"
    for n_classes, expected in [(MANY_CLASSES, "badge"), (MANY_CLASSES + 1, "hybrid")]:
        clf, X, y, pool, pool_y = _many_classes(n_classes)
        clf.fit(X, y)
        picked = suggest(clf, pool, 5, labeled=X)
        assert picked.method == expected
        assert [s.index for s in picked] == [s.index for s in suggest(clf, pool, 5, expected, labeled=X)]
        learner = ActiveLearner(clf, pool)
        learner.teach(X, y)
        assert learner.method is None and learner.query(5).method == expected
        assert ActiveLearner(clf, pool, method="margin").teach(X, y).query(5).method == "margin"  # told: kept
        out = simulate(clf, pool, pool_y, X, y, start_per_class=2, round_per_class=1, max_per_class=3)
        assert out["method"] == expected


# --------------------------------------------------------------------------- the loop and the simulation
def test_active_learner_grows_its_labels_and_records_history(tiny_st_dir, intent):
    X, y, pool, ds = intent
    truth = dict(zip(ds.train.X, ds.train.y, strict=True))
    learner = ActiveLearner(tiny_setfit(tiny_st_dir), pool, X_eval=ds.test.X[:30], y_eval=ds.test.y[:30], seed=1)
    first = learner.query(12)  # nothing fitted yet: random
    learner.teach([s.text for s in first], [truth[s.text] for s in first])
    second = learner.query(6)  # the default method on the fitted classifier, never a text already labeled
    assert second.method == fewshot.active.DEFAULT_METHOD
    assert not {s.text for s in second} & {s.text for s in first}
    learner.teach([s.text for s in second], [truth[s.text] for s in second])
    assert [h["n_labels"] for h in learner.history] == [12, 18]
    assert all(0 <= h["metric"] <= 1 for h in learner.history)
    assert len(learner.remaining) == len(pool) - 18
    with pytest.raises(ValueError, match="same length"):
        learner.teach(["one"], ["a", "b"])
    with pytest.raises(ValueError, match="badge takes no 'warmup'"):  # hybrid's option, not badge's
        ActiveLearner(tiny_setfit(tiny_st_dir), pool, method="badge", method_params={"warmup": 14})
    with pytest.raises(ValueError, match="pass method=... with them"):  # the default depends on the classes
        ActiveLearner(tiny_setfit(tiny_st_dir), pool, method_params={"warmup": 14})


def test_simulation_produces_a_learning_curve(tiny_st_dir, intent):
    _, _, _, ds = intent
    X_pool, y_pool = ds.train.X[:90], ds.train.y[:90]
    out = simulate(tiny_setfit(tiny_st_dir), X_pool, y_pool, ds.test.X[:30], ds.test.y[:30], method="hybrid",
                   start_per_class=1, round_per_class=1, max_per_class=3, seed=0)
    n_classes = len(set(y_pool))
    assert [p["n_labels"] for p in out["curve"]] == [n_classes, 2 * n_classes, 3 * n_classes]
    assert all(0 <= p["metric"] <= 1 for p in out["curve"])
    assert out["final"] == out["curve"][-1]["metric"]
    assert "method_params" not in out
    warm = simulate(tiny_setfit(tiny_st_dir), X_pool, y_pool, ds.test.X[:30], ds.test.y[:30], method="hybrid",
                    start_per_class=1, round_per_class=1, max_per_class=2, seed=0, method_params={"warmup": 2})
    assert warm["method_params"] == {"warmup": 2}
    with pytest.raises(ValueError, match="unknown method parameter"):
        simulate(tiny_setfit(tiny_st_dir), X_pool, y_pool, [], [], method_params={"temperature": 1})


def test_cold_start_simulation_measures_the_zero_shot_labels(tiny_st_dir, zero, intent):
    _, _, _, ds = intent
    keep = [i for i, t in enumerate(ds.train.y) if t in ("billing", "delivery", "technical")][:45]
    X_pool, y_pool = [ds.train.X[i] for i in keep], [ds.train.y[i] for i in keep]
    out = simulate(tiny_setfit(tiny_st_dir), X_pool, y_pool, ds.test.X[:20], ds.test.y[:20], method="margin",
                   start="cold", start_per_class=2, round_per_class=1, max_per_class=3, cold_classifier=zero)
    assert out["curve"][0]["n_labels"] >= 6 and out["curve"][-1]["n_labels"] == 9
    table = out["prelabel"]["table"]
    assert table[0]["threshold"] == 0.0 and table[0]["share"] == 1.0
    assert 0 <= out["prelabel"]["bulk_95"]["share"] <= 1


# --------------------------------------------------------------------------- bad input
def test_bad_input_is_refused_clearly(fitted, intent):
    _, _, pool, _ = intent
    with pytest.raises(ValueError, match="positive whole number"):
        suggest(fitted, pool, 0)
    with pytest.raises(ValueError, match="larger than the pool"):
        suggest(fitted, pool[:3], 4)
    with pytest.raises(DataError, match="pool is empty"):
        suggest(fitted, [], 1)
    with pytest.raises(DataError, match=r"pool\[1\] is missing"):
        suggest(fitted, ["fine", None], 1)
    with pytest.raises(ValueError, match="unknown method 'bald'; known methods: random, margin, entropy"):
        suggest(fitted, pool, 2, "bald")


# --------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("active") / "model")


@pytest.fixture
def pool_file(tmp_path, intent):
    path = tmp_path / "pool.txt"
    path.write_text("\n".join(intent[2]) + "\n")
    return path


def test_cli_suggest_writes_jsonl_csv_and_label_studio(saved, pool_file, tmp_path, intent):
    pool = intent[2]
    out = tmp_path / "to_label.jsonl"
    assert main(["suggest", str(saved), "--pool", str(pool_file), "--n", "5", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5 and all(pool[r["index"]] == r["text"] and 0 < r["confidence"] <= 1 for r in rows)
    out_csv = tmp_path / "batch.csv"
    assert main(["suggest", str(saved), "--pool", str(pool_file), "--n", "4", "--method", "margin",
                 "--out", str(out_csv)]) == 0
    with open(out_csv, newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 4 and {"index", "text", "label", "confidence"} <= set(table[0])
    out_ls = tmp_path / "tasks.json"
    assert main(["suggest", str(saved), "--pool", str(pool_file), "--n", "3", "--format", "label-studio",
                 "--out", str(out_ls)]) == 0
    tasks = json.loads(out_ls.read_text())
    assert len(tasks) == 3
    pred = tasks[0]["predictions"][0]
    assert tasks[0]["data"]["text"] in pool and 0 < pred["score"] <= 1 and pred["model_version"]
    assert pred["result"][0]["from_name"] == "label" and pred["result"][0]["to_name"] == "text"
    assert pred["result"][0]["type"] == "choices" and pred["result"][0]["value"]["choices"][0] in intent[1]


def test_cli_suggest_uses_the_library_default_and_hybrid_warmup_follows_the_labeled_texts(saved, fitted, pool_file,
                                                                                          tmp_path, intent, capsys):
    X, _, pool, _ = intent
    labeled = tmp_path / "labeled.txt"
    labeled.write_text("\n".join(X[:3]) + "\n")

    def cli(*extra):
        out = tmp_path / "next.jsonl"
        assert main(["suggest", str(saved), "--pool", str(pool_file), "--labeled", str(labeled), "--n", "4",
                     "--overwrite", "--out", str(out), *extra]) == 0
        return [json.loads(line)["index"] for line in out.read_text().splitlines()]

    def library(method=None, **kw):
        return [s.index for s in suggest(fitted, pool, 4, method, labeled=X[:3], **kw)]

    assert suggest(fitted, pool, 4, labeled=X[:3]).method == fewshot.active.DEFAULT_METHOD == "badge"
    assert cli() == library()  # the library's default method
    assert cli("--method", "hybrid") == library("hybrid")  # the library's default warm-up
    assert cli("--method", "hybrid", "--warmup", "0") == library("hybrid", warmup=0)
    assert cli("--method", "hybrid", "--warmup", "50") == library("hybrid", warmup=50) != library("hybrid", warmup=0)
    capsys.readouterr()
    assert main(["suggest", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"(default {fewshot.active.WARMUP_PER_CLASS}: never; e.g. 14)" in help_text
    active = fewshot.active
    assert (f"{active.DEFAULT_METHOD} (the default up to {active.MANY_CLASSES} classes), "
            f"{active.MANY_CLASSES_METHOD} (the default above)") in help_text


def test_cli_prelabel_orders_and_filters(saved, pool_file, tmp_path):
    out = tmp_path / "pre.jsonl"
    assert main(["prelabel", str(saved), "--pool", str(pool_file), "--out", str(out)]) == 0
    conf = [json.loads(line)["confidence"] for line in out.read_text().splitlines()]
    assert conf == sorted(conf)
    cut = sorted(conf)[len(conf) // 2]
    sure = tmp_path / "sure.jsonl"
    assert main(["prelabel", str(saved), "--pool", str(pool_file), "--out", str(sure),
                 "--min-confidence", str(cut)]) == 0
    kept = [json.loads(line)["confidence"] for line in sure.read_text().splitlines()]
    assert kept and min(kept) >= cut and len(kept) < len(conf) + 1


def test_cli_cold_start_with_labels(tiny_llama_dir, pool_file, tmp_path):
    out = tmp_path / "first.jsonl"
    assert main(["suggest", "--labels", "billing,delivery,technical", "--param", f"model={tiny_llama_dir}",
                 "--pool", str(pool_file), "--n", "6", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6 and {r["label"] for r in rows} <= {"billing", "delivery", "technical"}
    out2 = tmp_path / "pre.csv"
    assert main(["prelabel", "--labels", "billing,delivery", "--param", f"model={tiny_llama_dir}",
                 "--pool", str(pool_file), "--out", str(out2)]) == 0
    assert out2.read_text().startswith("index,text,label,confidence")


@pytest.mark.parametrize("argv, message", [
    (["--n", "0"], "must be at least 1"),
    (["--n", "500"], "larger than the pool"),
    (["--n", "2", "--method", "bald"], "unknown method 'bald'; known methods: random, margin"),
    (["--n", "2", "--labels", "billing"], "at least two distinct label names"),
    (["--n", "2", "--warmup", "-1"], "must be at least 0 (labels per class)"),
    (["--n", "2", "--method", "margin", "--warmup", "4"], "--warmup applies to --method hybrid"),
    (["--n", "2", "--warmup", "4"], "--warmup applies to --method hybrid; pass --method hybrid with it"),
])
def test_cli_bad_input(saved, pool_file, tmp_path, capsys, argv, message):
    model = [] if "--labels" in argv else [str(saved)]
    code = main(["suggest", *model, "--pool", str(pool_file), "--out", str(tmp_path / "o.jsonl"), *argv])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_cli_refuses_existing_out_empty_pool_and_missing_text(saved, pool_file, tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    out.write_text("keep me\n")
    assert main(["suggest", str(saved), "--pool", str(pool_file), "--n", "2", "--out", str(out)]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert out.read_text() == "keep me\n"
    assert main(["suggest", str(saved), "--pool", str(pool_file), "--n", "2", "--out", str(out), "--overwrite"]) == 0
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert main(["prelabel", str(saved), "--pool", str(empty), "--out", str(tmp_path / "p.jsonl")]) == 2
    assert "no texts" in capsys.readouterr().err
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"text": "fine"}) + "\n" + json.dumps({"body": "no text field"}) + "\n")
    assert main(["prelabel", str(saved), "--pool", str(broken), "--out", str(tmp_path / "p.jsonl")]) == 2
    assert "text" in capsys.readouterr().err
    assert main(["prelabel", "--pool", str(pool_file), "--out", str(tmp_path / "p.jsonl")]) == 2
    assert "MODEL_DIR" in capsys.readouterr().err


# --------------------------------------------------------------------------- the harness
ACTIVE_SUITE = """
name = "active-tiny"
datasets = ["demo:intent"]
k = [3]
seeds = [0]
max_test = 24

[active]
methods = ["random", "hybrid"]
start_per_class = 1
round_per_class = 1
pool_size = 60

[[strategies]]
name = "setfit"
params = {{ model = "{model}", num_iterations = 1, epochs = 1, quantize = false }}
"""


def test_suite_active_table_is_checked_and_expanded(tmp_path):
    from fewshot.bench.suite import Suite, SuiteError, parse_suite

    suite = parse_suite(ACTIVE_SUITE.format(model="minilm"))
    assert [s.label for s in suite.strategies] == ["setfit-random", "setfit-hybrid"]
    assert Suite.from_dict(suite.to_dict()).active == suite.active
    with pytest.raises(SuiteError, match="methods must be"):
        parse_suite(ACTIVE_SUITE.format(model="minilm").replace('"hybrid"', '"bald"'))
    with pytest.raises(SuiteError, match="unknown key 'pool'"):
        parse_suite(ACTIVE_SUITE.format(model="minilm").replace("pool_size", "pool"))
    per_dataset = parse_suite(ACTIVE_SUITE.format(model="minilm").replace(
        "pool_size = 60", 'pool_size = { default = 60, "demo:intent" = 80 }'))
    assert per_dataset.active["pool_size"] == {"default": 60, "demo:intent": 80}
    with pytest.raises(SuiteError, match="pool_size must be"):
        parse_suite(ACTIVE_SUITE.format(model="minilm").replace("pool_size = 60", "pool_size = { default = 1 }"))
    tuned = parse_suite(ACTIVE_SUITE.format(model="minilm").replace(
        "pool_size = 60", "pool_size = 60\nmethod_params = { hybrid = { warmup = 4 } }"))
    assert tuned.active["method_params"] == {"hybrid": {"warmup": 4}}
    for bad, message in [("{ hybrid = { warmup = -1 } }", "warmup must be"),
                         ("{ hybrid = { depth = 2 } }", "unknown method parameter"),
                         ("{ random = { beta = 2 } }", "random takes no 'beta'"),
                         ("{ margin = { warmup = 2 } }", "not in methods"),
                         ("{ hybrid = 3 }", "table of tables")]:
        with pytest.raises(SuiteError, match=message):
            parse_suite(ACTIVE_SUITE.format(model="minilm").replace(
                "pool_size = 60", f"pool_size = 60\nmethod_params = {bad}"))


def test_a_pool_too_small_for_the_simulation_is_refused_before_any_cell_trains(tmp_path):
    from fewshot.bench.active import pool_sample, pool_size_for
    from fewshot.bench.runner import run_suite
    from fewshot.bench.suite import parse_suite
    from fewshot.errors import DataError

    # demo:intent has 6 classes: k = 3 reaches 18 labels, so a pool needs 36 texts
    suite = parse_suite(ACTIVE_SUITE.format(model="minilm").replace("pool_size = 60", "pool_size = 30"))
    with pytest.raises(DataError, match=r"holds 30 texts.*at least twice that \(36\)"):
        run_suite(suite, tmp_path / "r", jobs=1, log=lambda line: None)
    assert not list((tmp_path / "r").rglob("k3-seed0.json"))
    # a per-dataset table: the dataset's own entry wins over the default
    table = {"pool_size": {"default": 30, "demo:intent": 40}}
    assert pool_size_for(table, "demo:intent") == 40 and pool_size_for(table, "sst2") == 30
    from fewshot.data import Split

    train = Split(X=[f"text {i}" for i in range(100)], y=[i % 4 for i in range(100)])
    assert pool_sample(train, 0, table, dataset="demo:intent")["info"]["n_pool"] == 40


def test_harness_runs_an_active_cell_and_reports_its_curve(tiny_st_dir, tmp_path):
    from fewshot.bench.report import write_report
    from fewshot.bench.runner import run_suite
    from fewshot.bench.suite import parse_suite

    suite = parse_suite(ACTIVE_SUITE.format(model=tiny_st_dir))
    result = run_suite(suite, tmp_path / "r", jobs=2, log=lambda line: None)
    assert result.ran == 2 and not result.errors
    cell = json.loads((tmp_path / "r/cells/demo-intent/setfit-hybrid/k3-seed0.json").read_text())
    assert cell["status"] == "ok", cell.get("error")
    assert [p["n_labels"] for p in cell["curve"]] == [6, 12, 18]
    assert cell["headline"] == cell["curve"][-1]["metric"]
    # the cell's log follows the simulation round by round
    log = (tmp_path / "r/logs/demo-intent/setfit-hybrid/k3-seed0.log").read_text()
    assert [int(n) for n in re.findall(r"hybrid/random: (\d+) labels -> accuracy", log)] == [6, 12, 18]
    paths = write_report(tmp_path / "r", allow_mixed=True)
    text = paths["active.md"].read_text()
    assert "| hybrid |" in text and "| random |" in text and paths["active_curves.png"].stat().st_size > 0
