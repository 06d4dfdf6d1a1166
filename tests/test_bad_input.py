"""Bad input, the way a careless user gives it: every row gets a clear answer and nothing is written.

One table for the Python API and one for the command line. Each row is an input, the expected
exception type (API) or exit code (CLI), a fragment of the message, and the check that nothing was
written: the working directory stays empty (``clean_cwd``), the output folder does not appear, and
every file and folder the row started with is still there, unchanged. CLI rows run in-process
through ``fewshot.cli.main``; the rows marked ``subprocess`` also run as ``python -m fewshot`` to
prove the one-line stderr and the exit code of the real command. Everything uses the ``majority``
strategy or a tiny in-process model, so the module runs in seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import fewshot
from fewshot import MajorityClassifier
from fewshot.cli import main
from fewshot.errors import DataError, SaveTargetError, UnknownModelError, UnknownStrategyError
from fewshot.registry import make_classifier

X = ["refund my card", "where is my parcel", "charged twice", "parcel is late"]
Y = ["billing", "delivery", "billing", "delivery"]


# --------------------------------------------------------------------------- the Python API
@dataclass
class ApiCase:
    id: str
    call: Callable[[Any], Any]  # receives the test's `request`, for fixtures a row needs
    error: type[BaseException]
    message: str


def _fitted(request=None) -> MajorityClassifier:
    return MajorityClassifier().fit(X, Y)


def _pd():
    return pytest.importorskip("pandas")


def _tiny_setfit(request, X_, y_):
    from fewshot import SetFitClassifier

    clf = SetFitClassifier(model=str(request.getfixturevalue("tiny_st_dir")), num_iterations=1, epochs=1)
    try:
        clf.fit(X_, y_)
    finally:  # the text was refused before any model was loaded or anything learned
        assert not [k for k in vars(clf) if k.endswith("_")], vars(clf)


def _save_into(request, make: str, *, overwrite: bool = False):
    """Save a fitted classifier where a careless user might; whatever was there stays untouched."""
    space = request.getfixturevalue("tmp_path") / "space"
    space.mkdir()
    target = {"file": space / "notes.txt", "data": space / "data", "cwd": Path(".")}[make]
    if make == "file":
        target.write_text("my notes\n")
    elif make == "data":
        target.mkdir()
        (target / "train.jsonl").write_text('{"text": "a", "label": "b"}\n')
    before = _snapshot(space)
    try:
        _fitted().save(target, overwrite=overwrite)
    finally:
        assert _snapshot(space) == before


API_CASES = [
    ApiCase("empty X", lambda r: MajorityClassifier().fit([], []), DataError, "X is empty"),
    ApiCase("X/y length mismatch", lambda r: MajorityClassifier().fit(X, Y[:3]), ValueError,
            "X has 4 texts but y has 3 labels"),
    ApiCase("one class", lambda r: MajorityClassifier().fit(X, ["billing"] * 4), ValueError, "single class"),
    ApiCase("None text", lambda r: MajorityClassifier().fit(["a", None, "b", "c"], Y), DataError,
            r"X\[1\] is missing \(None\)"),
    ApiCase("NaN text", lambda r: MajorityClassifier().fit(["a", "b", float("nan"), "c"], Y), DataError,
            r"X\[2\] is missing \(nan\)"),
    ApiCase("pandas NA text", lambda r: MajorityClassifier().fit(_pd().Series(["a", "b", "c", _pd().NA]), Y),
            DataError, r"X\[3\] is missing"),
    ApiCase("bytes text", lambda r: MajorityClassifier().fit([b"refund", "b", "c", "d"], Y), DataError,
            r"X\[0\] is bytes .*decode it to a string"),
    ApiCase("int text", lambda r: MajorityClassifier().fit(["a", 7, "b", "c"], Y), DataError,
            r"X\[1\] is a int \(7\); texts must be strings"),
    ApiCase("nested list of three", lambda r: MajorityClassifier().fit([["a", "b", "c"]] * 4, Y), DataError,
            r"X\[0\] is a sequence of 3 items"),
    ApiCase("nested list of one", lambda r: MajorityClassifier().fit([["a"], ["b"], ["c"], ["d"]], Y), DataError,
            r"X\[0\] is a sequence of 1 items"),
    ApiCase("texts mixed with pairs", lambda r: MajorityClassifier().fit(["a", ("b", "c"), "d", "e"], Y), DataError,
            r"mixes single texts and \(text, text_pair\) pairs \(X\[1\]"),
    ApiCase("lone surrogate", lambda r: MajorityClassifier().fit(["a", "b", "c", "bad \ud800 text"], Y), DataError,
            r"X\[3\] is not valid Unicode: it holds a lone surrogate '\\ud800' at character 4"),
    ApiCase("lone surrogate in a pair", lambda r: MajorityClassifier().fit([("q", "\udc80")] * 4, Y), DataError,
            r"X\[0\]\[1\] is not valid Unicode"),
    ApiCase("lone surrogate, tiny SetFit model", lambda r: _tiny_setfit(r, ["refund", "\ud83d", "late", "card"], Y),
            DataError, r"X\[1\] is not valid Unicode"),
    ApiCase("empty text in fit", lambda r: MajorityClassifier().fit(["a", "", "b", "c"], Y), DataError,
            r"X\[1\] is empty; a text must have at least one visible character"),
    ApiCase("whitespace text in fit", lambda r: MajorityClassifier().fit(["a", "b", " \t\n", "c"], Y), DataError,
            r"X\[2\] is whitespace only"),
    ApiCase("empty text, tiny SetFit model", lambda r: _tiny_setfit(r, ["refund", "late", "card", "  "], Y),
            DataError, r"X\[3\] is whitespace only"),
    ApiCase("surrogate in predict", lambda r: _fitted().predict(["ok", "\ud800"]), DataError, r"X\[1\] is not valid Unicode"),
    ApiCase("empty predict", lambda r: _fitted().predict([]), DataError, "X is empty"),
    ApiCase("evaluate: int labels for a string model",
            lambda r: fewshot.evaluate(_fitted(), ["a", "b"], [1, 2]), DataError, "label type mismatch"),
    ApiCase("evaluate: labels the model never saw",
            lambda r: fewshot.evaluate(_fitted(), ["a", "b"], ["x", "y"]), DataError, "none of the labels in y"),
    ApiCase("one string instead of a list", lambda r: _fitted().predict("where is my parcel"), DataError,
            "X must be a list of texts, not a single string"),
    ApiCase("predict before fit", lambda r: MajorityClassifier().predict(X), NotFittedError, "not fitted yet"),
    ApiCase("dict as X", lambda r: MajorityClassifier().fit({"text": X, "label": Y}, Y), DataError,
            r"X is a dict with keys \['text', 'label'\]; pass a list"),
    ApiCase("set as X", lambda r: MajorityClassifier().fit(set(X), Y), DataError, "X is a set, which has no order"),
    ApiCase("DataFrame of text and label", lambda r: MajorityClassifier().fit(_pd().DataFrame({"text": X, "label": Y}), Y),
            DataError, r"will not guess which is the text.*columns found are \['text', 'label'\]"),
    ApiCase("DataFrame of two unnamed columns", lambda r: _fitted().predict(_pd().DataFrame({"q": X, "r": X})),
            DataError, r"exactly the columns 'text' and 'text_pair'.*columns found are \['q', 'r'\]"),
    ApiCase("a whole datasets.Dataset", lambda r: MajorityClassifier().fit(
        pytest.importorskip("datasets").Dataset.from_dict({"text": X, "label": Y}), Y), DataError,
            r"X is a datasets.Dataset with columns \['text', 'label'\]; pass one column"),
    ApiCase("y with None", lambda r: MajorityClassifier().fit(X, ["billing", None, "a", "b"]), DataError,
            r"y\[1\] is missing"),
    ApiCase("y with an empty label", lambda r: MajorityClassifier().fit(X, ["billing", "delivery", " ", "b"]),
            DataError, r"y\[2\] is an empty label"),
    ApiCase("y with NaN", lambda r: MajorityClassifier().fit(X, ["a", "b", "a", float("nan")]), DataError,
            r"y\[3\] is missing"),
    ApiCase("y of whole floats", lambda r: MajorityClassifier().fit(X, [0.0, 1.0, 0.0, 1.0]), DataError,
            r"y\[0\] is a float \(0.0\); labels must be strings or ints \(.*astype\(int\)\)"),
    ApiCase("y mixes str and int", lambda r: MajorityClassifier().fit(X, ["a", 1, "a", 1]), DataError,
            "y mixes label types"),
    ApiCase("y as a 2-D array", lambda r: MajorityClassifier().fit(X, np.zeros((4, 2))), DataError,
            r"y is a 2-D array of shape \(4, 2\)"),
    ApiCase("multi-label y of strings", lambda r: MajorityClassifier(multi_label=True).fit(X, Y), DataError,
            "multi-label targets are lists of labels"),
    ApiCase("save to a file", lambda r: _save_into(r, "file"), SaveTargetError, "notes.txt exists and is not a folder"),
    ApiCase("save over a data folder, overwrite=True", lambda r: _save_into(r, "data", overwrite=True), SaveTargetError,
            "data exists and is not a saved fewshot classifier"),
    ApiCase("save into the working directory", lambda r: _save_into(r, "cwd", overwrite=True), SaveTargetError,
            "is the working directory"),
    ApiCase("unknown model alias", lambda r: make_classifier("head", model="minilm-xl").fit(X, Y), UnknownModelError,
            "unknown model 'minilm-xl'.*Known aliases: minilm"),
    ApiCase("unknown strategy", lambda r: make_classifier("bert"), UnknownStrategyError,
            "unknown strategy 'bert'; known strategies: majority"),
    ApiCase("unknown parameter", lambda r: make_classifier("majority", epochs=3), UnknownStrategyError,
            r"has no parameter\(s\) epochs"),
]


@pytest.mark.parametrize("case", API_CASES, ids=[c.id for c in API_CASES])
def test_api_bad_input(case, request, clean_cwd):
    with pytest.raises(case.error, match=case.message):
        case.call(request)


# --------------------------------------------------------------------------- the command line
TRAIN = [("refund my card", "billing"), ("charged twice", "billing"), ("card declined", "billing"),
         ("parcel is late", "delivery"), ("where is my order", "delivery"), ("lost parcel", "delivery")]


def _jsonl(rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def _workspace(ws: Path) -> None:
    """Every file the CLI rows read: good data, broken data, saved models, folders in the way."""
    rows = [{"text": t, "label": lab} for t, lab in TRAIN]
    files = {
        "train.jsonl": _jsonl(rows),
        "missing_label.jsonl": _jsonl([rows[0], rows[1], {"text": "no label here"}, rows[3]]),
        "bad.jsonl": _jsonl([rows[0], '{"text": "unclosed", "label": "billing"', rows[2]]),
        "not_object.jsonl": _jsonl([["refund my card", "billing"]]),
        "empty_text.jsonl": _jsonl([rows[0], {"text": "", "label": "billing"}, *rows[2:]]),
        "null_text.jsonl": _jsonl([rows[0], rows[1], rows[2], {"text": None, "label": "delivery"}]),
        "number_text.jsonl": _jsonl([{"text": 42, "label": "billing"}, *rows[1:]]),
        "surrogate.jsonl": _jsonl([rows[0], '{"text": "broken \\ud83d emoji", "label": "billing"}', *rows[2:]]),
        "empty_label.jsonl": _jsonl([*rows[:4], {"text": "hm", "label": ""}]),
        "one_class.jsonl": _jsonl(rows[:3]),
        "multi.jsonl": _jsonl([{"text": t, "label": [lab]} for t, lab in TRAIN]),
        "empty.jsonl": "",
        "comma.csv": "text,label\nrefund my card,billing\nlate, very late parcel,delivery\n",
        "sheet.xlsx": "not really a spreadsheet",
        "new.txt": "where is my parcel?\nrefund please\n",
        "blank.txt": "\n  \n",
        "predict_surrogate.jsonl": '{"text": "ok"}\n{"text": "\\udc00"}\n',
        "predictions.jsonl": '{"keep": "me"}\n',
        "afile.txt": "a file where a folder should go\n",
        "eval_words.csv": "text,label\nrefund my card,positive\nlost parcel,negative\n",
        "eval_other.jsonl": _jsonl([{"text": "refund", "label": "returns"}, {"text": "late", "label": "account"}]),
        "userdata/train.jsonl": _jsonl(rows),
        "nonempty/notes.txt": "mine\n",
        "noset/readme.txt": "a folder that is not a dataset\n",
    }
    for name, text in files.items():
        (ws / name).parent.mkdir(parents=True, exist_ok=True)
        (ws / name).write_text(text, encoding="utf-8")
    (ws / "bom.csv").write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in TRAIN), encoding="utf-8-sig")
    (ws / "latin1.csv").write_bytes("text,label\nrefund my card,billing\ncafé late,delivery\n".encode("latin-1"))
    (ws / "ints.csv").write_text("text,label\nrefund my card,1\nlost parcel,0\n", encoding="utf-8")
    MajorityClassifier().fit(X, [0, 1, 0, 1]).save(ws / "int_model")
    MajorityClassifier().fit(X, Y).save(ws / "str_model")
    (ws / "readonly").mkdir()
    (ws / "readonly").chmod(0o555)


def _snapshot(ws: Path) -> dict[str, tuple]:
    return {str(p.relative_to(ws)): (p.is_dir(), None if p.is_dir() else (p.stat().st_size, p.stat().st_mtime_ns))
            for p in sorted(ws.rglob("*"))}


@dataclass
class CliCase:
    id: str
    argv: list[str]
    code: int
    message: str
    subprocess: bool = False  # also run as `python -m fewshot`
    patch: Callable[[Any], None] | None = None  # given monkeypatch: e.g. simulate Ctrl-C
    creates: list[str] = field(default_factory=list)  # paths a successful row writes
    needs_readonly: bool = False


def _train(data: str, *extra: str, out: str = "{ws}/out") -> list[str]:
    return ["train", "--strategy", "majority", "--data", data, "--out", out, *extra]


def _ctrl_c_in(attr: str):
    def patch(monkeypatch):
        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr(MajorityClassifier, attr, interrupted)

    return patch


def _ctrl_c_in_rename(monkeypatch):
    """Ctrl-C at the last moment of writing predictions: the old file stays, no temporary file is left."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)


