"""``fewshot bench`` and ``fewshot report``: the harness's subcommands.

Building the parser is cheap: this module imports nothing beyond the standard library; the
runner, the report and matplotlib load only when a command runs.
"""

from __future__ import annotations

import argparse
import sys

BENCH_EPILOG = """\
examples:
  fewshot bench benchmarks/smoke.toml --out benchmarks/results/smoke
  fewshot bench benchmarks/quick.toml --out benchmarks/results/quick --data-dir ../shared/datasets --jobs 2
  fewshot bench benchmarks/quick.toml --out results/q --only-strategy setfit --only-dataset sst2
  fewshot bench benchmarks/auto.toml --out results/auto --only-k 8 --jobs 2 --threads 1
  fewshot bench benchmarks/paper.toml --out results/paper --executor ray --address auto --cpus-per-cell 2

With --executor ray each pending cell is a Ray task (pip install 'fewshot[ray]'; start a cluster with
`ray start --head`); this machine keeps the bookkeeping and writes every cell file, so the workers
need no shared file system. A task that dies is retried --max-retries times, then recorded as failed.

A rerun skips finished cells whose parameters, data and code (a hash of the fewshot package's files)
are unchanged, so an interrupted run resumes; --force redoes them. One JSON file per
cell lands in OUT/cells/; the report (summary.md, summary.csv, curves.png, cost.png) is written to
OUT at the end. Exit status: 0 when every cell of the suite finished, 1 when some failed.
"""

REPORT_EPILOG = """\
example:
  fewshot report benchmarks/results/quick

Writes summary.md, summary.csv, curves.png and cost.png into RESULTS_DIR from the cell files that
are there (a partial run gives a partial report). Every cell records the code that made it (a hash
of the fewshot package's files, the git commit, uncommitted changes): cells of different code, or
made with uncommitted changes, are only reported together with --allow-mixed, and the report then
says so; a clean report names its commit and code hash at the bottom.
"""


def add_parsers(sub) -> None:
    """Add ``bench`` and ``report`` to the ``fewshot`` command's subparsers ``sub``."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "bench",
        help="Run a benchmark suite (datasets x strategies x k x seeds), then write its report.",
        description="Run a benchmark suite (datasets x strategies x k x seeds), each cell in its own "
        "process, "
        "then write its report.",
        epilog=BENCH_EPILOG,
        formatter_class=fmt,
    )
    p.add_argument("suite", metavar="SUITE.toml", help="suite file, e.g. benchmarks/quick.toml")
    p.add_argument("--out", help="results folder (default: benchmarks/results/<suite name>)")
    p.add_argument(
        "--data-dir",
        help="folder of datasets in the benchmark layout "
        "(default: $FEWSHOT_DATA_DIR, then the suite's data_dir)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="cells run in parallel, each with cores/N torch threads (default 1)",
    )
    p.add_argument(
        "--threads",
        type=int,
        help="torch threads per cell (default: cores/N); e.g. 1 when another job uses a core",
    )
    p.add_argument("--force", action="store_true", help="redo cells that are already finished")
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where cells run: local (child processes on this machine, the default) or ray (one Ray task "
        "per cell)",
    )
    p.add_argument(
        "--address",
        help="with --executor ray: the cluster, 'auto' (started by `ray start --head` on this machine), "
        "HOST:PORT or ray://HOST:PORT (default: $RAY_ADDRESS, else a fresh local Ray instance for this "
        "run, to try it out)",
    )
    p.add_argument(
        "--cpus-per-cell",
        type=int,
        metavar="N",
        help="with --executor ray: CPUs each cell's task reserves, also its torch threads (default 1)",
    )
    p.add_argument(
        "--gpus-per-cell",
        type=float,
        metavar="N",
        help="with --executor ray: GPUs each cell's task reserves (default 0)",
    )
    p.add_argument(
        "--max-retries",
        type=int,
        metavar="N",
        help="with --executor ray: how often a task that died (worker lost, out-of-memory kill) is "
        "submitted again before its cell is recorded as failed (default 2)",
    )
    p.add_argument(
        "--only-strategy",
        action="append",
        metavar="LABEL",
        help="run only this strategy label or name of the suite (repeatable)",
    )
    p.add_argument(
        "--only-dataset",
        action="append",
        metavar="NAME",
        help="run only this dataset of the suite (repeatable)",
    )
    p.add_argument(
        "--only-k",
        action="append",
        type=int,
        metavar="K",
        help="run only this budget (labeled examples per class) of the suite (repeatable)",
    )
    p.add_argument("--no-report", action="store_true", help="do not write the report at the end")
    p.add_argument(
        "--allow-mixed",
        action="store_true",
        help="write the report even when its cells come from different code versions or from "
        "uncommitted changes (the report says so)",
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "report",
        help="Write summary.md/.csv, curves.png and cost.png for a benchmark results folder.",
        description="Write summary.md/.csv, curves.png and cost.png for a benchmark results folder.",
        epilog=REPORT_EPILOG,
        formatter_class=fmt,
    )
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="folder written by `fewshot bench --out`")
    p.add_argument(
        "--allow-mixed",
        action="store_true",
        help="report cells from different code versions, or made with uncommitted changes, in one "
        "table (refused by default); the report's footer lists the versions and their cell counts",
    )
    p.set_defaults(func=cmd_report)


def cmd_bench(args) -> int:
    from pathlib import Path

    from .executors import make_executor
    from .report import MixedCodeError, write_report
    from .runner import run_suite
    from .suite import load_suite

    executor = make_executor(
        args.executor,
        jobs=args.jobs,
        threads=args.threads,
        address=args.address,
        cpus_per_cell=args.cpus_per_cell,
        gpus_per_cell=args.gpus_per_cell,
        max_retries=args.max_retries,
    )
    suite = load_suite(args.suite)
    out = Path(args.out) if args.out else Path("benchmarks") / "results" / suite.name
    result = run_suite(
        suite,
        out,
        data_dir=args.data_dir,
        jobs=args.jobs,
        threads=args.threads,
        force=args.force,
        only_strategies=args.only_strategy,
        only_datasets=args.only_dataset,
        only_k=args.only_k,
        executor=executor,
    )
    print(
        f"{result.ran} cell(s) run, {result.skipped} already finished, {len(result.errors)} failed "
        f"({result.seconds:.0f} s)",
        file=sys.stderr,
    )
    if not args.no_report:
        try:
            paths = write_report(out, allow_mixed=args.allow_mixed)
        except MixedCodeError as exc:
            print(f"fewshot bench: report not written: {exc}", file=sys.stderr)
        else:
            print(f"report: {', '.join(str(p) for p in paths.values())}")
    return 1 if result.errors else 0


def cmd_report(args) -> int:
    from .report import write_report

    paths = write_report(args.results_dir, allow_mixed=args.allow_mixed)
    for path in paths.values():
        print(path)
    return 0
