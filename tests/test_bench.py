"""The benchmark harness: suites, the grid of cells, resume, errors, parallel jobs, reports, CLI.

Most tests run the majority strategy on small dataset folders written here (each cell still runs
in its own fresh process, as in a real benchmark). The smoke-suite test runs the real strategies.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fewshot.bench import load_suite, run_suite, write_report
from fewshot.bench.references import all_references, parse_reference_markdown, references_for
from fewshot.bench.runner import available_cores, cell_path, write_json_atomic
from fewshot.bench.suite import CellKey, SuiteError, parse_suite
from fewshot.data import k_shot_indices
from fewshot.datasets import load_dataset_folder

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- helpers
def _write_dataset(
    folder: Path, train: dict[str, int], test: dict[str, int], *, metric="accuracy", name=None, test_file=True
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, counts in (("train", train), ("test", test)):
        if split == "test" and not test_file:
            continue
        with open(folder / f"{split}.jsonl", "w") as fh:
            for label, n in counts.items():
                for i in range(n):
                    fh.write(
                        json.dumps({"text": f"{label} {split} message number {i}", "label": label}) + "\n"
                    )
    (folder / "dataset.json").write_text(
        json.dumps({"name": name or folder.name, "labels": sorted(train), "metric": metric})
    )
    return folder


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bench-data")
    # class "c" has only 2 training examples: at k = 4 it uses both (recorded as short)
    _write_dataset(root / "toy", {"a": 12, "b": 9, "c": 2}, {"a": 6, "b": 4, "c": 3})
    _write_dataset(root / "toy2", {"yes": 8, "no": 10}, {"yes": 5, "no": 7}, metric="f1_macro")
    _write_dataset(root / "broken", {"a": 4, "b": 4}, {}, test_file=False)
    _write_dataset(root / "sst5", {"neg": 9, "pos": 9}, {"neg": 3, "pos": 3})  # matches a published row
    return root


def _suite_file(folder: Path, text: str, name: str = "suite.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


GRID = """
name = "grid"
datasets = ["toy", "toy2"]
k = [2, 4]
seeds = [0, 1]
max_test = 8

[[strategies]]
name = "majority"

[[strategies]]
name = "majority"
label = "maj-low"
params = { threshold = 0.3 }
k = [4]
"""


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory, data_root):
    """One grid of 12 cells on 2 datasets x 2 seeds: majority at k = 2 and 4 and a second
    configuration at k = 4; run with 2 jobs."""
    tmp = tmp_path_factory.mktemp("grid")
    suite = load_suite(_suite_file(tmp, GRID))
    out = tmp / "results"
    logs: list[str] = []
    result = run_suite(suite, out, data_dir=data_root, jobs=2, log=logs.append)
    cells = {}
    for key in suite.cells():
        cells[key] = json.loads(cell_path(out, key).read_text())
    return suite, out, result, cells, logs


# --------------------------------------------------------------------------- the grid
def test_grid_runs_every_cell_and_shares_k_shot_samples(grid_run, data_root):
    suite, out, result, cells, _ = grid_run
    assert result.cells == len(cells) == 12
    assert result.ran == 12 and result.skipped == 0
    toy = load_dataset_folder(data_root / "toy")
    for dataset in ("toy", "toy2"):
        ds = load_dataset_folder(data_root / dataset)
        for k in (4,):
            for seed in (0, 1):
                a, b = (
                    cells[CellKey(dataset, "majority", k, seed)],
                    cells[CellKey(dataset, "maj-low", k, seed)],
                )
                assert a["train_indices"] == b["train_indices"], "strategies must share the k-shot sample"
                assert a["train_indices"] == k_shot_indices(ds.train.y, k, seed, warn=False).tolist()
                assert a["sample_hash"] == b["sample_hash"]
    # different seeds draw different samples
    assert (
        cells[CellKey("toy", "majority", 4, 0)]["train_indices"]
        != cells[CellKey("toy", "majority", 4, 1)]["train_indices"]
    )
    # a class with fewer than k examples uses all it has, and the cell says so
    short = cells[CellKey("toy", "majority", 4, 0)]
    assert short["class_counts"] == {"a": 4, "b": 4, "c": 2} and short["short_classes"] == {"c": 2}
    assert short["n_train"] == 10
    assert cells[CellKey("toy", "majority", 2, 0)]["short_classes"] == {}
    assert sum(1 for y in toy.train.y if y == "c") == 2


def test_cell_records_metrics_cost_and_provenance(grid_run):
    _, _, _, cells, _ = grid_run
    cell = cells[CellKey("toy2", "maj-low", 4, 1)]
    assert cell["status"] == "ok"
    assert cell["metric"] == "f1_macro" and cell["headline"] == cell["metrics"]["f1_macro"]
    assert set(cell["metrics"]) == {"accuracy", "f1_macro", "f1_weighted", "mcc", "ece"}
    assert set(cell["per_class_f1"]) == {"yes", "no"}
    # majority predicts one class for every text: one non-empty column, accuracy = its diagonal share
    cm = np.asarray(cell["confusion_matrix"]["matrix"])
    assert cm.sum() == 8 and (cm.sum(axis=0) > 0).sum() == 1
    assert cell["metrics"]["accuracy"] == pytest.approx(np.trace(cm) / 8)
    assert 0.0 <= cell["metrics"]["ece"] <= 1.0
    assert cell["params"] == {"multi_label": False, "threshold": 0.3}
    assert cell["n_test"] == 8 and cell["test_full_size"] == 12 and cell["test_subsampled"] is True
    assert len({c["test_hash"] for key, c in cells.items() if key.dataset == "toy2"}) == 1, (
        "one fixed test subsample"
    )
    for field in ("train_seconds", "train_cpu_seconds", "predict_seconds", "save_seconds"):
        assert cell[field] >= 0
    assert cell["predictions_per_second"] > 0
    assert cell["model_size_mb"] > 0
    assert cell["peak_rss_mb"] >= cell["rss_before_fit_mb"] > 10  # a whole Python process with numpy/sklearn
    assert "ru_maxrss" in cell["memory_method"]
    assert cell["libraries"]["numpy"] == np.__version__ and cell["fewshot_version"]


def test_jobs_run_cells_in_parallel_with_a_share_of_the_cores(grid_run):
    _, out, result, cells, _ = grid_run
    assert result.max_parallel == 2
    threads = max(1, available_cores() // 2)
    assert {c["jobs"] for c in cells.values()} == {2}
    assert {c["torch_threads"] for c in cells.values()} == {threads}
    # no temporary files are left behind by the atomic writes
    assert not [p for p in out.rglob(".*") if p.is_file()]


def test_threads_override_the_share_of_the_cores(tmp_path, data_root):
    suite = parse_suite(BASE)
    run_suite(suite, tmp_path / "r", data_dir=data_root, jobs=1, threads=3, log=lambda line: None)
    cell = json.loads(next((tmp_path / "r" / "cells").rglob("*.json")).read_text())
    assert cell["torch_threads"] == 3 and cell["jobs"] == 1


RERUN = """
datasets = ["toy"]
k = [2]

[[strategies]]
name = "majority"
label = "maj"
params = { threshold = 0.3 }

