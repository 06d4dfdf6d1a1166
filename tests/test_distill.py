"""Distillation (fewshot.distill, DistilledClassifier) on tiny in-process models.

The teacher is a SetFit classifier on the tiny sentence-transformer trained on all 180 demo training
messages; students see 2 labeled messages per class plus the teacher's probabilities for the rest.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import fewshot
import fewshot.serving
from fewshot.data import sample_k_shot
from fewshot.distill import DistilledClassifier, distill, teacher_identity
from fewshot.errors import DataError
from fewshot.strategies.setfit import SetFitClassifier, check_soft_targets, fit_soft_head


class CountingTeacher(SetFitClassifier):
    """A real SetFit teacher that counts how many texts it was asked to label."""

    texts_labeled = 0

    def predict_proba(self, X):
        type(self).texts_labeled += len(X)
        return super().predict_proba(X)


@pytest.fixture(scope="module")
def demo():
    ds = fewshot.load_demo("intent")
    return ds


@pytest.fixture(scope="module")
def teacher(tiny_st_dir, demo):
    return CountingTeacher(model=str(tiny_st_dir), epochs=0, head_c=100.0, quantize=False).fit(
        demo.train.X, demo.train.y)


@pytest.fixture(scope="module")
def kshot(demo):
    return sample_k_shot(demo.train.X, demo.train.y, 2, seed=0)


def student(tiny_st_dir, **params):
    base = {"model": str(tiny_st_dir), "epochs": 0, "head_c": 100.0, "quantize": False}
    return SetFitClassifier(**{**base, **params})


def agreement(a, b, X) -> float:
    return float(np.mean(np.asarray(a.predict(X)) == np.asarray(b.predict(X))))


def test_distilled_student_agrees_with_the_teacher_more_than_a_k_shot_student(teacher, tiny_st_dir, demo, kshot):
    X, y = kshot
    plain = student(tiny_st_dir).fit(X, y)
    distilled = distill(teacher, demo.train.X, student(tiny_st_dir), X=X, y=y, cache=False, show_progress=False)
    held_out = demo.test.X
    plain_agree = agreement(plain, teacher, held_out)
    distilled_agree = agreement(distilled, teacher, held_out)
    # the frozen body is shared, so the soft-label head can copy the teacher's almost exactly
    assert distilled_agree >= plain_agree + 0.15, (plain_agree, distilled_agree)
    assert distilled_agree >= 0.9
    assert list(distilled.classes_) == list(teacher.classes_)


def test_soft_pair_training_of_the_body_also_moves_towards_the_teacher(teacher, tiny_st_dir, demo, kshot):
    X, y = kshot
    params = {"epochs": 1, "num_iterations": 2, "body_learning_rate": 1e-3}
    plain = student(tiny_st_dir, **params).fit(X, y)
    distilled = distill(teacher, demo.train.X, student(tiny_st_dir, **params), X=X, y=y, cache=False,
                        show_progress=False)
    assert len(distilled.loss_history_) == 1 and np.isfinite(distilled.loss_history_[0])
    assert agreement(distilled, teacher, demo.test.X) > agreement(plain, teacher, demo.test.X)


def test_provenance_is_written_to_fewshot_json_and_survives_load(teacher, tiny_st_dir, demo, kshot, tmp_path):
    X, y = kshot
    st = distill(teacher, demo.train.X[:60], student(tiny_st_dir), X=X, y=y, max_unlabeled=40, labeled_weight=2.0,
                 cache=False, show_progress=False)
    folder = st.save(tmp_path / "student")
    meta = json.loads((folder / "fewshot.json").read_text())
    record = meta["distillation"]
    assert record["n_unlabeled"] == 40 and record["n_unlabeled_given"] == 60 and record["n_labeled"] == len(X)
    assert record["params"]["max_unlabeled"] == 40 and record["params"]["labeled_weight"] == 2.0
    assert record["teacher"]["strategy"] == "setfit"
    assert record["teacher"]["sha256"] == teacher_identity(teacher)["sha256"]
    assert record["targets"] == "soft"
    loaded = fewshot.load(folder)
    assert loaded.distillation_ == record
    np.testing.assert_allclose(loaded.predict_proba(demo.test.X[:10]), st.predict_proba(demo.test.X[:10]), atol=1e-6)


def test_teacher_probabilities_are_cached_and_reused(teacher, tiny_st_dir, demo, tmp_path):
    texts = demo.test.X[:50]
    CountingTeacher.texts_labeled = 0
    first = distill(teacher, texts, student(tiny_st_dir), cache=tmp_path / "cache", show_progress=False)
    assert CountingTeacher.texts_labeled == 50
    assert first.distillation_["cache_hit"] is False
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 1 and files[0].suffix == ".safetensors"
    second = distill(teacher, texts, student(tiny_st_dir, head_c=1.0), cache=tmp_path / "cache", show_progress=False)
    assert CountingTeacher.texts_labeled == 50, "the second student must reuse the cached probabilities"
    assert second.distillation_["cache_hit"] is True
    # other texts are a different key: the teacher labels them
    distill(teacher, demo.test.X[50:80], student(tiny_st_dir), cache=tmp_path / "cache", show_progress=False)
    assert CountingTeacher.texts_labeled == 80
    # no cache: always labels
    distill(teacher, texts, student(tiny_st_dir), cache=False, show_progress=False)
    assert CountingTeacher.texts_labeled == 130


def test_the_default_cache_lives_in_the_fewshot_cache_dir_not_the_working_directory(
        teacher, tiny_st_dir, demo, tmp_path, monkeypatch, clean_cwd):
    monkeypatch.setenv("FEWSHOT_CACHE", str(tmp_path / "fscache"))
    distill(teacher, demo.test.X[:20], student(tiny_st_dir), show_progress=False)
    assert len(list((tmp_path / "fscache" / "distill").glob("*.safetensors"))) == 1


def test_a_retrained_teacher_does_not_reuse_the_old_cache(tiny_st_dir, demo, tmp_path):
    texts = demo.test.X[:30]
    a = CountingTeacher(model=str(tiny_st_dir), epochs=0, head_c=1.0, quantize=False).fit(demo.train.X, demo.train.y)
    b = CountingTeacher(model=str(tiny_st_dir), epochs=0, head_c=50.0, quantize=False).fit(demo.train.X, demo.train.y)
    CountingTeacher.texts_labeled = 0
    distill(a, texts, student(tiny_st_dir), cache=tmp_path, show_progress=False)
    distill(b, texts, student(tiny_st_dir), cache=tmp_path, show_progress=False)
    assert CountingTeacher.texts_labeled == 60


def test_max_unlabeled_caps_the_texts_the_teacher_labels(teacher, tiny_st_dir, demo):
    CountingTeacher.texts_labeled = 0
    st = distill(teacher, demo.train.X, student(tiny_st_dir), max_unlabeled=25, cache=False, show_progress=False)
    assert CountingTeacher.texts_labeled == 25
    assert st.distillation_["n_unlabeled"] == 25 and st.distillation_["n_unlabeled_given"] == len(demo.train.X)


def test_a_saved_teacher_folder_works_and_is_named_in_the_provenance(teacher, tiny_st_dir, demo, tmp_path):
    folder = teacher.save(tmp_path / "teacher")
    st = distill(str(folder), demo.test.X[:30], student(tiny_st_dir), cache=False, show_progress=False)
    assert st.distillation_["teacher"]["folder"] == str(folder.resolve())
    assert list(st.classes_) == list(teacher.classes_)


def test_a_student_without_soft_targets_learns_the_teachers_labels(teacher, tiny_bert_dir, demo, kshot):
    X, y = kshot
    st = distill(teacher, demo.train.X, {"name": "head", "params": {"model": str(tiny_bert_dir), "epochs": 1,
                                                                      "max_length": 32}},
                 X=X, y=y, cache=False, show_progress=False)
    assert st.distillation_["targets"] == "teacher_argmax"
    assert list(st.classes_) == list(teacher.classes_)


@pytest.mark.parametrize("texts, match", [
    ([], "empty"),
    (["fine", None, "ok"], r"unlabeled_texts: .*X\[1\]"),
    (["fine", "   "], r"unlabeled_texts: .*X\[1\]"),
    (["fine", 3], r"unlabeled_texts: .*X\[1\]"),
    ("one string", "single string"),
    (["a", "b"], "at least as many texts as classes"),
])
def test_bad_unlabeled_texts_fail_before_the_teacher_labels(teacher, tiny_st_dir, texts, match):
    CountingTeacher.texts_labeled = 0
    with pytest.raises(DataError, match=match):
        distill(teacher, texts, student(tiny_st_dir), cache=False, show_progress=False)
    assert CountingTeacher.texts_labeled == 0


def test_an_unfitted_teacher_is_refused(tiny_st_dir, demo):
    with pytest.raises(ValueError, match="not fitted"):
        distill(SetFitClassifier(model=str(tiny_st_dir)), demo.test.X[:20], cache=False)


def test_labels_the_teacher_does_not_know_are_refused(teacher, tiny_st_dir, demo):
    with pytest.raises(ValueError, match="does not know: \\['refunds'\\]"):
        distill(teacher, demo.test.X[:20], student(tiny_st_dir), X=["a refund", "my parcel"], y=["refunds", "delivery"],
                cache=False)
    with pytest.raises(ValueError, match="both X and y"):
        distill(teacher, demo.test.X[:20], student(tiny_st_dir), X=["a refund"], cache=False)


def test_bad_parameters_are_refused(teacher, tiny_st_dir, demo):
    with pytest.raises(ValueError, match="max_unlabeled"):
        distill(teacher, demo.test.X[:20], student(tiny_st_dir), max_unlabeled=0)
    with pytest.raises(TypeError, match="teacher must be"):
        distill(object(), demo.test.X[:20])


def _forward_count(tiny_st_dir, X, *, y=None, soft=None, max_pairs=None) -> int:
    """Training steps of one epoch of SetFit body tuning (one forward pass of the body per step)."""
    from fewshot.strategies.setfit import _load_body, _train_body

    body = _load_body(str(tiny_st_dir), 32)
    calls = []
    body.register_forward_hook(lambda *_: calls.append(1))
    _train_body(body, X, y, multi_label=False, sampling="oversampling", num_iterations=20, epochs=1, batch_size=8,
                learning_rate=1e-4, seed=0, device="cpu", show_progress=False, soft=soft, max_pairs=max_pairs)
    return len(calls)


def test_max_pairs_caps_the_steps_of_an_epoch(tiny_st_dir, demo):
    X = demo.train.X[:40]
    y = np.unique(demo.train.y[:40], return_inverse=True)[1]
    # 2 x 20 x 40 = 1,600 pairs at 28 pairs a step (batches of 8): 58 steps; capped at 56 pairs: 2 steps
    assert _forward_count(tiny_st_dir, X, y=y) == 58
    assert _forward_count(tiny_st_dir, X, y=y, max_pairs=56) == 2
    assert _forward_count(tiny_st_dir, X, y=y, max_pairs=10**6) == 58  # a cap above the budget changes nothing
    soft = np.eye(y.max() + 1)[y] * 0.8 + 0.2 / (y.max() + 1)
    assert _forward_count(tiny_st_dir, X, soft=soft, max_pairs=84) == 3


def test_the_student_gets_the_pair_cap_unless_it_sets_its_own(teacher, tiny_st_dir, demo, tmp_path):
    from fewshot.distill import STUDENT_PAIRS

    texts = demo.test.X[:30]
    default = distill(teacher, texts, student(tiny_st_dir), cache=False, show_progress=False)
    assert default.max_pairs == STUDENT_PAIRS
    assert default.distillation_["params"]["student_max_pairs"] == STUDENT_PAIRS
    own = distill(teacher, texts, student(tiny_st_dir, max_pairs=500), student_pairs=100, cache=False,
                  show_progress=False)
    assert own.max_pairs == 500 and own.distillation_["params"]["student_pairs"] == 100
    uncapped = distill(teacher, texts, student(tiny_st_dir), student_pairs=None, cache=False, show_progress=False)
    assert uncapped.max_pairs is None
    assert fewshot.load(default.save(tmp_path / "student")).max_pairs == STUDENT_PAIRS
    with pytest.raises(ValueError, match="student_pairs"):
        distill(teacher, texts, student(tiny_st_dir), student_pairs=0, cache=False)
    with pytest.raises(ValueError, match="max_pairs"):
        SetFitClassifier(max_pairs=-1).fit(["a", "b"], ["x", "y"])


def test_fit_soft_head_equals_a_soft_cross_entropy_fit():
    """The repeated-rows trick minimises the soft-label cross-entropy: its gradient there is ~0."""
    rng = np.random.RandomState(0)
    F = rng.normal(size=(40, 5))
    logits = rng.normal(size=(40, 3)) * 2
    P = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    kind, coef, intercept = fit_soft_head(F, P, C=1e6, seed=0)
    assert kind == "softmax"
    Z = F @ coef.T + intercept
    Q = np.exp(Z - Z.max(1, keepdims=True))
    Q /= Q.sum(1, keepdims=True)
    grad = F.T @ (Q - P) / len(F)
    assert np.abs(grad).max() < 1e-3
    # hard one-hot targets give the ordinary fit's decisions
    with pytest.raises(ValueError, match="shape"):
        check_soft_targets(P[:, :2], 40, 3)
    with pytest.raises(ValueError, match="all zeros"):
        check_soft_targets(np.zeros((2, 2)), 2, 2)


# --------------------------------------------------------------------------- the estimator
def test_distilled_classifier_fits_teacher_then_student_and_saves_the_student(tiny_st_dir, demo, kshot, tmp_path):
    X, y = kshot
    spec = {"name": "setfit", "params": {"model": str(tiny_st_dir), "epochs": 0, "head_c": 100.0, "quantize": False}}
    clf = DistilledClassifier(teacher=spec, student=spec)
    assert clf.fit(X, y, unlabeled=demo.train.X[:90]) is clf
    assert clf.distillation_["n_unlabeled"] == 90 and clf.distillation_["n_labeled"] == len(X)
    proba = clf.predict_proba(demo.test.X[:10])
    np.testing.assert_allclose(proba, clf.student_.predict_proba(demo.test.X[:10]))
    folder = clf.save(tmp_path / "distilled")
    assert (folder / "student" / "fewshot.json").is_file()
    loaded = fewshot.load(folder)
    assert type(loaded) is DistilledClassifier
    np.testing.assert_allclose(loaded.predict_proba(demo.test.X[:10]), proba, atol=1e-6)
    assert loaded.distillation_["n_unlabeled"] == 90


def test_distilled_classifier_refuses_bad_specs(demo, kshot):
    X, y = kshot
    with pytest.raises(ValueError, match="student"):
        DistilledClassifier(student={"name": "nope"}).fit(X, y)
    with pytest.raises(ValueError, match="teacher"):
        DistilledClassifier(teacher=42).fit(X, y)


# --------------------------------------------------------------------------- the harness
DISTILL_SUITE = """
name = "distill-tiny"
datasets = ["intent"]
k = [2]
seeds = [0]
max_test = 12
unlabeled = 40

