"""Load a results folder's cell files and group them for reporting.

:func:`collect` reads ``RESULTS_DIR/cells/**.json`` (and ``suite.json`` when present) into a
:class:`Results`: the cells grouped per dataset × strategy × k (:class:`Group`), with the suite's
order of datasets and strategies. :func:`check_code_versions` tells whether the finished cells come
from one clean version of the code (see :mod:`fewshot.bench.provenance`).

Example::

    from fewshot.bench.results import collect
    res = collect("benchmarks/results/quick")
    res.group("sst2", "setfit", 8).mean
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .runner import CELLS_DIR, SUITE_FILE, read_json
from .suite import Suite, SuiteError

_METRIC_NAMES = {"accuracy": "accuracy", "f1_macro": "macro-F1", "f1_weighted": "weighted F1", "mcc": "MCC",
                 "entity_f1": "entity F1"}
# Published methods shown as columns of the per-k tables and in the plots.
_TABLE_REFERENCES = ("setfit-minilm", "setfit-mpnet", "bert-base-ft-full")


def load_cells(results_dir) -> list[dict]:
    """Every cell record (finished or failed) under ``results_dir/cells``."""
    root = Path(results_dir) / CELLS_DIR
    cells = []
    for path in sorted(root.rglob("*.json")):
        if path.name.startswith("."):
            continue
        record = read_json(path)
        if isinstance(record, dict) and "status" in record:
            record["_path"] = str(path)
            cells.append(record)
    return cells


@dataclass
class Group:
    """The cells of one dataset × strategy × k."""

    dataset: str
    strategy: str
    k: int
    metric: str = "accuracy"
    dataset_name: str = ""
    ok: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    @property
    def values(self) -> list[float]:
        return [c["headline"] for c in self.ok]

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.values) if self.ok else None

    @property
    def std(self) -> float | None:
        """Sample standard deviation over seeds (0 with a single seed)."""
        if not self.ok:
            return None
        return statistics.stdev(self.values) if len(self.ok) > 1 else 0.0

    def median(self, key: str) -> float | None:
        vals = [c[key] for c in self.ok if c.get(key) is not None]
        return statistics.median(vals) if vals else None


@dataclass
class Results:
    """Cells grouped for reporting, with the suite that produced them (when known)."""

    results_dir: Path
    suite: Suite | None
    cells: list[dict]
    datasets: list[str]
    strategies: list[str]
    ks: list[int]
    groups: dict[tuple[str, str, int], Group]
    planned_seeds: int | None
    names: dict[str, str] = field(default_factory=dict)  # strategy label -> registry name

    def planned_for(self, k: int) -> int | None:
        """Seeds planned per dataset at ``k``: one at k = 0 (the whole split runs once), else the suite's."""
        return 1 if k == 0 and self.planned_seeds else self.planned_seeds

    def budget(self, k: int, *, short: bool = False) -> str:
        """How the report names a budget: ``k = 8`` (short) / ``k = 8 examples per class``,
        ``k = 8 mentions per entity type`` for NER suites, and ``whole train split`` for k = 0."""
        if k == 0:
            return "whole train split" if short else "the whole training split (k = 0)"
        if short:
            return f"k = {k}"
        return f"k = {k} {self.unit}"

    @property
    def unit(self) -> str:
        """What k counts in this suite: examples per class, mentions per entity type (NER), ..."""
        sampling = self.suite.sampling if self.suite else "per_class"
        if sampling == "mentions":
            return "mentions per entity type"
        if sampling == "proportional":
            return "x classes rows, in the training split's class proportions"
        return "examples per class"

    def group(self, dataset: str, strategy: str, k: int) -> Group | None:
        return self.groups.get((dataset, strategy, k))

    def strategies_at(self, k: int) -> list[str]:
        return [s for s in self.strategies if any(self.groups.get((d, s, k)) for d in self.datasets)]

    def common_datasets(self, k: int, strategies: list[str]) -> list[str]:
        """Datasets on which every strategy in ``strategies`` has a finished cell at ``k``."""
        return [
            d
            for d in self.datasets
            if all((g := self.groups.get((d, s, k))) is not None and g.ok for s in strategies)
        ]


