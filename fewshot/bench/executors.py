"""Where a suite's cells run: the local process pool (the default) or a Ray cluster.

The runner (:func:`fewshot.bench.run_suite`) owns the bookkeeping: it checks the suite, decides which
cells are pending (finished ones are skipped, stale ones redone), prints the progress line of each
finished cell and writes every cell's JSON file atomically. An executor only turns pending cells into
result records. Both executors here run a cell the same way, in a fresh Python process
(``python -m fewshot.bench._child``) with the same thread settings, so a cell gives the same metrics
whichever executor ran it.

- :class:`LocalExecutor` (``fewshot bench SUITE --jobs N``): ``N`` child processes on this machine;
  each writes its cell file and log straight into the results folder.
- :class:`RayExecutor` (``fewshot bench SUITE --executor ray --address auto``): each pending cell is a
  Ray task with ``cpus_per_cell`` CPUs (and ``gpus_per_cell`` GPUs). The task gets the cell's k-shot
  sample and test rows as arguments and returns the result record and the cell's log text; the
  driver writes both, so workers need no shared file system. A task that dies (its worker lost, an
  out-of-memory kill, the cell's process killed) is submitted again up to ``max_retries`` times, then
  recorded as an error cell whose message lists each attempt's reason; a rerun redoes it.

Example::

    from fewshot.bench import load_suite, run_suite
    from fewshot.bench.executors import RayExecutor

    run_suite(load_suite("benchmarks/paper.toml"), "results/paper",
              executor=RayExecutor(address="auto", cpus_per_cell=2))

Every node needs the same fewshot (and library) versions as the driver: a cell records the code
hash of the process that ran it, and a cell made by other code counts as stale on the next run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import FewshotError

__all__ = ["CellExecutor", "ExecutorError", "LocalExecutor", "RayExecutor", "RAY_MIN_VERSION", "make_executor"]

RAY_MIN_VERSION = "2.60.0"  # the version tested (constraints.txt); the [ray] extra asks for it
RAY_INSTALL = "pip install 'fewshot[ray]'  (or: pip install 'ray[client]>=2.60')"
# Ray >= 2.59 turns token authentication on for clusters started on one machine; Ray Client
# (ray://) then connects only when the head was started with RAY_AUTH_MODE=token and the driver
# sets it too (checked here with Ray 2.60: a head started without it never serves a client).
RAY_CLIENT_AUTH_HINT = (
    "Ray Client with token authentication (on by default since Ray 2.59) needs the head started as "
    "`RAY_AUTH_MODE=token ray start --head` and this command run with RAY_AUTH_MODE=token and the "
    "cluster's token (RAY_AUTH_TOKEN, or the file ~/.ray/auth_token; `ray get-auth-token` on the head prints it)"
)
LOG_TAIL_BYTES = 256 * 1024  # the end of a cell's log a Ray task sends back


class ExecutorError(FewshotError, ValueError):
    """An executor that cannot run cells as asked (Ray missing or too old, a cluster that cannot be
    reached, resource requests no node can satisfy). Raised before any cell runs."""


class CellExecutor:
    """What the runner needs from an executor. Subclasses implement the four methods.

    The runner calls :meth:`start` once, before anything is written, then :meth:`settings` (the
    ``jobs``/``torch_threads``/``cores`` fields every cell record carries), then iterates over
    :meth:`run`, and finally :meth:`close` (also after an error or Ctrl-C, with ``cancel=True``).
    """

    name = "executor"
    max_parallel = 0  # the most cells that were running at once (set while running)

    def start(self, log: Callable[[str], None]) -> None:
        """Check the options and connect; raise :class:`ExecutorError` when cells cannot run."""

    def settings(self) -> dict[str, Any]:
        """Fields of every cell record: ``jobs``, ``torch_threads`` and ``cores``."""
        raise NotImplementedError

    def describe(self) -> str:
        """How cells run, for the runner's "running N cell(s) with ..." line."""
        return self.name

    def run(self, tasks: deque, log: Callable[[str], None]) -> Iterator[tuple[Any, dict, bool]]:
        """Run ``tasks`` (the runner's pending cells: ``.key``, ``.path``, ``.payload``); yield
        ``(task, record, stored)`` for each as it finishes, ``stored`` when the record is already
        in the cell's file (the runner then does not write it again)."""
        raise NotImplementedError

    def close(self, cancel: bool = False) -> None:
        """Stop whatever still runs (when ``cancel``) and release resources."""


