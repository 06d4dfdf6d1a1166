"""Run a suite's grid of cells, each in its own child process, into a resumable results folder.

Layout of a results folder::

    RESULTS_DIR/
      suite.json                                  the suite as run (the report reads it)
      cells/<dataset>/<strategy label>/k<k>-seed<seed>.json   one file per cell
      logs/<dataset>/<strategy label>/k<k>-seed<seed>.log     what the cell's process printed

For each (dataset, k, seed) one k-shot training sample is drawn (``fewshot.data.k_shot_indices``)
and shared by every strategy, so strategies are compared on the same examples. The rows scored are
the dataset's test split (or, with ``eval_split = "validation"``, its validation split or a seeded
hold-out of train), or a fixed seeded subsample of ``max_test`` of them, the same for every cell.

Each cell runs in a fresh Python process (``python -m fewshot.bench._child``), so its peak resident
memory (``ru_maxrss`` of that process) is the cell's own: Python, the libraries it imported, the model,
training and prediction. A cell file is written atomically (temporary file, then ``os.replace``),
so an interrupted run leaves only whole cells; a rerun skips finished cells whose configuration,
data and code are unchanged (``force=True`` redoes them). The code is a sha256 of the ``fewshot``
package's files plus the git commit and whether ``fewshot/`` has uncommitted changes
(:mod:`fewshot.bench.provenance`); every cell records the one of the process that ran it.

A cell that raises is recorded with its error and the grid goes on; error cells are retried by the
next run. A cell's process dies with the harness, however the harness ends (see
:func:`fewshot.bench._child.die_with_parent`); temporary files and folders carry the pid of the
process that made them, and the next run removes those whose process is gone.

Where cells run is an executor's business (:mod:`fewshot.bench.executors`): the local process pool
by default, or one Ray task per cell; this module keeps the checks, resume, progress and cell files.

Example::

    from fewshot.bench import load_suite, run_suite
    run_suite(load_suite("benchmarks/smoke.toml"), "results/smoke", jobs=2)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._atomic import remove_stale_temp_files, write_json_atomic
from .provenance import code_identity
from .suite import CellKey, Suite, SuiteError, check_suite, dataset_key

__all__ = ["RunResult", "run_suite", "cell_path", "log_path", "read_json", "write_json_atomic"]

SCHEMA_VERSION = 1
SUITE_FILE = "suite.json"
CELLS_DIR = "cells"
LOGS_DIR = "logs"
MEMORY_METHOD = (
    "peak resident set size (getrusage ru_maxrss) of the fresh child process that ran the cell: "
    "Python, imported libraries, the test data, the model, training and prediction"
)


# --------------------------------------------------------------------------- small helpers
TEMP_PREFIX = "fewshot-bench-"


def read_json(path) -> dict | None:
    """A cell or suite JSON file, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def cell_path(out_dir, key: CellKey) -> Path:
    """Where cell ``key``'s JSON file lives inside results folder ``out_dir``."""
    return (
        Path(out_dir) / CELLS_DIR / dataset_key(key.dataset) / key.strategy / f"k{key.k}-seed{key.seed}.json"
    )