[[strategies]]
name = "distill"
params = {{ teacher = {spec}, student = {spec} }}

[[strategies]]
name = "majority"
"""


def _intent_folder(root, demo):
    folder = root / "intent"
    folder.mkdir(parents=True)
    for split, part in (("train", demo.train), ("test", demo.test)):
        with open(folder / f"{split}.jsonl", "w") as fh:
            for x, label in zip(part.X, part.y):
                fh.write(json.dumps({"text": x, "label": label}) + "\n")
    (folder / "dataset.json").write_text(json.dumps({"name": "intent", "labels": sorted(set(demo.train.y)),
                                                     "metric": "accuracy"}))
    return root


def test_unlabeled_draws_are_seeded_and_disjoint_from_the_k_shot_sample():
    from fewshot.bench.runner import unlabeled_indices

    sample = [0, 5, 9, 11]
    a = unlabeled_indices(100, sample, 30, seed=0)
    assert a == unlabeled_indices(100, sample, 30, seed=0)
    assert a != unlabeled_indices(100, sample, 30, seed=1)
    assert len(a) == len(set(a)) == 30 and not set(a) & set(sample)
    assert unlabeled_indices(10, sample, 30, seed=0) == [1, 2, 3, 4, 6, 7, 8]  # all that is left


def test_a_suite_passes_unlabeled_texts_to_strategies_that_take_them(tmp_path, tiny_st_dir, demo):
    from fewshot.bench import load_suite, run_suite
    from fewshot.bench.runner import cell_path

    def toml(obj):  # JSON object -> TOML inline table
        return json.dumps(obj).replace('": ', '" = ').replace('{"', '{ "')

    params = {"model": str(tiny_st_dir), "epochs": 0, "quantize": False}
    spec = toml({"name": "setfit", "params": params})
    root = _intent_folder(tmp_path / "data", demo)
    # the student alone, which is also the teacher here: the report pairs the distill cell with it
    alone = toml(params)
    (tmp_path / "suite.toml").write_text(DISTILL_SUITE.format(spec=spec)
                                         + f'\n[[strategies]]\nname = "setfit"\nparams = {alone}\n')
    suite = load_suite(tmp_path / "suite.toml")
    assert suite.unlabeled == 40
    result = run_suite(suite, tmp_path / "out", data_dir=root, jobs=1, log=lambda m: None)
    assert not result.errors
    cells = {key.strategy: json.loads(cell_path(tmp_path / "out", key).read_text()) for key in suite.cells()}
    distilled = cells["distill"]
    assert distilled["status"] == "ok", distilled.get("error")
    assert distilled["n_unlabeled"] == 40 and distilled["unlabeled_requested"] == 40
    assert "n_unlabeled" not in cells["majority"], "only strategies that take unlabeled texts get them"
    # the unlabeled rows are train rows outside the k-shot sample
    from fewshot.bench.runner import unlabeled_indices

    drawn = unlabeled_indices(len(demo.train.X), distilled["train_indices"], 40, seed=0)
    assert not set(drawn) & set(distilled["train_indices"])
    from fewshot.bench.report import write_report

    md = write_report(tmp_path / "out", allow_mixed=True)["members.md"].read_text()  # the checkout may be uncommitted
    assert "# Distilled students against their teachers" in md and "## distill, k = 2" in md
    assert "| intent (n = 1) |" in md, md  # teacher and student alone found on the same draw


def test_the_report_pairs_each_student_with_its_teacher_and_the_student_alone():
    from fewshot.bench.members import distill_markdown

    # the arithmetic, on cells whose values are known: two datasets, two seeds; a zero-shot prompt
    # cell on the same draws must not be taken for the LoRA teacher
    def cell(name, ds, seed, h, speed, **params):
        return {"status": "ok", "strategy": name, "strategy_name": name, "k": 8, "dataset": ds, "seed": seed,
                "sample_hash": f"{ds}{seed}", "headline": h, "predictions_per_second": speed,
                "train_seconds": 100.0, "params": params}

    teacher = {"name": "prompt", "params": {"mode": "lora"}}
    cells = []
    for ds, seed, t, s, a in [("x", 0, 0.90, 0.86, 0.70), ("x", 1, 0.80, 0.78, 0.60),
                              ("y", 0, 0.60, 0.50, 0.50), ("y", 1, 0.70, 0.62, 0.50)]:
        cells += [cell("prompt", ds, seed, t, 5.0, mode="lora"), cell("prompt", ds, seed, 0.1, 9.0, mode="zero"),
                  cell("setfit", ds, seed, a, 150.0, model="minilm")]
        distilled = cell("distill", ds, seed, s, 125.0)
        distilled["requested_params"] = {"teacher": teacher, "student": {"name": "setfit", "params": {"model": "minilm"}}}
        cells.append(distilled)
    md = distill_markdown(cells)
    # x: teacher 85, student 82, alone 65 -> 17 of 20 points kept; y: 65, 56, 50 -> 6 of 15
    assert "| x (n = 2) | 85.0 ± 7.1 | 82.0 ± 5.7 | 65.0 ± 7.1 | 85% | 25x | 100 / 100 / 100 |" in md, md
    assert "| y (n = 2) | 65.0 ± 7.1 | 56.0 ± 8.5 | 50.0 ± 0.0 | 40% | 25x |" in md
    # average: teacher 75, student 69, alone 57.5 -> 11.5 of 17.5 = 66%
    assert "| **average** | **75.0** | **69.0** | **57.5** | **66%** | **25x** | |" in md
    assert "**missed**: 66% of a 17.5-point gain kept (missed), at 25x (met)" in md


def test_a_distill_strategy_without_unlabeled_in_the_suite_is_refused(tmp_path, tiny_st_dir, demo):
    from fewshot.bench import load_suite
    from fewshot.bench.suite import SuiteError, check_suite

    root = _intent_folder(tmp_path / "data", demo)
    (tmp_path / "suite.toml").write_text(DISTILL_SUITE.format(spec='"majority"').replace("unlabeled = 40\n", ""))
    with pytest.raises(SuiteError, match="set unlabeled = N"):
        check_suite(load_suite(tmp_path / "suite.toml"), root)
    (tmp_path / "bad.toml").write_text(DISTILL_SUITE.format(spec='"majority"').replace("unlabeled = 40", "unlabeled = 0"))
    with pytest.raises(SuiteError, match="unlabeled must be a positive integer"):
        load_suite(tmp_path / "bad.toml")


def test_the_shipped_distill_suite_follows_the_issue():
    from pathlib import Path

    from fewshot.bench import load_suite

    suite = load_suite(Path(__file__).resolve().parents[1] / "benchmarks" / "distill.toml")
    assert suite.datasets == ["sst2", "emotion", "ag_news", "sms_spam"] and suite.seeds == [0, 1, 2]
    assert suite.unlabeled == 2000 and suite.all_k == [8]
    distilled = suite.strategy("distill").params
    assert distilled["teacher"] == {"name": "prompt", "params": {"mode": "lora"}}
    assert distilled["student"]["name"] == "setfit" and distilled["student"]["params"]["model"] == "minilm"
    assert suite.strategy("prompt-lora").params == {"mode": "lora"} and suite.strategy("setfit").params == {}


# --------------------------------------------------------------------------- the command line
def test_cli_distill_then_export_then_serve(teacher, tiny_st_dir, demo, tmp_path, capsys, clean_cwd):
    from fewshot.cli import main

    teacher_dir = teacher.save(tmp_path / "teacher")
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(demo.train.X[:80]) + "\n")
    out = tmp_path / "student"
    code = main(["distill", str(teacher_dir), "--unlabeled", str(pool), "--out", str(out), "--max-unlabeled", "50",
                 "--param", f"model={tiny_st_dir}", "--param", "epochs=0", "--param", "quantize=false",
                 "--no-cache"])
    assert code == 0, capsys.readouterr().err
    assert "on 50 unlabeled and 0 labeled texts" in capsys.readouterr().out
    meta = json.loads((out / "fewshot.json").read_text())
    assert meta["distillation"]["teacher"]["folder"] == str(teacher_dir.resolve())
    assert meta["distillation"]["n_unlabeled"] == 50
    assert meta["params"]["max_pairs"] == fewshot.distill.STUDENT_PAIRS
    for flag, expected in (("none", None), ("300", 300)):
        code = main(["distill", str(teacher_dir), "--unlabeled", str(pool), "--out", str(tmp_path / flag),
                     "--param", f"model={tiny_st_dir}", "--param", "epochs=0", "--param", "quantize=false",
                     "--no-cache", "--student-pairs", flag])
        assert code == 0, capsys.readouterr().err
        assert json.loads((tmp_path / flag / "fewshot.json").read_text())["params"]["max_pairs"] == expected
    assert main(["distill", str(teacher_dir), "--unlabeled", str(pool), "--out", str(tmp_path / "bad"),
                 "--student-pairs", "0"]) == 2
    assert "pairs" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    from fewshot.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["distill", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"(default: {fewshot.distill.STUDENT_PAIRS}, fewshot.distill.STUDENT_PAIRS)" in help_text

    assert main(["export", str(out), "--out", str(tmp_path / "serve"), "--quantize", "int8"]) == 0
    served = fewshot.serving.load(tmp_path / "serve")
    assert served.quantize == "int8" and list(served.classes_) == list(teacher.classes_)
    # the same folder again: refused without --overwrite
    assert main(["export", str(out), "--out", str(tmp_path / "serve")]) == 2
    assert "already exists" in capsys.readouterr().err


def test_cli_errors_are_one_line(tmp_path, capsys, demo):
    from fewshot.cli import main

    prompt_dir = tmp_path / "prompt"
    prompt_dir.mkdir()
    (prompt_dir / "fewshot.json").write_text(json.dumps({"format_version": 2, "strategy": "prompt"}))
    assert main(["export", str(prompt_dir), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "prompt strategy cannot be exported" in err and "fewshot distill" in err
    assert main(["distill", str(tmp_path / "nothing"), "--unlabeled", "x.txt", "--out", str(tmp_path / "s")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "o"), "--quantize", "int4"]) == 2
    assert not (tmp_path / "o").exists() and not (tmp_path / "s").exists()


def test_a_teacher_that_cannot_be_saved_still_teaches_but_is_not_cached(teacher, tiny_st_dir, demo, tmp_path):
    from fewshot.ensemble import EnsembleClassifier

    # an ensemble holding an unregistered class cannot be saved, so it has no identity to cache under
    ens = EnsembleClassifier(members=[CountingTeacher(model=str(tiny_st_dir), epochs=0, quantize=False)])
    ens.fit(demo.train.X, demo.train.y)
    st = distill(ens, demo.test.X[:30], student(tiny_st_dir), cache=tmp_path / "cache", show_progress=False)
    assert st.distillation_["teacher"]["sha256"] is None and "unsaved" in st.distillation_["teacher"]
    assert not (tmp_path / "cache").exists()


def test_fit_soft_with_one_hot_targets_is_the_ordinary_fit(tiny_st_dir, kshot, demo):
    """Soft targets generalise hard labels: one-hot rows give the head a plain fit would give."""
    X, y = kshot
    hard = student(tiny_st_dir, head_c=1.0).fit(X, y)
    classes = sorted(set(y))
    onehot = np.eye(len(classes))[[classes.index(label) for label in y]]
    soft = student(tiny_st_dir, head_c=1.0).fit_soft(X, onehot, classes)
    assert list(soft.classes_) == list(hard.classes_)
    np.testing.assert_allclose(soft.predict_proba(demo.test.X[:30]), hard.predict_proba(demo.test.X[:30]), atol=2e-3)


def test_fit_soft_refuses_bad_targets(tiny_st_dir):
    clf = student(tiny_st_dir)
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        clf.fit_soft(["a", "b"], [[1.0, 0.0]], ["x", "y"])
    with pytest.raises(ValueError, match="non-negative"):
        clf.fit_soft(["a", "b"], [[1.5, -0.5], [0.5, 0.5]], ["x", "y"])
    with pytest.raises(ValueError, match="two distinct labels"):
        clf.fit_soft(["a", "b"], [[1.0, 0.0], [0.0, 1.0]], ["x", "x"])
    with pytest.raises(ValueError, match="sample_weight"):
        clf.fit_soft(["a", "b"], [[1.0, 0.0], [0.0, 1.0]], ["x", "y"], sample_weight=[1.0])
    with pytest.raises(ValueError, match="multi_label"):
        student(tiny_st_dir, multi_label=True).fit_soft(["a", "b"], [[1.0, 0.0], [0.0, 1.0]], ["x", "y"])