[[strategies]]
name = "majority"
label = "maj-bad"
params = { multi_label = true }  # valid parameters, so the suite passes its checks; fit fails on these labels
"""


def test_rerun_skips_finished_cells_force_redoes_them_and_errors_are_retried(tmp_path, data_root):
    suite = load_suite(_suite_file(tmp_path, RERUN))
    out = tmp_path / "res"
    logs: list[str] = []
    first = run_suite(suite, out, data_dir=data_root, jobs=2, log=logs.append)
    assert (first.ran, first.skipped) == (2, 0)
    # the failing cell is recorded with its error, and the grid went on
    bad_key, ok_key = CellKey("toy", "maj-bad", 2, 0), CellKey("toy", "maj", 2, 0)
    assert first.errors == [bad_key]
    bad = json.loads(cell_path(out, bad_key).read_text())
    assert bad["status"] == "error" and bad["error"]["type"] == "DataError"
    assert "multi-label targets are lists of labels" in bad["error"]["message"]
    assert "Traceback" in bad["error"]["traceback"] and "fit" in bad["error"]["traceback"]
    assert json.loads(cell_path(out, ok_key).read_text())["status"] == "ok"
    assert any("ERROR DataError" in line and "log: " in line for line in logs)
    assert (out / "logs" / "toy" / "maj-bad" / "k2-seed0.log").is_file(), "each cell's output is kept"

    run_id = json.loads(cell_path(out, ok_key).read_text())["run_id"]

    again = run_suite(suite, out, data_dir=data_root, jobs=2, log=lambda m: None)
    assert (again.ran, again.skipped) == (1, 1), "the finished cell is skipped; the failed one is retried"
    assert json.loads(cell_path(out, ok_key).read_text())["run_id"] == run_id

    forced = run_suite(
        suite, out, data_dir=data_root, jobs=2, force=True, only_strategies=["maj"], log=lambda m: None
    )
    assert (forced.ran, forced.skipped) == (1, 0)
    assert json.loads(cell_path(out, ok_key).read_text())["run_id"] != run_id

    # changing a strategy's parameters makes its finished cells stale: they run again
    changed = load_suite(_suite_file(tmp_path, RERUN.replace("threshold = 0.3", "threshold = 0.4")))
    logs.clear()
    rerun = run_suite(changed, out, data_dir=data_root, only_strategies=["maj"], log=logs.append)
    assert (rerun.ran, rerun.skipped) == (1, 0)
    assert json.loads(cell_path(out, ok_key).read_text())["params"]["threshold"] == 0.4
    assert any("finished cell(s) whose parameters" in line for line in logs)


# --------------------------------------------------------------------------- code identity
def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_code_identity_hashes_the_package_files_and_sees_uncommitted_changes(tmp_path):
    from fewshot.bench.provenance import code_identity, describe_code

    pkg = tmp_path / "repo" / "fewshot"
    (pkg / "demo").mkdir(parents=True)
    (pkg / "__pycache__").mkdir()
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "demo" / "data.jsonl").write_text('{"text": "hi", "label": "a"}\n')
    (pkg / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"compiled")

    first = code_identity(pkg)
    assert "git_commit" not in first and "git_dirty" not in first, "outside a git checkout: the hash only"
    assert len(first["hash"]) == 64 and first["files"] == 2
    (pkg / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"recompiled")
    assert code_identity(pkg)["hash"] == first["hash"], "compiled files are not code"
    (pkg / "demo" / "data.jsonl").write_text('{"text": "hi", "label": "b"}\n')
    assert code_identity(pkg)["hash"] != first["hash"], "package data is part of the code"
    (pkg / "demo" / "data.jsonl").write_text('{"text": "hi", "label": "a"}\n')
    (pkg / "a.py").rename(pkg / "b.py")
    assert code_identity(pkg)["hash"] != first["hash"], "a renamed module is other code"
    (pkg / "b.py").rename(pkg / "a.py")
    assert code_identity(pkg)["hash"] == first["hash"]

    repo = tmp_path / "repo"
    _git(repo, "init", "-q")
    (repo / "README.md").write_text("outside the package\n")
    _git(repo, "add", "fewshot")
    _git(repo, "commit", "-q", "-m", "first")
    clean = code_identity(pkg)
    assert clean["git_commit"] == _git(repo, "rev-parse", "HEAD").strip()
    assert clean["git_dirty"] is False, "an untracked file outside fewshot/ does not make the code dirty"
    assert clean["hash"] == first["hash"]
    assert describe_code(clean) == f"commit {clean['git_commit'][:10]}, code {clean['hash'][:12]}"
    (pkg / "a.py").write_text("x = 2\n")
    dirty = code_identity(pkg)
    assert dirty["git_dirty"] is True and dirty["hash"] != clean["hash"]
    assert describe_code(dirty).endswith(", uncommitted changes")


def test_a_cell_made_by_other_code_is_stale(tmp_path, data_root):
    from fewshot.bench.provenance import code_identity

    suite = parse_suite(BASE)
    out = tmp_path / "res"
    run_suite(suite, out, data_dir=data_root, log=lambda m: None)
    path = cell_path(out, CellKey("toy", "majority", 2, 0))
    cell = json.loads(path.read_text())
    here = code_identity()
    assert cell["code"]["hash"] == here["hash"], "the cell records the code that ran it"
    assert cell["code"].get("git_commit") == here.get("git_commit")
    again = run_suite(suite, out, data_dir=data_root, log=lambda m: None)
    assert (again.ran, again.skipped) == (0, 1), "same code, parameters and data: skipped"

    cell["code"]["hash"] = "0" * 64  # as if an earlier version of the package had made it
    write_json_atomic(path, cell)
    logs: list[str] = []
    rerun = run_suite(suite, out, data_dir=data_root, log=logs.append)
    assert (rerun.ran, rerun.skipped) == (1, 0), "a finished cell of other code runs again"
    assert any("made by other code" in line for line in logs), logs
    assert json.loads(path.read_text())["code"]["hash"] == here["hash"]

    del cell["code"]["hash"]  # a cell written before code hashes were recorded
    write_json_atomic(path, cell)
    assert run_suite(suite, out, data_dir=data_root, log=lambda m: None).ran == 1


def _write_cells(folder: Path, cells: list[dict], seeds=(0, 1)) -> None:
    from fewshot.bench.suite import StrategySpec, Suite

    datasets = list(dict.fromkeys(c["dataset"] for c in cells))
    strategies = list(dict.fromkeys(c["strategy"] for c in cells))
    suite = Suite(
        name="versions",
        datasets=datasets,
        k=[8],
        seeds=list(seeds),
        strategies=[StrategySpec(s, "majority", {}, (8,)) for s in strategies],
    )
    write_json_atomic(folder / "suite.json", suite.to_dict())
    for c in cells:
        write_json_atomic(cell_path(folder, CellKey(c["dataset"], c["strategy"], c["k"], c["seed"])), c)


def _run_analysis(script: str, folder: Path, *options: str) -> subprocess.CompletedProcess:
    """Run ``benchmarks/<script> <folder> [options]`` as a user would; it must exit 0."""
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), str(folder), *options],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_report_refuses_mixed_code_versions_unless_allowed(tmp_path, capsys):
    from fewshot.bench.report import MixedCodeError
    from fewshot.cli import main

    other = {"fewshot": "0.1.0", "hash": "2" * 64, "git_commit": "b" * 40, "git_dirty": False}
    cells = [
        _cell_record("a", "x", 8, 0, 0.5),
        _cell_record("a", "x", 8, 1, 0.6),
        _cell_record("a", "y", 8, 0, 0.7),
        _cell_record("a", "y", 8, 1, 0.8, code=other),
        _cell_record("b", "x", 8, 0, error="boom", code={"hash": "3" * 64}),  # failed cells carry no numbers
    ]
    _write_cells(tmp_path, cells)
    with pytest.raises(MixedCodeError) as exc:
        write_report(tmp_path)
    msg = str(exc.value)
    assert "mixes 2 code versions" in msg and "--allow-mixed" in msg
    assert "commit aaaaaaaaaa, code 111111111111 (3 cells)" in msg
    assert "commit bbbbbbbbbb, code 222222222222 (1 cell)" in msg
    assert "3333" not in msg
    assert not (tmp_path / "summary.md").exists(), "nothing is written"

    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fewshot: error:") and err.count("\n") == 1 and "mixes 2 code versions" in err

    assert main(["report", str(tmp_path), "--allow-mixed"]) == 0
    md = (tmp_path / "summary.md").read_text()
    footer = md.strip().splitlines()[-1]
    assert (
        "code: MIXED, reported with --allow-mixed: commit aaaaaaaaaa, code 111111111111 (3 cells); "
        "commit bbbbbbbbbb, code 222222222222 (1 cell)" in footer
    )
    assert "**Mixed code versions**" in md


def test_report_footer_names_every_commit_of_one_code_version(tmp_path):
    """Cells of one code hash started at several commits (which changed only docs or results) make
    one version; the footer names each commit, not the first alone."""
    later = {"fewshot": "0.1.0", "hash": "1" * 64, "git_commit": "c" * 40, "git_dirty": False}
    cells = [_cell_record("a", "x", 8, 0, 0.5), _cell_record("a", "x", 8, 1, 0.6, code=later)]
    _write_cells(tmp_path, cells)
    write_report(tmp_path)
    footer = (tmp_path / "summary.md").read_text().strip().splitlines()[-1]
    assert "code: commits aaaaaaaaaa, cccccccccc, code 111111111111 (sha256" in footer


def test_bench_still_succeeds_when_the_report_would_mix_code_versions(tmp_path, data_root, capsys):
    """A run limited to one strategy next to cells another code version made: the cells are fine,
    the report is not written, and the message says why and what to do."""
    from fewshot.cli import main

    suite = _suite_file(tmp_path, RERUN.replace("multi_label = true", "multi_label = false"))
    out = tmp_path / "res"
    old = _cell_record("toy", "maj-bad", 2, 0, 0.5)  # made by some other commit
    old.update(metric="accuracy", n_test=13)
    write_json_atomic(cell_path(out, CellKey("toy", "maj-bad", 2, 0)), old)
    argv = ["bench", str(suite), "--out", str(out), "--data-dir", str(data_root), "--only-strategy", "maj"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "fewshot bench: report not written:" in err and "mixes 2 code versions" in err and "--allow-mixed" in err
    assert not (out / "summary.md").exists()
    assert main(argv + ["--allow-mixed"]) == 0
    assert "MIXED, reported with --allow-mixed" in (out / "summary.md").read_text()


def test_report_refuses_uncommitted_changes_and_names_a_clean_commit(tmp_path):
    from fewshot.bench.report import MixedCodeError

    dirty = {**CLEAN_CODE, "git_dirty": True}
    dirty_dir, clean_dir, unknown_dir = tmp_path / "dirty", tmp_path / "clean", tmp_path / "unknown"
    _write_cells(dirty_dir, [_cell_record("a", "x", 8, 0, 0.5, code=dirty)], seeds=(0,))
    with pytest.raises(MixedCodeError, match=r"uncommitted changes: commit aaaaaaaaaa, code 111111111111, "
                       r"uncommitted changes \(1 cell\)"):
        write_report(dirty_dir)
    md = write_report(dirty_dir, allow_mixed=True)["summary.md"].read_text()
    assert "code: MIXED, reported with --allow-mixed: commit aaaaaaaaaa, code 111111111111, uncommitted " \
           "changes (1 cell)" in md

    _write_cells(unknown_dir, [_cell_record("a", "x", 8, 0, 0.5, code={})], seeds=(0,))
    with pytest.raises(MixedCodeError, match="do not record which code made them"):
        write_report(unknown_dir)

    _write_cells(clean_dir, [_cell_record("a", "x", 8, s, 0.5) for s in (0, 1)])
    md = write_report(clean_dir)["summary.md"].read_text()
    assert "code: commit aaaaaaaaaa, code 111111111111 (sha256 of the fewshot package's files; every cell)" in md
    assert "MIXED" not in md and "Mixed code" not in md


# --------------------------------------------------------------------------- a killed harness
def _cell_processes(pid: int) -> list[int]:
    """Live (not zombie) cell processes (``fewshot.bench._child``) whose parent is ``pid`` (Linux /proc).
    Matched by command line: the harness also runs short-lived ``git`` children for its provenance."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and b"fewshot.bench._child" in cmdline:
            out.append(int(stat.parent.name))
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has stopped; it only waits for init to collect its status


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the cell's process")
def test_a_killed_harness_leaves_no_cell_training_and_the_next_run_cleans_its_temp_files(
    tmp_path, data_root, tiny_bert_dir, monkeypatch
):
    import signal
    import tempfile
    import time

    from fewshot._atomic import pid_alive

    # a cell that trains for a long time: the head strategy on a tiny model with 100000 epochs
    slow = _suite_file(
        tmp_path,
        'name = "slow"\ndatasets = ["toy"]\nk = [2]\n\n[[strategies]]\nname = "head"\n'
        f'params = {{ model = "{tiny_bert_dir}", epochs = 100000, max_length = 16 }}\n',
    )
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    out = tmp_path / "out"
    env = dict(os.environ, TMPDIR=str(temp_root), PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "fewshot", "bench", str(slow), "--out", str(out), "--data-dir", str(data_root)]
    harness = subprocess.Popen(
        cmd + ["--no-report"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        cells: list[int] = []
        while not cells and time.time() < deadline and harness.poll() is None:
            cells = _cell_processes(harness.pid)
            time.sleep(0.2)
        assert cells, "the harness never started the cell's process"
        time.sleep(3)  # let it get into training
        cell_file = cell_path(out, CellKey("toy", "head", 2, 0))
        assert _running(cells[0]) and not cell_file.exists(), "the cell is still training"
        left = [p for p in temp_root.iterdir() if p.name.startswith(f"fewshot-bench-{harness.pid}-")]
        assert left, "the harness keeps its payloads in a folder named with its pid"
        harness.send_signal(signal.SIGKILL)
        harness.wait(10)
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()
    deadline = time.time() + 5
    while _running(cells[0]) and time.time() < deadline:
        time.sleep(0.1)
    survived = _running(cells[0])
    if survived:  # do not leave it training after the test
        os.kill(cells[0], signal.SIGKILL)
    assert not survived, "the cell's process outlived the killed harness"
    time.sleep(0.5)
    assert not cell_file.exists(), "no orphan finished the cell behind the harness's back"
    assert all(p.exists() for p in left), "SIGKILL left the harness's temporary folder behind"

    # half-written files of dead writers, and one of a live process that must be kept
    dead_pid = harness.pid
    assert not pid_alive(dead_pid)
    stale = cell_file.parent / f".{cell_file.name}.tmp-{dead_pid}-0123abcd"
    live = cell_file.parent / f".other.json.tmp-{os.getpid()}-0123abcd"
    for path in (stale, live):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{half")

    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    logs: list[str] = []
    result = run_suite(parse_suite(BASE), out, data_dir=data_root, log=logs.append)
    assert result.ran == 1 and not result.errors
    assert not any(p.exists() for p in left) and not stale.exists(), "the next run removed what the dead left"
    assert live.exists(), "a live process's temporary file is left alone"
    assert any("removed 2 temporary" in line for line in logs), logs
    assert not [p for p in temp_root.iterdir() if p.name.startswith("fewshot-bench-")], "and cleans up after itself"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_a_cell_process_dies_with_its_parent(platform):
    """Linux uses prctl(PR_SET_PDEATHSIG); other platforms a thread that polls the parent's pid
    (exercised here by pretending to be macOS)."""
    import signal
    import time

    child = (
        "import sys, time\n"
        f"sys.platform = {platform!r}\n"
        "from fewshot.bench._child import die_with_parent\n"
        "print(die_with_parent(), flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', {child!r}])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", parent], env=env, stdout=subprocess.PIPE, text=True)
    try:
        child_pid = int(proc.stdout.readline())
        mechanism = proc.stdout.readline().strip()  # the grandchild shares the pipe
        assert mechanism == ("prctl" if platform == "linux" else "poll")
        assert _running(child_pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.time() + 5
        while _running(child_pid) and time.time() < deadline:
            time.sleep(0.1)
        survived = _running(child_pid)
        if survived:
            os.kill(child_pid, signal.SIGKILL)
        assert not survived, f"the child outlived its parent ({mechanism})"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


# --------------------------------------------------------------------------- parameter grids
GRID_SUITE = """
name = "grid-study"
datasets = ["toy"]
k = [2]

[[strategies]]
name = "majority"
label = "maj"
params = { multi_label = false }
grid = { threshold = [0.3, 0.45], multi_label_dummy = ["a b", "c"] }
"""


def test_a_parameter_grid_expands_into_one_configuration_per_combination():
    from fewshot.bench.suite import Suite

    suite = parse_suite(GRID_SUITE)
    assert [s.label for s in suite.strategies] == [
        "maj-threshold-0.3-multi_label_dummy-a_b",
        "maj-threshold-0.3-multi_label_dummy-c",
        "maj-threshold-0.45-multi_label_dummy-a_b",
        "maj-threshold-0.45-multi_label_dummy-c",
    ]
    first = suite.strategies[0]
    assert first.params == {"multi_label": False, "threshold": 0.3, "multi_label_dummy": "a b"}
    assert first.varied == {"threshold": 0.3, "multi_label_dummy": "a b"} and first.k == (2,)
    assert len(suite.cells()) == 4
    again = Suite.from_dict(json.loads(json.dumps(suite.to_dict())))
    assert again.strategies == suite.strategies, "suite.json keeps the grid points"


BAD_GRIDS = [
    ("grid = { threshold = [] }", r"grid.threshold must be a non-empty list"),
    ("grid = { threshold = 0.3 }", r"grid.threshold must be a non-empty list"),
    ("grid = { threshold = [0.3, 0.3] }", r"grid.threshold repeats a value"),
    ("params = { threshold = 0.3 }\ngrid = { threshold = [0.4] }", r"'threshold' is set both in params and in grid"),
    ('grid = "threshold"', r"grid must be a table of lists"),
]


@pytest.mark.parametrize("text,match", BAD_GRIDS, ids=[b[1][:30] for b in BAD_GRIDS])
def test_a_bad_grid_is_a_clear_error(text, match):
    with pytest.raises(SuiteError, match=match):
        parse_suite(BASE + text + "\n")


def test_a_grid_runs_each_combination_with_its_parameters(tmp_path, data_root):
    suite = parse_suite(BASE + "grid = { threshold = [0.3, 0.6] }\n")
    out = tmp_path / "res"
    result = run_suite(suite, out, data_dir=data_root, log=lambda m: None)
    assert result.ran == 2 and not result.errors
    for value in (0.3, 0.6):
        cell = json.loads(cell_path(out, CellKey("toy", f"majority-threshold-{value}", 2, 0)).read_text())
        assert cell["params"]["threshold"] == value and cell["strategy_name"] == "majority"
    assert json.loads((out / "suite.json").read_text())["strategies"][1]["varied"] == {"threshold": 0.6}


# --------------------------------------------------------------------------- proportional samples
def test_proportional_samples_keep_the_class_shares():
    from fewshot.bench.runner import proportional_indices

    y = ["ham"] * 87 + ["spam"] * 13 + ["rare"]
    idx = proportional_indices(y, 20, seed=0)
    assert len(idx) == len(set(idx)) == 20
    drawn = [y[i] for i in idx]
    assert (drawn.count("ham"), drawn.count("spam"), drawn.count("rare")) == (16, 3, 1)
    assert proportional_indices(y, 20, seed=0) == idx and proportional_indices(y, 20, seed=1) != idx


def test_a_proportional_suite_draws_k_times_classes_rows_in_the_train_shares(tmp_path, data_root):
    suite = parse_suite('sampling = "proportional"\n' + BASE)
    out = tmp_path / "res"
    run_suite(suite, out, data_dir=data_root, log=lambda m: None)
    cell = json.loads(cell_path(out, CellKey("toy", "majority", 2, 0)).read_text())
    # toy's train split holds 12 a, 9 b, 2 c: 2 x 3 classes = 6 rows, in those shares
    assert cell["sampling"] == "proportional" and cell["n_train"] == 6
    assert cell["class_counts"] == {"a": 3, "b": 2, "c": 1} and cell["short_classes"] == {}
    with pytest.raises(SuiteError, match="sampling must be 'per_class'"):
        parse_suite('sampling = "natural"\n' + BASE)


# --------------------------------------------------------------------------- tuning never sees test rows
def test_holdout_split_is_seeded_stratified_and_disjoint():
    from fewshot.bench.runner import holdout_split

    y = ["a"] * 10 + ["b"] * 5 + ["c"] * 2 + ["d"]
    kept, held = holdout_split(y, 0.2, seed=0)
    assert sorted(kept + held) == list(range(len(y))) and not set(kept) & set(held)
    held_labels = [y[i] for i in held]
    assert held_labels.count("a") == 2 and held_labels.count("b") == 1 and held_labels.count("c") == 1
    assert "d" not in held_labels, "a class with one row keeps it for training"
    assert holdout_split(y, 0.2, seed=0) == (kept, held) and holdout_split(y, 0.2, seed=1) != (kept, held)


def test_a_validation_suite_never_scores_on_test_rows(tmp_path, data_root):
    from fewshot.bench.runner import holdout_split

    with_val = _write_dataset(tmp_path / "data" / "withval", {"a": 8, "b": 8}, {"a": 3, "b": 3})
    with open(with_val / "validation.jsonl", "w") as fh:
        for label, n in (("a", 4), ("b", 5)):
            for i in range(n):
                fh.write(json.dumps({"text": f"{label} validation message {i}", "label": label}) + "\n")
    _write_dataset(tmp_path / "data" / "noval", {"a": 10, "b": 10}, {"a": 3, "b": 3})
    suite = parse_suite(
        'eval_split = "validation"\ndatasets = ["withval", "noval"]\nk = [3]\n\n'
        '[[strategies]]\nname = "majority"\n'
    )
    out = tmp_path / "res"
    run_suite(suite, out, data_dir=tmp_path / "data", log=lambda m: None)
    val = json.loads(cell_path(out, CellKey("withval", "majority", 3, 0)).read_text())
    assert val["eval_split"] == "validation" and val["n_test"] == 9
    hold = json.loads(cell_path(out, CellKey("noval", "majority", 3, 0)).read_text())
    ds = load_dataset_folder(tmp_path / "data" / "noval")
    _, held = holdout_split(ds.train.y, 0.2, seed=0)
    assert hold["eval_split"] == "train-holdout" and hold["n_test"] == len(held) == 4
    assert not set(hold["train_indices"]) & set(held), "the k-shot sample is not drawn from the held-out rows"
    assert hold["n_train"] == 6
    md = write_report(out, allow_mixed=True)["summary.md"].read_text()
    assert "noval (accuracy, train-holdout n=4)" in md and "withval (accuracy, validation n=9)" in md
    assert "never on test rows" in md
    with pytest.raises(SuiteError, match="eval_split must be 'test'"):
        parse_suite('eval_split = "dev"\n' + BASE)


def test_tuning_analysis_compares_each_configuration_with_the_default(tmp_path):
    """benchmarks/tuning.py: paired comparisons of each configuration against <strategy>-default."""
    base = {("trec", 0): 0.60, ("trec", 1): 0.70, ("cr", 0): 0.80, ("cr", 1): 0.75}
    lift = {("trec", 0): 0.021, ("trec", 1): 0.019, ("cr", 0): 0.020, ("cr", 1): 0.022}
    swing = {("trec", 0): 0.03, ("trec", 1): -0.02, ("cr", 0): -0.03, ("cr", 1): 0.01}
    configs = {
        "setfit-default": base,
        "setfit-body_learning_rate-2e-05": {key: v + lift[key] for key, v in base.items()},
        "setfit-body_learning_rate-1e-04": {key: v + swing[key] for key, v in base.items()},
    }
    cells = []
    for label, scores in configs.items():
        for (d, seed), v in scores.items():
            cell = _cell_record(d, label, 8, seed, v)
            cell.update(strategy_name="setfit", eval_split="train-holdout")
            cells.append(cell)
    _write_cells(tmp_path, cells)
    proc = _run_analysis("tuning.py", tmp_path)
    text = (tmp_path / "tuning.md").read_text()
    assert proc.stdout.strip() == text.strip()
    assert "## setfit, k = 8" in text and "Scored on: train-holdout rows" in text and "Warning" not in text
    lines = [line for line in text.splitlines() if line.startswith("| setfit-")]
    assert [line.split(" | ")[0] for line in lines] == [
        "| setfit-body_learning_rate-2e-05", "| setfit-default", "| setfit-body_learning_rate-1e-04"
    ], "best average first"
    assert "+2.1 ± 0.1, ahead 4/4: better |" in lines[0]
    assert lines[1].endswith("| baseline |")
    assert "-0.3 ± 1.4, ahead 2/4: tie |" in lines[2]  # mean -0.25 points
    assert "_Code: commit aaaaaaaaaa, code 111111111111 (12 cells)._" in text


def test_auto_replay_scores_each_choice_rule_by_the_picks_own_cell(tmp_path):
    """benchmarks/replay_auto.py: other choice rules replayed on an auto cell's recorded folds."""
    def row(candidate, folds, cost, brier, chosen=False):
        return {"candidate": candidate, "fold_scores": folds, "mean_test_score": sum(folds) / len(folds),
                "fold_brier": brier, "fold_log_loss": [1.0] * len(folds),
                "mean_fit_seconds": cost, "mean_predict_seconds": 0.0, "skipped": False, "chosen": chosen}

    # seed 0: setfit trails prompt by 1 SE of the paired difference (0.0625): cheaper within the noise;
    #   by Brier score prompt is best (0.175), setfit behind it by 0.025 ± 0.075 (within half an SE).
    # seed 1: head is within the noise of prompt, but also within one SE of chance (0.5625 vs 0.5);
    #   by Brier score prompt is best, setfit behind by 0.2 on every fold.
    folds = {
        0: [row("setfit", [.75, 1, .75, 1], 10, [.2, .2, .2, .2], True), row("prompt", [1, 1, .75, 1], 50, [.1, .4, .1, .1]),
            row("head", [.5, .5, .75, .5], 5, [.5] * 4),
            row("ensemble(prompt+setfit)", [1, 1, .75, .75], 60, [.2, .3, .2, .2])],
        1: [row("setfit", [.5, .5, .5, .5], 10, [.5] * 4), row("prompt", [.75, .5, .75, .5], 50, [.3] * 4),
            row("head", [.5, .5, .75, .5], 5, [.45] * 4, True),
            row("ensemble(prompt+head)", [.75, .5, .75, .5], 55, [.35] * 4)],
    }
    scored = {"setfit": (.70, .60), "prompt": (.85, .84), "head": (.55, .52), "ensemble": (.80, .80)}
    cells = []
    for label, values in scored.items():
        for seed, v in enumerate(values):
            cells.append(_cell_record("x", label, 8, seed, v) | {"eval_split": "validation"})
    for seed in (0, 1):
        cells.append(_cell_record("x", "auto", 8, seed, scored["setfit" if seed == 0 else "head"][seed])
                     | {"eval_split": "validation", "cv_table": folds[seed], "class_counts": {"a": 8, "b": 8}})
    _write_cells(tmp_path, cells)
    _run_analysis("replay_auto.py", tmp_path)
    text = (tmp_path / "replay.md").read_text()
    assert "Warning" not in text and "reproduces every cell's recorded pick" in text
    draw = {line.split(" | ")[2]: line for line in text.splitlines() if line.startswith("| x | 8 |")}
    assert draw["0"].endswith("| setfit: 70.0 | prompt: 85.0 | prompt: 85.0 | setfit: 70.0 |")
    assert draw["1"].endswith("| head: 52.0 | prompt: 84.0 | prompt: 84.0 | prompt: 84.0 |")
    rules = {line.split(" | ")[0][2:]: line for line in text.splitlines() if line.startswith("| ") and "/2 |" in line}
    assert rules["current"] == "| current | 61.0 | -23.5 ± 8.5 | baseline | 0/2 |"
    assert rules["half_se"] == "| half_se | 84.5 | +0.0 ± 0.0 | +23.5 ± 8.5 | 2/2 |"
    assert rules["no_near_chance"].endswith("| +16.0 ± 16.0 | 1/2 |")  # ahead by one SE, not more
    assert rules["always prompt (reference)"] == "| always prompt (reference) | 84.5 | +0.0 ± 0.0 | +23.5 ± 8.5 | 2/2 |"
    assert "**Verdict: change to `half_se`** (+23.5 ± 8.5 points against `current`)." in text  # ties best_mean
    assert "Interim" not in text

    # tune_auto_fresh's rules keep the first candidate (setfit) unless the folds show another is better
    text = _run_analysis("replay_auto.py", tmp_path, "--rules", "tune_auto_fresh").stdout
    draw = {line.split(" | ")[2]: line for line in text.splitlines() if line.startswith("| x | 8 |")}
    # seed 0: prompt leads setfit by exactly 1 SE; seed 1: current's pick (head) sits within 1 SE of chance
    assert draw["0"].endswith("| setfit: 70.0 | prompt: 85.0 | setfit: 70.0 | setfit: 70.0 | prompt: 85.0 | setfit: 70.0 |")
    assert draw["1"].endswith("| head: 52.0 | prompt: 84.0 | prompt: 84.0 | setfit: 60.0 | prompt: 84.0 | prompt: 84.0 |")
    assert "The replayed `current` rule reproduces every cell's recorded pick." in text
    rules = {line.split(" | ")[0][2:]: line for line in text.splitlines() if line.startswith("| ") and "/2 |" in line}
    assert rules["first_half_se"].startswith("| first_half_se | 84.5 | +0.0 ± 0.0 | +23.5 ± 8.5 |")
    assert rules["near_chance_first"].startswith("| near_chance_first | 65.0 |")
    assert rules["brier_first_half_se"].startswith("| brier_first_half_se | 77.0 |")
    # ahead by more than twice the SE (23.5 > 17.0); best_brier ties it, and the rule listed first wins
    assert "by more than 2 times the standard error of their paired difference" in text
    assert "**Verdict: change to `first_half_se`**" in text

    # current is the rule each cell ran: a cell run with half a standard error picks prompt at seed 0
    cells[-2]["params"] = {"cheaper_within_se": 0.5}
    cells[-2]["headline"] = .85
    _write_cells(tmp_path, cells)
    text = _run_analysis("replay_auto.py", tmp_path, "--rules", "tune_auto_fresh").stdout
    assert "The replayed `current` rule reproduces every cell's recorded pick." not in text  # cv_table says setfit
    assert "| 85.0 | 85.0 | prompt: 85.0 | prompt: 85.0 | setfit: 70.0 | prompt: 85.0 | prompt: 85.0 | setfit: 70.0 |" in text
    del cells[-2]["params"]
    cells[-2]["headline"] = .70

    # cells from before the fold Brier scores were recorded cannot be read by the Brier rules
    for r in folds[0]:
        del r["fold_brier"]
    _write_cells(tmp_path, cells)
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "replay_auto.py"), str(tmp_path), "--rules",
                           "tune_auto_fresh"], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)),
                          timeout=120)
    assert proc.returncode != 0 and "the rule best_brier needs each candidate's fold Brier scores" in proc.stderr
    assert "Verdict: change to `half_se`" in _run_analysis("replay_auto.py", tmp_path).stdout  # tune_auto's rules do not
    _write_cells(tmp_path, cells, seeds=(0, 1, 2))  # a third seed planned, not run yet
    text = _run_analysis("replay_auto.py", tmp_path).stdout
    assert "**Interim: 2 of the 3 planned draws.**" in text

    # a pick without its own cell (an ensemble of another pair) leaves the draw out of the comparison
    folds[1][1]["fold_scores"] = [.5, .5, .5, .5]
    folds[1][3]["fold_scores"] = [1, 1, 1, 1]
    cells[-1]["cv_table"] = folds[1]
    _write_cells(tmp_path, cells)
    text = _run_analysis("replay_auto.py", tmp_path).stdout
    assert "over the 1 draws every rule's pick has a score for (1 left out" in text
    assert "recorded head, replayed ensemble(prompt+head)" in text