def collect(results_dir) -> Results:
    """Load and group the cells of ``results_dir``. When ``suite.json`` is there, only cells of
    that suite's grid count (a cell left over from an older suite version is ignored)."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise SuiteError(
            f"results folder {results_dir} does not exist; run `fewshot bench SUITE.toml --out DIR` first."
        )
    raw_suite = read_json(results_dir / SUITE_FILE)
    suite = Suite.from_dict(raw_suite) if raw_suite else None
    cells = load_cells(results_dir)
    if suite is not None:
        grid = set(suite.cells())
        cells = [c for c in cells if (c.get("dataset"), c.get("strategy"), c.get("k"), c.get("seed")) in grid]
    if not cells:
        raise SuiteError(f"{results_dir} holds no benchmark cells yet (looked in {results_dir / CELLS_DIR}).")
    groups: dict[tuple[str, str, int], Group] = {}
    for c in cells:
        key = (c["dataset"], c["strategy"], c["k"])
        g = groups.get(key)
        if g is None:
            g = groups[key] = Group(
                c["dataset"],
                c["strategy"],
                c["k"],
                c.get("metric", "accuracy"),
                c.get("dataset_name", c["dataset"]),
            )
        (g.ok if c["status"] == "ok" else g.errors).append(c)
    if suite is not None:
        datasets = [d for d in suite.datasets if any(k[0] == d for k in groups)]
        strategies = [s.label for s in suite.strategies if any(k[1] == s.label for k in groups)]
    else:
        datasets = list(dict.fromkeys(c["dataset"] for c in cells))
        strategies = list(dict.fromkeys(c["strategy"] for c in cells))
    ks = sorted({k[2] for k in groups}, key=lambda k: (k == 0, k))  # the whole split (k = 0) last
    names = {c["strategy"]: c.get("strategy_name", c["strategy"]) for c in cells}
    return Results(
        results_dir,
        suite,
        cells,
        datasets,
        strategies,
        ks,
        groups,
        len(suite.seeds) if suite else None,
        names,
    )


# --------------------------------------------------------------------------- grouped figures
def _any_group(res: Results, d: str) -> Group | None:
    return next((g for (dd, _s, _k), g in res.groups.items() if dd == d), None)


def _dataset_label(res: Results, d: str) -> str:
    """``name (metric, n_test=500 subsample)``: what a row's numbers measure."""
    g = _any_group(res, d)
    if g is None:
        return d
    ref = (g.ok or g.errors)[0]
    sub = " subsample" if ref.get("test_subsampled") else ""
    split = ref.get("eval_split", "test")
    if split == "test":
        return f"{d} ({_METRIC_NAMES.get(g.metric, g.metric)}, n_test={ref.get('n_test')}{sub})"
    return f"{d} ({_METRIC_NAMES.get(g.metric, g.metric)}, {split} n={ref.get('n_test')}{sub})"


def _average(res: Results, k: int, strategy: str, datasets: list[str]) -> float | None:
    means = [res.groups[(d, strategy, k)].mean for d in datasets]
    return statistics.fmean(means) if means else None


def _pooled(res: Results, k: int, strategy: str, key: str) -> float | None:
    vals = [
        c[key]
        for d in res.datasets
        if (g := res.group(d, strategy, k))
        for c in g.ok
        if c.get(key) is not None
    ]
    return statistics.median(vals) if vals else None


def _with_data(res: Results, k: int) -> list[str]:
    """Strategies with at least one finished cell at ``k``."""
    return [s for s in res.strategies_at(k) if any((g := res.group(d, s, k)) and g.ok for d in res.datasets)]


def _ref_name(res: Results, d: str) -> str:
    """The dataset's own name (from dataset.json), which published figures are keyed by."""
    g = _any_group(res, d)
    return (g.dataset_name if g else None) or d


# --------------------------------------------------------------------------- code versions
class MixedCodeError(SuiteError):
    """The finished cells of a results folder were made by different code versions, or by code with
    uncommitted changes; ``fewshot report --allow-mixed`` reports them together anyway."""


def code_versions(cells: list[dict]) -> list[dict[str, Any]]:
    """The code versions behind the finished cells: one entry per (code hash, dirty) with
    ``hash``, ``dirty``, ``commits`` (sorted), ``cells`` (count) and ``name`` (readable), most
    cells first. Cells written before code hashes were recorded share one entry with hash None."""
    from .provenance import describe_code, version_key

    found: dict[tuple[str | None, bool], dict[str, Any]] = {}
    for c in cells:
        if c.get("status") != "ok":
            continue
        key = version_key(c.get("code"))
        entry = found.setdefault(
            key, {"hash": key[0], "dirty": key[1], "commits": set(), "cells": 0, "code": c.get("code") or {}}
        )
        entry["cells"] += 1
        if (c.get("code") or {}).get("git_commit"):
            entry["commits"].add(c["code"]["git_commit"])
    out = []
    for entry in sorted(found.values(), key=lambda e: -e["cells"]):
        commits = sorted(entry["commits"])
        name = describe_code({**entry.pop("code"), "git_commit": None})  # the hash (and dirtiness) alone
        if commits:  # every commit the cells ran at, not only the first
            name = f"commit{'s' if len(commits) > 1 else ''} {', '.join(x[:10] for x in commits)}, {name}"
        out.append({**entry, "commits": commits, "name": name})
    return out


def check_code_versions(res: Results, *, allow_mixed: bool = False) -> list[dict[str, Any]]:
    """The code versions of ``res``'s finished cells (:func:`code_versions`); raises
    :class:`MixedCodeError` when there is more than one, or one with uncommitted changes or no
    recorded hash, unless ``allow_mixed``."""
    versions = code_versions(res.cells)
    mixed = len(versions) > 1 or any(v["dirty"] or v["hash"] is None for v in versions)
    if mixed and not allow_mixed:
        listing = "; ".join(f"{v['name']} ({v['cells']} cell{'s' if v['cells'] != 1 else ''})" for v in versions)
        if len(versions) > 1:
            what = f"mixes {len(versions)} code versions"
        elif versions[0]["hash"] is None:
            what = "holds cells that do not record which code made them"
        else:
            what = "holds cells made by code with uncommitted changes"
        raise MixedCodeError(
            f"{res.results_dir} {what}: {listing}. One table should come from one clean commit: commit "
            "your changes and rerun `fewshot bench SUITE.toml --out "
            f"{res.results_dir}` (cells of other code are redone), or pass --allow-mixed to report them "
            "together anyway (the report then says so)."
        )
    return versions
