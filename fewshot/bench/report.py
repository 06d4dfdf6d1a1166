"""Turn a results folder into tables, plots and a verdict per labeled budget.

:func:`write_report` reads ``RESULTS_DIR/cells/**.json`` (and ``suite.json`` when present) and
writes into ``RESULTS_DIR``:

- ``summary.md``: per k, a table of the headline metric (mean ± std over seeds, in %) per
  dataset × strategy with an average row and cost rows; a one-paragraph verdict per k; the
  published SetFit-paper figures beside ours where dataset and k match; compute totals and errors;
- ``summary.csv``: one row per dataset × strategy × k (plus ``average`` rows), metric as fractions;
- ``curves.png``: metric vs k per dataset, one line per strategy with a ±std band;
- ``cost.png``: median train seconds (log scale) against the average metric, one point per
  strategy × k, with the cost-quality frontier.

Example::

    from fewshot.bench import write_report
    paths = write_report("benchmarks/results/quick")
    print(open(paths["summary.md"]).read())
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._atomic import write_bytes_atomic, write_text_atomic
from .references import METHODS, SOURCE, references_for
from .runner import CELLS_DIR, SUITE_FILE, read_json
from .suite import Suite, SuiteError

_METRIC_NAMES = {"accuracy": "accuracy", "f1_macro": "macro-F1", "f1_weighted": "weighted F1", "mcc": "MCC"}
# Published methods shown as columns of the per-k tables (all of them are listed further down).
_TABLE_REFERENCES = ("setfit-minilm", "setfit-mpnet")
_FLOOR_SECONDS = 0.05


# --------------------------------------------------------------------------- loading
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
    ks = sorted({k[2] for k in groups})
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


# --------------------------------------------------------------------------- formatting helpers
def _pct(x: float | None, nd: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{nd}f}"


def _signed(x: float) -> str:
    return f"{100 * x:+.1f}"


def _secs(x: float | None) -> str:
    if x is None:
        return "–"
    if x < 1:
        return f"{x:.2f}"
    if x < 100:
        return f"{x:.1f}"
    return f"{x:.0f}"


def _num(x: float | None) -> str:
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}" if x >= 1 else f"{x:.2f}"


def _mean_std(g: Group) -> str:
    """``mean ± std`` in %, or the single value when only one seed has finished (no spread to show)."""
    return _pct(g.mean) if len(g.ok) == 1 else f"{_pct(g.mean)} ± {_pct(g.std)}"


def _cell_text(g: Group | None, planned: int | None) -> str:
    if g is None:
        return "–"
    if not g.ok:
        return f"error ({len(g.errors)})" if g.errors else "–"
    text = _mean_std(g)
    if planned and len(g.ok) < planned:
        text += f" ({len(g.ok)}/{planned})"
    elif planned is None and len(g.ok) == 1:
        text += " (1 seed)"
    if g.errors:
        text += f" +{len(g.errors)} err"
    return text


def _any_group(res: Results, d: str) -> Group | None:
    return next((g for (dd, _s, _k), g in res.groups.items() if dd == d), None)


def _dataset_label(res: Results, d: str) -> str:
    """``name (metric, n_test=500 subsample)``: what a row's numbers measure."""
    g = _any_group(res, d)
    if g is None:
        return d
    ref = (g.ok or g.errors)[0]
    sub = " subsample" if ref.get("test_subsampled") else ""
    return f"{d} ({_METRIC_NAMES.get(g.metric, g.metric)}, n_test={ref.get('n_test')}{sub})"


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


# --------------------------------------------------------------------------- verdicts
TIE_RULE = (
    "Two strategies are called a tie when the mean of their paired differences (one per dataset and "
    "seed: both trained on the same k-shot draw and were scored on the same test rows) is within "
    "{z:g} standard errors of zero."
)
TIE_Z = 2.0


@dataclass
class Paired:
    """The paired comparison of strategy ``a`` against ``b`` at one k: ``diffs`` holds a's headline
    minus b's for every (dataset, seed) both finished (the same k-shot draw)."""

    diffs: list[float]
    wins: int
    losses: int

    @property
    def n(self) -> int:
        return len(self.diffs)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.diffs) if self.diffs else 0.0

    @property
    def se(self) -> float | None:
        """Standard error of the mean difference (sample std / sqrt(n)); None with fewer than 2 pairs."""
        if self.n < 2:
            return None
        return statistics.stdev(self.diffs) / math.sqrt(self.n)

    @property
    def tie(self) -> bool | None:
        """True when ``|mean| <= TIE_Z * se``; None when there are too few pairs to tell."""
        if self.se is None:
            return None
        return abs(self.mean) <= TIE_Z * self.se


