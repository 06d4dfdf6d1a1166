"""Input normalisation, k-shot sampling and dataset/file reading."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from fewshot.data import as_inputs, as_targets, k_shot_indices, sample_k_shot, subsample
from fewshot.datasets import load_dataset_folder, read_labeled_file, read_texts, resolve_dataset
from fewshot.errors import DataError


def test_inputs_accept_lists_arrays_and_pairs():
    assert as_inputs(["a", "b"]) == ["a", "b"]
    assert as_inputs(np.array(["a", "b"])) == ["a", "b"]
    assert as_inputs(("a", "b")) == ["a", "b"]
    assert as_inputs([("q", "r"), ["q2", "r2"]]) == [("q", "r"), ("q2", "r2")]
    assert as_inputs(np.array([["q", "r"], ["q2", "r2"]], dtype=object)) == [("q", "r"), ("q2", "r2")]


def test_inputs_accept_pandas_and_datasets():
    pd = pytest.importorskip("pandas")
    assert as_inputs(pd.Series(["x", "y"])) == ["x", "y"]
    assert as_inputs(pd.DataFrame({"text_pair": ["b"], "text": ["a"]})) == [("a", "b")]
    assert as_inputs(pd.DataFrame({"review": ["a", "b"]})) == ["a", "b"]
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"text": ["u", "v"], "label": [0, 1]})
    assert as_inputs(ds["text"]) == ["u", "v"]


@pytest.mark.parametrize(
    ("X", "message"),
    [
        ([], "X is empty"),
        ("just one string", "not a single string"),
        (["ok", None], r"X\[1\] is missing"),
        (["ok", float("nan")], r"X\[1\] is missing"),
        (["ok", 3], r"X\[1\] is a int .* texts must be strings"),
        ([("a", "b", "c")], "sequence of 3 items.*exactly two texts"),
        (["a", ("b", "c")], "mixes single texts and"),
        ([("a", None)], r"X\[0\]\[1\] is missing"),
    ],
)
def test_bad_inputs_name_the_problem(X, message):
    with pytest.raises(DataError, match=message):
        as_inputs(X)


def test_pairs_refused_when_strategy_takes_single_texts():
    with pytest.raises(DataError, match="takes single texts"):
        as_inputs([("a", "b")], allow_pairs=False)


def test_targets():
    assert as_targets(["a", "b"]) == ["a", "b"]
    assert as_targets(np.array([1, 2])) == [1, 2]
    assert as_targets([["a"], ["a", "b", "a"]], "multi_label") == [["a"], ["a", "b"]]
    with pytest.raises(DataError, match=r"y\[1\] is missing"):
        as_targets(["a", None])
    with pytest.raises(DataError, match="mixes label types"):
        as_targets(["a", 1])
    with pytest.raises(DataError, match="multi-label targets are lists"):
        as_targets(["a", "b"], "multi_label")
    with pytest.raises(DataError, match="regression targets must be numbers"):
        as_targets([1, "2"], "regression")
    with pytest.raises(DataError, match="y is empty"):
        as_targets([])


def test_k_shot_takes_k_per_class_and_is_seeded():
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    idx = k_shot_indices(labels, 8, seed=0)
    picked = [labels[i] for i in idx]
    assert {lab: picked.count(lab) for lab in "abc"} == {"a": 8, "b": 8, "c": 8}
    assert len(set(idx.tolist())) == len(idx)
    np.testing.assert_array_equal(idx, k_shot_indices(labels, 8, seed=0))
    assert not np.array_equal(idx, k_shot_indices(labels, 8, seed=1))


def test_k_shot_short_class_uses_all_with_warning():
    labels = ["a"] * 20 + ["rare"] * 3
    with pytest.warns(UserWarning, match="'rare': 3"):
        X, y = sample_k_shot(list(range(23)), labels, k=8, seed=0)
    assert y.count("rare") == 3 and y.count("a") == 8
    assert all(labels[x] == lab for x, lab in zip(X, y))


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_k_must_be_positive_int(k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        k_shot_indices(["a", "b"], k, seed=0)


def test_subsample_is_fixed_and_seeded():
    X, y = list(range(100)), list(range(100))
    a = subsample(X, y, 10, seed=3)
    assert a == subsample(X, y, 10, seed=3) and len(a[0]) == 10 and a[0] == sorted(a[0])
    assert subsample(X, y, None) == (X, y)


def test_dataset_folder(tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    for split, rows in {"train": [("good", "pos"), ("bad", "neg")], "test": [("fine", "pos")]}.items():
        (folder / f"{split}.jsonl").write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
    (folder / "dataset.json").write_text(json.dumps({"name": "toy", "labels": ["neg", "pos"], "metric": "f1_macro"}))
    ds = load_dataset_folder(folder)
    assert ds.name == "toy" and ds.metric == "f1_macro" and ds.labels == ["neg", "pos"]
    assert ds.train.X == ["good", "bad"] and ds.test.y == ["pos"] and ds.validation is None
    assert resolve_dataset("toy", data_dir=tmp_path).name == "toy"
    (folder / "test.jsonl").unlink()
    with pytest.raises(DataError, match="has no test.jsonl"):
        load_dataset_folder(folder)


def test_unknown_dataset_lists_what_exists(tmp_path):
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "train.jsonl").write_text("")
    with pytest.raises(DataError, match="unknown dataset 'nope'.*Datasets there: sst2"):
        resolve_dataset("nope", data_dir=tmp_path)


def test_labeled_files_jsonl_csv_and_missing_columns(tmp_path):
    jl = tmp_path / "d.jsonl"
    jl.write_text('{"text": "a", "label": "x"}\n\n{"text": "b", "label": "y"}\n')
    assert read_labeled_file(jl) == (["a", "b"], ["x", "y"])
    csv = tmp_path / "d.csv"
    csv.write_text("question,answer,label\nq1,r1,yes\nq2,r2,no\n")
    X, y = read_labeled_file(csv, text_column="question", text_pair_column="answer")
    assert X == [("q1", "r1"), ("q2", "r2")] and y == ["yes", "no"]
    with pytest.raises(DataError, match="d.csv line 2 has no 'intent' field \\(its fields: 'question', 'answer', 'label'\\)"):
        read_labeled_file(csv, text_column="question", label_column="intent")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"\n')
    with pytest.raises(DataError, match="bad.jsonl line 1 is not valid JSON"):
        read_labeled_file(bad)
    xlsx = tmp_path / "d.xlsx"
    xlsx.write_text("")
    with pytest.raises(DataError, match="unsupported file type"):
        read_labeled_file(xlsx)


def test_read_texts_plain_lines(tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("first\n\nsecond\n")
    assert read_texts(f) == ["first", "second"]


def test_demo_data_tasks():
    from fewshot import load_demo

    intent = load_demo("intent")
    assert len(set(intent.train.y)) == 6 and len(intent.train) >= 120 and len(intent.test) >= 120
    assert len(set(intent.train.X) | set(intent.test.X)) == len(intent.train) + len(intent.test)
    csat = load_demo("csat")
    assert set(csat.train.y) == {1, 2, 3, 4, 5}
    tags = load_demo("tags")
    assert all(isinstance(t, list) and 1 <= len(t) <= 3 for t in tags.train.y)
    pairs = load_demo("pairs")
    assert isinstance(pairs.train.X[0], tuple) and set(pairs.train.y) == {"answers", "does_not_answer"}
    with pytest.raises(ValueError, match="unknown demo task"):
        load_demo("sentiment")


def test_sampling_warning_not_raised_when_enough():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sample_k_shot(list("abcdef"), list("xxxyyy"), k=3, seed=0)


def test_hf_dataset_class_labels_become_names():
    datasets = pytest.importorskip("datasets")
    from fewshot.datasets import from_hf_dataset

    features = datasets.Features({"q": datasets.Value("string"), "r": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["no", "yes"])})
    ds = datasets.Dataset.from_dict({"q": ["a", "b"], "r": ["c", "d"], "label": [1, 0]}, features=features)
    assert from_hf_dataset(ds, text_column="q", text_pair_column="r") == ([("a", "c"), ("b", "d")], ["yes", "no"])
    with pytest.raises(DataError, match="no column\\(s\\) \\['text'\\]"):
        from_hf_dataset(ds)


def test_hub_dataset_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match="could not load dataset 'nobody/nothing' from the hub.*Offline\\?"):
        resolve_dataset("hub:nobody/nothing")


def test_data_imports_nothing_above_it():
    import subprocess
    import sys

    code = ("import sys, fewshot.data; bad = [m for m in ('fewshot.demo', 'fewshot.datasets', 'torch') "
            "if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (["ok", b"bytes"], r"X\[1\] is bytes"),
        (["ok", "\ud800"], r"X\[1\] is not valid Unicode: it holds a lone surrogate '\\ud800' at character 0"),
        (["ok", ""], r"X\[1\] is empty"),
        (["ok", " \n\t"], r"X\[1\] is whitespace only"),
        ([("q", " ")], r"X\[0\]\[1\] is whitespace only"),
        ({"text": ["a"]}, r"X is a dict with keys \['text'\]"),
        ({"a", "b"}, "X is a set, which has no order"),
        (b"raw", "not a single bytes value"),
    ],
)
def test_texts_must_be_real_text(X, message):
    with pytest.raises(DataError, match=message):
        as_inputs(X)


def test_empty_texts_pass_only_when_allowed():
    assert as_inputs(["", " "], allow_empty=True) == ["", " "]
    with pytest.raises(DataError, match="not valid Unicode"):
        as_inputs(["\udfff"], allow_empty=True)


def test_dataframes_need_explicit_columns():
    pd = pytest.importorskip("pandas")
    with pytest.raises(DataError, match=r"columns found are \['text', 'label'\]"):
        as_inputs(pd.DataFrame({"text": ["a"], "label": ["pos"]}))
    with pytest.raises(DataError, match=r"columns found are \['text', 'text_pair', 'label'\]"):
        as_inputs(pd.DataFrame({"text": ["a"], "text_pair": ["b"], "label": ["pos"]}))
    assert as_targets(pd.DataFrame({"label": ["a", "b"]})) == ["a", "b"]
    with pytest.raises(DataError, match=r"y is a DataFrame with 2 columns"):
        as_targets(pd.DataFrame({"label": ["a"], "other": ["b"]}))


def test_files_name_the_line(tmp_path):
    jl = tmp_path / "d.jsonl"
    jl.write_text('{"text": "a", "label": "x"}\n\n{"text": "b"}\n')
    with pytest.raises(DataError, match=r"d.jsonl line 3 has no 'label' field \(its fields: 'text'\)"):
        read_labeled_file(jl)
    jl.write_text('{"text": "a", "text_pair": "b", "label": "x"}\n{"text": "c", "label": "y"}\n')
    with pytest.raises(DataError, match=r"d.jsonl line 2 has no 'text_pair' field"):
        read_labeled_file(jl)
    jl.write_text('{"text": "a", "label": "x"}\n{"text": "   ", "label": "y"}\n')
    with pytest.raises(DataError, match=r"d.jsonl line 2, 'text' is whitespace only"):
        read_labeled_file(jl)
    jl.write_text('"just a string"\n')
    with pytest.raises(DataError, match=r"d.jsonl line 1 is a JSON str, not an object"):
        read_labeled_file(jl)
    tsv = tmp_path / "d.tsv"
    tsv.write_text("text\tlabel\na\tx\nb\n")
    with pytest.raises(DataError, match=r"d.tsv line 3 has no 'label' field"):
        read_labeled_file(tsv)
    latin = tmp_path / "l.csv"
    latin.write_bytes("text,label\nok,x\nna\xefve,y\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"l.csv line 3 is not UTF-8 text \(byte 0xef\)"):
        read_labeled_file(latin)


def test_byte_order_marks_and_json_arrays_are_read(tmp_path):
    csv = tmp_path / "excel.csv"
    csv.write_text("text,label\nrefund,billing\n late ,delivery\n", encoding="utf-8-sig")
    assert read_labeled_file(csv) == (["refund", " late "], ["billing", "delivery"])
    jl = tmp_path / "bom.jsonl"
    jl.write_text('{"text": "a", "label": "x"}\n', encoding="utf-8-sig")
    assert read_labeled_file(jl) == (["a"], ["x"])
    arr = tmp_path / "rows.json"
    arr.write_text(json.dumps([{"text": "a", "label": 1}, {"text": "b", "label": 2}], indent=2))
    assert read_labeled_file(arr) == (["a", "b"], [1, 2])
    arr.write_text(json.dumps([{"text": "a", "label": 1}, {"label": 2}], indent=2))
    with pytest.raises(DataError, match=r"rows.json item 2 has no 'text' field"):
        read_labeled_file(arr)


def test_missing_files_say_file_not_found(tmp_path):
    from fewshot.datasets import read_labeled

    for spec in (tmp_path / "nope.jsonl", tmp_path / "nope.txt", tmp_path / "sub" / "train"):
        with pytest.raises(DataError, match=f"file not found: {spec}"):
            read_labeled(str(spec))
    with pytest.raises(DataError, match=f"file not found: {tmp_path / 'in.txt'}"):
        read_texts(tmp_path / "in.txt")
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(DataError, match="blank.txt has no texts to predict"):
        read_texts(tmp_path / "blank.txt")
    assert read_labeled("demo", split="test")[1][:1] == resolve_dataset("demo").test.y[:1]