def log_path(out_dir, key: CellKey) -> Path:
    """Where the output of cell ``key``'s process (progress bars, warnings) is kept."""
    return Path(out_dir) / LOGS_DIR / dataset_key(key.dataset) / key.strategy / f"k{key.k}-seed{key.seed}.log"


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _hash(obj: Any) -> str:
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """JSON-able copy of a parameter value (numpy scalars, tuples, paths)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _rss_mb_now() -> float | None:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def _traceback_tail(exc: BaseException, lines: int = 15) -> str:
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return "\n".join(text.rstrip().splitlines()[-lines:])


# --------------------------------------------------------------------------- the child process
def _cell_main(payload: dict, out_path: str) -> None:
    """Run one cell in this fresh process (see ``fewshot.bench._child``) and write its JSON file.

    Nothing heavy is imported before this point, so the thread settings below precede the first
    torch/numpy import.
    """
    log_file = Path(payload["log_path"])
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log_fd, 1)  # the strategy's own output (progress, library warnings) goes to the cell's log
    os.dup2(log_fd, 2)
    threads = str(payload["record"]["torch_threads"])
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = threads
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    started = time.time()
    record = dict(payload["record"])
    record["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
    try:
        record.update(_run_cell(payload))
        record["status"] = "ok"
    except Exception as exc:  # the grid goes on; the error is the cell's result
        record["status"] = "error"
        record["error"] = {"type": type(exc).__name__, "message": str(exc), "traceback": _traceback_tail(exc)}
    record["wall_seconds"] = round(time.time() - started, 3)
    record["peak_rss_mb"] = _round(_peak_rss_mb(), 1)
    record["memory_method"] = MEMORY_METHOD
    record["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sys.stdout.flush()
    sys.stderr.flush()
    write_json_atomic(out_path, record)


def _round(x, nd):
    return None if x is None else round(float(x), nd)


def _finite(x, nd):
    """``x`` rounded, or None when it is missing or not finite (a skipped candidate's NaN)."""
    import math

    return None if x is None or not math.isfinite(float(x)) else round(float(x), nd)


def _cv_rows(cv: dict) -> list[dict]:
    """auto's ``cv_results_`` as JSON rows: every fold's score (and Brier score and log loss), the costs
    and the paired columns, so a study can replay another choice rule on the recorded folds without
    training again."""
    from ..auto import PROPER_SCORES

    n_splits = sum(1 for key in cv if key.startswith("split") and key.endswith("_test_score"))
    return [
        {"candidate": str(candidate), "mean_test_score": _finite(cv["mean_test_score"][i], 5),
         "estimated_seconds": _finite(cv["estimated_seconds"][i], 2),
         "fold_scores": [_finite(cv[f"split{s}_test_score"][i], 5) for s in range(n_splits)],
         **{f"fold_{name}": [_finite(cv[f"split{s}_test_{name}"][i], 5) for s in range(n_splits)]
            for name in PROPER_SCORES},
         "mean_fit_seconds": _finite(cv["mean_fit_seconds"][i], 3),
         "mean_predict_seconds": _finite(cv["mean_predict_seconds"][i], 3),
         "paired_diff": _finite(cv["paired_diff"][i], 5), "paired_se": _finite(cv["paired_se"][i], 5),
         "chosen": bool(cv["chosen"][i]), "skipped": bool(cv["skipped"][i]), "reason": str(cv["reason"][i])}
        for i, candidate in enumerate(cv["candidate"])
    ]


def _run_cell(payload: dict) -> dict:
    import tempfile

    from ..base import fewshot_version, library_versions
    from ..registry import make_classifier

    rec = payload["record"]
    # the code this process runs (taken here, not in the parent: files may change during a long run)
    out: dict[str, Any] = {
        "libraries": library_versions(),
        "fewshot_version": fewshot_version(),
        "code": code_identity(),
    }
    X_train = [tuple(x) if isinstance(x, list) else x for x in payload["X_train"]]
    X_test = [tuple(x) if isinstance(x, list) else x for x in payload["X_test"]]
    y_train, y_test = payload["y_train"], payload["y_test"]

    clf = make_classifier(rec["strategy_name"], **rec["requested_params"])
    out["params"] = _plain(clf.get_params(deep=False))
    if "torch" in sys.modules:  # the strategy module imported torch: give it this cell's share of cores
        sys.modules["torch"].set_num_threads(int(rec["torch_threads"]))
    out["rss_before_fit_mb"] = _round(_rss_mb_now(), 1)
    if payload.get("active"):  # an active-learning simulation: a learning curve, no saved model
        from .active import run_active_cell

        cpu0 = _cpu_seconds()
        out.update(run_active_cell(payload, clf, X_train, y_train, X_test, y_test))
        out["train_cpu_seconds"] = round(_cpu_seconds() - cpu0, 3)
        return out

    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    if payload.get("X_unlabeled") is not None:  # e.g. distillation: the teacher labels these
        clf.fit(X_train, y_train, unlabeled=list(payload["X_unlabeled"]))
    else:
        clf.fit(X_train, y_train)
    out["train_seconds"] = round(time.perf_counter() - t0, 4)
    out["train_cpu_seconds"] = round(_cpu_seconds() - cpu0, 3)
    history = getattr(clf, "loss_history_", None)  # the training loss, for strategies that keep it
    if history is not None:
        try:
            out["loss_history"] = [round(float(v), 5) for v in history]
        except (TypeError, ValueError):
            pass
    if getattr(clf, "best_candidate_", None) is not None:  # auto: what it chose, and the table it chose from
        cv = clf.cv_results_
        out["chosen"] = clf.best_candidate_
        out["cv_table"] = _cv_rows(cv)

    if rec["metric"] == "entity_f1":  # NER: tag sequences, scored by entities
        out.update(_token_metrics(clf, X_test, y_test))
    else:
        out.update(_label_metrics(clf, X_test, y_test, rec["metric"]))
    if "torch" in sys.modules:
        out["torch_threads_used"] = int(sys.modules["torch"].get_num_threads())

    with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-") as tmp:
        t0 = time.perf_counter()
        clf.save(Path(tmp) / "model")
        out["save_seconds"] = round(time.perf_counter() - t0, 4)
        out["model_size_mb"] = round(_folder_mb(Path(tmp) / "model"), 3)
        out["base_model_mb"] = round(_base_model_mb(Path(tmp) / "model"), 3)
        # what a deployment must hold to predict: the saved folder plus any base model it names
        out["serve_size_mb"] = round(out["model_size_mb"] + out["base_model_mb"], 3)
    return out


def _label_metrics(clf, X_test, y_test, metric: str) -> dict:
    """Predict the test texts; classification metrics, the headline, per-class F1, the confusion matrix."""
    import numpy as np

    from ..metrics import classification_metrics

    out: dict[str, Any] = {}
    members = None
    t0 = time.perf_counter()
    if hasattr(clf, "predict_proba_with_members"):  # an ensemble: its members are scored on the same rows
        proba, members = clf.predict_proba_with_members(X_test)
        proba = np.asarray(proba, dtype=np.float64)
    else:
        proba = np.asarray(clf.predict_proba(X_test), dtype=np.float64)
    predict_seconds = time.perf_counter() - t0
    out["predict_seconds"] = round(predict_seconds, 4)
    out["predictions_per_second"] = round(len(X_test) / max(predict_seconds, 1e-9), 2)
    classes = list(clf.classes_)
    pred = [classes[i] for i in np.argmax(proba, axis=1)]
    m = classification_metrics(y_test, pred, labels=classes, proba=proba)
    out["metrics"] = {name: m[name] for name in ("accuracy", "f1_macro", "f1_weighted", "mcc", "ece")}
    out["headline"] = m[metric]
    out["per_class_f1"] = {lab: row["f1"] for lab, row in m["per_class"].items()}
    out["confusion_matrix"] = {"labels": m["labels"], "matrix": m["confusion_matrix"]}
    if members:
        out["member_headline"] = {}
        for label, p in members.items():
            mp = classification_metrics(y_test, [classes[i] for i in np.argmax(p, axis=1)], labels=classes, proba=p)
            out["member_headline"][label] = mp[metric]
    return out


def _token_metrics(clf, X_test, y_test) -> dict:
    """Tag the test sentences; entity-level metrics (seqeval, strict IOB2), entity F1 as the headline,
    F1 per entity type, sentences per second."""
    from ..metrics import entity_metrics

    t0 = time.perf_counter()
    pred = clf.predict(X_test)
    predict_seconds = time.perf_counter() - t0
    m = entity_metrics(y_test, pred)
    return {
        "predict_seconds": round(predict_seconds, 4),
        "predictions_per_second": round(len(X_test) / max(predict_seconds, 1e-9), 2),  # sentences per second
        "metrics": {name: m[name] for name in ("entity_f1", "precision", "recall", "f1_macro", "token_accuracy")},
        "headline": m["entity_f1"],
        "per_class_f1": {kind: row["f1"] for kind, row in m["per_type"].items()},
        "per_type": m["per_type"],
    }


def _base_model_mb(saved: Path) -> float:
    """Size of the base models a saved classifier needs beside its folder (the prompt strategy's LM),
    else 0. An ensemble's or auto's members are saved in subfolders: each distinct base model any of
    them names counts once."""
    from ..models import resolve_model

    names = set()
    for meta_file in sorted(saved.rglob("fewshot.json")):
        base = json.loads(meta_file.read_text(encoding="utf-8")).get("base_model")
        if isinstance(base, dict) and base.get("name"):
            names.add(base["name"])
    paths = {Path(resolve_model(name)) for name in names}
    return sum(_folder_mb(path) for path in paths if path.is_dir())


# --------------------------------------------------------------------------- the parent
@dataclass
class _Task:
    key: CellKey
    path: Path
    payload: dict


@dataclass
class RunResult:
    """What :func:`run_suite` did: cells in the grid, run now, skipped as finished, failed."""

    out_dir: Path
    cells: int = 0
    ran: int = 0
    skipped: int = 0
    errors: list[CellKey] = field(default_factory=list)
    max_parallel: int = 0
    seconds: float = 0.0


def _log_stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def holdout_split(y, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(kept, held_out)`` row indices of a seeded, stratified hold-out of ``fraction`` of the rows:
    per class ``round(fraction * n)`` rows, but at least one held out and one kept when the class has
    two or more rows (a class with one row stays in ``kept``). Both lists are sorted."""
    import numpy as np

    rng = np.random.RandomState(seed)
    by_class: dict[str, list[int]] = {}
    for i, label in enumerate(y):
        by_class.setdefault(str(label), []).append(i)
    held: list[int] = []
    for label in sorted(by_class):
        rows = by_class[label]
        if len(rows) < 2:
            continue
        n = min(max(1, round(fraction * len(rows))), len(rows) - 1)
        held += [rows[i] for i in rng.permutation(len(rows))[:n]]
    held_set = set(held)
    return [i for i in range(len(y)) if i not in held_set], sorted(held)


def _dataset_record(spec: str, ds, suite: Suite) -> dict:
    from ..data import Split, subsample
    from .suite import HOLDOUT_FRACTION

    train, train_rows = ds.train, list(range(len(ds.train.X)))
    if suite.eval_split == "test":
        source, X_eval, y_eval = "test", ds.test.X, ds.test.y
    elif ds.validation is not None and ds.validation.X:
        source, X_eval, y_eval = "validation", ds.validation.X, ds.validation.y
    else:  # a seeded hold-out of train; k-shot samples come from the rest
        train_rows, held = holdout_split(ds.train.y, HOLDOUT_FRACTION, suite.test_seed)
        source = "train-holdout"
        X_eval, y_eval = [ds.train.X[i] for i in held], [ds.train.y[i] for i in held]
        train = Split([ds.train.X[i] for i in train_rows], [ds.train.y[i] for i in train_rows])
    X_test, y_test = subsample(X_eval, y_eval, suite.max_test, seed=suite.test_seed)
    X_test = [list(x) if isinstance(x, tuple) else x for x in X_test]
    return {
        "ds": ds,
        "train": train,
        "train_rows": train_rows,
        "X_test": X_test,
        "y_test": list(y_test),
        "info": {
            "dataset": spec,
            "dataset_key": dataset_key(spec),
            "dataset_name": ds.name,
            "metric": ds.metric,
            "eval_split": source,
            "n_test": len(X_test),
            "test_full_size": len(X_eval),
            "test_subsampled": len(X_test) < len(X_eval),
            "max_test": suite.max_test,
            "test_seed": suite.test_seed,
            "test_hash": _hash([X_test, y_test]),
        },
    }


def read_shared_test_rows(shared: dict, test_hash: str) -> dict:
    """The test rows of a cell read on a worker from the shared ``data_dir`` (suite key
    ``shared_data = true``), exactly as the driver chose them (same split, subsample and seed).
    Raises :class:`SuiteError` when the worker's copy of the dataset gives other rows than the
    driver's (their hashes differ) or cannot be read."""
    from ..datasets import resolve_dataset
    from .suite import Suite

    suite = Suite.from_dict(shared["suite"])
    where = shared.get("data_dir") or "the dataset's own path"
    try:
        ds = resolve_dataset(shared["dataset"], Path(shared["data_dir"]) if shared.get("data_dir") else None)
    except Exception as exc:  # the message names what is missing
        raise SuiteError(
            f"this worker cannot read dataset {shared['dataset']!r} from {where} (suite shared_data = true: "
            f"every worker needs the datasets at the same path): {exc}"
        ) from None
    rec = _dataset_record(shared["dataset"], ds, suite)
    if rec["info"]["test_hash"] != test_hash:
        raise SuiteError(
            f"this worker's copy of dataset {shared['dataset']!r} at {where} gives other test rows than the "
            f"driver's (hash {rec['info']['test_hash'][:12]} vs {test_hash[:12]}); give every machine the same "
            "files, or set shared_data = false so the driver sends the rows."
        )
    return {"X_test": rec["X_test"], "y_test": rec["y_test"]}


def proportional_indices(y, n: int, seed: int) -> list[int]:
    """``n`` row indices drawn in the class proportions of ``y`` (stratified, seeded): each class
    gets ``round(share * n)`` rows, at least one and at most all it has; the largest class takes up
    the rounding. The order is shuffled."""
    import numpy as np

    labels = np.asarray([str(v) for v in y], dtype=object)
    rng = np.random.RandomState(seed)
    classes, counts = np.unique(labels, return_counts=True)
    want = np.maximum(1, np.round(counts / counts.sum() * n).astype(int))
    want[np.argmax(counts)] += n - want.sum()
    want = np.clip(want, 1, counts)
    keep: list[int] = []
    for cls, m in zip(classes, want, strict=True):
        keep += rng.choice(np.flatnonzero(labels == cls), size=int(m), replace=False).tolist()
    return [int(i) for i in rng.permutation(keep)]


def _sample_record(
    train, k: int, seed: int, train_rows: list[int] | None = None, sampling: str = "per_class"
) -> dict:
    """The k-shot sample of split ``train``; ``train_indices`` are rows of the dataset's train file
    (``train_rows`` maps ``train``'s rows to them when part of train is held out for evaluation).
    ``sampling="proportional"`` draws k × classes rows in the split's class proportions instead."""
    from collections import Counter

    from ..data import k_shot_indices

    if k == 0:  # the whole training split
        idx = list(range(len(train.y)))
    elif sampling == "mentions":
        from ..ner.data import k_mention_indices

        idx = [int(i) for i in k_mention_indices(train.y, k, seed, warn=False)]
    elif sampling == "proportional":
        idx = proportional_indices(train.y, k * len(set(map(str, train.y))), seed)
    else:
        idx = [int(i) for i in k_shot_indices(train.y, k, seed, warn=False)]
    X = [list(train.X[i]) if isinstance(train.X[i], tuple) else train.X[i] for i in idx]
    y = [train.y[i] for i in idx]
    rows = list(idx)
    if sampling == "mentions":  # NER: mentions per entity type
        from ..ner.data import mention_counts

        counts = Counter(mention_counts(y))
    else:
        counts = Counter(y)
    return {
        "X_train": X,
        "y_train": y,
        "rows": rows,
        "info": {
            "n_train": len(idx),
            "train_indices": [train_rows[i] for i in idx] if train_rows is not None else idx,
            "sample_hash": _hash([X, y]),
            "class_counts": {str(c): n for c, n in sorted(counts.items(), key=lambda t: str(t[0]))},
            "short_classes": {
                str(c): n
                for c, n in sorted(counts.items(), key=lambda t: str(t[0]))
                if n < k and sampling in ("per_class", "mentions")
            },
            "sampling": sampling,
        },
    }


def unlabeled_indices(n_rows: int, exclude, n: int, seed: int) -> list[int]:
    """``n`` rows of a training split of ``n_rows`` rows, none of them in ``exclude`` (the k-shot
    sample), drawn with ``seed`` (all remaining rows when fewer are left), in ascending order."""
    import numpy as np

    taken = set(int(i) for i in exclude)
    pool = np.asarray([i for i in range(n_rows) if i not in taken], dtype=np.int64)
    rng = np.random.RandomState([int(seed), 7919])  # a stream of its own, not the k-shot sample's
    keep = rng.choice(len(pool), size=min(int(n), len(pool)), replace=False)
    return sorted(int(i) for i in pool[keep])


def _unlabeled_record(train, sample: dict, n: int, seed: int, train_rows: list[int] | None) -> dict:
    idx = unlabeled_indices(len(train.X), sample["rows"], n, seed)
    X = [train.X[i] for i in idx]
    return {"X_unlabeled": X, "info": {
        "n_unlabeled": len(X),
        "unlabeled_requested": int(n),
        "unlabeled_hash": _hash(X),
        "unlabeled_indices_hash": _hash([train_rows[i] for i in idx] if train_rows is not None else idx),
    }}


def run_suite(
    suite: Suite,
    out_dir,
    *,
    data_dir=None,
    jobs: int = 1,
    threads: int | None = None,
    force: bool = False,
    only_strategies: list[str] | None = None,
    only_datasets: list[str] | None = None,
    only_k: list[int] | None = None,
    log=_log_stderr,
    executor=None,
) -> RunResult:
    """Run every cell of ``suite`` that is not finished yet into results folder ``out_dir``.

    Parameters
    ----------
    suite : Suite
        From :func:`fewshot.bench.load_suite`.
    out_dir : path
        Results folder (created). ``suite.json`` and ``cells/`` are written there.
    data_dir : path, optional
        Where dataset names are looked up (default: ``FEWSHOT_DATA_DIR``, then the suite's ``data_dir``).
    jobs : int
        Cells run in parallel, each in its own process with ``cores // jobs`` torch threads.
    threads : int, optional
        Torch threads per cell instead of ``cores // jobs`` (e.g. 1 when another job already
        uses one of the cores).
    force : bool
        Redo cells that are already finished.
    only_strategies, only_datasets : list of str, optional
        Run only these strategy labels (or registry names) / dataset specs of the suite.
    only_k : list of int, optional
        Run only these budgets (labeled examples per class) of the suite, e.g. ``[8]`` to finish
        the smallest budget of a long grid first.
    log : callable
        Receives one line per event (default: print to stderr).
    executor : CellExecutor, optional
        Where the cells run (:mod:`fewshot.bench.executors`): by default a
        ``LocalExecutor(jobs, threads)``, the local process pool; ``RayExecutor(address=...,
        cpus_per_cell=...)`` runs each cell as a Ray task (``jobs`` and ``threads`` are then ignored).

    Everything is checked (:func:`fewshot.bench.suite.check_suite`) before the first cell runs.
    """
    from .executors import CellExecutor, LocalExecutor

    if executor is None:
        executor = LocalExecutor(jobs=jobs, threads=threads)  # checks jobs and threads
    elif not isinstance(executor, CellExecutor):
        raise SuiteError(f"executor must be a CellExecutor (LocalExecutor, RayExecutor); got {executor!r}.")
    started = time.time()
    selected = suite.select(strategies=only_strategies, datasets=only_datasets, k=only_k)
    datasets = check_suite(selected, data_dir)
    executor.start(log)  # connects and checks (Ray: the cluster, its resources) before anything is written
    try:
        shared = None
        if selected.shared_data:  # Ray workers read the datasets themselves from this path
            from .suite import effective_data_dir

            base = effective_data_dir(selected, data_dir)
            shared = {"data_dir": str(base.resolve()) if base else None, "suite": selected.to_dict()}
        return _run(suite, selected, datasets, Path(out_dir), executor, force, log, started, shared)
    except BaseException:
        executor.close(cancel=True)
        raise
    finally:
        executor.close()


def _run(
    suite, selected, datasets, out_dir: Path, executor, force: bool, log, started: float, shared: dict | None = None
) -> RunResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out_dir / SUITE_FILE, suite.to_dict())

    from ..registry import make_classifier

    settings = executor.settings()
    accepted = {s.label: make_classifier(s.name).get_params(deep=False) for s in selected.strategies}
    accepts_seed = {label: "seed" in params for label, params in accepted.items()}
    # a strategy that chooses by a metric (auto) chooses by the dataset's headline metric
    accepts_metric = {label: "metric" in params for label, params in accepted.items()}
    from ..registry import get_strategy
    from .suite import accepts_unlabeled

    # strategies that learn from texts without labels (distill) get the suite's `unlabeled` draw
    takes_unlabeled = {s.label: suite.unlabeled is not None and accepts_unlabeled(get_strategy(s.name))
                       for s in selected.strategies}
    unlabeled_draws: dict[tuple[str, int, int], dict] = {}
    test_data = {spec: _dataset_record(spec, ds, selected) for spec, ds in datasets.items()}
    samples: dict[tuple[str, int, int], dict] = {}

    removed = remove_stale_temps(out_dir)
    if removed:
        log(f"removed {removed} temporary file(s)/folder(s) left by an earlier run that was killed")
    code = code_identity()  # a finished cell made by other code is stale
    keys = selected.cells()
    result = RunResult(out_dir=out_dir, cells=len(keys))
    tasks: deque[_Task] = deque()
    stale = stale_code = 0
    for key in keys:
        spec = selected.strategy(key.strategy)
        test = test_data[key.dataset]
        active = _active_setup(selected, spec)  # an active-learning simulation: its pool, not a k-shot sample
        sample_key = (key.dataset, "active-pool" if active else key.k, key.seed)
        sample = samples.get(sample_key)
        if sample is None:
            if active:
                from .active import pool_sample

                sample = pool_sample(test["train"], key.seed, active, test["train_rows"], key.dataset)
            else:
                sample = _sample_record(test["train"], key.k, key.seed, test["train_rows"], selected.sampling)
            samples[sample_key] = sample
        if active:
            from .active import check_pool

            check_pool(sample, key.dataset, key.k)  # before any cell trains
        params = dict(spec.params)
        if accepts_seed[spec.label] and "seed" not in params:
            params["seed"] = key.seed  # the cell's seed drives the strategy's training too
        if accepts_metric[spec.label] and "metric" not in params and test["info"].get("metric") != "entity_f1":
            params["metric"] = test["info"]["metric"]
        unlabeled = None
        if takes_unlabeled[spec.label]:
            unlabeled = unlabeled_draws.get((key.dataset, key.k, key.seed))
            if unlabeled is None:
                unlabeled = unlabeled_draws[(key.dataset, key.k, key.seed)] = _unlabeled_record(
                    test["train"], sample, selected.unlabeled, key.seed, test["train_rows"])
        identity = {
            "strategy": spec.name,
            "params": params,
            "dataset": key.dataset,
            "k": key.k,
            "seed": key.seed,
            "sample": sample["info"]["sample_hash"],
            "test": test["info"]["test_hash"],
            **({"active": active} if active else {}),
        }
        if unlabeled is not None:
            identity["unlabeled"] = unlabeled["info"]["unlabeled_hash"]
        fingerprint = _hash(identity)
        # the strategy's full parameters, defaults included: a changed default makes a cell stale too
        resolved = _plain(make_classifier(spec.name, **params).get_params(deep=False))
        path = cell_path(out_dir, key)
        old = read_json(path)
        if old is not None and not force and old.get("status") == "ok":
            same_setup = old.get("fingerprint") == fingerprint and old.get("params") == resolved
            same_code = (old.get("code") or {}).get("hash") == code["hash"]
            if same_setup and same_code:
                result.skipped += 1
                continue
            if not same_setup:
                stale += 1
            else:
                stale_code += 1
        record = {
            "schema": SCHEMA_VERSION,
            "suite": suite.name,
            **test["info"],
            "strategy": spec.label,
            "strategy_name": spec.name,
            "requested_params": params,
            "k": key.k,
            "seed": key.seed,
            **sample["info"],
            **(unlabeled["info"] if unlabeled is not None else {}),
            "fingerprint": fingerprint,
            "run_id": uuid.uuid4().hex,
            **settings,  # jobs, torch_threads, cores (and the executor, when not the local pool)
        }
        payload = {
            "record": record,
            "log_path": str(log_path(out_dir, key)),
            "X_train": sample["X_train"],
            "y_train": sample["y_train"],
            "X_test": test["X_test"],
            "y_test": test["y_test"],
        }
        if shared is not None:  # suite `shared_data = true`: a Ray worker reads the test rows itself
            payload["shared_test"] = dict(shared, dataset=key.dataset)
        if active:
            payload["active"] = active
            record["active_setup"] = active
        if unlabeled is not None:
            payload["X_unlabeled"] = unlabeled["X_unlabeled"]
        tasks.append(_Task(key, path, payload))

    if result.skipped:
        log(f"skipping {result.skipped} finished cell(s) of {len(keys)} (use --force to redo them)")
    if stale:
        log(
            f"re-running {stale} finished cell(s) whose parameters (or a strategy's defaults) or data changed"
        )
    if stale_code:
        log(
            f"re-running {stale_code} finished cell(s) made by other code (the fewshot package's code hash "
            f"changed; now {code['hash'][:12]})"
        )
    if tasks:
        log(f"running {len(tasks)} cell(s) with {executor.describe()} -> {out_dir}")

    done = 0
    total = len(tasks)
    for task, record, stored in executor.run(tasks, log):
        if not stored:
            write_json_atomic(task.path, record)
        done += 1
        result.ran += 1
        line = f"[{done}/{total}] {_describe(task.key)}: {_outcome(record)}"
        if record.get("status") != "ok":
            result.errors.append(task.key)
            line += f"  (log: {task.payload['log_path']})"
        log(line)
    result.max_parallel = executor.max_parallel
    result.seconds = time.time() - started
    return result


def _active_setup(suite: Suite, spec) -> dict | None:
    """The simulation settings of an active-learning strategy (see :mod:`fewshot.bench.active`), else None."""
    varied = spec.varied or {}
    if not suite.active or "active_method" not in varied:
        return None
    return {**suite.active, "method": varied["active_method"], "start": varied["active_start"]}


def remove_stale_temps(out_dir=None) -> int:
    """Delete what runs that were killed left behind: payload and model folders named
    ``fewshot-bench-<pid>-*`` in the system's temporary folder, and half-written files
    ``.<name>.tmp-<pid>-*`` under ``out_dir``, whose owner process ``<pid>`` no longer runs.
    Returns how many were removed."""
    import re
    import shutil
    import tempfile

    from .._atomic import pid_alive

    removed = 0
    pattern = re.compile(rf"^{re.escape(TEMP_PREFIX)}(\d+)-")
    try:
        entries = list(Path(tempfile.gettempdir()).iterdir())
    except OSError:
        entries = []
    for entry in entries:
        m = pattern.match(entry.name)
        if not m or pid_alive(int(m.group(1))):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        except OSError:
            pass  # another user's, or already gone
    if out_dir is not None:
        removed += len(remove_stale_temp_files(out_dir))
    return removed


def _child_env(threads: int) -> dict[str, str]:
    """The environment of a cell's process: this one's, with the thread share set before any
    library starts its thread pools, and this fewshot importable."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _describe(key: CellKey) -> str:
    return f"{key.dataset} {key.strategy} k={key.k} seed={key.seed}"


def _outcome(record: dict) -> str:
    if record.get("status") == "ok":
        return (
            f"{record['metric']}={record['headline']:.3f}  train {record['train_seconds']:.1f}s  "
            f"{record['predictions_per_second']:.0f} pred/s  peak {record.get('peak_rss_mb') or 0:.0f} MB"
        )
    err = record.get("error", {})
    return f"ERROR {err.get('type')}: {err.get('message')}"