def paired_difference(res: Results, k: int, a: str, b: str, datasets: list[str] | None = None) -> Paired:
    """Paired differences of strategy ``a`` minus ``b`` at ``k`` over the (dataset, seed) cells both
    finished: every strategy sees the same k-shot draw per (dataset, k, seed), so the seed-to-seed
    luck of the draw cancels out of each difference."""
    diffs = []
    for d in datasets if datasets is not None else res.datasets:
        ga, gb = res.group(d, a, k), res.group(d, b, k)
        if not ga or not gb:
            continue
        by_seed = {c["seed"]: c["headline"] for c in gb.ok}
        diffs += [c["headline"] - by_seed[c["seed"]] for c in ga.ok if c["seed"] in by_seed]
    return Paired(diffs, sum(x > 0 for x in diffs), sum(x < 0 for x in diffs))


def _paired_text(a: str, b: str, p: Paired) -> str:
    if p.n == 0:
        return f"{a} and {b} share no (dataset, seed) draw yet: no paired comparison."
    if p.se is None:
        return (
            f"They share a single (dataset, seed) draw ({_signed(p.mean)} points for {a}): too few to tell "
            "a difference from noise."
        )
    head = (
        f"Paired over the {p.n} (dataset, seed) draws both ran: {a} {_signed(p.mean)} ± {_pct(p.se)} points "
        f"(mean difference ± standard error), ahead on {p.wins} of {p.n}"
    )
    if p.tie:
        return head + f"; within {TIE_Z:g} standard errors of zero: effectively a tie."
    return head + f"; more than {TIE_Z:g} standard errors from zero: a real difference on these draws."