def test_setfit_speed_analysis_pairs_each_quantize_mode_with_plain_setfit(tmp_path):
    cells = []
    for d, seed, acc in (("cr", 0, 0.80), ("cr", 1, 0.84), ("sst5", 0, 0.40), ("sst5", 1, 0.44)):
        plain = _cell_record(d, "setfit-upstream", 8, seed, acc, train=30.0, pps=100.0)
        plain.update(strategy_name="setfit-upstream", params={"seed": seed})
        f32 = _cell_record(d, "setfit-quantize-false", 8, seed, acc + 0.01, train=10.0, pps=300.0)
        f32.update(strategy_name="setfit", params={"quantize": False, "seed": seed})
        int8 = _cell_record(d, "setfit-quantize-int8", 8, seed, acc + (0.01 if seed else -0.01), train=10.0, pps=500.0)
        int8.update(strategy_name="setfit", params={"quantize": "int8", "seed": seed})
        cells += [plain, f32, int8]
    _write_cells(tmp_path, cells)
    _run_analysis("setfit_speed.py", tmp_path)
    text = (tmp_path / "speed.md").read_text()
    assert "| setfit-quantize-false | False | 4 | +1.00 ± 0.0 (better) | 0.33 | 3.00 |" in text
    assert "| setfit-quantize-int8 | int8 | 4 | +0.00 ± 0.6 (tie) | 0.33 | 5.00 |" in text


