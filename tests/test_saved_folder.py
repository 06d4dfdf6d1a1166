"""A saved folder can be trusted: tampering, security, concurrency and data-loss cases.

Every strategy of the conformance table is saved once (tiny in-process models); then each file of
its folder is deleted, truncated and edited in turn, fields of ``fewshot.json`` are tampered with,
and ``fewshot.load`` must answer each with a clear error naming the file or field, never a silent
load. Security cases run with sockets blocked and stdin closed: loading never runs code from the
folder, never reads outside it and never reaches the network.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from test_conformance import CASES

import fewshot
from fewshot.errors import FewshotError, NotASavedClassifierError, SaveTargetError, UnknownModelError

TRAIN_X = ["refund please", "card charged twice", "money back now", "where is my parcel",
           "parcel late again", "delivery never came", "reset my password", "cannot log in", "locked out of account"]
TRAIN_Y = ["billing"] * 3 + ["delivery"] * 3 + ["account"] * 3


@pytest.fixture(scope="module")
def saved(request, tmp_path_factory):
    """strategy name -> (folder of a saved classifier, its probabilities on TRAIN_X)."""
    out = {}
    root = tmp_path_factory.mktemp("saved")
    for name, (factory, _grid) in CASES.items():
        clf = factory(request).fit(TRAIN_X, TRAIN_Y)
        out[name] = (clf.save(root / name), clf.predict_proba(TRAIN_X))
    return out


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def _meta(folder: Path) -> dict:
    return json.loads((folder / "fewshot.json").read_text())


def _write_meta(folder: Path, meta: dict) -> None:
    (folder / "fewshot.json").write_text(json.dumps(meta))


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# ------------------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("name", list(CASES))
def test_untouched_folder_loads_with_the_same_probabilities(saved, name, no_network):
    folder, proba = saved[name]
    np.testing.assert_allclose(fewshot.load(folder).predict_proba(TRAIN_X), proba, atol=1e-6)
    assert _meta(folder)["files"] or name == "majority", "the manifest lists the folder's files"


# ------------------------------------------------------------------------------------- every file
TAMPERS = {
    "deleted": lambda f: f.unlink(),
    "truncated": lambda f: f.write_bytes(f.read_bytes()[: max(0, f.stat().st_size // 2)]),
    "edited": lambda f: f.write_bytes(f.read_bytes() + b" "),
    "emptied": lambda f: f.write_bytes(b""),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_file_deleted_truncated_or_edited_is_named_at_load(saved, name, tmp_path):
    folder, _ = saved[name]
    files = sorted(_meta(folder)["files"])
    assert files or name == "majority"
    cases = 0
    for rel in files:
        for how, tamper in TAMPERS.items():
            if how == "truncated" and (folder / rel).stat().st_size < 2:
                continue
            copy = tmp_path / f"{how}-{rel.replace('/', '_')}"
            shutil.copytree(folder, copy)
            tamper(copy / rel)
            with pytest.raises(NotASavedClassifierError) as info:
                fewshot.load(copy)
            assert rel in str(info.value), (how, rel, str(info.value))
            cases += 1
    assert cases >= 3 * len(files)


@pytest.mark.parametrize("name", list(CASES))
def test_an_unexpected_file_is_named_at_load(saved, name, tmp_path):
    copy = _copy(saved[name][0], tmp_path)
    (copy / "tokenizer_config.json").write_text("{}")
    with pytest.raises(NotASavedClassifierError, match="tokenizer_config.json was not written by save"):
        fewshot.load(copy)


@pytest.mark.parametrize("name", list(CASES))
def test_fewshot_json_deleted_or_truncated(saved, name, tmp_path):
    copy = _copy(saved[name][0], tmp_path)
    text = (copy / "fewshot.json").read_text()
    (copy / "fewshot.json").write_text(text[: len(text) // 2])
    with pytest.raises(NotASavedClassifierError, match="fewshot.json is not valid JSON"):
        fewshot.load(copy)
    (copy / "fewshot.json").unlink()
    with pytest.raises(NotASavedClassifierError, match="has no fewshot.json"):
        fewshot.load(copy)


# ------------------------------------------------------------------------------- fewshot.json fields
# strategy -> (parameter, a value outside its allowed set, a fragment of the message)
BAD_PARAM = {
    "majority": ("threshold", 5.0, "threshold"),
    "setfit": ("quantize", "nope", "quantize"),
    "setfit-upstream": ("num_iterations", -1, "num_iterations"),
    "prompt": ("mode", "nope", "mode"),
    "head": ("loss", "nope", "loss"),
    "ensemble": ("combine", "median", "combine"),
    "auto": ("metric", "nope", "metric"),
    "distill": ("labeled_weight", -1.0, "labeled_weight"),
}


def _edit(meta: dict, how: str, name: str) -> tuple[dict, str]:
    meta = json.loads(json.dumps(meta))
    if how == "bad value":
        key, value, fragment = BAD_PARAM[name]
        meta["params"][key] = value
        return meta, f"params: .*{fragment}"
    if how == "unknown parameter":
        meta["params"]["learning_rat"] = 0.1
        return meta, "unknown parameter.*learning_rat"
    if how == "class dropped":
        meta["classes"] = meta["classes"][:2]
        return meta, "class list does not match the model|cannot score"
    if how == "class added":
        meta["classes"] = [*meta["classes"], "refunds"]
        return meta, "class list does not match the model|cannot score"
    if how == "one class":
        meta["classes"] = meta["classes"][:1]
        return meta, "classes must be a list of at least two distinct labels"
    if how == "duplicate classes":
        meta["classes"] = [meta["classes"][0]] * len(meta["classes"])
        return meta, "at least two distinct labels"
    if how == "problem":
        meta["problem"] = "regression"
        return meta, "problem is 'regression'"
    if how == "strategy":
        meta["strategy"] = "bert"
        return meta, "unknown strategy 'bert'"
    if how == "no manifest":
        del meta["files"]
        return meta, "no 'files' manifest"
    if how == "params not an object":
        meta["params"] = [1, 2]
        return meta, "'params' must be an object"
    raise AssertionError(how)


FIELD_EDITS = ["bad value", "unknown parameter", "class dropped", "class added", "one class",
               "duplicate classes", "problem", "strategy", "no manifest", "params not an object"]


@pytest.mark.parametrize("how", FIELD_EDITS)
@pytest.mark.parametrize("name", list(CASES))
def test_tampered_fields_are_clear_errors_naming_the_field(saved, name, how, tmp_path):
    copy = _copy(saved[name][0], tmp_path)
    meta, fragment = _edit(_meta(copy), how, name)
    _write_meta(copy, meta)
    with pytest.raises(FewshotError, match=fragment):
        fewshot.load(copy)


# ------------------------------------------------------------------------------------- security
def _rewrite_manifest(folder: Path) -> None:
    """What an attacker who edits files would also do: make the manifest match again."""
    from fewshot._saved_folder import build_manifest

    meta = _meta(folder)
    meta["files"] = build_manifest(folder)
    _write_meta(folder, meta)


@pytest.mark.parametrize("name", ["head", "setfit"])
def test_load_never_runs_code_from_the_folder(saved, name, tmp_path, no_network, monkeypatch):
    """config.json with an auto_map to a .py file in the folder: nothing runs and nothing asks."""
    copy = _copy(saved[name][0], tmp_path)
    marker = tmp_path / "code-ran"
    config = next(p for p in copy.rglob("config.json") if "model_type" in p.read_text())
    cfg = json.loads(config.read_text())
    cfg["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel",
                       "AutoModelForSequenceClassification": "evil.EvilModel"}
    cfg["model_type"] = "evil-model"
    config.write_text(json.dumps(cfg))
    (config.parent / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    monkeypatch.setattr("sys.stdin", open(os.devnull))  # an interactive question would read this
    with pytest.raises(NotASavedClassifierError, match="differs from the file written|evil.py was not written"):
        fewshot.load(copy)
    _rewrite_manifest(copy)  # the manifest is integrity, not a signature: the loaders must refuse too
    with pytest.raises(FewshotError):
        fewshot.load(copy)
    assert not marker.exists(), "code from the saved folder ran"


def test_paths_that_escape_the_folder_are_refused(saved, tmp_path, no_network):
    folder = saved["setfit"][0]
    outside = tmp_path / "outside"
    shutil.copytree(folder / "body", outside)
    for value in [str(outside), "../outside", "body/../../outside", "/etc"]:
        copy = tmp_path / f"c{abs(hash(value))}"
        shutil.copytree(folder, copy)
        meta = _meta(copy)
        meta["state"]["body"] = value
        _write_meta(copy, meta)
        with pytest.raises(NotASavedClassifierError, match="outside the saved folder"):
            fewshot.load(copy)
    copy = tmp_path / "manifest-escape"
    shutil.copytree(folder, copy)
    meta = _meta(copy)
    meta["files"]["../../etc/passwd"] = {"bytes": 1, "sha256": "0" * 64}
    _write_meta(copy, meta)
    with pytest.raises(NotASavedClassifierError, match="outside the saved folder"):
        fewshot.load(copy)


def test_a_symlink_inside_the_folder_is_refused(saved, tmp_path):
    copy = _copy(saved["setfit"][0], tmp_path)
    target = copy / "head.safetensors"
    real = tmp_path / "elsewhere.safetensors"
    shutil.move(target, real)
    target.symlink_to(real)
    with pytest.raises(NotASavedClassifierError, match="symbolic link"):
        fewshot.load(copy)


def test_a_hub_id_as_base_model_is_refused_without_any_request(saved, tmp_path, no_network):
    copy = _copy(saved["prompt"][0], tmp_path)
    for hub in ["evil/model", "hub:gpt2"]:
        meta = _meta(copy)
        meta["params"]["model"] = hub
        _write_meta(copy, meta)
        with pytest.raises(UnknownModelError, match="never uses the network"):
            fewshot.load(copy)


def test_a_different_base_model_is_refused(request, tmp_path, tiny_llama_dir):
    """The prompt strategy's folder holds only the adapter: its base model's weights are checked."""
    from fewshot import PromptClassifier

    base = tmp_path / "base"
    shutil.copytree(tiny_llama_dir, base)
    clf = PromptClassifier(model=str(base), mode="zero").fit(TRAIN_X, TRAIN_Y)
    folder = clf.save(tmp_path / "clf")
    assert _meta(folder)["base_model"]["weights_sha256"]
    weights = next(base.glob("*.safetensors"))
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(weights))
    key = sorted(tensors)[0]
    tensors[key] = tensors[key] + 1.0
    save_file(tensors, str(weights), metadata={"format": "pt"})
    with pytest.raises(NotASavedClassifierError, match="trained on base model .*different weights"):
        fewshot.load(folder)


def test_a_folder_without_manifest_from_an_older_fewshot_loads_with_a_warning(saved, tmp_path):
    copy = _copy(saved["majority"][0], tmp_path)
    meta = _meta(copy)
    meta["format_version"] = 1
    del meta["files"]
    _write_meta(copy, meta)
    with pytest.warns(UserWarning, match="without a file manifest"):
        clf = fewshot.load(copy)
    assert clf.predict(["x"]).shape == (1,)


# ---------------------------------------------------------------------------------- data loss
def test_overwrite_refuses_files_data_folders_and_the_working_directory(tmp_path, clean_cwd):
    clf = fewshot.MajorityClassifier().fit(TRAIN_X, TRAIN_Y)
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("{}\n")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    for target, fragment in [(data, "not a saved fewshot classifier"), (a_file, "is not a folder"),
                             (Path("."), "working directory"), (clean_cwd.parent, "working directory")]:
        with pytest.raises(SaveTargetError, match=fragment):
            clf.save(target, overwrite=True)
    assert [p.name for p in data.iterdir()] == ["train.jsonl"] and a_file.read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    clf.save(empty)  # an empty folder is a fine target, with or without overwrite
    assert (empty / "fewshot.json").is_file()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_parent_is_refused_before_any_work(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(SaveTargetError, match="not a writable folder"):
            fewshot.MajorityClassifier().fit(TRAIN_X, TRAIN_Y).save(ro / "m")
    finally:
        ro.chmod(0o700)


# ---------------------------------------------------------------------------------- concurrency
def test_concurrent_saves_and_loads_never_see_a_half_written_folder(tmp_path):
    target = tmp_path / "m"
    a = fewshot.MajorityClassifier().fit(TRAIN_X, TRAIN_Y)
    b = fewshot.MajorityClassifier().fit(TRAIN_X[:6], TRAIN_Y[:6])
    a.save(target)
    expected = {tuple(a.predict_proba(["x"])[0].round(6)), tuple(b.predict_proba(["x"])[0].round(6))}
    errors, seen = [], set()
    stop = threading.Event()

    def saver(clf):
        try:
            for _ in range(25):
                clf.save(target, overwrite=True)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def loader():
        try:
            while not stop.is_set():
                seen.add(tuple(fewshot.load(target).predict_proba(["x"])[0].round(6)))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=saver, args=(c,)) for c in (a, b)] + [threading.Thread(target=loader)]
    for t in threads:
        t.start()
    for t in threads[:2]:
        t.join()
    stop.set()
    threads[2].join()
    assert not errors, errors
    assert seen and seen <= expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"], "no temporary folders left behind"


def test_concurrent_first_saves_without_overwrite_one_wins_the_other_gets_a_clear_error(tmp_path):
    target = tmp_path / "m"
    clfs = [fewshot.MajorityClassifier().fit(TRAIN_X, TRAIN_Y) for _ in range(4)]
    results = []
    barrier = threading.Barrier(len(clfs))

    def save(clf):
        barrier.wait()
        try:
            clf.save(target)
            results.append("saved")
        except SaveTargetError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=save, args=(c,)) for c in clfs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("saved") == 1, results
    assert all("already exists" in r for r in results if r != "saved")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


SLOW_SAVE = """
import sys, time
import fewshot
clf = fewshot.MajorityClassifier().fit(["a", "b", "c", "d"], ["x", "y", "x", "y"])
original = clf._save_state
def slow(folder):
    state = original(folder)
    (folder / "marker").write_text("half")
    print("writing", flush=True)
    time.sleep(60)
    return state
clf._save_state = slow
clf.save(sys.argv[1], overwrite=True)
"""


def test_a_killed_save_leaves_the_old_folder_and_its_leftovers_are_cleaned(tmp_path):
    target = tmp_path / "m"
    clf = fewshot.MajorityClassifier().fit(TRAIN_X, TRAIN_Y)
    clf.save(target)
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(target)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "m"]
    assert leftovers and all(n.startswith(".m.tmp-") for n in leftovers), leftovers
    np.testing.assert_allclose(fewshot.load(target).predict_proba(["x"]), clf.predict_proba(["x"]))
    clf.save(target, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"], "the killed save's folder was removed"


def test_a_live_writers_temporary_folder_is_left_alone(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = tmp_path / f".m.tmp-{sleeper.pid}-abcdef12"
        live.mkdir()
        fewshot.MajorityClassifier().fit(TRAIN_X, TRAIN_Y).save(tmp_path / "m")
        assert live.is_dir(), "another process's save in progress must not be touched"
    finally:
        sleeper.kill()
        sleeper.wait()
    time.sleep(0.1)
    fewshot.MajorityClassifier().fit(TRAIN_X, TRAIN_Y).save(tmp_path / "m", overwrite=True)
    assert not live.exists()