def verdict(res: Results, k: int) -> str:
    """One paragraph: which strategy to pick at ``k`` labeled examples per class and what it costs."""
    strategies = _with_data(res, k)
    if not strategies:
        return f"**k = {k}.** No finished cells yet: nothing to recommend."
    common = res.common_datasets(k, strategies)
    note = ""
    if not common:  # compare on the dataset most strategies have finished, leaving the others out

        def done_on(d):
            return [s for s in strategies if (g := res.group(d, s, k)) and g.ok]

        dataset = max(res.datasets, key=lambda d: len(done_on(d)))
        strategies, common = done_on(dataset), [dataset]
        note = (
            f"No dataset has a finished cell of every strategy yet, so this compares on {dataset} only "
            f"({', '.join(strategies)})."
        )
    avgs = {s: _average(res, k, s, common) for s in strategies}
    ranked = sorted(strategies, key=lambda s: -avgs[s])
    best = ranked[0]
    metric = _METRIC_NAMES.get(res.groups[(common[0], best, k)].metric, "metric")
    metrics = {res.groups[(d, best, k)].metric for d in common}
    metric_txt = metric if len(metrics) == 1 else "headline metric"
    wins = defaultdict(int)
    for d in common:
        wins[max(strategies, key=lambda s: res.groups[(d, s, k)].mean)] += 1
    train = {s: _pooled(res, k, s, "train_seconds") for s in strategies}
    pps = {s: _pooled(res, k, s, "predictions_per_second") for s in strategies}
    mem = {s: _pooled(res, k, s, "peak_rss_mb") for s in strategies}
    size = {s: _pooled(res, k, s, "model_size_mb") for s in strategies}
    seeds = [len(res.groups[(d, s, k)].ok) for s in strategies for d in common]

    parts = [f"**k = {k}.**"] + ([note] if note else [])
    if len(strategies) == 1:
        parts.append(
            f"Only **{best}** has results: average {metric_txt} {_pct(avgs[best])} over "
            f"{len(common)} dataset(s)."
        )
    else:
        parts.append(
            f"Pick **{best}**: the best average {metric_txt}, {_pct(avgs[best])} over "
            f"{len(common)} dataset(s), best on {wins[best]} of {len(common)}; it trains in a median "
            f"{_secs(train[best])} s per run, "
            f"predicts {_num(pps[best])} texts/s, peaks at {_num(mem[best])} MB of memory and saves to "
            f"{_num(size[best])} MB."
        )
        runner_up = ranked[1]
        parts.append(
            f"Next: {runner_up} at {_pct(avgs[runner_up])} ({_signed(avgs[runner_up] - avgs[best])} points)."
        )
        parts.append(_paired_text(best, runner_up, paired_difference(res, k, best, runner_up, common)))

        def first_other(ok) -> str | None:
            """The best-ranked real strategy (not majority) after the pick that satisfies ``ok``."""
            return next((s for s in ranked[1:] if res.names.get(s) != "majority" and ok(s)), None)

        c = first_other(lambda s: train[s] is not None and train[best] is not None
                        and train[s] < 0.5 * train[best] and avgs[best] - avgs[s] <= 0.03)
        if c:
            parts.append(
                f"On a tight compute budget {c} comes within {_pct(avgs[best] - avgs[c])} points at "
                f"{_secs(train[c])} s of training ({train[best] / max(train[c], 1e-9):.0f}× less)."
            )
        f = first_other(lambda s: pps[s] is not None and bool(pps[best]) and pps[s] >= 5 * pps[best])
        if f:
            parts.append(
                f"To serve many predictions, {f} predicts {pps[f] / pps[best]:.0f}× faster "
                f"({_num(pps[f])} texts/s) at {_signed(avgs[f] - avgs[best])} points."
            )
        up = next((s for s in strategies if res.names.get(s) == "setfit-upstream"), None)
        if up is not None and res.names.get(best) == "setfit":
            if train[up] and train[best]:
                parts.append(
                    f"Against plain setfit as a user would run it (setfit-upstream): "
                    f"{_signed(avgs[best] - avgs[up])} points at "
                    f"{train[best] / train[up]:.2f}× its training time."
                )
        floors = [s for s in strategies if res.names.get(s) == "majority"]
        if floors and best not in floors:
            floor = max(avgs[s] for s in floors)
            below = [s for s in strategies if s not in floors and avgs[s] <= floor + 0.01]
            parts.append(
                f"Not clear of the majority-class floor ({_pct(floor)}): {', '.join(below)}."
                if below
                else f"Every strategy clears the majority-class floor ({_pct(floor)}) on average."
            )
            # An average can hide a strategy that fails outright on one dataset: name those cells.
            failing = []
            for d in common:
                floor_d = max(res.groups[(d, f, k)].mean for f in floors)
                failing += [
                    f"{s} on {d} ({_pct(res.groups[(d, s, k)].mean)} vs {_pct(floor_d)})"
                    for s in strategies
                    if s not in floors and s not in below and res.groups[(d, s, k)].mean <= floor_d + 0.01
                ]
            if failing:
                parts.append(f"Below the majority class on a single dataset: {'; '.join(failing)}.")
    lo, hi = min(seeds), max(seeds)
    planned = f" of {res.planned_seeds} planned" if res.planned_seeds else ""
    parts.append(f"Based on {lo if lo == hi else f'{lo}–{hi}'} seed(s){planned} per dataset.")
    if lo == 1 and len(strategies) > 1:
        parts.append(
            "With a single seed, differences of a few points can be sampling noise of the k-shot draw."
        )
    return " ".join(parts)


# --------------------------------------------------------------------------- tables
def summary_rows(res: Results) -> list[dict[str, Any]]:
    """The rows of ``summary.csv``: one per dataset × strategy × k, then ``average`` rows."""
    rows = []
    for k in res.ks:
        for d in res.datasets:
            refs = {r.method: r for r in references_for(_ref_name(res, d), k)}
            for s in res.strategies:
                g = res.group(d, s, k)
                if g is None:
                    continue
                first = (g.ok or g.errors)[0]
                rows.append(
                    {
                        "dataset": d,
                        "metric": g.metric,
                        "strategy": s,
                        "strategy_name": first.get("strategy_name", s),
                        "k": k,
                        "seeds_done": len(g.ok),
                        "seeds_planned": res.planned_seeds or "",
                        "errors": len(g.errors),
                        "mean": _r(g.mean),
                        "std": _r(g.std),
                        "min": _r(min(g.values)) if g.ok else None,
                        "max": _r(max(g.values)) if g.ok else None,
                        "median_train_seconds": _r(g.median("train_seconds")),
                        "median_train_cpu_seconds": _r(g.median("train_cpu_seconds")),
                        "median_predict_seconds": _r(g.median("predict_seconds")),
                        "median_predictions_per_second": _r(g.median("predictions_per_second"), 1),
                        "median_peak_rss_mb": _r(g.median("peak_rss_mb"), 1),
                        "median_model_size_mb": _r(g.median("model_size_mb"), 3),
                        "n_train": first.get("n_train"),
                        "n_test": first.get("n_test"),
                        "test_subsampled": first.get("test_subsampled"),
                        **{f"published_{m}": _r(refs[m].value) if m in refs else None for m in METHODS},
                    }
                )
        with_data = _with_data(res, k)
        common = res.common_datasets(k, with_data)
        for s in with_data if common else []:
            rows.append(
                {
                    "dataset": "average",
                    "metric": "+".join(sorted({res.groups[(d, s, k)].metric for d in common})),
                    "strategy": s,
                    "k": k,
                    "mean": _r(_average(res, k, s, common)),
                    "median_train_seconds": _r(_pooled(res, k, s, "train_seconds")),
                    "median_predictions_per_second": _r(_pooled(res, k, s, "predictions_per_second"), 1),
                    "median_peak_rss_mb": _r(_pooled(res, k, s, "peak_rss_mb"), 1),
                    "median_model_size_mb": _r(_pooled(res, k, s, "model_size_mb"), 3),
                    "averaged_over": " ".join(common),
                }
            )
    return rows