def test_prompt_objective_diagnosis_shows_loss_and_the_predicted_label_spread(tmp_path):
    cell = _cell_record("sms", "prompt-generate", 8, 0, 0.18)
    cell.update(
        strategy_name="prompt",
        loss_history=[2.5, 1.25],
        confusion_matrix={"labels": ["ham", "spam"], "matrix": [[3, 85], [0, 12]]},
    )
    _write_cells(tmp_path, [cell], seeds=(0,))
    proc = _run_analysis("prompt_objective.py", tmp_path)
    assert "| prompt-generate | sms | 8 | 0 | 2.500 → 1.250 | 18.0 | spam 97% |" in proc.stdout


def test_active_target_analysis_reads_labels_saved_and_the_worst_round_against_random(tmp_path):
    """benchmarks/active_target.py: labels the default method needs to reach random's final mean
    (share of random's labels, 60% or less), and its worst paired round against the seed noise."""
    curves = {  # (dataset, method) -> seed -> metric at 4, 12 and 20 labels
        ("a", "random"): {0: (.5, .6, .7), 1: (.5, .62, .72)},  # final mean 71.0 at 20 labels
        ("a", "hybrid"): {0: (.5, .70, .75), 1: (.5, .74, .76)},  # 72.0 at 12: share 0.60, the limit
        ("a", "margin"): {0: (.5, .5, .6)},  # one seed of two: partial, never reaches 71
        ("b", "random"): {0: (.5, .6, .8), 1: (.5, .6, .8)},
        ("b", "hybrid"): {0: (.5, .5, .79), 1: (.5, .52, .81)},  # reaches 80 at 20, trails by 9 ± 1.4 at 12
        ("c", "random"): {0: (.5, .6, .7), 1: (.5, .62, .72)},
        ("c", "hybrid"): {0: (.5, .70, .75), 1: (.5, .74, .76)},
    }

    def cells():
        out = []
        for (d, method), by_seed in curves.items():
            for seed, metrics in by_seed.items():
                cell = _cell_record(d, f"setfit-{method}", 8, seed, metrics[-1])
                cell.update(active={"method": method, "start": "random", "n_classes": 77 if d == "c" else 2},
                            curve=[{"n_labels": n, "metric": m} for n, m in zip((4, 12, 20), metrics, strict=True)])
                out.append(cell)
        return out

    _write_cells(tmp_path, cells())
    # by default the library's default for the dataset's number of classes is judged: badge on a and b
    # (2 classes; no badge cells here, hybrid is read beside it), hybrid on c (77 classes)
    text = _run_analysis("active_target.py", tmp_path).stdout
    assert ("The method judged, the library's default for the dataset's number of classes "
            "(`fewshot.active.default_method`: `badge` on a, `badge` on b, `hybrid` on c)") in text
    assert "**Target not judged yet:** 1 of 3 datasets have every planned seed of the judged method" in text
    assert "| a | hybrid | 2 | 20, 71.0 | 20, 75.5 | 12 (0.60) |" in text
    assert "| c | **hybrid** | 2 | 20, 71.0 | 20, 75.5 | 12 (0.60) |" in text

    proc = _run_analysis("active_target.py", tmp_path, "--method", "hybrid")
    text = (tmp_path / "target.md").read_text()
    assert proc.stdout.strip() == text.strip()
    rows = {tuple(line.split(" | ")[:2]): line for line in text.splitlines() if line.startswith("| ")}
    assert rows[("| a", "**hybrid**")].endswith(
        "| 2 | 20, 71.0 | 20, 75.5 | 12 (0.60) | 20: +4.5 ± 0.7 | within 60%, within the noise |")  # after the start
    assert rows[("| b", "**hybrid**")].endswith(
        "| 20 (1.00) | 12: -9.0 ± 1.4 | over 60%, **worse than random beyond the noise** |")
    assert rows[("| a", "margin")].endswith("| never | 12: -10.0 ± 0.0 | partial (1/2 seeds, random 2/2) |")
    assert "**Target missed:** `hybrid` reaches random's metric with at most 60% of its labels on 2 of 3 " \
           "datasets (needed: 3) and trails random beyond the noise on 1 (allowed: none)." in text

    curves[("b", "hybrid")] = {0: (.5, .8, .8), 1: (.5, .8, .8)}  # 80 at 12 labels: share 0.60
    _write_cells(tmp_path, cells())
    assert "**Target met:** `hybrid` reaches random's metric with at most 60% of its labels on 3 of 3" in \
        _run_analysis("active_target.py", tmp_path, "--method", "hybrid").stdout

    cell_path(tmp_path, CellKey("c", "setfit-random", 8, 1)).unlink()
    text = _run_analysis("active_target.py", tmp_path, "--method", "hybrid").stdout
    assert "partial (2/2 seeds, random 1/2)" in text
    assert "**Target not judged yet:** 2 of 3 datasets have every planned seed" in text

    # --earlier: random's missing cell from an earlier run of the same suite (another code version, a
    # suite that listed other methods); every cell both hold must be the same run
    def earlier_cells(**change):
        out = []
        for c in cells():
            c.update(code=dict(CLEAN_CODE, hash="2" * 64), active_setup={"methods": ["random", "hybrid"], "pool_size": 9})
            out.append({**c, **change} if (c["dataset"], c["strategy"], c["seed"]) == ("c", "setfit-random", 1) else c)
        return out

    for c in cells():  # the folder's own cells record their setup as the harness does
        if (c["dataset"], c["strategy"], c["seed"]) != ("c", "setfit-random", 1):
            c.update(active_setup={"methods": ["random", "hybrid", "badge"], "pool_size": 9})
            write_json_atomic(cell_path(tmp_path, CellKey(c["dataset"], c["strategy"], c["k"], c["seed"])), c)
    earlier = tmp_path / "earlier"
    _write_cells(earlier, earlier_cells())
    text = _run_analysis("active_target.py", tmp_path, "--method", "hybrid", "--earlier", str(earlier)).stdout
    assert "The first folder holds 12 of its 18 planned cells; the 1 cell(s) it lacks are taken from earlier runs " \
           "of the same setup (1 at code 222222222222). Of the cells both hold, 12 were compared" in text
    assert "**Target met:** `hybrid` reaches random's metric" in text
    assert "_Code: " in text and "(12 cells)" in text and "(1 cells)" in text
    # the curves it reads, the earlier cell among them, drawn beside target.md
    assert "![Learning curves: metric against labels used, mean over seeds ± std](target_curves.png)" in text
    assert (tmp_path / "target_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "target_curves.png").unlink()
    text = _run_analysis("active_target.py", tmp_path, "--method", "hybrid", "--no-plot").stdout
    assert "target_curves.png" not in text and not (tmp_path / "target_curves.png").exists()

    def fails(earlier_run, message):
        _write_cells(earlier, earlier_run)
        proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "active_target.py"), str(tmp_path),
                               "--earlier", str(earlier)], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
        assert proc.returncode != 0 and message in proc.stderr, proc.stderr

    fails(earlier_cells(active_setup={"methods": [], "pool_size": 5}), "was run with another setup")  # another pool
    other_labels = [{**c, "train_indices": [1, 2, 3]} if (c["dataset"], c["strategy"], c["seed"]) == ("a", "setfit-hybrid", 0)
                    else c for c in earlier_cells()]  # a cell both hold, drawn with other labels
    fails(other_labels, "the cell ('a', 'setfit-hybrid', 8, 0) differs from the one in the first folder")


def _write_warmup_cells(folder: Path, curves: dict, arms, levels, *, max_per_class: int) -> None:
    """Active-learning cells of a warm-up study: ``curves[(dataset, arm)][seed]`` holds the metric at
    each of ``levels`` (labels per class); ``arm`` is a method's name (``"random"``, ``"badge"``,
    ``"kmeans"``) or hybrid's ``warmup``."""
    out = []
    for (d, arm), by_seed in curves.items():
        if arm not in arms:
            continue
        for seed, metrics in by_seed.items():
            method = arm if isinstance(arm, str) else "hybrid"
            cell = _cell_record(d, f"setfit-{method}", 8, seed, metrics[-1])
            active = {"method": method, "start": "random"}
            if method == "hybrid":
                active.update(method_params={"warmup": arm}, max_per_class=max_per_class)
            cell.update(active=active, curve=[{"n_labels": 2 * n, "per_class": n, "metric": m}
                                              for n, m in zip(levels, metrics, strict=True)])
            out.append(cell)
    folder.mkdir(exist_ok=True)
    _write_cells(folder, out)


def test_active_warmup_analysis_finds_where_uncertainty_overtakes_representative_picks(tmp_path):
    """benchmarks/active_warmup.py: mean curves per dataset, then over datasets; the warm-up is the
    smallest level from which the uncertain arm stays at or above the representative one."""
    levels = (2, 6, 10, 14)
    curves = {  # (dataset, arm) -> seed -> metric at each level
        ("a", "random"): {0: (.5, .6, .7, .8), 1: (.5, .6, .7, .8)},
        ("a", 0): {0: (.5, .5, .72, .85), 1: (.5, .55, .70, .83)},
        ("a", 64): {0: (.5, .65, .71, .80), 1: (.5, .63, .71, .80)},
        ("b", "random"): {0: (.4, .5, .6, .7), 1: (.4, .5, .6, .7)},
        ("b", 0): {0: (.4, .45, .6, .75), 1: (.4, .45, .62, .75)},
        ("b", 64): {0: (.4, .55, .6, .7), 1: (.4, .55, .6, .7)},
    }

    def write(folder, arms):
        _write_warmup_cells(folder, curves, arms, levels, max_per_class=14)

    first, second = tmp_path / "start", tmp_path / "warm"
    write(first, ("random", 0))
    write(second, (64,))

    def run(*extra):
        proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "active_warmup.py"), str(first), str(second),
                               *extra],
                              capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    text = run()
    assert text.strip() == (first / "warmup.md").read_text().strip()
    assert "| 6 | 55.0 | 48.8 | 59.5 |" in text  # means over datasets: random, uncertain, representative
    assert "| 10 | 65.0 | 66.0 | 65.5 |" in text
    assert "| 6 | 60.0 | 52.5 | 64.0 | -11.5 ± 4.9 |" in text  # dataset a, paired over its seeds
    assert "**Rule:** warmup = 10: the uncertain curve is at or above the representative one from 10" in text

    # the pre-registered check of the chosen warm-up against random and the uncertain arm
    third = tmp_path / "check"
    curves[("a", 10)] = {0: (.5, .65, .72, .84), 1: (.5, .63, .70, .83)}  # last level: -0.5 vs uncertain
    curves[("b", 10)] = {0: (.4, .55, .61, .75), 1: (.4, .55, .61, .75)}
    write(third, (10,))
    text = run("--check", str(third))
    assert "| a | 2 | 2: +0.0 ± 0.0 | -0.5 |" in text  # the shared random start is its worst level
    assert "**Check passed:** worse than random beyond the noise on 0 dataset(s)" in text
    curves[("b", 10)] = {0: (.4, .45, .6, .75), 1: (.4, .47, .62, .75)}  # trails random at 6: -4 ± 1.4
    write(third, (10,))
    text = run("--check", str(third))
    assert "| b | 2 | 6: -4.0 ± 1.4 (**beyond the noise**) | +0.0 |" in text
    assert "**Check failed:**" in text and "hybrid keeps warmup = 0." in text
    (third / "cells" / "a" / "setfit-hybrid" / "k8-seed1.json").unlink()
    assert "**Check not judged yet:**" in run("--check", str(third))

    curves[("a", 0)] = {0: (.5, .7, .72, .85), 1: (.5, .7, .70, .83)}
    curves[("b", 0)] = {0: (.4, .6, .6, .75), 1: (.4, .6, .62, .75)}
    write(first, ("random", 0))
    assert "**Rule:** warmup = 0: the uncertain curve is at or above the representative one at every level" in run()

    curves[("a", 0)] = {0: (.5, .7, .72, .70), 1: (.5, .7, .70, .70)}  # behind at the last level
    write(first, ("random", 0))
    assert "warmup = 14, the study's last level" in run()