CLI_CASES = [
    # arguments
    CliCase("no command", [], 2, "no command given"),
    CliCase("unknown command", ["trian"], 2, "invalid choice: 'trian'"),
    CliCase("missing --data", ["train", "--strategy", "majority", "--out", "{ws}/out"], 2,
            r"the following arguments are required: --data \(see 'fewshot train --help'\)", subprocess=True),
    CliCase("unknown strategy", ["train", "--strategy", "bert", "--data", "{ws}/train.jsonl", "--out", "{ws}/out"], 2,
            "unknown strategy 'bert'; known strategies: majority"),
    CliCase("unknown parameter", _train("{ws}/train.jsonl", "--param", "epochs=2"), 2,
            r"strategy 'majority' has no parameter\(s\) epochs"),
    CliCase("bad --param syntax", _train("{ws}/train.jsonl", "--param", "threshold"), 2,
            "--param 'threshold' is not key=value"),
    CliCase("--param given twice", _train("{ws}/train.jsonl", "--param", "threshold=0.3", "--param", "threshold=0.4"),
            2, "--param threshold is given twice"),
    CliCase("bad --param value", _train("{ws}/train.jsonl", "--param", "threshold=7"), 2, "threshold"),
    CliCase("--k 0", _train("{ws}/train.jsonl", "--k", "0"), 2,
            r"argument --k: must be at least 1 \(labeled examples per class\); got 0", subprocess=True),
    CliCase("--k negative", _train("{ws}/train.jsonl", "--k", "-3"), 2, "argument --k: must be at least 1"),
    CliCase("--k not a number", _train("{ws}/train.jsonl", "--k", "eight"), 2, "argument --k: 'eight' is not a whole number"),
    CliCase("negative --seed", _train("{ws}/train.jsonl", "--k", "2", "--seed", "-1"), 2,
            r"argument --seed: must be between 0 and 2\*\*32 - 1; got -1"),
    CliCase("multi-label data without multi_label", _train("{ws}/multi.jsonl"), 2,
            r"y\[0\] is a list \(\['billing'\]\); labels must be strings or ints \(label lists are multi-label"),
    CliCase("--k on multi-label data", _train("{ws}/multi.jsonl", "--k", "2"), 2,
            "--k samples k examples per class, but .*multi.jsonl has label lists"),
    # data files
    CliCase("missing file", _train("{ws}/nope.jsonl"), 2, "file not found: .*nope.jsonl", subprocess=True),
    CliCase("missing file without suffix", _train("{ws}/data/train"), 2, "file not found: .*data/train"),
    CliCase("unknown dataset name", _train("sst9", "--data-dir", "{ws}"), 2,
            "unknown dataset 'sst9': not a file or folder"),
    CliCase("folder that is not a dataset", _train("{ws}/noset"), 2, "noset has no train.jsonl"),
    CliCase("unsupported file type", _train("{ws}/sheet.xlsx"), 2, r"unsupported file type '.xlsx'"),
    CliCase("JSONL missing key on line 3", _train("{ws}/missing_label.jsonl"), 2,
            r"missing_label.jsonl line 3 has no 'label' field \(its fields: 'text'\)", subprocess=True),
    CliCase("invalid JSON on line 2", _train("{ws}/bad.jsonl"), 2, "bad.jsonl line 2 is not valid JSON"),
    CliCase("JSON line that is not an object", _train("{ws}/not_object.jsonl"), 2,
            "not_object.jsonl line 1 is a JSON list, not an object"),
    CliCase("empty text on line 2", _train("{ws}/empty_text.jsonl"), 2, r"empty_text.jsonl line 2, 'text' is empty"),
    CliCase("null text on line 4", _train("{ws}/null_text.jsonl"), 2,
            r"null_text.jsonl line 4, 'text' is missing \(None\)"),
    CliCase("number as text", _train("{ws}/number_text.jsonl"), 2,
            r"number_text.jsonl line 1, 'text' is a int \(42\); texts must be strings"),
    CliCase("lone surrogate escape in JSONL", _train("{ws}/surrogate.jsonl"), 2,
            r"surrogate.jsonl line 2, 'text' is not valid Unicode", subprocess=True),
    CliCase("empty label", _train("{ws}/empty_label.jsonl"), 2, r"empty_label.jsonl line 5 has an empty 'label'"),
    CliCase("empty data file", _train("{ws}/empty.jsonl"), 2, "empty.jsonl has no rows"),
    CliCase("one class in the file", _train("{ws}/one_class.jsonl"), 2, "single class"),
    CliCase("wrong --label-column", _train("{ws}/train.jsonl", "--label-column", "intent"), 2,
            r"train.jsonl line 1 has no 'intent' field \(its fields: 'text', 'label'\)"),
    CliCase("CSV text with an unquoted comma", _train("{ws}/comma.csv"), 2,
            "comma.csv line 3 has 3 fields but the header has 2 .*quote texts that contain commas"),
    CliCase("CSV that is not UTF-8", _train("{ws}/latin1.csv"), 2, r"latin1.csv line 3 is not UTF-8 text \(byte 0xe9\)"),
    CliCase("CSV with a byte-order mark trains", _train("{ws}/bom.csv"), 0, "", creates=["out"]),
    # the output folder
    CliCase("--out is a file", _train("{ws}/train.jsonl", out="{ws}/afile.txt"), 2,
            "afile.txt exists and is not a folder"),
    CliCase("--out is a file, with --overwrite", _train("{ws}/train.jsonl", "--overwrite", out="{ws}/afile.txt"),
            2, "afile.txt exists and is not a folder"),
    CliCase("--out is a data folder, with --overwrite", _train("{ws}/train.jsonl", "--overwrite", out="{ws}/userdata"),
            2, "userdata exists and is not a saved fewshot classifier .*refusing to replace it, even with overwrite"),
    CliCase("--out is a non-empty folder", _train("{ws}/train.jsonl", out="{ws}/nonempty"), 2,
            "nonempty exists and is not a saved fewshot classifier"),
    CliCase("--out is a saved model, without --overwrite", _train("{ws}/train.jsonl", out="{ws}/str_model"), 2,
            r"str_model already exists; pass overwrite=True \(--overwrite\) to replace it"),
    CliCase("--out is the working directory", _train("{ws}/train.jsonl", out="."), 2,
            r"^fewshot: error: \. is the working directory", subprocess=True),
    CliCase("--out is the working directory, with --overwrite", _train("{ws}/train.jsonl", "--overwrite", out="."), 2,
            "is the working directory"),
    CliCase("--out holds the working directory, with --overwrite",
            _train("{ws}/train.jsonl", "--overwrite", out=".."), 2, r"\.\. is the working directory \(or a folder holding it\)"),
    CliCase("--out under a read-only folder", _train("{ws}/train.jsonl", out="{ws}/readonly/m"), 2, "cannot write to .*readonly",
            needs_readonly=True),
    # Ctrl-C
    CliCase("Ctrl-C while training", _train("{ws}/train.jsonl"), 130, "^fewshot: interrupted$",
            patch=_ctrl_c_in("_fit")),
    CliCase("Ctrl-C while saving", _train("{ws}/train.jsonl"), 130, "^fewshot: interrupted$",
            patch=_ctrl_c_in("_save_state")),
    CliCase("Ctrl-C while saving over a model", _train("{ws}/train.jsonl", "--overwrite", out="{ws}/str_model"), 130,
            "^fewshot: interrupted$", patch=_ctrl_c_in("_save_state")),
    CliCase("Ctrl-C while predicting", ["predict", "{ws}/str_model", "--input", "{ws}/new.txt", "--output",
                                        "{ws}/p.jsonl"], 130, "^fewshot: interrupted$", patch=_ctrl_c_in("_predict_scores")),
    CliCase("Ctrl-C while writing predictions", ["predict", "{ws}/str_model", "--input", "{ws}/new.txt", "--output",
                                                 "{ws}/predictions.jsonl", "--overwrite"], 130, "^fewshot: interrupted$",
            patch=_ctrl_c_in_rename),
    # predict
    CliCase("predict: model folder is not a model", ["predict", "{ws}/nonempty", "--input", "{ws}/new.txt"], 2,
            "not a saved fewshot classifier"),
    CliCase("predict: input file missing", ["predict", "{ws}/str_model", "--input", "{ws}/new.jsonl"], 2,
            "file not found: .*new.jsonl"),
    CliCase("predict: input file empty", ["predict", "{ws}/str_model", "--input", "{ws}/empty.jsonl"], 2,
            "empty.jsonl has no rows to predict"),
    CliCase("predict: input only blank lines", ["predict", "{ws}/str_model", "--input", "{ws}/blank.txt"], 2,
            "blank.txt has no texts to predict"),
    CliCase("predict: lone surrogate", ["predict", "{ws}/str_model", "--input", "{ws}/predict_surrogate.jsonl"], 2,
            r"predict_surrogate.jsonl line 2, 'text' is not valid Unicode"),
    CliCase("predict: --output is the input", ["predict", "{ws}/str_model", "--input", "{ws}/new.txt", "--output",
                                               "{ws}/new.txt", "--overwrite"], 2, "is the input file"),
    CliCase("predict: --output is a folder", ["predict", "{ws}/str_model", "--input", "{ws}/new.txt", "--output",
                                              "{ws}/nonempty"], 2, "nonempty is a folder; name a file"),
    CliCase("predict: --output exists", ["predict", "{ws}/str_model", "--input", "{ws}/new.txt", "--output",
                                         "{ws}/predictions.jsonl"], 2, "predictions.jsonl already exists; pass --overwrite"),
    CliCase("predict: --output in a missing folder", ["predict", "{ws}/str_model", "--input", "{ws}/new.txt",
                                                      "--output", "{ws}/nowhere/p.jsonl"], 2, "nowhere does not exist"),
    # evaluate
    CliCase("evaluate: string labels for an int model", ["evaluate", "{ws}/int_model", "--data", "{ws}/eval_words.csv"],
            2, r"label type mismatch: the model's labels are ints \(0, 1\) but .*eval_words.csv has string labels "
            r"\(e.g. 'positive'\)", subprocess=True),
    CliCase("evaluate: int labels from a CSV match an int model",
            ["evaluate", "{ws}/int_model", "--data", "{ws}/ints.csv", "--json"], 0, ""),
    CliCase("evaluate: labels the model never saw", ["evaluate", "{ws}/str_model", "--data", "{ws}/eval_other.jsonl"],
            2, r"none of the labels in .*eval_other.jsonl \('account', 'returns'\) is a class of the model"),
    CliCase("evaluate: missing data file", ["evaluate", "{ws}/str_model", "--data", "{ws}/test.jsonl"], 2,
            "file not found: .*test.jsonl"),
]