def _r(x, nd: int = 4):
    return None if x is None else round(float(x), nd)


CSV_COLUMNS = [
    "dataset",
    "metric",
    "strategy",
    "strategy_name",
    "k",
    "seeds_done",
    "seeds_planned",
    "errors",
    "mean",
    "std",
    "min",
    "max",
    "median_train_seconds",
    "median_train_cpu_seconds",
    "median_predict_seconds",
    "median_predictions_per_second",
    "median_peak_rss_mb",
    "median_model_size_mb",
    "n_train",
    "n_test",
    "test_subsampled",
    "averaged_over",
    *[f"published_{m}" for m in METHODS],
]


def _csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def markdown(res: Results) -> str:
    """The text of ``summary.md``."""
    suite = res.suite
    ok = [c for c in res.cells if c["status"] == "ok"]
    failed = [c for c in res.cells if c["status"] != "ok"]
    planned = len(suite.cells()) if suite else None
    total_wall = sum(c.get("wall_seconds") or 0 for c in res.cells)
    total_train = sum(c.get("train_seconds") or 0 for c in ok)
    lines = [f"# Benchmark results: {suite.name if suite else res.results_dir.name}", ""]
    if suite and suite.description:
        lines += [suite.description, ""]
    subsampled = any(c.get("test_subsampled") for c in res.cells)
    lines += [
        "Headline metric of each dataset in % (accuracy unless the row says otherwise), "
        "mean ± sample std over "
        "seeds; each seed draws one k-shot training sample per dataset, shared by every strategy. "
        + (
            f"(n/{res.planned_seeds}) marks a cell with fewer finished seeds than planned. "
            if res.planned_seeds
            else ""
        )
        + (
            "Test sets are a fixed seeded subsample where marked `subsample` (suite `max_test`). "
            if subsampled
            else ""
        )
        + TIE_RULE.format(z=TIE_Z),
        "",
        f"Cells: {len(ok)} finished"
        + (f" of {planned} planned" if planned else "")
        + f", {len(failed)} failed. "
        f"Compute: {total_wall / 3600:.2f} h of cell wall time ({total_train / 3600:.2f} h of it training), "
        f"run on {_hosts(res)}.",
        "",
    ]
    code_note = _code(res)
    if code_note.startswith("MIXED"):
        lines += [
            f"**Mixed code versions**: these numbers come from more than one version of the code, or from "
            f"code with uncommitted changes ({code_note.split(': ', 1)[1]}); the report was written with "
            "--allow-mixed.",
            "",
        ]
    for k in res.ks:
        strategies = res.strategies_at(k)
        refs_here = {
            m
            for d in res.datasets
            for r in references_for(_ref_name(res, d), k)
            for m in [r.method]
            if m in _TABLE_REFERENCES
        }
        ref_cols = [m for m in _TABLE_REFERENCES if m in refs_here]
        header = [f"k = {k}", *strategies, *[f"published: {METHODS[m]}" for m in ref_cols]]
        rows = []
        for d in res.datasets:
            if not any(res.group(d, s, k) for s in strategies):
                continue
            refs = {r.method: r for r in references_for(_ref_name(res, d), k)}
            rows.append(
                [_dataset_label(res, d)]
                + [_cell_text(res.group(d, s, k), res.planned_seeds) for s in strategies]
                + [
                    (_pct(refs[m].value) + (f" ± {_pct(refs[m].std)}" if refs[m].std is not None else ""))
                    if m in refs
                    else ""
                    for m in ref_cols
                ]
            )
        with_data = _with_data(res, k)
        common = res.common_datasets(k, with_data)
        avg_label = f"**average** ({len(common)} dataset{'s' if len(common) != 1 else ''})"
        rows.append(
            [avg_label]
            + [
                (f"**{_pct(_average(res, k, s, common))}**" if s in with_data and common else "–")
                for s in strategies
            ]
            + ["" for _ in ref_cols]
        )
        for label, key, fmt in (
            ("median train s", "train_seconds", _secs),
            ("median train CPU s", "train_cpu_seconds", _secs),
            ("predictions / s", "predictions_per_second", _num),
            ("peak memory MB", "peak_rss_mb", _num),
            ("model size MB", "model_size_mb", _num),
        ):
            rows.append([label] + [fmt(_pooled(res, k, s, key)) for s in strategies] + ["" for _ in ref_cols])
        lines += [f"## k = {k} examples per class", ""]
        lines += _md_table(header, rows)
        lines += ["", verdict(res, k), ""]
        if len(common) < len([d for d in res.datasets if any(res.group(d, s, k) for s in strategies)]):
            lines += [
                f"The average row covers the datasets where every strategy has a result: "
                f"{', '.join(common) or 'none'}.",
                "",
            ]

    lines += _mixed_params_notes(res)
    lines += _published_section(res)
    lines += _cost_section(res, ok)
    if failed:
        lines += ["## Failed cells", ""]
        rows = [
            [
                c["dataset"],
                c["strategy"],
                str(c["k"]),
                str(c["seed"]),
                c.get("error", {}).get("type", "?"),
                _one_line(c.get("error", {}).get("message", "")),
            ]
            for c in failed
        ]
        lines += _md_table(["dataset", "strategy", "k", "seed", "error", "message"], rows) + [""]
    lines += ["## Plots", "", "![metric vs k](curves.png)", "", "![cost vs quality](cost.png)", ""]
    lines += [
        f"_Written by `fewshot report` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"libraries: {_libraries(res)}; code: {code_note}._",
        "",
    ]
    return "\n".join(lines)