def test_active_warmup_decision_asks_the_same_of_both_candidates(tmp_path):
    """benchmarks/active_warmup_decide.py: the warm-up becomes the default only if it trails random
    beyond the noise no more often than warmup = 0, is ahead of it on the mean curve, and is no more
    than 1 point behind at the last level; not before every planned seed has finished."""
    levels = (2, 6, 10)
    curves = {  # (dataset, warmup or "random") -> seed -> metric at each level
        ("a", "random"): {0: (.5, .6, .7), 1: (.5, .6, .7)},
        ("a", 0): {0: (.5, .55, .72), 1: (.5, .53, .70)},  # trails random at 6: -6.0 ± 1.4
        ("a", 14): {0: (.5, .65, .72), 1: (.5, .63, .72)},
        ("b", "random"): {0: (.4, .5, .6), 1: (.4, .5, .6)},
        ("b", 0): {0: (.4, .5, .62), 1: (.4, .5, .62)},
        ("b", 14): {0: (.4, .48, .6), 1: (.4, .46, .6)},  # trails random at 6: -3.0 ± 1.4
    }

    def write(folder, arms):
        _write_warmup_cells(folder, curves, arms, levels, max_per_class=24)

    first, second = tmp_path / "decide", tmp_path / "warm"
    write(first, ("random", 0))
    write(second, (14,))

    def run(*extra, ok=True):
        proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "active_warmup_decide.py"), str(first),
                               str(second), *extra], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
        assert (proc.returncode == 0) == ok, proc.stderr
        return proc.stdout if ok else proc.stderr

    text = run()
    assert text.strip() == (first / "decision.md").read_text().strip()
    assert "| 6 | 60.0 | 54.0 | 64.0 | **-6.0 ± 1.4** | +4.0 ± 1.4 | +10.0 ± 0.0 |" in text
    assert "| 2 |" not in text  # the shared random start is not a level of the rule
    assert "1. met: the warm-up trails random beyond the noise at 1 (dataset, level) pair(s), warmup = 0 at 1" in text
    assert "2. met: mean over datasets and levels of warm-up − uncertain: +1.50 points" in text
    assert "3. met: at the last level, mean over datasets of warm-up − uncertain: -0.5 points" in text
    assert "**Decision:** warmup = 14 becomes hybrid's default." in text

    curves[("a", 14)] = {0: (.5, .65, .68), 1: (.5, .63, .68)}  # now also trails random at 10: -2.0 ± 0.0
    write(second, (14,))
    text = run()
    assert "1. **not met**: the warm-up trails random beyond the noise at 2 (dataset, level) pair(s)" in text
    assert "3. **not met**: at the last level, mean over datasets of warm-up − uncertain: -2.5 points" in text
    assert "**Decision:** hybrid keeps warmup = 0." in text

    (second / "cells" / "b" / "setfit-hybrid" / "k8-seed1.json").unlink()
    assert "**Not decided yet:**" in run()

    # another method in hybrid's place (tune_active_badge*.toml): the same three checks, its own name
    shutil.rmtree(second)
    curves[("a", "badge")], curves[("b", "badge")] = curves[("a", 14)], curves[("b", 14)]
    write(second, ("badge",))
    text = run()
    assert text.startswith("# The default suggestion method: hybrid or `badge`")
    assert "| labels per class | random | uncertain | badge | uncertain − random | badge − random |" in text
    assert "1. **not met**: badge trails random beyond the noise at 2 (dataset, level) pair(s), warmup = 0 at 1" in text
    assert "**Decision:** hybrid stays the default." in text
    curves[("a", "badge")] = {0: (.5, .65, .72), 1: (.5, .63, .72)}  # the first candidate's curve: adopted
    write(second, ("badge",))
    assert "**Decision:** `badge` replaces hybrid as the default method." in run()

    # --many-classes (tune_active_many.toml): hybrid becomes the default for many classes only if it trails
    # random no more often than badge, badge is behind it at every level and by more than a point on average
    text = run("--many-classes")
    assert text.startswith("# Hybrid or badge on many classes (more than 20)")
    assert "1. met: hybrid trails random beyond the noise at 1 (dataset, level) pair(s), badge at 1" in text
    assert "2. **not met**: badge − uncertain at every level: at most +10.0 points" in text
    assert "3. **not met**: mean over levels of badge − uncertain: +1.50 points (needed: below -1.00)" in text
    assert "**Decision:** badge stays the default for every task." in text
    curves[("a", "badge")] = {0: (.5, .50, .68), 1: (.5, .52, .68)}  # 3 points behind hybrid at 6 and 10
    write(second, ("badge",))
    text = run("--many-classes")
    assert "1. met: hybrid trails random beyond the noise at 1 (dataset, level) pair(s), badge at 3" in text
    assert "2. met: badge − uncertain at every level: at most -2.0 points" in text
    assert "3. met: mean over levels of badge − uncertain: -2.75 points" in text
    assert "**Decision:** hybrid becomes the default for tasks with more than 20 classes" in text
    warm = tmp_path / "warm-only"
    write(warm, (14,))
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "active_warmup_decide.py"), str(first), str(warm),
                           "--many-classes"], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)),
                          timeout=120)
    assert proc.returncode != 0 and "--many-classes compares hybrid with badge" in proc.stderr
    curves[("a", "badge")] = {0: (.5, .65, .72), 1: (.5, .63, .72)}
    write(second, ("badge",))

    # --earlier: a cell the first folder lacks comes from an earlier run of the same suite, which must be
    # the same run wherever both folders hold a cell
    earlier = tmp_path / "earlier"
    write(earlier, ("random", 0))
    (first / "cells" / "a" / "setfit-random" / "k8-seed1.json").unlink()
    assert "**Not decided yet:**" in run()
    text = run("--earlier", str(earlier))
    assert "The first folder holds 7 of its 8 planned cells; the 1 cell(s) it lacks are taken from earlier runs of the same setup " \
           f"(1 at code {CLEAN_CODE['hash'][:12]}). Of the cells both hold, 7 were compared" in text
    assert "**Decision:** `badge` replaces hybrid as the default method." in text
    curves[("b", 0)][1] = (.4, .5, .63)  # the earlier run of a cell both hold ends elsewhere
    write(earlier, ("random", 0))
    assert "differs from the one in the first folder" in run("--earlier", str(earlier), ok=False)


def test_binary_decision_asks_kmeans_to_lead_badge_early_by_a_point_and_not_lose_the_end(tmp_path):
    """benchmarks/active_warmup_decide.py --binary (tune_active_binary.toml): kmeans replaces badge on
    two-class tasks only if it trails random no more often than badge, leads badge at each of the first
    three levels, by more than a point over all levels, and is no more than a point behind at the end."""
    levels = (2, 6, 10, 14, 18)
    curves = {
        ("cr", "random"): {0: (.5, .6, .7, .75, .8), 1: (.5, .6, .7, .75, .8)},
        ("cr", "badge"): {0: (.5, .55, .70, .78, .82), 1: (.5, .57, .70, .78, .82)},  # trails random at 6: -4.0 ± 1.4
        ("cr", "kmeans"): {0: (.5, .62, .73, .77, .82), 1: (.5, .64, .73, .77, .82)},  # behind badge at 14
    }
    first, second = tmp_path / "binary", tmp_path / "candidate"

    def write():
        _write_warmup_cells(first, curves, ("random", "badge"), levels, max_per_class=18)
        _write_warmup_cells(second, curves, ("kmeans",), levels, max_per_class=18)

    def run(*extra, ok=True):
        proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "active_warmup_decide.py"), str(first),
                               str(second), "--binary", *extra], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
        assert (proc.returncode == 0) == ok, proc.stderr
        return proc.stdout if ok else proc.stderr

    write()
    text = run()
    assert text.startswith("# `kmeans` or badge on two-class tasks")
    assert "| labels per class | random | badge | kmeans | badge − random | kmeans − random | kmeans − badge |" in text
    assert "| 6 | 60.0 | 56.0 | 63.0 | **-4.0 ± 1.4** | +3.0 ± 1.4 | +7.0 ± 0.0 |" in text
    assert "1. met: kmeans trails random beyond the noise at 0 level(s), badge at 1" in text
    assert "2. **not met**: kmeans − badge at each of the first 3 levels: +7.0, +3.0, -1.0 points" in text
    assert "3. met: mean over levels of kmeans − badge: +2.25 points (needed: above +1.00)" in text
    assert "4. met: at the last level, kmeans − badge: +0.00 points" in text
    assert "**Decision:** badge stays the default for two-class tasks." in text

    curves[("cr", "kmeans")] = {0: (.5, .62, .73, .80, .82), 1: (.5, .64, .73, .80, .82)}  # now ahead at 14 too
    write()
    assert "**Decision:** `kmeans` becomes the default for tasks with two classes" in run()
    curves[("cr", "kmeans")] = {0: (.5, .62, .73, .80, .80), 1: (.5, .64, .73, .80, .80)}  # but 2 points behind at the end
    write()
    text = run()
    assert "4. **not met**: at the last level, kmeans − badge: -2.00 points (allowed: -1.00)" in text
    assert "**Decision:** badge stays the default for two-class tasks." in text
    curves[("cr", "kmeans")] = {0: (.5, .58, .71, .79, .83), 1: (.5, .56, .71, .79, .83)}  # ahead by a point exactly
    write()
    text = run()
    assert "3. **not met**: mean over levels of kmeans − badge: +1.00 points" in text
    assert "**Decision:** badge stays the default" in text

    (second / "cells" / "cr" / "setfit-kmeans" / "k8-seed1.json").unlink()
    assert "**Not decided yet:**" in run()
    assert "two different rules" in run("--many-classes", ok=False)
    shutil.rmtree(second)
    curves[("cr", "hybrid")] = curves[("cr", "kmeans")]
    _write_warmup_cells(second, {("cr", "badge"): curves[("cr", "badge")]}, ("badge",), levels, max_per_class=18)
    assert "--binary compares another method with badge" in run(ok=False)


def test_mpnet_paper_analysis_judges_issue_14s_targets_only_when_every_cell_finished(tmp_path):
    """benchmarks/mpnet_paper.py: the paper's average (sst5 43.6, cr 88.5: 66.05), parity with plain
    setfit on the same body (paired, 0.5 points), and training time against plain setfit on minilm."""
    acc = {  # (dataset, seed) -> (ours, plain setfit on mpnet, plain setfit on minilm)
        ("sst5", 0): (0.44, 0.45, 0.30), ("sst5", 1): (0.45, 0.45, 0.28),
        ("cr", 0): (0.89, 0.88, 0.80), ("cr", 1): (0.88, 0.89, 0.78),
    }
    train = {"sst5": (130.0, 900.0, 100.0), "cr": (90.0, 800.0, 100.0)}  # ours 1.3x then 0.9x minilm
    cells = []
    for (d, seed), scores in acc.items():
        for label, a, t in zip(("setfit-mpnet", "setfit-upstream-mpnet", "setfit-upstream-minilm"), scores, train[d]):
            cells.append(_cell_record(d, label, 8, seed, a, train=t))
    _write_cells(tmp_path, cells)

    def run():
        proc = _run_analysis("mpnet_paper.py", tmp_path)
        assert proc.stdout.strip() == (tmp_path / "targets.md").read_text().strip()
        return proc.stdout

    text = run()
    assert "| sst5 | 43.6 | 44.5 ± 0.7 (n=2) | 45.0 ± 0.0 (n=2) | 29.0 ± 1.4 (n=2) | -0.5 ± 0.5 (2 draws) |" in text
    assert "| 130 / 900 / 100 | 1.30x |" in text and "| 90 / 800 / 100 | 0.90x |" in text
    assert "| **average** (2 datasets) | **66.05** | **66.5** | **66.8** |" in text
    assert "ours faster on 2 of 4 draws | **1.10x** |" in text
    assert "1. average at or above the paper's (66.05): ours 66.5: **met**" in text
    assert "2. within 0.5 points of plain setfit on `mpnet` on average: -0.2 points: **met**" in text
    assert "3. training time no more than plain setfit on `minilm`: 1.10x: **missed**" in text

    cell_path(tmp_path, CellKey("cr", "setfit-upstream-mpnet", 8, 1)).unlink()
    text = run()
    assert "setfit-upstream-mpnet 3/4, setfit-upstream-minilm 4/4: **partial, no target is judged yet**" in text
    assert text.count("not judged (partial)") == 3 and "**met**" not in text and "**missed**" not in text

# --------------------------------------------------------------------------- bad input
BASE = """
datasets = ["toy"]
k = [2]

[[strategies]]
name = "majority"
"""