def _argv(case: CliCase, ws: Path) -> list[str]:
    return [a.replace("{ws}", str(ws)) for a in case.argv]


@pytest.fixture
def ws(tmp_path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    _workspace(folder)
    yield folder
    (folder / "readonly").chmod(0o755)


def _check_nothing_written(case: CliCase, ws: Path, before: dict, cwd: Path) -> None:
    after = _snapshot(ws)
    created = {k for k in set(after) - set(before) if not any(k == c or k.startswith(c + "/") for c in case.creates)}
    assert not created, f"written: {sorted(created)}"
    assert not (set(before) - set(after)), f"deleted: {sorted(set(before) - set(after))}"
    changed = [k for k in before if after.get(k) != before[k] and not before[k][0]]
    assert not changed, f"changed: {changed}"
    assert not list(cwd.iterdir())


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_cli_bad_input(case, ws, clean_cwd, capsys, monkeypatch):
    if case.needs_readonly and os.access(ws / "readonly", os.W_OK):
        pytest.skip("running as root: a read-only folder is still writable here")
    if case.patch:
        case.patch(monkeypatch)
    before = _snapshot(ws)
    code = main(_argv(case, ws))
    err = capsys.readouterr().err
    assert code == case.code, err
    if case.code:
        lines = err.splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
        assert lines[0].startswith("fewshot: error: " if case.code == 2 else "fewshot: interrupted")
        assert __import__("re").search(case.message, lines[0]), lines[0]
    _check_nothing_written(case, ws, before, clean_cwd)


SUBPROCESS_CASES = [c for c in CLI_CASES if c.subprocess]


@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=[c.id for c in SUBPROCESS_CASES])
def test_cli_bad_input_as_a_real_command(case, ws, clean_cwd):
    before = _snapshot(ws)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                         os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "fewshot", *_argv(case, ws)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == case.code, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fewshot: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert __import__("re").search(case.message, lines[0]), lines[0]
    assert proc.stdout == ""
    _check_nothing_written(case, ws, before, clean_cwd)


def test_bom_csv_is_read_correctly(ws, clean_cwd):
    """The byte-order mark a spreadsheet writes must not end up in the first column's name."""
    assert main(_train(str(ws / "bom.csv"), out=str(ws / "m"))) == 0
    meta = json.loads((ws / "m" / "fewshot.json").read_text())
    assert meta["classes"] == ["billing", "delivery"]


def test_evaluate_reads_int_labels_from_a_csv(ws, clean_cwd, capsys):
    assert main(["evaluate", str(ws / "int_model"), "--data", str(ws / "ints.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(0.5)


def test_predict_output_is_written_whole(ws, clean_cwd, capsys):
    out = ws / "p.jsonl"
    assert main(["predict", str(ws / "str_model"), "--input", str(ws / "new.txt"), "--output", str(out)]) == 0
    assert [json.loads(line)["text"] for line in out.read_text().splitlines()] == ["where is my parcel?", "refund please"]
    assert sorted(p.name for p in ws.iterdir() if p.name.startswith(".")) == [], "no temporary file left"
