"""The shared contract: bad input fails early and clearly, saving is atomic and safe, loading checks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import fewshot
from fewshot import MajorityClassifier
from fewshot.errors import DataError, NotASavedClassifierError, SaveTargetError, UnknownStrategyError
from fewshot.registry import get_strategy, make_classifier, strategy_names

X = ["refund please", "where is my parcel", "card charged twice", "parcel late again"]
Y = ["billing", "delivery", "billing", "delivery"]


def test_import_does_not_import_torch():
    code = "import fewshot, sys; fewshot.load; fewshot.MajorityClassifier; assert 'torch' not in sys.modules, 'torch'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("X", "y", "error", "message"),
    [
        ([], [], DataError, "X is empty"),
        (X, Y[:3], ValueError, "X has 4 texts but y has 3 labels"),
        (X, ["billing"] * 4, ValueError, "single class"),
        (["ok", None, "x", "y"], Y, DataError, r"X\[1\] is missing"),
        (["ok", 5, "x", "y"], Y, DataError, r"X\[1\] is a int"),
        (X, ["a", None, "b", "a"], DataError, r"y\[1\] is missing"),
    ],
)
def test_bad_fit_input(X, y, error, message):
    with pytest.raises(error, match=message):
        MajorityClassifier().fit(X, y)


def test_predict_validates_too():
    clf = MajorityClassifier().fit(X, Y)
    with pytest.raises(DataError, match="X is empty"):
        clf.predict([])
    with pytest.raises(DataError, match="not a single string"):
        clf.predict("where is my parcel")


def test_bad_param_fails_in_fit_not_init():
    clf = MajorityClassifier(threshold=3)
    with pytest.raises(ValueError, match="threshold must be between 0 and 1"):
        clf.fit(X, Y)


def test_registry():
    assert {"majority", "setfit", "prompt", "head", "setfit-upstream"} <= set(strategy_names())
    assert get_strategy("majority") is MajorityClassifier
    with pytest.raises(UnknownStrategyError, match="unknown strategy 'bert'.*known strategies: majority"):
        get_strategy("bert")
    with pytest.raises(UnknownStrategyError, match="has no parameter\\(s\\) epochs.*threshold"):
        make_classifier("majority", epochs=3)


def test_save_refuses_existing_folder_and_writes_nothing(tmp_path):
    clf = MajorityClassifier().fit(X, Y)
    target = tmp_path / "model"
    clf.save(target)
    other = MajorityClassifier().fit(X[:3], Y[:3])
    with pytest.raises(SaveTargetError, match="overwrite=True"):
        other.save(target)
    assert fewshot.load(target).predict_proba(["x"]).tolist() == clf.predict_proba(["x"]).tolist(), "untouched"
    clf.save(target, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"], "no temporary folders left behind"


def test_overwrite_never_deletes_a_folder_that_is_not_a_saved_classifier(tmp_path):
    clf = MajorityClassifier().fit(X, Y)
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text('{"text": "a", "label": "x"}\n')
    with pytest.raises(SaveTargetError, match="not a saved fewshot classifier.*even with overwrite"):
        clf.save(data, overwrite=True)
    assert [p.name for p in data.iterdir()] == ["train.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    clf = MajorityClassifier().fit(X, Y)

    def boom(folder):
        (folder / "partial.bin").write_bytes(b"x")
        raise RuntimeError("disk full")

    monkeypatch.setattr(clf, "_save_state", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        clf.save(tmp_path / "model")
    assert list(tmp_path.iterdir()) == []


def test_saved_metadata(tmp_path):
    clf = MajorityClassifier(threshold=0.4).fit(X, [1, 2, 1, 2])
    meta = json.loads((clf.save(tmp_path / "m") / "fewshot.json").read_text())
    assert meta["strategy"] == "majority" and meta["format_version"] == fewshot.base.FORMAT_VERSION
    assert meta["classes"] == [1, 2] and meta["params"] == {"multi_label": False, "threshold": 0.4}
    assert meta["libraries"]["numpy"] == np.__version__ and meta["fewshot_version"] == fewshot.__version__
    loaded = fewshot.load(tmp_path / "m")
    assert loaded.predict(["x"]).tolist() == [1]


def test_load_rejects_what_is_not_a_saved_classifier(tmp_path):
    with pytest.raises(NotASavedClassifierError, match="is not a folder"):
        fewshot.load(tmp_path / "missing")
    with pytest.raises(NotASavedClassifierError, match="has no fewshot.json"):
        fewshot.load(tmp_path)
    (tmp_path / "fewshot.json").write_text("{not json")
    with pytest.raises(NotASavedClassifierError, match="not valid JSON"):
        fewshot.load(tmp_path)
    (tmp_path / "fewshot.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(NotASavedClassifierError, match="not written by fewshot"):
        fewshot.load(tmp_path)


def test_load_rejects_newer_format(tmp_path):
    path = MajorityClassifier().fit(X, Y).save(tmp_path / "m")
    meta = json.loads((path / "fewshot.json").read_text())
    meta["format_version"] = 99
    (path / "fewshot.json").write_text(json.dumps(meta))
    with pytest.raises(NotASavedClassifierError, match="format version 99.*Upgrade fewshot"):
        fewshot.load(path)


def test_load_rejects_unknown_strategy(tmp_path):
    path = MajorityClassifier().fit(X, Y).save(tmp_path / "m")
    meta = json.loads((path / "fewshot.json").read_text())
    meta["strategy"] = "quantum"
    (path / "fewshot.json").write_text(json.dumps(meta))
    with pytest.raises(UnknownStrategyError, match="unknown strategy 'quantum'"):
        fewshot.load(path)


def test_multi_label_majority_round_trip(tmp_path):
    y = [["billing", "urgent"], ["delivery"], ["billing"], ["delivery", "urgent"]]
    clf = MajorityClassifier(multi_label=True).fit(X, y)
    assert list(clf.classes_) == ["billing", "delivery", "urgent"]
    assert clf.predict(["x"]) == [["billing", "delivery", "urgent"]]
    proba = clf.predict_proba(["x"])
    np.testing.assert_allclose(proba, [[0.5, 0.5, 0.5]])
    loaded = fewshot.load(clf.save(tmp_path / "m"))
    assert loaded.predict(["x"]) == clf.predict(["x"])


def test_regression_helpers_round_and_spread():
    from fewshot.base import _values_to_proba

    allowed = np.arange(1, 6, dtype=float)
    proba = _values_to_proba(np.array([1.0, 2.25, 5.0, 4.5]), allowed)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_allclose(proba @ allowed, [1.0, 2.25, 5.0, 4.5])
    assert proba[1].argmax() == 1  # 2.25 -> nearest 2


def test_shared_parameter_checks_accept_numpy_scalars_and_reject_bools():
    import numpy as np

    from fewshot._validate import check_int, is_int, is_number

    assert is_int(3) and is_int(np.int64(3), minimum=1) and not is_int(0, minimum=1)
    assert not is_int(True) and not is_int(np.bool_(True)) and not is_int(2.0)
    assert is_number(1e-3) and is_number(np.float32(0.5)) and is_number(2) and not is_number(False)
    assert not is_number("1e-3")
    with pytest.raises(ValueError, match="epochs must be an integer >= 1; got 0"):
        check_int("epochs", 0, 1)