BAD_SUITES = [
    ("unknown-dataset", BASE.replace('"toy"', '"nope"'), r"unknown dataset 'nope'.*Datasets there: .*toy"),
    ("unknown-strategy", BASE.replace('name = "majority"', 'name = "sefit"'), r"unknown strategy 'sefit'"),
    ("unknown-param", BASE + "params = { epochs = 3 }\n", r"has no parameter\(s\) epochs"),
    (
        "k-negative",  # k = 0 is the whole training split
        BASE.replace("k = [2]", "k = [-2, 2]"),
        r"k = -2: k is the number of labeled examples per class and must be >= 1 \(or 0 for the whole",
    ),
    ("strategy-k-negative", BASE + "k = [-1]\n", r"k = -1: k is the number .* must be >= 1"),
    ("typo-top-key", BASE + "\n", None),  # replaced below: keys must come before the tables
    (
        "typo-strategy-key",
        BASE + "parms = { threshold = 0.3 }\n",
        r"unknown key 'parms'.*did you mean 'params'",
    ),
    ("no-test-split", BASE.replace('"toy"', '"broken"'), r"broken has no test.jsonl"),
    ("not-toml", BASE + "k = [\n", r"is not valid TOML"),
    ("no-datasets", BASE.replace('datasets = ["toy"]', ""), r'missing key "datasets"'),
    ("duplicate-label", BASE + '\n[[strategies]]\nname = "majority"\n', r"label 'majority' is used twice"),
    ("max-test-zero", "max_test = 0\n" + BASE, r"max_test must be a positive integer"),
    (
        "bad-param-value",
        BASE.replace('name = "majority"', 'name = "setfit"') + "params = { epochs = -1 }\n",
        r"strategy 'setfit': .*epochs",
    ),
    (
        "unknown-ensemble-member",
        BASE.replace('name = "majority"', 'name = "ensemble"') + 'params = { members = ["majority", "sefit"] }\n',
        r"strategy 'ensemble': .*sefit",
    ),
    ("shared-data-not-bool", "shared_data = 'yes'\n" + BASE, r"shared_data must be true .* or false"),
    (
        "not-single-label",
        BASE.replace('"toy"', '"demo:csat"'),
        r"scored by 'mae'; the harness benchmarks single-label",
    ),
]
BAD_SUITES[5] = ("typo-top-key", "seed = [0, 1]\n" + BASE, r"unknown key 'seed'.*did you mean 'seeds'")


@pytest.mark.parametrize("text,match", [b[1:] for b in BAD_SUITES], ids=[b[0] for b in BAD_SUITES])
def test_bad_suite_is_a_clear_error_before_any_cell_runs(tmp_path, data_root, text, match):
    out = tmp_path / "res"
    with pytest.raises(SuiteError, match=match):
        run_suite(load_suite(_suite_file(tmp_path, text)), out, data_dir=data_root, log=lambda m: None)
    assert not out.exists(), "nothing is written when the suite is rejected"


def test_a_worker_reads_the_shared_test_rows_and_refuses_a_copy_that_differs(tmp_path, data_root):
    """Suite `shared_data = true` (the Ray executor's workers read the dataset folders themselves):
    the rows a worker reads are the driver's, and a worker whose copy differs gets a clear error."""
    import shutil

    from fewshot.bench.runner import _dataset_record, read_shared_test_rows
    from fewshot.datasets import resolve_dataset

    suite = parse_suite("max_test = 5\nshared_data = true\n" + BASE)
    assert suite.shared_data and parse_suite(BASE).shared_data is False
    driver = _dataset_record("toy", resolve_dataset("toy", data_root), suite)
    shared = {"data_dir": str(data_root), "suite": suite.to_dict(), "dataset": "toy"}
    rows = read_shared_test_rows(shared, driver["info"]["test_hash"])
    assert rows == {"X_test": driver["X_test"], "y_test": driver["y_test"]} and len(rows["X_test"]) == 5

    copy = tmp_path / "worker"
    shutil.copytree(data_root / "toy", copy / "toy")
    with open(copy / "toy" / "test.jsonl", "a") as fh:  # the worker's copy has one more row
        fh.write(json.dumps({"text": "a late row", "label": "a"}) + "\n")
    with pytest.raises(SuiteError, match=r"this worker's copy of dataset 'toy' .* other test rows than the driver"):
        read_shared_test_rows(dict(shared, data_dir=str(copy)), driver["info"]["test_hash"])
    with pytest.raises(SuiteError, match=r"cannot read dataset 'toy' from .*nowhere.*same path"):
        read_shared_test_rows(dict(shared, data_dir=str(tmp_path / "nowhere")), driver["info"]["test_hash"])


def test_only_k_runs_one_budget_of_the_grid_and_a_later_run_fills_in_the_rest(tmp_path, data_root, capsys):
    """``--only-k`` finishes the small budget of a long grid first; strategies whose own k list
    lacks the chosen budget drop out; the full suite still plans (and later runs) every cell."""
    from fewshot.cli import main

    text = BASE.replace("k = [2]", "k = [2, 4]") + '\n[[strategies]]\nname = "majority"\nlabel = "big"\nk = [4]\n'
    suite = parse_suite(text)
    assert [(c.strategy, c.k) for c in suite.select(k=[2]).cells()] == [("majority", 2)]
    assert [(c.strategy, c.k) for c in suite.select(k=[4]).cells()] == [("majority", 4), ("big", 4)]
    assert suite.select(k=[2]).k == [2] and suite.k == [2, 4], "select copies, the suite is unchanged"

    path, out = _suite_file(tmp_path, text), tmp_path / "res"
    argv = ["bench", str(path), "--out", str(out), "--data-dir", str(data_root), "--no-report"]
    assert main(argv + ["--only-k", "2"]) == 0
    assert sorted(p.name for p in (out / "cells").rglob("*.json")) == ["k2-seed0.json"]
    assert "1 cell(s) run, 0 already finished, 0 failed" in capsys.readouterr().err
    assert main(argv) == 0
    assert "2 cell(s) run, 1 already finished, 0 failed" in capsys.readouterr().err


def test_bad_run_options(tmp_path, data_root):
    suite = parse_suite(BASE)
    with pytest.raises(SuiteError, match="jobs must be a positive integer"):
        run_suite(suite, tmp_path / "r", data_dir=data_root, jobs=0)
    with pytest.raises(SuiteError, match="threads must be a positive integer"):
        run_suite(suite, tmp_path / "r", data_dir=data_root, threads=0)
    with pytest.raises(SuiteError, match=r"--only-strategy setfit: not in suite .* majority"):
        run_suite(suite, tmp_path / "r", data_dir=data_root, only_strategies=["setfit"])
    with pytest.raises(SuiteError, match=r"--only-dataset toy9: not in suite"):
        run_suite(suite, tmp_path / "r", data_dir=data_root, only_datasets=["toy9"])
    with pytest.raises(SuiteError, match=r"--only-k 3: not in suite .*; its budgets are 2 "):
        run_suite(suite, tmp_path / "r", data_dir=data_root, only_k=[3])
    with pytest.raises(SuiteError, match="suite file .*missing.toml does not exist"):
        load_suite(tmp_path / "missing.toml")
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- reports
def test_report_tables_and_plots(grid_run):
    suite, out, _, cells, _ = grid_run
    # the checkout running the tests may hold uncommitted changes, which the report would refuse
    paths = write_report(out, allow_mixed=True)
    assert set(paths) == {"summary.md", "summary.csv", "curves.png", "cost.png"}

    rows = list(csv.DictReader(open(paths["summary.csv"])))
    by_key = {(r["dataset"], r["strategy"], int(r["k"])): r for r in rows}
    groups = {(c.dataset, c.strategy, c.k) for c in cells}
    assert len(groups) == 6
    for d, s, k in groups:
        values = [cells[CellKey(d, s, k, seed)]["headline"] for seed in (0, 1)]
        row = by_key[(d, s, k)]
        assert float(row["mean"]) == pytest.approx(statistics.fmean(values), abs=1e-4)
        assert float(row["std"]) == pytest.approx(statistics.stdev(values), abs=1e-4)
        assert int(row["seeds_done"]) == 2 and row["metric"] == ("f1_macro" if d == "toy2" else "accuracy")
        assert float(row["median_predictions_per_second"]) > 0
    avg = by_key[("average", "majority", 4)]
    expected = statistics.fmean(float(by_key[(d, "majority", 4)]["mean"]) for d in ("toy", "toy2"))
    assert float(avg["mean"]) == pytest.approx(expected, abs=1e-4) and avg["averaged_over"] == "toy toy2"

    md = paths["summary.md"].read_text()
    for needle in (
        "# Benchmark results: grid",
        "## k = 2 examples per class",
        "## k = 4 examples per class",
        "**average** (2 datasets)",
        "median train s",
        "predictions / s",
        "**k = 2.**",
        "**k = 4.**",
        "## Where the compute goes",
        "![metric vs k](curves.png)",
    ):
        assert needle in md, needle
    mean_toy = statistics.fmean(cells[CellKey("toy", "majority", 2, s)]["headline"] for s in (0, 1))
    assert f"{100 * mean_toy:.1f} ± " in md

    from matplotlib.image import imread

    for name in ("curves.png", "cost.png"):
        img = imread(paths[name])
        assert img.shape[0] > 300 and img.shape[1] > 500 and img.std() > 0.01, f"{name} is not a real plot"


CLEAN_CODE = {"fewshot": "0.1.0", "hash": "1" * 64, "git_commit": "a" * 40, "git_dirty": False}


def _cell_record(
    dataset, strategy, k, seed, headline=None, train=1.0, error=None, pps=50.0, code=CLEAN_CODE
) -> dict:
    """A cell file as the runner writes it (the fields the report reads)."""
    record = {
        "code": dict(code),
        "status": "error" if error else "ok",
        "dataset": dataset,
        "dataset_name": dataset,
        "strategy": strategy,
        "strategy_name": strategy,
        "k": k,
        "seed": seed,
        "metric": "accuracy",
        "n_test": 100,
        "test_full_size": 100,
        "test_subsampled": False,
        "n_train": 2 * k,
        "wall_seconds": train + 2,
    }
    if error:
        record["error"] = {"type": "RuntimeError", "message": error, "traceback": ""}
    else:
        record.update(
            headline=headline,
            metrics={"accuracy": headline},
            train_seconds=train,
            train_cpu_seconds=2 * train,
            predictions_per_second=pps,
            peak_rss_mb=900.0,
            model_size_mb=80.0,
        )
    return record


def test_report_on_a_partial_uneven_run(tmp_path):
    """A run stopped part-way: strategies finished on different datasets, one only failed, and a
    dataset/k from the SetFit paper. The report still compares like with like and says so."""
    from fewshot.bench.suite import StrategySpec, Suite

    suite = Suite(
        name="partial",
        datasets=["emotion", "toy"],
        k=[8],
        seeds=[0, 1, 2],
        strategies=[
            StrategySpec("fast", "majority", {}, (8,)),
            StrategySpec("slow", "majority", {}, (8,)),
            StrategySpec("broken", "majority", {}, (8,)),
        ],
    )
    write_json_atomic(tmp_path / "suite.json", suite.to_dict())
    cells = [
        _cell_record("emotion", "fast", 8, 0, 0.40, train=10),
        _cell_record("emotion", "fast", 8, 1, 0.44, train=12),
        _cell_record("toy", "slow", 8, 0, 0.90, train=300),
        _cell_record("emotion", "broken", 8, 0, error="boom"),
        _cell_record("toy", "stale-label", 8, 0, 0.99),  # not in the suite any more: ignored
    ]
    cells[0]["params"], cells[1]["params"] = {"seed": 0, "epochs": 1}, {"seed": 1, "epochs": 2}
    for c in cells:
        write_json_atomic(cell_path(tmp_path, CellKey(c["dataset"], c["strategy"], c["k"], c["seed"])), c)
    paths = write_report(tmp_path)
    md = paths["summary.md"].read_text()
    assert "stale-label" not in md
    assert "42.0 ± 2.8 (2/3)" in md, "mean ± sample std with the seeds finished out of planned"
    assert "error (1)" in md and "boom" in md
    # one label, two parameter settings (e.g. a default changed between sittings): the report says so
    assert "**fast** ran with different values of epochs" in md
    # no dataset has every strategy: the verdict compares on the dataset most strategies finished
    assert (
        "**k = 8.** No dataset has a finished cell of every strategy yet, so this compares on emotion only"
        in md
    )
    assert "published: SetFit mpnet (paper)" in md and "48.8 ± 4.5" in md  # emotion at k = 8
    rows = list(csv.DictReader(open(paths["summary.csv"])))
    assert {(r["dataset"], r["strategy"]) for r in rows} == {
        ("emotion", "fast"),
        ("toy", "slow"),
        ("emotion", "broken"),
    }
    assert float(next(r for r in rows if r["strategy"] == "fast")["published_setfit-mpnet"]) == 0.488
    assert paths["cost.png"].stat().st_size > 10_000 and paths["curves.png"].stat().st_size > 10_000


