"""Active-learning simulations in the harness: a suite's ``[active]`` table, its cells and its report.

A suite with an ``[active]`` table replays :func:`fewshot.active.simulate` instead of training once
on a k-shot sample. Each ``[[strategies]]`` entry is the classifier refitted every round; it is
expanded into one strategy per query method and start, labelled ``<label>-<method>`` (random
start) and ``<label>-<method>-cold`` (cold start). The cell's ``k`` is the largest number of labels
per class the simulation reaches (``k = [64]``: up to 64 x classes labels). Example
(``benchmarks/active.toml``)::

    k = [64]
    seeds = [0, 1, 2]

    [active]
    methods = ["random", "margin", "kmeans", "hybrid", "badge"]
    starts = ["random"]          # "cold": the first labels chosen by a zero-shot prompt classifier
    start_per_class = 2          # labels per class before the first round
    round_per_class = 4          # each round labels 4 x classes texts
    pool_size = 2000             # a seeded subsample of the train split as the pool (None: all of it);
                                 # or per dataset: { default = 2000, banking77 = 10003 }
    cold_params = { model = "smollm2-135m" }   # the zero-shot prompt classifier of the cold start
    method_params = { hybrid = { warmup = 0 } }  # options of a method (see fewshot.suggest)

Every cell records its learning curve (``curve``: labels used -> metric), and a cold-start cell also
the reliability of the zero-shot labels on its pool (``prelabel``: accuracy above each confidence
threshold, the share a person could accept in bulk at 95% accuracy). The report adds ``active.md``
(per dataset: the final metric of each method, and the labels each needs to reach random's final
metric) and ``active_curves.png`` (metric vs labels per dataset, one line per method, ±std band).

A pool must hold at least twice the labels a simulation reaches (``k`` x classes): otherwise the last
rounds label whatever is left and every method ends on the same texts. The harness checks this
before any cell trains and names the dataset and the pool size it needs.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

from .._atomic import write_text_atomic

ACTIVE_KEYS = ("methods", "starts", "start_per_class", "round_per_class", "pool_size", "cold_params", "features",
               "method_params")
STARTS = ("random", "cold")
DEFAULTS = {"methods": ["random", "margin", "kmeans", "hybrid", "badge"], "starts": ["random"],
            "start_per_class": 2, "round_per_class": 4, "pool_size": None, "cold_params": {}, "features": "auto",
            "method_params": {}}
ACTIVE_FILE = "active.md"
ACTIVE_PLOT = "active_curves.png"


# --------------------------------------------------------------------------- the suite's [active] table
def parse_active(raw, problems: list[str]) -> dict | None:
    """The checked ``[active]`` table (defaults filled in), or None; problems are appended."""
    from ..active import METHODS, _method_params

    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(f"[active] must be a table (methods = [...], ...); got {raw!r}")
        return None
    for key in raw:
        if key not in ACTIVE_KEYS:
            problems.append(f"unknown key {key!r} in [active]; allowed keys: {', '.join(ACTIVE_KEYS)}")
    out = {**DEFAULTS, **raw}
    methods = out["methods"]
    if not isinstance(methods, list) or not methods or any(m not in METHODS or m == "cold" for m in methods):
        problems.append(f"[active] methods must be a non-empty list of {', '.join(m for m in METHODS if m != 'cold')}; "
                        f"got {methods!r}")
    starts = out["starts"]
    if not isinstance(starts, list) or not starts or any(s not in STARTS for s in starts):
        problems.append(f"[active] starts must be a non-empty list of 'random' and/or 'cold'; got {starts!r}")
    for key in ("start_per_class", "round_per_class"):
        v = out[key]
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            problems.append(f"[active] {key} must be a positive integer; got {v!r}")
    v = out["pool_size"]
    sizes = v.values() if isinstance(v, dict) else [v]
    if any(n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 2) for n in sizes):
        problems.append(f"[active] pool_size must be an integer >= 2 (texts in the pool), or a table of them per "
                        f"dataset with an optional 'default' (pool_size = {{ default = 2000, banking77 = 10003 }}); "
                        f"got {v!r}")
    if not isinstance(out["cold_params"], dict):
        problems.append(f"[active] cold_params must be a table of PromptClassifier parameters; got {out['cold_params']!r}")
    mp = out["method_params"]
    if not isinstance(mp, dict) or any(not isinstance(v, dict) for v in mp.values()):
        problems.append(f"[active] method_params must be a table of tables, one per method "
                        f"(method_params = {{ hybrid = {{ warmup = 0 }} }}); got {mp!r}")
    else:
        for method, params in mp.items():
            if isinstance(methods, list) and method not in methods:
                problems.append(f"[active] method_params names {method!r}, which is not in methods {methods!r}")
                continue
            try:
                _method_params(params, method)
            except ValueError as exc:
                problems.append(f"[active] method_params.{method}: {exc}")
    if out["features"] not in ("auto", "embeddings", "tfidf"):
        problems.append(f"[active] features must be 'auto', 'embeddings' or 'tfidf'; got {out['features']!r}")
    return out


def expand_strategies(specs: list, active: dict, problems: list[str]) -> list:
    """One strategy per (entry, start, method): ``<label>-<method>`` and ``<label>-<method>-cold``."""
    from dataclasses import replace

    out = []
    for spec in specs:
        for start in active["starts"]:
            for method in active["methods"]:
                label = f"{spec.label}-{method}" + ("-cold" if start == "cold" else "")
                out.append(replace(spec, label=label, varied={**spec.varied, "active_method": method,
                                                              "active_start": start}))
    labels = [s.label for s in out]
    for label in sorted({x for x in labels if labels.count(x) > 1}):
        problems.append(f"[active] makes the strategy label {label!r} twice; give the entries distinct labels")
    return out


def is_active(spec) -> bool:
    return "active_method" in (spec.varied or {})


# --------------------------------------------------------------------------- runner side
def pool_size_for(active: dict, dataset: str) -> int | None:
    """The pool size ``[active]`` asks for on ``dataset`` (None: the whole train split)."""
    size = active.get("pool_size")
    if isinstance(size, dict):
        return size.get(dataset, size.get("default"))
    return size


def check_pool(sample: dict, dataset: str, k: int) -> None:
    """Raise a clear error when a pool cannot hold a simulation up to ``k`` labels per class."""
    from ..errors import DataError

    n_pool = sample["info"]["n_pool"]
    needed = 2 * k * len(set(map(str, sample["y_train"])))
    if n_pool < needed:
        raise DataError(
            f"[active] the pool for {dataset} holds {n_pool} texts, but a simulation up to k = {k} labels per "
            f"class uses {needed // 2} labels and needs a pool of at least twice that ({needed}), or every method "
            f"ends labeling the same leftover texts. Raise pool_size for it (pool_size = {{ default = ..., "
            f"{dataset} = {needed} }}) or lower k.")


def pool_sample(train, seed: int, active: dict, train_rows: list[int] | None = None, dataset: str = "") -> dict:
    """The cell's pool: the train split, or a seeded subsample of ``pool_size`` of it, with labels
    (hidden from the query methods, revealed as texts get "labeled")."""
    from ..data import subsample
    from .runner import _hash

    idx = list(range(len(train.y)))
    size = pool_size_for(active, dataset)
    if size and size < len(idx):
        idx, _ = subsample(idx, idx, size, seed=seed)
    X = [train.X[i] for i in idx]
    y = [train.y[i] for i in idx]
    return {"X_train": X, "y_train": y,
            "info": {"n_train": len(idx), "n_pool": len(idx), "sampling": "active-pool",
                     "train_indices": [train_rows[i] for i in idx] if train_rows is not None else idx,
                     "sample_hash": _hash([X, y]), "class_counts": {}, "short_classes": {}}}


def run_active_cell(payload: dict, clf, X_pool, y_pool, X_test, y_test) -> dict[str, Any]:
    """Run one simulation cell (called in the cell's process); the fields its record adds."""
    from ..active import simulate, zero_shot_classifier

    rec = payload["record"]
    active = payload["active"]
    cold = None
    if active["start"] == "cold":
        names = sorted({v for v in y_pool}, key=str)
        cold = zero_shot_classifier(names, **active.get("cold_params", {}))
    t0 = time.perf_counter()

    def progress(message: str) -> None:  # one line per round into the cell's log (its stderr)
        print(f"[{time.perf_counter() - t0:7.0f} s] {message}", file=sys.stderr, flush=True)

    sim = simulate(clf, X_pool, y_pool, X_test, y_test, method=active["method"], start=active["start"],
                   start_per_class=active["start_per_class"], round_per_class=active["round_per_class"],
                   max_per_class=rec["k"], metric=rec["metric"], seed=rec["seed"], cold_classifier=cold,
                   features=active.get("features", "auto"),
                   method_params=(active.get("method_params") or {}).get(active["method"]), log=progress)
    seconds = time.perf_counter() - t0
    last = sim["curve"][-1]
    out = {
        "active": {k: v for k, v in sim.items() if k != "curve"},
        "curve": sim["curve"],
        "headline": sim["final"],
        "metrics": {"accuracy": last["accuracy"], "f1_macro": last["f1_macro"]},
        "n_labels": last["n_labels"],
        "train_seconds": round(sum(p["fit_seconds"] for p in sim["curve"]), 4),
        "query_seconds": round(sum(p["query_seconds"] for p in sim["curve"]), 4),
        "simulation_seconds": round(seconds, 3),
        "predict_seconds": last.get("predict_seconds"),
        "predictions_per_second": round(len(X_test) / max(last.get("predict_seconds") or 1e-9, 1e-9), 2),
    }
    if "prelabel" in sim:
        out["prelabel"] = sim["prelabel"]
    return out


# --------------------------------------------------------------------------- report
def _curve_cells(cells: list[dict]) -> list[dict]:
    return [c for c in cells if c.get("status") == "ok" and c.get("curve")]


def _method_of(cell: dict) -> str:
    a = cell.get("active") or {}
    return f"{a.get('method', '?')}" + ("-cold" if a.get("start") == "cold" else "")


def mean_curve(cells: list[dict]) -> list[tuple[int, float, float]]:
    """``[(labels, mean, std)]`` over seeds at the label counts every cell reached."""
    by_n: dict[int, list[float]] = {}
    for c in cells:
        for p in c["curve"]:
            by_n.setdefault(int(p["n_labels"]), []).append(float(p["metric"]))
    out = []
    for n in sorted(by_n):
        vals = by_n[n]
        if len(vals) == len(cells):
            out.append((n, statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0))
    return out


def _groups(cells: list[dict]) -> dict[str, dict[str, list[dict]]]:
    out: dict[str, dict[str, list[dict]]] = {}
    for c in _curve_cells(cells):
        out.setdefault(c["dataset"], {}).setdefault(_method_of(c), []).append(c)
    return out


def active_markdown(cells: list[dict]) -> str:
    """``active.md``: per dataset, each method's final metric (mean ± std over seeds), the labels it
    needs to reach random's final metric (mean curves) and that as a share of random's labels; then
    the reliability of zero-shot pre-labels where cold-start cells measured it."""
    from ..active import labels_to_reach

    groups = _groups(cells)
    lines = ["# Active learning: labels saved", "",
             "Learning curves replayed on each dataset's train split with its labels hidden (fewshot.active."
             "simulate). `to reach random` = the fewest labels at which a method's mean curve reaches random "
             "sampling's final mean metric; `share` = that / random's labels (below 1: labels saved).", ""]
    for d, methods in groups.items():
        base = methods.get("random")
        target = mean_curve(base)[-1] if base and mean_curve(base) else None
        lines += [f"## {d}", "", "| method | seeds | labels | final (mean ± std) | to reach random | share |",
                  "|---|---|---|---|---|---|"]
        for m, cs in sorted(methods.items()):
            curve = mean_curve(cs)
            if not curve:
                continue
            n, mean, std = curve[-1]
            reach = share = "-"
            if target is not None:
                hit = labels_to_reach([{"n_labels": a, "metric": b} for a, b, _ in curve], target[1] - 1e-12)
                reach = str(hit) if hit is not None else "never"
                share = f"{hit / target[0]:.2f}" if hit is not None else "-"
            lines.append(f"| {m} | {len(cs)} | {n} | {100 * mean:.1f} ± {100 * std:.1f} | {reach} | {share} |")
        lines.append("")
    pre = [c for c in _curve_cells(cells) if c.get("prelabel")]
    if pre:
        lines += ["## Zero-shot pre-labels: accuracy above each confidence threshold", "",
                  "| dataset | seed | threshold | share kept | accuracy |", "|---|---|---|---|---|"]
        seen = set()
        for c in pre:
            key = (c["dataset"], c["seed"])
            if key in seen:  # every cold-start method of a seed labels the same pool
                continue
            seen.add(key)
            for row in c["prelabel"]["table"]:
                acc = "-" if row["accuracy"] is None else f"{100 * row['accuracy']:.1f}"
                lines.append(f"| {c['dataset']} | {c['seed']} | {row['threshold']:.2f} | "
                             f"{100 * row['share']:.1f} | {acc} |")
            bulk = c["prelabel"]["bulk_95"]
            acc = "-" if bulk["accuracy"] is None else f"{100 * bulk['accuracy']:.1f}"
            lines.append(f"| {c['dataset']} | {c['seed']} | bulk at 95% accuracy | {100 * bulk['share']:.1f} | {acc} |")
        lines.append("")
    return "\n".join(lines)


def plot_active_curves(cells: list[dict], path) -> Path:
    """``active_curves.png``: metric vs labels used, one panel per dataset, one line per method with
    a ±std band over seeds; the legend gives each line's number of seeds."""
    import math

    from matplotlib import colormaps
    from matplotlib.figure import Figure

    from .plots import _save_png

    groups = _groups(cells)
    n = max(1, len(groups))
    ncols = min(2, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(5.2 * ncols, 3.8 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    methods = sorted({m for g in groups.values() for m in g})
    cmap = colormaps["tab10"]
    for i, (d, by_method) in enumerate(groups.items()):
        ax = axes[i // ncols][i % ncols]
        for m, cs in sorted(by_method.items()):
            curve = mean_curve(cs)
            if not curve:
                continue
            xs = [a for a, _, _ in curve]
            ys = [100 * b for _, b, _ in curve]
            sd = [100 * s for _, _, s in curve]
            color = cmap(methods.index(m) % 10)
            seeds = len({c["seed"] for c in cs})
            ax.plot(xs, ys, marker="o", ms=3, label=f"{m} ({seeds} seed{'s' if seeds != 1 else ''})", color=color,
                    linestyle="--" if m == "random" else "-")
            ax.fill_between(xs, [y - s for y, s in zip(ys, sd, strict=True)],
                            [y + s for y, s in zip(ys, sd, strict=True)], color=color, alpha=0.15)
        ax.set_title(d)
        ax.set_xlabel("labels used")
        ax.set_ylabel(cells[0].get("metric", "metric") if cells else "metric")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for j in range(len(groups), nrows * ncols):
        axes[j // ncols][j % ncols].set_visible(False)
    return _save_png(fig, path)


def write_active_report(results_dir, cells: list[dict]) -> dict[str, Path]:
    """Write ``active.md`` and ``active_curves.png`` when the cells hold learning curves; ``{}`` otherwise."""
    if not _curve_cells(cells):
        return {}
    out = Path(results_dir)
    return {ACTIVE_FILE: write_text_atomic(out / ACTIVE_FILE, active_markdown(cells) + "\n"),
            ACTIVE_PLOT: plot_active_curves(_curve_cells(cells), out / ACTIVE_PLOT)}
