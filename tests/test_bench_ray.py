"""The benchmark harness on Ray (``fewshot bench SUITE --executor ray``).

A local Ray instance with 2 CPUs is started once for this module (and shut down at its end), so
nothing outside the test is needed. The cells run on the built-in ``demo:intent`` data with the
majority strategy and, for the same-metrics check, the head strategy on a tiny BERT built in the
test. Each cell still runs in its own fresh process, inside a Ray task.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fewshot.bench import parse_suite, run_suite
from fewshot.bench.executors import ExecutorError, LocalExecutor, RayExecutor
from fewshot.bench.report import write_report
from fewshot.bench.runner import cell_path
from fewshot.bench.suite import CellKey, load_suite

REPO = Path(__file__).resolve().parents[1]

ray = pytest.importorskip("ray", reason="the Ray executor needs `pip install 'fewshot[ray]'`")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; Ray on Linux")

MAJORITY = """
name = "ray-majority"
datasets = ["demo:intent"]
k = [2]
seeds = [0]
max_test = 24

[[strategies]]
name = "majority"

[[strategies]]
name = "majority"
label = "doomed"
"""


@pytest.fixture(scope="module")
def ray_cluster(one_ray_cluster_at_a_time):
    """A local Ray instance of 2 CPUs for this module; the executor uses it and leaves it running."""
    if ray.is_initialized():  # pragma: no cover - another module left one
        ray.shutdown()
    # address="local": a new instance even when `ray start` left a cluster running on this machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


def _files(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in (out / "cells").rglob("*.json"))


SAME = ("status", "headline", "metrics", "per_class_f1", "confusion_matrix", "fingerprint", "params",
        "train_indices", "sample_hash", "test_hash", "n_test", "loss_history", "torch_threads_used")


def test_ray_writes_the_same_cells_with_the_same_metrics_and_a_rerun_skips_them(
    ray_cluster, tmp_path, tiny_bert_dir
):
    suite = parse_suite(
        MAJORITY
        + f'\n[[strategies]]\nname = "head"\nlabel = "tiny-head"\nk = [2]\n'
        f'params = {{ model = "{tiny_bert_dir}", epochs = 2, batch_size = 4 }}\n'
    )
    local_out, ray_out = tmp_path / "local", tmp_path / "ray"
    local = run_suite(suite, local_out, executor=LocalExecutor(jobs=1, threads=1), log=lambda m: None)
    logs: list[str] = []
    remote = run_suite(suite, ray_out, executor=RayExecutor(cpus_per_cell=1), log=logs.append)
    assert local.errors == remote.errors == []
    assert (remote.ran, remote.skipped, remote.cells) == (3, 0, 3)
    assert _files(ray_out) == _files(local_out) and len(_files(ray_out)) == 3
    for key in suite.cells():
        a = json.loads(cell_path(local_out, key).read_text())
        b = json.loads(cell_path(ray_out, key).read_text())
        for field in SAME:
            assert a.get(field) == b.get(field), f"{key}: {field} differs between local and ray"
        assert b["executor"] == "ray" and "executor" not in a
        assert b["torch_threads"] == a["torch_threads"] == 1
        assert b["code"]["hash"] == a["code"]["hash"], "the Ray worker ran other fewshot code"
    head = json.loads(cell_path(ray_out, CellKey("demo:intent", "tiny-head", 2, 0)).read_text())
    assert head["loss_history"], "the tiny model trained inside the Ray task"
    # the cell's output, written by the driver from what the task sent back
    assert (ray_out / "logs" / "demo-intent" / "tiny-head" / "k2-seed0.log").is_file()
    assert any(line.startswith("[3/3] ") for line in logs)

    again = run_suite(suite, ray_out, executor=RayExecutor(cpus_per_cell=1), log=lambda m: None)
    assert (again.ran, again.skipped) == (0, 3), "a rerun skips the finished cells"
    # cells are cells: a local rerun skips what Ray finished, too
    assert run_suite(suite, ray_out, executor=LocalExecutor(), log=lambda m: None).skipped == 3


# --------------------------------------------------------------------------- tasks that die
def _ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


class _Killer(threading.Thread):
    """SIGKILLs the process of every cell of strategy ``label`` as soon as it starts: the first time
    the cell's own process, later the Ray worker that started it (a lost worker)."""

    def __init__(self, label: str):
        super().__init__(daemon=True)
        self.label, self.kills, self.done = label, [], threading.Event()

    def _cells(self):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                args = Path(f"/proc/{name}/cmdline").read_bytes().decode().split("\0")
                if "fewshot.bench._child" not in args:
                    continue
                payload = json.loads(Path(args[args.index("fewshot.bench._child") + 1]).read_text())
            except (OSError, ValueError, IndexError):
                continue
            if payload["record"]["strategy"] == self.label:
                yield int(name)

    def run(self):
        seen = set()
        while not self.done.is_set():
            for pid in self._cells():
                if pid in seen:
                    continue
                seen.add(pid)
                target = pid if not self.kills else _ppid(pid)
                try:
                    os.kill(target, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                self.kills.append("cell process" if target == pid else "ray worker")
            time.sleep(0.02)


def test_a_task_that_dies_is_retried_then_recorded_and_a_rerun_redoes_it(ray_cluster, tmp_path):
    suite = parse_suite(MAJORITY)
    out = tmp_path / "res"
    logs: list[str] = []
    killer = _Killer("doomed")
    killer.start()
    try:
        result = run_suite(suite, out, executor=RayExecutor(cpus_per_cell=1, max_retries=2), log=logs.append)
    finally:
        killer.done.set()
        killer.join()
    assert killer.kills == ["cell process", "ray worker", "ray worker"], "3 attempts, each killed"
    doomed, fine = CellKey("demo:intent", "doomed", 2, 0), CellKey("demo:intent", "majority", 2, 0)
    assert result.errors == [doomed], "the grid went on"
    assert json.loads(cell_path(out, fine).read_text())["status"] == "ok"
    cell = json.loads(cell_path(out, doomed).read_text())
    assert cell["status"] == "error" and cell["error"]["type"] == "RayTaskDied"
    assert len(cell["retries"]) == 3
    assert "cell's process died" in cell["retries"][0] and "SIGKILL" in cell["retries"][0]
    assert all(r.split(":")[0].endswith("Error") for r in cell["retries"][1:]), cell["retries"]
    assert "failed 3 time(s) (max_retries=2)" in cell["error"]["message"]
    assert sum("retrying demo:intent doomed" in line for line in logs) == 2

    rerun = run_suite(suite, out, executor=RayExecutor(cpus_per_cell=1), log=lambda m: None)
    assert (rerun.ran, rerun.skipped, rerun.errors) == (1, 1, [])
    assert json.loads(cell_path(out, doomed).read_text())["status"] == "ok"


def test_interrupting_the_driver_keeps_every_finished_cell(ray_cluster, tmp_path):
    suite = parse_suite(MAJORITY)
    out = tmp_path / "res"

    def interrupt_after_the_first_cell(line: str) -> None:
        if line.startswith("[1/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, out, executor=RayExecutor(cpus_per_cell=1), log=interrupt_after_the_first_cell)
    finished = _files(out)
    assert len(finished) >= 1
    rerun = run_suite(suite, out, executor=RayExecutor(cpus_per_cell=1), log=lambda m: None)
    assert rerun.skipped == len(finished) and rerun.ran == 2 - len(finished) and rerun.errors == []


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "options,match",
    [
        ({"cpus_per_cell": 64}, "no node of the Ray cluster can give a cell 64 CPU(s) and 0 GPU(s): the largest node has 2 CPU(s)"),
        ({"gpus_per_cell": 1}, "1 GPU(s): the largest node has 2 CPU(s) and 0 GPU(s)"),
    ],
)
def test_resources_no_node_has_are_refused_before_any_cell(ray_cluster, tmp_path, options, match):
    with pytest.raises(ExecutorError, match=match.replace("(", r"\(").replace(")", r"\)")):
        run_suite(parse_suite(MAJORITY), tmp_path / "o", executor=RayExecutor(**options), log=lambda m: None)
    assert not (tmp_path / "o").exists()
    assert ray.is_initialized(), "a Ray instance the caller started stays up"


def test_a_ray_older_than_supported_is_refused(ray_cluster, tmp_path, monkeypatch):
    monkeypatch.setattr(ray, "__version__", "2.9.3")
    with pytest.raises(ExecutorError, match=r"Ray 2\.9\.3 is installed but fewshot needs Ray >= 2\.60\.0"):
        run_suite(parse_suite(MAJORITY), tmp_path / "o", executor=RayExecutor(), log=lambda m: None)
    assert not (tmp_path / "o").exists()


def test_bad_ray_options_are_clear_errors():
    for kwargs, match in [
        ({"cpus_per_cell": 0}, "cpus_per_cell must be a whole number >= 1; got 0"),
        ({"gpus_per_cell": -1}, "gpus_per_cell must be a number >= 0; got -1"),
        ({"max_retries": -1}, "max_retries must be a whole number >= 0"),
        ({"address": "nowhere"}, "is not 'auto', HOST:PORT or ray://HOST:PORT"),
    ]:
        with pytest.raises(ExecutorError, match=match):
            RayExecutor(**kwargs)


def _cli(tmp_path: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    suite = tmp_path / "suite.toml"
    suite.write_text(MAJORITY)
    return subprocess.run(
        [sys.executable, "-m", "fewshot", "bench", str(suite), "--out", str(tmp_path / "o"), *args],
        capture_output=True, text=True, timeout=120, env=env,
    )


def test_cli_an_unreachable_address_fails_in_seconds_before_any_cell(tmp_path):
    t0 = time.perf_counter()
    proc = _cli(tmp_path, "--executor", "ray", "--address", "ray://127.0.0.1:9")
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("fewshot: error: cannot reach the Ray cluster at ray://127.0.0.1:9 within 5 s")
    assert "ray start --head" in err[0]
    assert time.perf_counter() - t0 < 60 and not (tmp_path / "o").exists()


def test_cli_without_ray_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    from fewshot.cli import main

    suite = tmp_path / "suite.toml"
    suite.write_text(MAJORITY)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    assert main(["bench", str(suite), "--out", str(tmp_path / "o"), "--executor", "ray"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "fewshot: error: --executor ray: Ray is not installed; install it with pip install 'fewshot[ray]'  "
        "(or: pip install 'ray[client]>=2.60')."
    ]
    assert not (tmp_path / "o").exists()


def test_cli_ray_options_need_the_ray_executor(tmp_path, capsys):
    from fewshot.cli import main

    suite = tmp_path / "suite.toml"
    suite.write_text(MAJORITY)
    assert main(["bench", str(suite), "--out", str(tmp_path / "o"), "--cpus-per-cell", "2"]) == 2
    assert "--cpus-per-cell only apply to --executor ray" in capsys.readouterr().err
    assert main(["bench", str(suite), "--out", str(tmp_path / "o"), "--executor", "ray", "--jobs", "2"]) == 2
    assert "--jobs applies to --executor local" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _import_error(name: str) -> str | None:
    from fewshot.registry import get_strategy

    try:
        get_strategy(name)
    except ImportError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.mark.integration
def test_smoke_suite_runs_every_strategy_on_ray(ray_cluster, tmp_path):
    """The CI smoke run, through the Ray executor: every strategy of the suite, smallest settings, demo
    data, real models, each cell a Ray task (the local executor runs the same cells in the unit tests).
    A strategy whose import fails fails this test: it is never dropped from the table."""
    suite = load_suite(REPO / "benchmarks" / "smoke.toml")
    broken = {s.name: _import_error(s.name) for s in suite.strategies if _import_error(s.name)}
    assert not broken, f"strategies that cannot be imported: {broken}"
    labels = [s.label for s in suite.strategies]
    out = tmp_path / "smoke"
    result = run_suite(suite, out, only_strategies=labels, executor=RayExecutor(cpus_per_cell=1), log=lambda m: None)
    cells = [json.loads(cell_path(out, key).read_text()) for key in suite.select(strategies=labels).cells()]
    failed = {c["strategy"]: c.get("error") for c in cells if c["status"] != "ok"}
    assert not failed and not result.errors, failed
    assert all(c["executor"] == "ray" for c in cells)
    for c in cells:
        if c["strategy_name"] != "majority":  # a real model was loaded, used and saved
            # (a zero-shot prompt saves only its template and verbalizer: the base model is found offline)
            assert c["peak_rss_mb"] > c["rss_before_fit_mb"] + 50 and c["model_size_mb"] > 0, c["strategy"]
            assert c["train_seconds"] > 0 and c["predictions_per_second"] > 0
    paths = write_report(out, allow_mixed=True)  # the checkout may hold uncommitted changes
    rows = list(csv.DictReader(open(paths["summary.csv"])))
    by = {r["strategy"]: float(r["mean"]) for r in rows if r["dataset"] == "demo:intent"}
    assert set(by) == set(labels)
    floor = by.pop("majority")
    # predictions are scored as they should be: the best real strategy is far above the 6-intent floor
    assert max(by.values()) > floor + 0.2, (floor, by)
    md = paths["summary.md"].read_text()
    assert all(label in md for label in labels) and "**k = 4.**" in md
    assert paths["curves.png"].stat().st_size > 10_000 and paths["cost.png"].stat().st_size > 10_000