def test_published_section_names_the_models_each_strategy_used(tmp_path):
    """The published figures are read against the models our strategies actually used: a suite on the
    larger models says so, and points at the published row with the same encoder."""
    from fewshot.bench.suite import StrategySpec, Suite

    suite = Suite(
        name="larger", datasets=["emotion"], k=[8], seeds=[0],
        strategies=[StrategySpec("setfit-mpnet", "setfit", {"model": "mpnet"}, (8,)),
                    StrategySpec("setfit", "setfit", {}, (8,)),
                    StrategySpec("prompt-gemma", "prompt", {"model": "gemma3-270m"}, (8,))],
    )
    write_json_atomic(tmp_path / "suite.json", suite.to_dict())
    for label, model in (("setfit-mpnet", "mpnet"), ("setfit", "minilm"), ("prompt-gemma", "gemma3-270m")):
        cell = _cell_record("emotion", label, 8, 0, 0.5)
        cell["strategy_name"] = label.split("-")[0]
        cell["params"] = {"model": model, "seed": 0}
        write_json_atomic(cell_path(tmp_path, CellKey("emotion", label, 8, 0)), cell)
    md = write_report(tmp_path)["summary.md"].read_text()
    intro = next(line for line in md.splitlines() if line.startswith("From the SetFit paper"))
    assert "setfit-mpnet: all-mpnet-base-v2; setfit: all-MiniLM-L6-v2; prompt-gemma: Gemma 3 270M" in intro
    assert "`SetFit MiniLM-L6 (repo)` used the same encoder as our setfit." in intro
    assert "`SetFit mpnet (paper)` used paraphrase-mpnet-base-v2" in intro and "setfit-mpnet's" in intro
    assert "SmolLM2" not in intro  # no strategy of this suite used it


def test_a_metric_the_harness_sets_per_dataset_is_not_reported_as_a_changed_default(tmp_path):
    """`auto` scores its cross-validation with each dataset's headline metric (accuracy, or macro-F1
    on spam): different values across datasets are by design. A changed value within one is not."""
    from fewshot.bench.suite import StrategySpec, Suite

    suite = Suite(name="metrics", datasets=["sst2", "sms_spam"], k=[8], seeds=[0, 1],
                  strategies=[StrategySpec("auto", "majority", {}, (8,))])
    write_json_atomic(tmp_path / "suite.json", suite.to_dict())
    for dataset, metric in (("sst2", "accuracy"), ("sms_spam", "f1_macro")):
        for seed in (0, 1):
            cell = _cell_record(dataset, "auto", 8, seed, 0.8)
            cell["metric"], cell["metrics"] = metric, {metric: 0.8}
            cell["params"] = {"metric": metric, "seed": seed}
            write_json_atomic(cell_path(tmp_path, CellKey(dataset, "auto", 8, seed)), cell)
    assert "ran with different values" not in write_report(tmp_path)["summary.md"].read_text()
    cell["params"]["metric"] = "mcc"  # sms_spam seed 1 scored with another metric: a real change
    write_json_atomic(cell_path(tmp_path, CellKey("sms_spam", "auto", 8, 1)), cell)
    assert "**auto** ran with different values of metric" in write_report(tmp_path)["summary.md"].read_text()


def test_verdict_names_a_strategy_below_the_majority_class_on_one_dataset(tmp_path):
    """A strategy can clear the majority floor on average and still fail outright on one dataset
    (as the prompt strategy's generic template does on ham/spam): the verdict names that cell."""
    from fewshot.bench.suite import StrategySpec, Suite

    suite = Suite(
        name="floors",
        datasets=["easy", "skewed"],
        k=[8],
        seeds=[0, 1],
        strategies=[
            StrategySpec("majority", "majority", {}, (8,)),
            StrategySpec("steady", "majority", {}, (8,)),
            StrategySpec("brittle", "majority", {}, (8,)),
        ],
    )
    write_json_atomic(tmp_path / "suite.json", suite.to_dict())
    scores = {("easy", "majority"): 0.30, ("skewed", "majority"): 0.46, ("easy", "steady"): 0.80,
              ("skewed", "steady"): 0.85, ("easy", "brittle"): 0.90, ("skewed", "brittle"): 0.20}
    for (d, s), v in scores.items():
        for seed in (0, 1):
            cell = _cell_record(d, s, 8, seed, v + 0.01 * seed)
            cell["strategy_name"] = "majority" if s == "majority" else "other"
            write_json_atomic(cell_path(tmp_path, CellKey(d, s, 8, seed)), cell)
    md = write_report(tmp_path)["summary.md"].read_text()
    assert "Every strategy clears the majority-class floor (38.5) on average." in md
    assert "Below the majority class on a single dataset: brittle on skewed (20.5 vs 46.5)." in md
    assert "steady on" not in md


def _paired_run(folder: Path, scores: dict[str, dict[tuple[str, int], float]]) -> str:
    """Write cells ``scores[strategy][(dataset, seed)]`` and return the report's text."""
    cells = []
    for s, by in scores.items():
        for (d, seed), v in by.items():
            cell = _cell_record(d, s, 8, seed, v)
            cell["strategy_name"] = "other"
            cells.append(cell)
    _write_cells(folder, cells, seeds=sorted({seed for by in scores.values() for _d, seed in by}))
    return write_report(folder)["summary.md"].read_text()


def test_tie_verdict_pairs_the_shared_draws(tmp_path):
    """Seeds differ a lot (some k-shot draws are hard for everyone) but "steady" beats "close" by
    about 1 point on every shared draw: the paired comparison calls that a real difference, where
    the mean per-dataset std (about 15 points) called it a tie."""
    base = {("a", 0): 0.50, ("a", 1): 0.80, ("a", 2): 0.65, ("b", 0): 0.40, ("b", 1): 0.70, ("b", 2): 0.55}
    lift = {("a", 0): 0.010, ("a", 1): 0.012, ("a", 2): 0.008, ("b", 0): 0.011, ("b", 1): 0.009, ("b", 2): 0.010}
    md = _paired_run(tmp_path / "real", {"steady": {key: v + lift[key] for key, v in base.items()}, "close": base})
    diffs = list(lift.values())
    se = statistics.stdev(diffs) / len(diffs) ** 0.5
    assert "Pick **steady**" in md
    assert (
        f"Paired over the 6 (dataset, seed) draws both ran: steady +1.0 ± {100 * se:.1f} points "
        "(mean difference ± standard error), ahead on 6 of 6; more than 2 standard errors from zero" in md
    )
    assert "effectively a tie" not in md
    assert "within 2 standard errors of zero" in md, "the report says how a tie is decided"

    # differences that swing both ways around a small mean: a tie
    swing = {("a", 0): 0.04, ("a", 1): -0.03, ("a", 2): 0.02, ("b", 0): -0.02, ("b", 1): 0.03, ("b", 2): -0.01}
    md = _paired_run(tmp_path / "tie", {"lucky": {key: v + swing[key] for key, v in base.items()}, "even": base})
    mean = statistics.fmean(swing.values())
    se = statistics.stdev(swing.values()) / 6**0.5
    assert abs(mean) <= 2 * se
    assert (
        f"lucky {100 * mean:+.1f} ± {100 * se:.1f} points (mean difference ± standard error), ahead on 3 of 6; "
        "within 2 standard errors of zero: effectively a tie." in md
    )

    # a single shared draw cannot tell a difference from noise
    md = _paired_run(tmp_path / "one", {"p": {("a", 0): 0.6}, "q": {("a", 0): 0.5}})
    assert "They share a single (dataset, seed) draw (+10.0 points for p): too few to tell" in md


def test_paired_difference_uses_only_the_draws_both_finished(tmp_path):
    from fewshot.bench.report import collect, paired_difference

    _paired_run(
        tmp_path,
        {"p": {("a", 0): 0.6, ("a", 1): 0.7, ("b", 0): 0.9}, "q": {("a", 0): 0.5, ("a", 1): 0.5, ("b", 1): 0.1}},
    )
    p = paired_difference(collect(tmp_path), 8, "p", "q")
    assert p.diffs == pytest.approx([0.1, 0.2]) and (p.wins, p.losses, p.n) == (2, 0, 2)
    assert p.se == pytest.approx(0.05)  # stdev 0.0707 / sqrt(2)
    assert p.tie is False  # 0.15 > 2 * 0.05


def test_verdict_names_a_much_faster_runner_up(tmp_path):
    """The best on average may be slow to serve (an LM scores every label): the verdict names a
    strategy that predicts at least 5x faster and what it costs in quality."""
    from fewshot.bench.suite import StrategySpec, Suite

    suite = Suite(name="serve", datasets=["a", "b"], k=[8], seeds=[0],
                  strategies=[StrategySpec(s, "majority", {}, (8,)) for s in ("slow", "quick", "medium")])
    write_json_atomic(tmp_path / "suite.json", suite.to_dict())
    for s, v, pps in (("slow", 0.80, 12.0), ("quick", 0.74, 600.0), ("medium", 0.78, 30.0)):
        for d in ("a", "b"):
            cell = _cell_record(d, s, 8, 0, v, pps=pps)
            cell["strategy_name"] = "other"
            write_json_atomic(cell_path(tmp_path, CellKey(d, s, 8, 0)), cell)
    md = write_report(tmp_path)["summary.md"].read_text()
    assert "Pick **slow**" in md
    assert "To serve many predictions, quick predicts 50× faster (600 texts/s) at -6.0 points." in md


def test_report_without_cells_is_a_clear_error(tmp_path):
    with pytest.raises(SuiteError, match="does not exist"):
        write_report(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SuiteError, match="holds no benchmark cells"):
        write_report(tmp_path / "empty")


def test_reference_figures_match_the_shared_table():
    shared = REPO.parent / "shared" / "REFERENCE_RESULTS.md"
    if not shared.is_file():
        pytest.skip(f"{shared} is not here (only in the project's workspace)")
    assert set(parse_reference_markdown(shared.read_text())) == set(all_references())
    mpnet8 = {r.method: r for r in references_for("sst5", 8)}["setfit-mpnet"]
    assert (mpnet8.value, mpnet8.std, mpnet8.metric) == (0.436, 0.03, "accuracy")
    # the NER anchor: BERT-base on the whole CoNLL-2003 training split, shown beside k = 0 cells
    (bert,) = references_for("conll2003", 0)
    assert (bert.method, bert.value, bert.metric) == ("bert-base-ft-full", 0.924, "entity_f1")


# --------------------------------------------------------------------------- the command line
def test_cli_bench_and_report_end_to_end(tmp_path, data_root, clean_cwd, capsys):
    from fewshot.cli import main

    suite = _suite_file(
        tmp_path, 'name = "paperish"\ndatasets = ["sst5"]\nk = [8]\n\n[[strategies]]\nname = "majority"\n'
    )
    out = tmp_path / "results"
    # --allow-mixed: the checkout running the tests may hold uncommitted changes
    assert main(["bench", str(suite), "--out", str(out), "--data-dir", str(data_root), "--allow-mixed"]) == 0
    cell = json.loads(cell_path(out, CellKey("sst5", "majority", 8, 0)).read_text())
    assert cell["status"] == "ok" and cell["n_train"] == 16
    md = (out / "summary.md").read_text()
    # a dataset and k that match the SetFit paper show its figure beside ours, with its protocol
    assert "published: SetFit mpnet (paper)" in md and "43.6 ± 3.0" in md
    assert "## Published figures beside ours" in md and "SetFit MiniLM-L6 (repo) 29.8" in md
    capsys.readouterr()

    (out / "summary.md").unlink()
    assert main(["report", str(out), "--allow-mixed"]) == 0
    assert str(out / "summary.md") in capsys.readouterr().out and (out / "summary.md").is_file()
    # a rerun skips the finished cell
    assert main(["bench", str(suite), "--out", str(out), "--data-dir", str(data_root), "--no-report"]) == 0
    assert "0 cell(s) run, 1 already finished" in capsys.readouterr().err


def test_cli_errors_and_help(tmp_path, data_root, capsys):
    from fewshot.cli import main

    bad = _suite_file(tmp_path, BASE.replace('"toy"', '"nope"'))
    assert main(["bench", str(bad), "--out", str(tmp_path / "o"), "--data-dir", str(data_root)]) == 2
    assert "fewshot: error: suite" in capsys.readouterr().err and not (tmp_path / "o").exists()
    assert main(["report", str(tmp_path)]) == 2
    assert "holds no benchmark cells" in capsys.readouterr().err
    failing = _suite_file(tmp_path, BASE + "params = { multi_label = true }\n", "failing.toml")
    assert main(["bench", str(failing), "--out", str(tmp_path / "f"), "--data-dir", str(data_root)]) == 1
    assert "1 failed" in capsys.readouterr().err
    md = (tmp_path / "f" / "summary.md").read_text()
    assert "## Failed cells" in md and "multi-label targets are lists of labels" in md
    row = next(csv.DictReader(open(tmp_path / "f" / "summary.csv")))
    assert (row["strategy"], row["errors"], row["seeds_done"], row["mean"]) == ("majority", "1", "0", "")
    for command in ("bench", "report"):
        assert main([command, "--help"]) == 0
        assert "example" in capsys.readouterr().out


