"""The benchmark harness: suites, the grid of cells, resume, errors, parallel jobs, reports, CLI.

Most tests run the majority strategy on small dataset folders written here (each cell still runs
in its own fresh process, as in a real benchmark). The smoke-suite test runs the real strategies.
"""

from __future__ import annotations

import csv
import json
import os
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
from fewshot.data import k_shot_indices, load_dataset_folder

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
params = { threshold = 2.0 }
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
    assert bad["status"] == "error" and bad["error"]["type"] == "ValueError"
    assert "threshold must be between 0 and 1; got 2.0" in bad["error"]["message"]
    assert "Traceback" in bad["error"]["traceback"] and "_check_params" in bad["error"]["traceback"]
    assert json.loads(cell_path(out, ok_key).read_text())["status"] == "ok"
    assert any("ERROR ValueError" in line and "log: " in line for line in logs)
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


def test_json_is_written_atomically(tmp_path, monkeypatch):
    path = tmp_path / "cell.json"
    write_json_atomic(path, {"v": 1})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_json_atomic(path, {"v": 2})
    assert json.loads(path.read_text()) == {"v": 1}, "a failed write leaves the previous file whole"
    assert [p.name for p in tmp_path.iterdir()] == ["cell.json"], "and no temporary file"


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
        "k-zero",
        BASE.replace("k = [2]", "k = [0, 2]"),
        r"k = 0: k is the number of labeled examples per class and must be >= 1",
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
    with pytest.raises(SuiteError, match="suite file .*missing.toml does not exist"):
        load_suite(tmp_path / "missing.toml")
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- reports
def test_report_tables_and_plots(grid_run):
    suite, out, _, cells, _ = grid_run
    paths = write_report(out)
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


def _cell_record(dataset, strategy, k, seed, headline=None, train=1.0, error=None, pps=50.0) -> dict:
    """A cell file as the runner writes it (the fields the report reads)."""
    record = {
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


# --------------------------------------------------------------------------- the command line
def test_cli_bench_and_report_end_to_end(tmp_path, data_root, clean_cwd, capsys):
    from fewshot.cli import main

    suite = _suite_file(
        tmp_path, 'name = "paperish"\ndatasets = ["sst5"]\nk = [8]\n\n[[strategies]]\nname = "majority"\n'
    )
    out = tmp_path / "results"
    assert main(["bench", str(suite), "--out", str(out), "--data-dir", str(data_root)]) == 0
    cell = json.loads(cell_path(out, CellKey("sst5", "majority", 8, 0)).read_text())
    assert cell["status"] == "ok" and cell["n_train"] == 16
    md = (out / "summary.md").read_text()
    # a dataset and k that match the SetFit paper show its figure beside ours, with its protocol
    assert "published: SetFit mpnet (paper)" in md and "43.6 ± 3.0" in md
    assert "## Published figures beside ours" in md and "SetFit MiniLM-L6 (repo) 29.8" in md
    capsys.readouterr()

    (out / "summary.md").unlink()
    assert main(["report", str(out)]) == 0
    assert str(out / "summary.md") in capsys.readouterr().out and (out / "summary.md").is_file()
    # a rerun skips the finished cell
    assert main(["bench", str(suite), "--out", str(out), "--data-dir", str(data_root), "--no-report"]) == 0
    assert "0 cell(s) run, 1 already finished" in capsys.readouterr().err


def test_cli_errors_and_help(tmp_path, data_root, capsys):
    from fewshot.cli import main

    bad = _suite_file(tmp_path, BASE.replace('"toy"', '"nope"'))
    assert main(["bench", str(bad), "--out", str(tmp_path / "o"), "--data-dir", str(data_root)]) == 2
    assert "fewshot bench: error: suite" in capsys.readouterr().err and not (tmp_path / "o").exists()
    assert main(["report", str(tmp_path)]) == 2
    assert "holds no benchmark cells" in capsys.readouterr().err
    failing = _suite_file(tmp_path, BASE + "params = { threshold = 2.0 }\n", "failing.toml")
    assert main(["bench", str(failing), "--out", str(tmp_path / "f"), "--data-dir", str(data_root)]) == 1
    assert "1 failed" in capsys.readouterr().err
    md = (tmp_path / "f" / "summary.md").read_text()
    assert "## Failed cells" in md and "threshold must be between 0 and 1" in md
    row = next(csv.DictReader(open(tmp_path / "f" / "summary.csv")))
    assert (row["strategy"], row["errors"], row["seeds_done"], row["mean"]) == ("majority", "1", "0", "")
    for command in ("bench", "report"):
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
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
    smoke = load_suite(REPO / "benchmarks" / "smoke.toml")
    assert smoke.datasets == ["demo:intent"] and {
        "majority",
        "setfit",
        "setfit-upstream",
        "head",
        "prompt",
    } <= {s.name for s in smoke.strategies}


@pytest.mark.integration
@pytest.mark.parametrize("name", ["quick", "paper"])
def test_shipped_suites_validate_against_the_datasets(name):
    """Every dataset, strategy and parameter of the long suites exists (checked without running)."""
    from fewshot.bench.suite import check_suite, effective_data_dir

    suite = load_suite(REPO / "benchmarks" / f"{name}.toml")
    base = effective_data_dir(suite)
    if base is None or not base.is_dir():
        pytest.skip(f"the benchmark datasets are not here ({base})")
    datasets = check_suite(suite)
    assert sorted(datasets) == sorted(suite.datasets)


def _importable(name: str) -> bool:
    from fewshot.registry import get_strategy

    try:
        get_strategy(name)
    except ImportError:
        return False
    return True


@pytest.mark.integration
def test_smoke_suite_runs_every_available_strategy(tmp_path):
    """The CI smoke run: every strategy that exists, smallest settings, demo data, real models."""
    suite = load_suite(REPO / "benchmarks" / "smoke.toml")
    labels = [s.label for s in suite.strategies if _importable(s.name)]
    assert "majority" in labels and len(labels) >= 2, "no real strategy is importable"
    out = tmp_path / "smoke"
    result = run_suite(suite, out, only_strategies=labels, jobs=2, log=lambda m: None)
    cells = [json.loads(cell_path(out, key).read_text()) for key in suite.select(strategies=labels).cells()]
    failed = {c["strategy"]: c.get("error") for c in cells if c["status"] != "ok"}
    assert not failed and not result.errors, failed
    for c in cells:
        if c["strategy_name"] != "majority":  # a real model was loaded, used and saved
            # (a zero-shot prompt saves only its template and verbalizer: the base model is found offline)
            assert c["peak_rss_mb"] > c["rss_before_fit_mb"] + 50 and c["model_size_mb"] > 0, c["strategy"]
            assert c["train_seconds"] > 0 and c["predictions_per_second"] > 0
    paths = write_report(out)
    rows = list(csv.DictReader(open(paths["summary.csv"])))
    by = {r["strategy"]: float(r["mean"]) for r in rows if r["dataset"] == "demo:intent"}
    assert set(by) == set(labels)
    floor = by.pop("majority")
    # predictions are scored as they should be: the best real strategy is far above the 6-intent floor
    assert max(by.values()) > floor + 0.2, (floor, by)
    md = paths["summary.md"].read_text()
    assert all(label in md for label in labels) and "**k = 4.**" in md
    assert paths["curves.png"].stat().st_size > 10_000 and paths["cost.png"].stat().st_size > 10_000
