"""The benchmark harness: which strategy wins at which labeled budget, and at what cost.

A suite file (TOML) names datasets, strategies with their parameters, k values (examples per
class) and seeds. :func:`run_suite` runs the grid of cells (dataset, strategy, k, seed), each in its
own child process, and writes one JSON file per cell; :func:`write_report` turns a results folder
into ``summary.md``, ``summary.csv``, ``curves.png`` and ``cost.png``.

Example::

    from fewshot.bench import load_suite, run_suite, write_report

    suite = load_suite("benchmarks/smoke.toml")
    run_suite(suite, "benchmarks/results/smoke", jobs=1)
    write_report("benchmarks/results/smoke")

From the shell: ``fewshot bench benchmarks/smoke.toml --out benchmarks/results/smoke`` and
``fewshot report benchmarks/results/smoke``.

Importing this package is cheap (no torch, no matplotlib); the parts load on first use.
"""

from __future__ import annotations

from importlib import import_module

_LAZY = {
    "Suite": ("fewshot.bench.suite", "Suite"),
    "StrategySpec": ("fewshot.bench.suite", "StrategySpec"),
    "SuiteError": ("fewshot.bench.suite", "SuiteError"),
    "load_suite": ("fewshot.bench.suite", "load_suite"),
    "parse_suite": ("fewshot.bench.suite", "parse_suite"),
    "run_suite": ("fewshot.bench.runner", "run_suite"),
    "write_report": ("fewshot.bench.report", "write_report"),
    "load_cells": ("fewshot.bench.report", "load_cells"),
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'fewshot.bench' has no attribute {name!r}") from None
    value = getattr(import_module(module_name), attr)
    globals()[name] = value
    return value