def test_a_plain_script_can_run_a_suite(tmp_path, data_root):
    """Cells run in fresh interpreters: a user's script needs no ``if __name__ == "__main__"`` guard."""
    script = tmp_path / "script.py"
    script.write_text(
        "import sys\n"
        "from fewshot.bench import parse_suite, run_suite\n"
        f"suite = parse_suite({BASE!r})\n"
        f"result = run_suite(suite, {str(tmp_path / 'out')!r}, data_dir={str(data_root)!r}, log=print)\n"
        "print('errors', len(result.errors))\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "errors 0" in proc.stdout
    assert cell_path(tmp_path / "out", CellKey("toy", "majority", 2, 0)).is_file()


def test_building_the_parser_imports_nothing_heavy():
    code = (
        "import sys; from fewshot.cli import build_parser; build_parser(); "
        "heavy = ('torch', 'numpy', 'matplotlib', 'sklearn', 'transformers'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------- the shipped suites
def test_shipped_suites_parse_and_follow_the_protocol():
    quick = load_suite(REPO / "benchmarks" / "quick.toml")
    assert quick.datasets == ["sst2", "emotion", "ag_news", "sms_spam"]
    assert quick.seeds == [0, 1, 2] and quick.max_test == 500
    ks = {s.label: s.k for s in quick.strategies}
    assert ks["setfit"] == ks["prompt"] == ks["head"] == (8, 32) and ks["setfit-upstream"] == (8,)
    paper = load_suite(REPO / "benchmarks" / "paper.toml")
    assert paper.datasets == ["sst5", "cr", "emotion", "ag_news"] and paper.all_k == [8, 64]
    assert paper.seeds == list(range(10)) and paper.max_test is None
    assert {"setfit", "setfit-upstream"} <= {s.name for s in paper.strategies}
    for name in ("setfit", "head", "prompt"):  # tuning studies: never on test rows or quick's datasets
        tune = load_suite(REPO / "benchmarks" / f"tune_{name}.toml")
        # the tuning datasets only (banking77 is too slow for these studies on 2 cores), never a quick-suite one
        assert tune.eval_split == "validation" and {"trec", "cr", "sst5"} <= set(tune.datasets)
        assert set(tune.datasets) <= {"trec", "cr", "sst5", "banking77"}
        assert {s.name for s in tune.strategies} == {name} and f"{name}-default" in [s.label for s in tune.strategies]
        assert not tune.strategy(f"{name}-default").params, "the baseline is the strategy as users get it"
    for path in sorted((REPO / "benchmarks").glob("tune_*.toml")):  # every tuning study, new ones too
        tune = load_suite(path)
        assert tune.eval_split == "validation", f"{path.name} would score on test rows"
        assert set(tune.datasets) <= {"trec", "cr", "sst5", "banking77"}, f"{path.name}: a tuning dataset only"
    active = load_suite(REPO / "benchmarks" / "active.toml")  # its pair cap comes from tune_active_pairs.toml
    assert {s.params.get("max_pairs") for s in active.strategies} == {8000}
    from fewshot.active import DEFAULT_METHOD, MANY_CLASSES_METHOD

    for method in (DEFAULT_METHOD, MANY_CLASSES_METHOD):  # issue 18's target: the default, at any number of classes
        assert f"setfit-{method}" in [s.label for s in active.strategies], f"{method}: a default method"
    balanced = load_suite(REPO / "benchmarks" / "head_imbalance.toml")
    natural = load_suite(REPO / "benchmarks" / "head_imbalance_natural.toml")
    assert (balanced.sampling, natural.sampling) == ("per_class", "proportional")
    assert balanced.max_test is None and natural.all_k == balanced.all_k == [32, 64]
    modes = load_suite(REPO / "benchmarks" / "prompt_modes.toml")
    assert modes.max_test == 300 and modes.strategy("prompt-lora").k == (8, 32)
    assert modes.strategy("prompt-zero").params["template"] == "Text: {text}\nEmotion:"
    assert load_suite(REPO / "benchmarks" / "prompt_modes_sst2.toml").datasets == ["sst2"]
    speed = load_suite(REPO / "benchmarks" / "setfit_speed.toml")
    assert [s.label for s in speed.strategies] == [
        "setfit-upstream", "setfit-quantize-false", "setfit-quantize-int8", "setfit-quantize-bf16"
    ]
    mpnet = load_suite(REPO / "benchmarks" / "tune_setfit_mpnet.toml")  # chooses mpnet settings: validation only
    assert mpnet.eval_split == "validation" and set(mpnet.datasets) <= {"trec", "cr", "sst5", "banking77"}
    assert all(s.params.get("model") == "mpnet" for s in mpnet.strategies)
    assert not set(mpnet.strategy("setfit-mpnet").params) - {"model"}, "the baseline is the default on mpnet"
    paper_mpnet = load_suite(REPO / "benchmarks" / "mpnet_paper.toml")
    assert paper_mpnet.datasets == paper.datasets and paper_mpnet.max_test is None and paper_mpnet.all_k == [8]
    gemma = load_suite(REPO / "benchmarks" / "prompt_gemma.toml")
    assert gemma.datasets == quick.datasets and gemma.max_test == quick.max_test
    assert {s.params.get("model", "smollm2-135m") for s in gemma.strategies} == {"smollm2-135m", "gemma3-270m"}
    larger = load_suite(REPO / "benchmarks" / "quick_larger.toml")  # the quick suite's draws on the larger models
    assert (larger.datasets, larger.seeds, larger.max_test, larger.all_k) == (quick.datasets, quick.seeds, quick.max_test, [8, 32])
    assert {s.label: s.params.get("model") for s in larger.strategies if s.name != "majority"} == {
        "setfit-mpnet": "mpnet", "head-mpnet": "mpnet", "prompt-gemma": "gemma3-270m"}
    assert larger.strategy("prompt-gemma").params == gemma.strategy("prompt-gemma").params
    head_gemma = load_suite(REPO / "benchmarks" / "tune_head_gemma.toml")  # chooses advice: validation only
    assert head_gemma.eval_split == "validation" and set(head_gemma.datasets) <= {"trec", "cr", "sst5", "banking77"}
    assert {s.params.get("model", "minilm") for s in head_gemma.strategies} == {"gemma3-270m", "minilm"}
    assert head_gemma.strategy("head-gemma-lora-learning_rate-5e-05").params["lora"] is True
    smoke = load_suite(REPO / "benchmarks" / "smoke.toml")
    assert smoke.datasets == ["demo:intent"] and {
        "majority",
        "setfit",
        "setfit-upstream",
        "head",
        "prompt",
    } <= {s.name for s in smoke.strategies}


@pytest.mark.integration
@pytest.mark.parametrize("name", ["quick", "paper", "tune_setfit_mpnet", "mpnet_paper", "prompt_gemma", "quick_larger", "tune_head_gemma"])
def test_shipped_suites_validate_against_the_datasets(name):
    """Every dataset, strategy and parameter of the long suites exists (checked without running)."""
    from fewshot.bench.suite import check_suite, effective_data_dir

    suite = load_suite(REPO / "benchmarks" / f"{name}.toml")
    base = effective_data_dir(suite)
    if base is None or not base.is_dir():
        pytest.skip(f"the benchmark datasets are not here ({base})")
    datasets = check_suite(suite)
    assert sorted(datasets) == sorted(suite.datasets)


def test_size_to_serve_counts_the_base_model_a_saved_folder_needs(tmp_path, tiny_llama_dir):
    """The prompt strategy's folder holds only its adapter; serving it also needs the base LM."""
    from fewshot import MajorityClassifier, PromptClassifier
    from fewshot.bench.runner import _base_model_mb, _folder_mb

    X, y = ["refund please", "where is my parcel", "card charged", "parcel late"], ["b", "d", "b", "d"]
    prompt = PromptClassifier(model=str(tiny_llama_dir), mode="zero").fit(X, y).save(tmp_path / "p")
    assert _base_model_mb(prompt) == pytest.approx(_folder_mb(Path(tiny_llama_dir))) and _base_model_mb(prompt) > 0
    assert _base_model_mb(MajorityClassifier().fit(X, y).save(tmp_path / "m")) == 0.0
    # an ensemble saves its members in subfolders: the prompt member's base LM counts, and once only
    from fewshot import EnsembleClassifier

    zero = {"name": "prompt", "params": {"model": str(tiny_llama_dir), "mode": "zero"}}
    ens = EnsembleClassifier(members=["majority", zero, zero]).fit(X, y).save(tmp_path / "e")
    assert _base_model_mb(ens) == pytest.approx(_folder_mb(Path(tiny_llama_dir)))


def test_an_ensemble_cell_scores_its_members_and_the_report_compares_them(tmp_path, data_root, tiny_st_dir):
    """The members are scored on the cell's own test rows; members.md pairs the ensemble with them."""
    from fewshot.bench.members import members_markdown

    setfit = f'{{ name = "setfit", params = {{ model = "{tiny_st_dir}", epochs = 0, quantize = false }} }}'
    suite = parse_suite(
        'name = "ens"\ndatasets = ["toy"]\nk = [4]\nseeds = [0, 1]\n\n[[strategies]]\nname = "ensemble"\n'
        f'params = {{ members = [{setfit}, "majority"] }}\n\n[[strategies]]\nname = "majority"\n'
    )
    out = tmp_path / "res"
    assert run_suite(suite, out, data_dir=data_root, log=lambda m: None).errors == []
    majority = json.loads(cell_path(out, CellKey("toy", "majority", 4, 0)).read_text())
    ens = json.loads(cell_path(out, CellKey("toy", "ensemble", 4, 0)).read_text())
    assert set(ens["member_headline"]) == {"setfit", "majority"}
    # the ensemble's majority member is the majority strategy trained on the same sample, same rows
    assert ens["member_headline"]["majority"] == pytest.approx(majority["headline"])
    assert "member_headline" not in majority
    md = write_report(out, allow_mixed=True)["members.md"].read_text()  # the checkout may be uncommitted
    assert "## ensemble, k = 4" in md and "| toy (n = 2) |" in md and "against the better member" in md

    # the paired arithmetic, on cells whose values are known
    cells = [
        {"status": "ok", "strategy": "e", "k": 8, "dataset": d, "headline": h, "member_headline": {"a": a, "b": b}}
        for d, h, a, b in [("x", 0.80, 0.70, 0.74), ("x", 0.90, 0.86, 0.80), ("y", 0.60, 0.66, 0.50),
                           ("y", 0.70, 0.64, 0.60)]
    ]
    md = members_markdown(cells)
    assert "| **average** | **71.5** | **66.0** | **75.0** | |" in md  # a: (78 + 65) / 2; b: (77 + 55) / 2
    # ensemble - a per draw: 10, 4, -6, 6 -> mean 3.5, sample std 6.81, standard error 3.4
    assert "best member on average (**a**): +3.5 ± 3.4 (n = 4, ahead on 3) points" in md
    assert "| x (n = 2) | 78.0 ± 11.3 | 77.0 ± 4.2 | 85.0 ± 7.1 | +7.0 (a) |" in md


def test_an_auto_cell_records_its_pick_and_the_report_compares_it_with_the_oracle(tmp_path, data_root, tiny_st_dir):
    from fewshot.bench.members import auto_markdown

    setfit = f'{{ name = "setfit", params = {{ model = "{tiny_st_dir}", epochs = 0, quantize = false }} }}'
    suite = parse_suite(
        'name = "auto"\ndatasets = ["toy"]\nk = [4]\n\n[[strategies]]\nname = "auto"\n'
        f'params = {{ candidates = [{setfit}, "majority"], cv = 2 }}\n\n[[strategies]]\nname = "majority"\n'
    )
    out = tmp_path / "res"
    assert run_suite(suite, out, data_dir=data_root, log=lambda m: None).errors == []
    cell = json.loads(cell_path(out, CellKey("toy", "auto", 4, 0)).read_text())
    table = {row["candidate"]: row for row in cell["cv_table"]}
    assert cell["chosen"] in table and {"setfit", "majority"} <= set(table)
    assert all(row["mean_test_score"] is None or 0 <= row["mean_test_score"] <= 1 for row in table.values())
    # every fold's score and the paired columns are kept, so another choice rule can be replayed later
    majority = table["majority"]
    assert len(majority["fold_scores"]) == 2 and majority["mean_test_score"] == round(sum(majority["fold_scores"]) / 2, 5)
    assert len(majority["fold_brier"]) == len(majority["fold_log_loss"]) == 2 and 0 < majority["fold_brier"][0] <= 2
    assert [row["candidate"] for row in table.values() if row["chosen"]] == [cell["chosen"]]
    assert table[cell["chosen"]]["reason"] and majority["mean_fit_seconds"] >= 0 and "paired_se" in majority
    md = write_report(out, allow_mixed=True)["members.md"].read_text()
    assert "## auto, k = 4" in md and "picked the oracle's strategy on" in md

    # the oracle arithmetic, on cells whose values are known: two singles, two draws
    def c(strategy, seed, h, chosen=None):
        return {"status": "ok", "strategy": strategy, "strategy_name": strategy, "k": 8, "dataset": "x",
                "seed": seed, "headline": h, "train_seconds": 10.0, **({"chosen": chosen} if chosen else {})}

    cells = [c("a", 0, 0.70), c("b", 0, 0.80), c("a", 1, 0.90), c("b", 1, 0.60),
             c("auto", 0, 0.78, chosen="b"), c("auto", 1, 0.88, chosen="a")]
    md = auto_markdown(cells)
    assert "against the oracle: -2.0 ± 0.0 (n = 2, ahead on 0) points" in md  # 78-80, 88-90
    assert "against the average single strategy (a, b): +8.0 ± 5.0 (n = 2, ahead on 2) points" in md  # +3, +13
    assert "picked the oracle's strategy on 2 of 2 draws" in md