def _mixed_params_notes(res: Results) -> list[str]:
    """Warn when one strategy label ran with different parameters (besides the seed) in different
    cells, e.g. because a strategy's default changed between sittings of a long run."""
    notes = []
    for label in res.strategies:
        seen: dict[str, set[str]] = defaultdict(set)
        for c in res.cells:
            if c["strategy"] == label and c["status"] == "ok":
                for key, value in (c.get("params") or {}).items():
                    if key != "seed":
                        seen[key].add(json.dumps(value, sort_keys=True))
        mixed = sorted(key for key, values in seen.items() if len(values) > 1)
        if mixed:
            notes.append(
                f"- **{label}** ran with different values of {', '.join(mixed)} in different cells "
                "(a strategy default changed during the run); rerun `fewshot bench` to redo the stale cells."
            )
    return ["## Notes", "", *notes, ""] if notes else []


def _one_line(text: str, n: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= n else text[: n - 1] + "…"


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
        code = dict(entry.pop("code"))
        code["git_commit"] = ", ".join(x[:10] for x in commits) if commits else None
        name = describe_code(code).replace("commit ", "commits ", 1) if len(commits) > 1 else describe_code(code)
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


def _code(res: Results) -> str:
    """The footer's account of the code behind the numbers."""
    versions = code_versions(res.cells)
    if not versions:
        return "fewshot " + str(
            next((c.get("fewshot_version") for c in res.cells if c.get("fewshot_version")), "?")
        )
    if len(versions) == 1 and not versions[0]["dirty"] and versions[0]["hash"] is not None:
        return f"{versions[0]['name']} (sha256 of the fewshot package's files; every cell)"
    listing = "; ".join(f"{v['name']} ({v['cells']} cell{'s' if v['cells'] != 1 else ''})" for v in versions)
    return f"MIXED, reported with --allow-mixed: {listing}"


def _hosts(res: Results) -> str:
    cores = sorted({c.get("cores") for c in res.cells if c.get("cores")})
    jobs = sorted({c.get("jobs") for c in res.cells if c.get("jobs")})
    threads = sorted({c.get("torch_threads") for c in res.cells if c.get("torch_threads")})
    return (
        f"{'/'.join(map(str, cores)) or '?'} CPU core(s), {'/'.join(map(str, jobs)) or '?'} parallel job(s), "
        f"{'/'.join(map(str, threads)) or '?'} torch thread(s) per cell"
    )


def _libraries(res: Results) -> str:
    libs = next((c.get("libraries") for c in res.cells if c.get("libraries")), None) or {}
    keep = ("torch", "transformers", "sentence-transformers", "setfit", "peft", "scikit-learn")
    return ", ".join(f"{k} {libs[k]}" for k in keep if libs.get(k)) or "unknown"


def _published_section(res: Results) -> list[str]:
    rows = []
    for k in res.ks:
        for d in res.datasets:
            refs = references_for(_ref_name(res, d), k)
            if not refs:
                continue
            refs = sorted(refs, key=lambda r: list(METHODS).index(r.method))
            ours = [
                f"{s} {_mean_std(g)} ({len(g.ok)} seed{'s' if len(g.ok) > 1 else ''})"
                for s in res.strategies
                if (g := res.group(d, s, k)) and g.ok and g.ok[0].get("strategy_name") != "majority"
            ]
            first = next(c for c in res.cells if c["dataset"] == d)
            test = (
                f"subsample of {first['n_test']}/{first['test_full_size']}"
                if first.get("test_subsampled")
                else f"full ({first.get('n_test')})"
            )
            theirs = "; ".join(
                f"{r.method_name} {_pct(r.value)}" + (f" ± {_pct(r.std)}" if r.std is not None else "")
                for r in refs
            )
            rows.append(
                [
                    d,
                    str(k),
                    _METRIC_NAMES.get(refs[0].metric, refs[0].metric),
                    "<br>".join(ours) or "–",
                    test,
                    theirs,
                ]
            )
    if not rows:
        return []
    return [
        "## Published figures beside ours",
        "",
        f"From the {SOURCE}: mean over 10 k-shot splits (seeds 0-9) on the whole test split; SetFit with "
        "20 pair-generation iterations, one epoch, logistic-regression head. "
        "Our strategies use their own models "
        "(the offline MiniLM-L6 / SmolLM2-135M), our seeds and the test set shown. Compare like with like: "
        "`SetFit MiniLM-L6 (repo)` uses the same encoder as our setfit.",
        "",
        *_md_table(["dataset", "k", "metric", "ours (mean ± std)", "our test set", "published"], rows),
        "",
    ]


def _cost_section(res: Results, ok: list[dict]) -> list[str]:
    if not ok:
        return []
    by_strategy: dict[tuple[str, int], list[float]] = defaultdict(list)
    for c in res.cells:
        by_strategy[(c["strategy"], c["k"])].append(c.get("wall_seconds") or 0.0)
    total = sum(sum(v) for v in by_strategy.values()) or 1.0
    rows = [
        [s, str(k), str(len(v)), _secs(sum(v)), f"{100 * sum(v) / total:.0f}%", _secs(statistics.median(v))]
        for (s, k), v in sorted(by_strategy.items(), key=lambda t: -sum(t[1]))
    ]
    slowest = sorted(res.cells, key=lambda c: -(c.get("wall_seconds") or 0))[:5]
    lines = [
        "## Where the compute goes",
        "",
        "Cell wall time (process start to result, including model loading, training, prediction and "
        "saving), summed per strategy × k. Peak memory is the peak resident set size (ru_maxrss) of the "
        "child process that ran the cell.",
        "",
    ]
    lines += _md_table(["strategy", "k", "cells", "total s", "share", "median s per cell"], rows)
    lines += [
        "",
        "Slowest cells: "
        + "; ".join(
            f"{c['dataset']} {c['strategy']} k={c['k']} seed={c['seed']} ({_secs(c.get('wall_seconds'))} s)"
            for c in slowest
        )
        + ".",
        "",
    ]
    timed = [
        c for c in ok if c.get("train_cpu_seconds") and c.get("train_seconds") and c.get("torch_threads")
    ]
    if timed:
        wall = sum(c["train_seconds"] for c in timed)
        busy = sum(c["train_cpu_seconds"] for c in timed) / wall
        threads = statistics.median(c["torch_threads"] for c in timed)
        lines += [
            f"While training, the cells' processes used {busy:.2f} CPU-seconds per wall-second with "
            f"{threads:g} torch thread(s) each"
            + (
                ": the machine was busy with other work, so wall-clock times here are inflated; "
                "the train CPU seconds are the steadier cost figure."
                if busy < 0.6 * threads
                else "."
            ),
            "",
        ]
    return lines


# --------------------------------------------------------------------------- plots
def _colors(strategies: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {s: cmap(i % 10) for i, s in enumerate(strategies)}


def plot_curves(res: Results, path) -> Path:
    """``curves.png``: metric vs k per dataset, one line per strategy with a ±std band, and the
    published SetFit figures (grey) where they exist."""
    from matplotlib.figure import Figure

    datasets = res.datasets
    n = len(datasets)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    width = max(4.6 * ncols, 8.0)
    fig = Figure(figsize=(width, 3.7 * nrows + 1.1), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    colors = _colors(res.strategies)
    handles: dict[str, Any] = {}
    for i, d in enumerate(datasets):
        ax = axes[i // ncols][i % ncols]
        metric = "accuracy"
        for si, s in enumerate(res.strategies):
            pts = [(k, g) for k in res.ks if (g := res.group(d, s, k)) and g.ok]
            if not pts:
                continue
            metric = pts[0][1].metric
            # dodge: shift each strategy a little along the (log) k axis so equal scores stay visible
            shift = 2 ** (0.035 * (si - (len(res.strategies) - 1) / 2))
            ks = [k * shift for k, _ in pts]
            mean = [100 * g.mean for _, g in pts]
            std = [100 * g.std for _, g in pts]
            (line,) = ax.plot(ks, mean, marker="o", color=colors[s], label=s, linewidth=1.8)
            ax.fill_between(
                ks,
                [m - e for m, e in zip(mean, std, strict=True)],
                [m + e for m, e in zip(mean, std, strict=True)],
                color=colors[s],
                alpha=0.18,
                linewidth=0,
            )
            handles[s] = line
        refs = [
            r
            for r in _refs_for_dataset(res, d)
            if r.method in _TABLE_REFERENCES and min(res.ks) <= r.k <= max(res.ks)
        ]
        for method, style in (
            ("setfit-mpnet", dict(color="0.35", linestyle="--", marker="s")),
            ("setfit-minilm", dict(color="0.55", linestyle=":", marker="X")),
        ):
            pts = sorted((r.k, 100 * r.value) for r in refs if r.method == method)
            if pts:
                (line,) = ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    markersize=6,
                    linewidth=1.2,
                    label=f"published: {METHODS[method]}",
                    **style,
                )
                handles[f"published: {METHODS[method]}"] = line
        all_k = sorted(set(res.ks) | {r.k for r in refs})
        ax.set_xscale("log", base=2)
        ax.set_xlim(min(all_k) / 1.4, max(all_k) * 1.4)
        ax.set_xticks(all_k, [str(k) for k in all_k])
        ax.minorticks_off()
        ax.set_xlabel("k (labeled examples per class)")
        ax.set_ylabel(f"{_METRIC_NAMES.get(metric, metric)} (%)")
        ax.set_title(_dataset_label(res, d), fontsize=10)
        ax.grid(alpha=0.3)
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    suite = res.suite.name if res.suite else res.results_dir.name
    fig.suptitle(
        f"{suite}: headline metric vs labeled examples per class\n(mean ± std over seeds; grey: published)"
    )
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="outside lower center",
        ncols=max(1, min(len(handles), int(width // 2.6))),
        frameon=False,
    )
    return _save_png(fig, path)


def _refs_for_dataset(res: Results, d: str):
    from .references import all_references

    name = _ref_name(res, d)
    return [r for r in all_references() if r.dataset == name]


def plot_cost(res: Results, path) -> Path:
    """``cost.png``: median train seconds (log) vs average metric, one point per strategy × k,
    with the cost-quality frontier (points no other point beats on both axes)."""
    from matplotlib.figure import Figure

    points = [
        (s, k)
        for k in res.ks
        for s in res.strategies_at(k)
        if any((g := res.group(d, s, k)) and g.ok for d in res.datasets)
    ]
    covered = {p: {d for d in res.datasets if (g := res.group(d, p[0], p[1])) and g.ok} for p in points}
    common = set.intersection(*covered.values()) if covered else set()
    fig = Figure(figsize=(7.5, 5.2), layout="constrained")
    ax = fig.subplots()
    colors = _colors(res.strategies)
    markers = ["o", "s", "^", "D", "v", "P", "*"]
    kmark = {k: markers[i % len(markers)] for i, k in enumerate(res.ks)}
    xy, floors = [], []
    for s, k in points:
        ds = sorted(common) if common else sorted(covered[(s, k)])
        y = 100 * statistics.fmean(res.groups[(d, s, k)].mean for d in ds)
        # cost over the same datasets as the quality figure
        secs = [
            c["train_seconds"]
            for d in ds
            for c in res.groups[(d, s, k)].ok
            if c.get("train_seconds") is not None
        ]
        x = statistics.median(secs) if secs else 0.0
        if x < _FLOOR_SECONDS:  # e.g. majority: no training to speak of; a horizontal floor, not a point
            floors.append((s, k, y))
            continue
        xy.append((x, y, s, k))
        ax.scatter(
            [x], [y], color=colors[s], marker=kmark[k], s=70, zorder=3, edgecolor="black", linewidth=0.5
        )
    frontier = sorted(
        (p for p in xy if not any(q[0] <= p[0] and q[1] > p[1] for q in xy)), key=lambda p: p[0]
    )
    if len(frontier) > 1:
        ax.plot(
            [p[0] for p in frontier],
            [p[1] for p in frontier],
            color="0.4",
            linestyle="--",
            linewidth=1,
            zorder=2,
        )
    # label every point when there are few, else the frontier (the points worth reading)
    for x, y, s, k in xy if len(xy) <= 8 else frontier:
        ax.annotate(f"{s} k={k}", (x, y), textcoords="offset points", xytext=(7, -3), fontsize=8)
    floor_strategies = sorted({f[0] for f in floors})
    for s in floor_strategies:
        y = statistics.fmean(f[2] for f in floors if f[0] == s)
        ax.axhline(y, color=colors[s], linestyle=":", linewidth=1.5, zorder=1)
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("log")
    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: f"{v:g}" if f"{v:g}"[0] in "25" else ""))
    ax.set_xlabel("median train seconds per run (log scale)")
    metrics = {g.metric for g in res.groups.values()}
    mname = _METRIC_NAMES.get(next(iter(metrics)), "metric") if len(metrics) == 1 else "headline metric"
    ax.set_ylabel(f"average {mname} (%)")
    over = (
        f"average over {len(common)} dataset(s): {', '.join(sorted(common))}"
        if common
        else "each point averages the datasets it has results on"
    )
    suite = res.suite.name if res.suite else res.results_dir.name
    ax.set_title(f"{suite}: cost vs quality, one point per strategy × k\n{over}", fontsize=10)
    ax.grid(alpha=0.3, which="major")
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=colors[s], marker="o", linestyle="", label=s)
        for s in res.strategies
        if any(p[2] == s for p in xy)
    ]
    handles += [
        Line2D(
            [],
            [],
            color=colors[s],
            linestyle=":",
            linewidth=1.5,
            label=f"{s} (trains in < {_FLOOR_SECONDS} s)",
        )
        for s in floor_strategies
    ]
    handles += [Line2D([], [], color="0.3", marker=kmark[k], linestyle="", label=f"k = {k}") for k in res.ks]
    if len(frontier) > 1:
        handles.append(Line2D([], [], color="0.4", linestyle="--", label="cost-quality frontier"))
    ax.legend(handles=handles, fontsize=8, loc="best")
    ax.margins(y=0.12)
    if xy:  # room on the right for the point labels
        ax.set_xlim(min(p[0] for p in xy) / 1.8, max(p[0] for p in xy) * 3.0)
    return _save_png(fig, path)


# --------------------------------------------------------------------------- entry point
def write_report(results_dir, *, allow_mixed: bool = False) -> dict[str, Path]:
    """Write ``summary.md``, ``summary.csv``, ``curves.png`` and ``cost.png`` into ``results_dir``.

    Returns ``{file name: path}``. Raises :class:`~fewshot.bench.suite.SuiteError` when the folder
    holds no cells, and :class:`MixedCodeError` when its finished cells come from more than one
    code version or from code with uncommitted changes, unless ``allow_mixed`` (the report's
    footer then lists the versions and how many cells each made).
    """
    res = collect(results_dir)
    check_code_versions(res, allow_mixed=allow_mixed)
    out = Path(results_dir)
    paths = {
        "summary.md": write_text_atomic(out / "summary.md", markdown(res)),
        "summary.csv": write_text_atomic(out / "summary.csv", _csv_text(summary_rows(res))),
    }
    paths["curves.png"] = plot_curves(res, out / "curves.png")
    paths["cost.png"] = plot_cost(res, out / "cost.png")
    return paths


def _save_png(fig, path) -> Path:
    """Render ``fig`` as PNG and write it to ``path`` atomically (a reader never sees half a plot)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return write_bytes_atomic(path, buf.getvalue())
