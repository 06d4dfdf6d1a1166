"""The report's plots: ``curves.png`` (metric vs k per dataset) and ``cost.png`` (train seconds vs
average metric, with the cost-quality frontier). matplotlib is imported only when a plot is drawn.

Example::

    from fewshot.bench.results import collect
    from fewshot.bench.plots import plot_curves
    plot_curves(collect("benchmarks/results/quick"), "curves.png")
"""

from __future__ import annotations

import io
import math
import statistics
from pathlib import Path
from typing import Any

from .._atomic import write_bytes_atomic
from .references import METHODS
from .results import _METRIC_NAMES, _TABLE_REFERENCES, Results, _dataset_label, _ref_name

_FLOOR_SECONDS = 0.05


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
            # k = 0 (the whole training split) has no place on a log axis; the tables show it
            pts = [(k, g) for k in res.ks if k > 0 and (g := res.group(d, s, k)) and g.ok]
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
        for s in res.strategies:  # the whole training split (k = 0): a level line to plan a budget against
            g = res.group(d, s, 0)
            if g and g.ok:
                metric = g.metric
                line = ax.axhline(100 * g.mean, color=colors[s], linestyle="-.", linewidth=1.3)
                handles[f"{s}: whole train split"] = line
        for r in _refs_for_dataset(res, d):
            if r.k == 0 and r.method in _TABLE_REFERENCES and 0 in res.ks:
                line = ax.axhline(100 * r.value, color="0.45", linestyle=":", linewidth=1.3)
                handles[f"published: {METHODS[r.method]}"] = line
        refs = [
            r
            for r in _refs_for_dataset(res, d)
            if r.method in _TABLE_REFERENCES and min(res.ks) <= r.k <= max(res.ks) and r.k > 0
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
        all_k = sorted({k for k in res.ks if k > 0} | {r.k for r in refs}) or [1]
        ax.set_xscale("log", base=2)
        ax.set_xlim(min(all_k) / 1.4, max(all_k) * 1.4)
        ax.set_xticks(all_k, [str(k) for k in all_k])
        ax.minorticks_off()
        ax.set_xlabel(f"k ({res.unit if res.unit != 'examples per class' else 'labeled examples per class'})")
        ax.set_ylabel(f"{_METRIC_NAMES.get(metric, metric)} (%)")
        ax.set_title(_dataset_label(res, d), fontsize=10)
        ax.grid(alpha=0.3)
    for j in range(n, nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    suite = res.suite.name if res.suite else res.results_dir.name
    fig.suptitle(
        f"{suite}: headline metric vs k ({res.unit})\n(mean ± std over seeds; grey: published"
        + ("; dash-dot: the whole training split)" if 0 in res.ks else ")")
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



def _save_png(fig, path) -> Path:
    """Render ``fig`` as PNG and write it to ``path`` atomically (a reader never sees half a plot)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return write_bytes_atomic(path, buf.getvalue())