# --------------------------------------------------------------------------- shared helpers
def death_reason(exitcode: int | None) -> str:
    """Why a cell's process ended without a result, from its exit code (negative: a signal)."""
    why = f"exit code {exitcode}"
    if exitcode is not None and exitcode < 0:
        import signal

        try:
            why = f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            why = f"killed by signal {-exitcode}"
        if exitcode == -9:
            why += " (often the kernel's out-of-memory killer)"
    return why


def _start_child(payload_file: Path, out_file: Path, threads: int) -> subprocess.Popen:
    from .runner import _child_env

    return subprocess.Popen(
        [sys.executable, "-m", "fewshot.bench._child", str(payload_file), str(out_file)],
        stdin=subprocess.DEVNULL,
        env=_child_env(threads),
    )


# --------------------------------------------------------------------------- local
class LocalExecutor(CellExecutor):
    """``jobs`` cells at a time on this machine, each in its own child process with ``threads``
    torch threads (default: the machine's cores divided by ``jobs``). The child writes the cell's
    file and log into the results folder itself, so a cell that finished is on disk even when the
    harness is killed a moment later."""

    name = "local"

    def __init__(self, jobs: int = 1, threads: int | None = None):
        from .._validate import is_int
        from .suite import SuiteError

        if not is_int(jobs, minimum=1):
            raise SuiteError(f"jobs must be a positive integer (parallel cells); got {jobs!r}.")
        if threads is not None and not is_int(threads, minimum=1):
            raise SuiteError(
                f"threads must be a positive integer (torch threads per cell) or None; got {threads!r}."
            )
        self.jobs, self.threads = jobs, threads
        self._running: list = []
        self._tmp: Path | None = None

    def settings(self) -> dict[str, Any]:
        from .runner import available_cores

        cores = available_cores()
        return {"jobs": self.jobs, "torch_threads": self.threads or max(1, cores // self.jobs), "cores": cores}

    def describe(self) -> str:
        s = self.settings()
        return f"{s['jobs']} job(s), {s['torch_threads']} torch thread(s) each"

    def run(self, tasks: deque, log: Callable[[str], None]) -> Iterator[tuple[Any, dict, bool]]:
        import tempfile

        from .runner import TEMP_PREFIX, read_json

        threads = self.settings()["torch_threads"]
        self._tmp = tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
        running = self._running
        while tasks or running:
            while tasks and len(running) < self.jobs:
                task = tasks.popleft()
                task.payload["parent_pid"] = os.getpid()
                payload_file = tmp / f"{task.payload['record']['run_id']}.json"
                payload_file.write_text(json.dumps(task.payload, ensure_ascii=False), encoding="utf-8")
                running.append((_start_child(payload_file, task.path, threads), task, time.time()))
                self.max_parallel = max(self.max_parallel, len(running))
            finished = [r for r in running if r[0].poll() is not None]
            if not finished:
                time.sleep(0.1)
                continue
            for item in finished:
                running.remove(item)
                proc, task, t_start = item
                record = read_json(task.path)
                if record is None or record.get("run_id") != task.payload["record"]["run_id"]:
                    reason = f"the cell's process died without a result: {death_reason(proc.returncode)}"
                    yield task, error_record(task, "ChildProcessDied", reason, time.time() - t_start), False
                else:
                    yield task, record, True

    def close(self, cancel: bool = False) -> None:
        import shutil
        import subprocess as sp

        if cancel:
            for proc, _task, _t in self._running:
                proc.terminate()
            for proc, _task, _t in self._running:
                try:
                    proc.wait(5)
                except sp.TimeoutExpired:
                    proc.kill()
        self._running.clear()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


def error_record(task, error_type: str, message: str, seconds: float, **extra) -> dict:
    """The record of a cell that produced no result of its own (its process or task died)."""
    record = dict(task.payload["record"])
    record.update(
        {
            "status": "error",
            "wall_seconds": round(seconds, 3),
            "error": {"type": error_type, "message": message, "traceback": ""},
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **extra,
        }
    )
    return record


# --------------------------------------------------------------------------- Ray
def run_cell_task(payload: dict, test: dict) -> dict:
    """The body of a cell's Ray task: run the cell in a fresh child process on this node and return
    ``{"record": ..., "log": ...}``, or ``{"record": None, "died": reason, "log": ...}`` when the
    child died without a result.

    Why a child process inside the task rather than the cell's code in the Ray worker itself: the
    cell then runs exactly as with the local executor (a fresh interpreter whose thread settings
    precede the first torch/numpy import, its own peak memory, nothing left behind by the previous
    cell in a reused worker), so metrics and memory figures match; the cost is one interpreter
    start per cell, small beside training. The child dies with the worker (``die_with_parent``),
    so a cancelled or lost task leaves no cell training.

    ``test`` holds the test rows (``X_test``, ``y_test``), shared by many cells through Ray's
    object store, or is None when the suite says ``shared_data = true``: the rows are then read
    here from the shared data folder (``payload["shared_test"]``), and a copy that differs from
    the driver's is returned as ``{"record": None, "fatal": reason}`` (not retried).
    Files are written only to a temporary folder on this node, removed at the end.
    """
    import shutil
    import tempfile

    from .runner import TEMP_PREFIX, available_cores, read_json, read_shared_test_rows
    from .suite import SuiteError

    if test is None:
        try:
            test = read_shared_test_rows(payload["shared_test"], payload["record"]["test_hash"])
        except SuiteError as exc:
            return {"record": None, "fatal": f"{exc} (on {socket.gethostname()})", "log": ""}
    tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
    try:
        payload = dict(payload, X_test=test["X_test"], y_test=test["y_test"])
        payload["record"] = dict(payload["record"], cores=available_cores(), node=socket.gethostname())
        payload["log_path"] = str(tmp / "cell.log")
        payload["parent_pid"] = os.getpid()
        payload_file, out_file = tmp / "payload.json", tmp / "cell.json"
        payload_file.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        proc = _start_child(payload_file, out_file, int(payload["record"]["torch_threads"]))
        try:
            code = proc.wait()
        except BaseException:  # the task is cancelled: stop the cell too
            proc.kill()
            raise
        log_text = ""
        try:
            with open(tmp / "cell.log", "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - LOG_TAIL_BYTES))
                log_text = fh.read().decode("utf-8", errors="replace")
        except OSError:
            pass
        record = read_json(out_file)
        if record is None or record.get("run_id") != payload["record"]["run_id"]:
            return {
                "record": None,
                "died": f"the cell's process died without a result on {socket.gethostname()}: "
                f"{death_reason(code)}",
                "log": log_text,
            }
        return {"record": record, "log": log_text}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _probe(host: str, port: int, seconds: float) -> str | None:
    """None when a TCP connection to ``host:port`` opens within ``seconds``, else why not."""
    try:
        with socket.create_connection((host, port), timeout=seconds):
            return None
    except OSError as exc:
        return str(exc) or type(exc).__name__


def _split_address(address: str) -> tuple[str, int] | None:
    rest = address[len("ray://") :] if address.startswith("ray://") else address
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


class RayExecutor(CellExecutor):
    """Each pending cell as a Ray task with ``cpus_per_cell`` CPUs and ``gpus_per_cell`` GPUs.

    Parameters
    ----------
    address : str, optional
        ``"auto"`` (the cluster ``ray start --head`` started on this machine), ``"HOST:PORT"`` (a
        head node's GCS address) or ``"ray://HOST:PORT"`` (Ray Client, port 10001 by default). None:
        ``$RAY_ADDRESS`` when set, else a fresh local Ray instance for this run (to try it out). When Ray
        is already initialized in this process, that connection is used and left open.
    cpus_per_cell : int
        CPUs each cell's task reserves; also the cell's torch threads unless ``threads`` is given.
    gpus_per_cell : float
        GPUs each cell's task reserves (0: CPU only).
    max_retries : int
        How often a task that died is submitted again before its cell is recorded as an error.
    threads : int, optional
        Torch threads per cell (default: ``cpus_per_cell``).
    connect_timeout : float
        Seconds to wait for an explicit ``HOST:PORT`` address to answer before giving up.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        cpus_per_cell: int = 1,
        gpus_per_cell: float = 0,
        max_retries: int = 2,
        threads: int | None = None,
        connect_timeout: float = 5.0,
    ):
        from .._validate import is_int

        problems = []
        if not is_int(cpus_per_cell, minimum=1):
            problems.append(f"cpus_per_cell must be a whole number >= 1; got {cpus_per_cell!r}")
        if isinstance(gpus_per_cell, bool) or not isinstance(gpus_per_cell, (int, float)) or not gpus_per_cell >= 0:
            problems.append(f"gpus_per_cell must be a number >= 0; got {gpus_per_cell!r}")
        if not is_int(max_retries, minimum=0):
            problems.append(f"max_retries must be a whole number >= 0; got {max_retries!r}")
        if threads is not None and not is_int(threads, minimum=1):
            problems.append(f"threads must be a whole number >= 1 or None; got {threads!r}")
        if address is not None and address != "auto" and _split_address(address) is None:
            problems.append(
                f"address {address!r} is not 'auto', HOST:PORT or ray://HOST:PORT (e.g. ray://10.0.0.5:10001)"
            )
        if problems:
            raise ExecutorError("; ".join(problems) + ".")
        self.address, self.cpus_per_cell, self.gpus_per_cell = address, cpus_per_cell, gpus_per_cell
        self.max_retries, self.threads, self.connect_timeout = max_retries, threads, connect_timeout
        self._ray = None
        self._owns_ray = False
        self._pending: dict = {}
        self._cluster_cpus = 0
        self._code_hash: str | None = None

    # ---------------------------------------------------------------- start: checks before any cell
    def start(self, log: Callable[[str], None]) -> None:
        from ..compat import import_ray

        try:
            ray = import_ray(RAY_MIN_VERSION, install=RAY_INSTALL)
        except ImportError as exc:
            raise ExecutorError(f"--executor ray: {exc}") from None
        self._ray = ray
        if ray.is_initialized():
            log("using the Ray instance this process is already connected to")
        else:
            self._connect(ray, log)
        self._check_resources(ray)
        from .provenance import code_identity

        self._code_hash = code_identity()["hash"]

    def _connect(self, ray, log: Callable[[str], None]) -> None:
        import logging

        how_to = (
            "start a cluster with `ray start --head` on the head node (and `ray start --address HEAD_IP:6379` "
            "on each worker), then pass --address auto on the head node or --address ray://HEAD_IP:10001"
        )
        target = _split_address(self.address) if self.address not in (None, "auto") else None
        if target is not None:
            why = _probe(*target, self.connect_timeout)
            if why is not None:
                raise ExecutorError(
                    f"cannot reach the Ray cluster at {self.address} within {self.connect_timeout:g} s ({why}); {how_to}."
                )
        kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
        address = self.address
        if address is None and not os.environ.get("RAY_ADDRESS"):
            # a fresh instance for this run, even when `ray start` left a cluster on this machine
            address, kwargs["include_dashboard"] = "local", False
        if str(address or os.environ.get("RAY_ADDRESS", "")).startswith("ray://") and os.environ.get(
            "RAY_AUTH_MODE"
        ) != "token":
            log("connecting through Ray Client without RAY_AUTH_MODE=token: a cluster with token "
                "authentication (the default since Ray 2.59) will not answer, and the attempt ends in Ray's timeout")
        t0 = time.perf_counter()
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, TimeoutError, RuntimeError) as exc:
            where = self.address or "RAY_ADDRESS / a local instance"
            hint = how_to
            if str(self.address or os.environ.get("RAY_ADDRESS", "")).startswith("ray://"):
                hint += "; " + RAY_CLIENT_AUTH_HINT
            raise ExecutorError(f"cannot connect to Ray at {where}: {_first_line(exc).rstrip('.')}; {hint}.") from None
        self._owns_ray = True
        self.startup_seconds = time.perf_counter() - t0
        log(
            f"connected to Ray at {self.address or 'a new local instance'} in {self.startup_seconds:.1f} s"
        )

    def _check_resources(self, ray) -> None:
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        need = {"CPU": float(self.cpus_per_cell), "GPU": float(self.gpus_per_cell)}
        fits = [
            n for n in nodes if all(n.get("Resources", {}).get(r, 0.0) >= v for r, v in need.items() if v > 0)
        ]
        total = ray.cluster_resources()
        self._cluster_cpus = int(total.get("CPU", 0))
        if not fits:
            largest = max(
                (n.get("Resources", {}) for n in nodes),
                key=lambda r: (r.get("GPU", 0.0), r.get("CPU", 0.0)),
                default={},
            )
            self.close()
            raise ExecutorError(
                f"no node of the Ray cluster can give a cell {self.cpus_per_cell:g} CPU(s) and "
                f"{self.gpus_per_cell:g} GPU(s): the largest node has {largest.get('CPU', 0):g} CPU(s) and "
                f"{largest.get('GPU', 0):g} GPU(s) (the whole cluster: {total.get('CPU', 0):g} CPU(s), "
                f"{total.get('GPU', 0):g} GPU(s), {len(nodes)} node(s)); lower --cpus-per-cell / "
                "--gpus-per-cell or add a larger node."
            )

    def settings(self) -> dict[str, Any]:
        # "cores" is replaced by the worker node's count when the cell runs
        return {
            "jobs": max(1, self._cluster_cpus // self.cpus_per_cell),
            "torch_threads": self.threads or self.cpus_per_cell,
            "cores": self._cluster_cpus,
            "executor": "ray",
        }

    def describe(self) -> str:
        return (
            f"Ray tasks of {self.cpus_per_cell} CPU(s)"
            + (f" and {self.gpus_per_cell:g} GPU(s)" if self.gpus_per_cell else "")
            + f" on {self._cluster_cpus} cluster CPU(s), up to {self.max_retries} retries per cell"
        )

    # ---------------------------------------------------------------- run
    def run(self, tasks: deque, log: Callable[[str], None]) -> Iterator[tuple[Any, dict, bool]]:
        from ..compat import ray_task_failure_types

        ray = self._ray
        remote = ray.remote(run_cell_task).options(
            num_cpus=self.cpus_per_cell, num_gpus=self.gpus_per_cell, max_retries=0, retry_exceptions=False
        )
        test_refs: dict[str, Any] = {}
        attempts: dict[int, list[str]] = {}
        started: dict[int, float] = {}
        pending = self._pending
        task_error = ray_task_failure_types(ray)

        def submit(task) -> None:
            payload = {k: v for k, v in task.payload.items() if k not in ("X_test", "y_test")}
            if "shared_test" in payload:  # the worker reads the rows from the shared data folder
                pending[remote.remote(payload, None)] = task
                started.setdefault(id(task), time.time())
                return
            key = payload["record"]["test_hash"]
            if key not in test_refs:  # one copy of each dataset's test rows in the object store
                test_refs[key] = ray.put({"X_test": task.payload["X_test"], "y_test": task.payload["y_test"]})
            pending[remote.remote(payload, test_refs[key])] = task
            started.setdefault(id(task), time.time())

        for task in tasks:
            submit(task)
        tasks.clear()
        self.max_parallel = min(len(pending), max(1, self._cluster_cpus // self.cpus_per_cell))
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in ready:
                task = pending.pop(ref)
                reason = None
                try:
                    out = ray.get(ref)
                except task_error as exc:
                    reason = f"{type(exc).__name__}: {_first_line(exc)}"
                else:
                    if out["record"] is None and "fatal" in out:  # the same on every attempt: no retry
                        yield task, error_record(
                            task, "SharedDataMismatch", out["fatal"], time.time() - started[id(task)]
                        ), False
                        continue
                    if out["record"] is None:
                        reason = out["died"]
                    self._write_log(task, out.get("log", ""))
                if reason is None:
                    record = out["record"]
                    tried = attempts.get(id(task), [])
                    if tried:
                        record["retries"] = tried
                    self._warn_other_code(record, log)
                    yield task, record, False
                    continue
                tried = attempts.setdefault(id(task), [])
                tried.append(reason)
                if len(tried) <= self.max_retries:
                    log(
                        f"retrying {_describe(task.key)} (attempt {len(tried) + 1} of {self.max_retries + 1}): {reason}"
                    )
                    submit(task)
                    continue
                message = (
                    f"the cell's Ray task failed {len(tried)} time(s) (max_retries={self.max_retries}): "
                    + "; ".join(f"attempt {i}: {r}" for i, r in enumerate(tried, 1))
                )
                error_type = "ChildProcessDied" if reason.startswith("the cell's process died") else "RayTaskDied"
                yield task, error_record(task, error_type, message, time.time() - started[id(task)], retries=tried), False

    def _write_log(self, task, text: str) -> None:
        from .._atomic import write_text_atomic

        try:
            write_text_atomic(task.payload["log_path"], text)
        except OSError:
            pass

    def _warn_other_code(self, record: dict, log: Callable[[str], None]) -> None:
        theirs = (record.get("code") or {}).get("hash")
        if theirs and self._code_hash and theirs != self._code_hash:
            log(
                f"warning: a cell ran on {record.get('node')} with other fewshot code ({theirs[:12]}) than this "
                f"driver ({self._code_hash[:12]}); it will count as stale on the next run. Install the same "
                "fewshot on every node."
            )
            self._code_hash = None  # once is enough

    def close(self, cancel: bool = False) -> None:
        ray = self._ray
        if ray is None:
            return
        if cancel:
            for ref in list(self._pending):
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # already finished or gone  # noqa: BLE001
                    pass
        self._pending.clear()
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)


def _describe(key) -> str:
    return f"{key.dataset} {key.strategy} k={key.k} seed={key.seed}"


def make_executor(
    name: str = "local",
    *,
    jobs: int = 1,
    threads: int | None = None,
    address: str | None = None,
    cpus_per_cell: int | None = None,
    gpus_per_cell: float | None = None,
    max_retries: int | None = None,
) -> CellExecutor:
    """The executor ``fewshot bench --executor NAME`` uses, from the command's options; options of
    the other executor are an error (e.g. ``--address`` with ``--executor local``)."""
    if name == "local":
        given = [
            opt
            for opt, value in (
                ("--address", address),
                ("--cpus-per-cell", cpus_per_cell),
                ("--gpus-per-cell", gpus_per_cell),
                ("--max-retries", max_retries),
            )
            if value is not None
        ]
        if given:
            raise ExecutorError(f"{', '.join(given)} only apply to --executor ray; drop them or add --executor ray.")
        return LocalExecutor(jobs=jobs, threads=threads)
    if name == "ray":
        if jobs != 1:
            raise ExecutorError(
                "--jobs applies to --executor local; with Ray, cells run as the cluster's free CPUs allow "
                "(--cpus-per-cell sets each cell's share)."
            )
        return RayExecutor(
            address,
            cpus_per_cell=1 if cpus_per_cell is None else cpus_per_cell,
            gpus_per_cell=0 if gpus_per_cell is None else gpus_per_cell,
            max_retries=2 if max_retries is None else max_retries,
            threads=threads,
        )
    raise ExecutorError(f"unknown executor {name!r}; choose local or ray.")
