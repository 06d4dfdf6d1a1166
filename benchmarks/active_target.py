"""Read ``active.toml``'s results against issue 18's target for the default suggestion method.

The target: the default method reaches random sampling's metric at 64 labels per class with at most
60% of the labels on at least three of the four datasets, and is never worse than random by more than
the seed noise. The method judged on a dataset is the library's default for its number of classes,
``fewshot.active.default_method`` (``badge`` up to 20 classes, ``hybrid`` above, since the study
``tune_active_many*.toml``; ``badge`` everywhere from the badge study, ``tune_active_badge*.toml``, to
then; ``hybrid`` everywhere before), or ``--method`` on every dataset: the committed ``target.md`` of
the grid run at code 392ab0f392c8 judges ``hybrid``.

How it is read (fixed before any active-learning cell of this code was looked at):

- a method's curve is its mean over seeds at the label counts every seed reached
  (``fewshot.bench.active.mean_curve``, as in ``active.md``); random sampling
  from the random start is the baseline, and its last point is "random's metric" (the labels it used
  there: 64 per class, fewer where the pool holds fewer);
- labels to reach: the fewest labels at which a method's mean curve reaches random's final mean
  (``fewshot.active.labels_to_reach``, the same as ``active.md``); share = that / random's labels;
  a dataset passes at a share of 0.60 or less;
- seed noise at a label count: the standard deviation over seeds of the per-seed differences
  (method − random, the same seed, hence the same pool, test rows and first labels); a method is
  worse than random beyond the noise where the mean difference is below minus that. The "worst
  round" is the label count where the mean difference plus the noise is lowest, after the start for
  a method from the random start (its first point is random's own);
- a dataset is judged once every planned seed of both methods has finished, the target once every
  dataset of the suite is judged. The other methods (``margin``, ``kmeans``, the cold starts) are
  read the same way and shown beside it; they do not enter the verdict.

``--earlier DIR`` (repeatable): an earlier run of the same suite at another code version. The cells
RESULTS_DIR lacks are taken from it, if they ran the same setup; a cell both hold must be the same run
(pool sample, training labels and every round's metric), else the script stops (``_earlier.py``).
Random sampling's cells do not change with a new query method, so a run of only the new default can
be read against random's earlier cells: ``--only-strategy setfit-badge --earlier results/active``,
with random rerun on one dataset beside it to show it reproduces.

Prints the Markdown and writes it to ``RESULTS_DIR/target.md``, with the learning curves it reads
(every method of the folder and of ``--earlier``, mean over seeds with a ±std band) drawn in
``RESULTS_DIR/target_curves.png`` (``--no-plot`` leaves it out). Run::

    fewshot bench benchmarks/active.toml --out benchmarks/results/active --jobs 2 --threads 1
    python benchmarks/active_target.py benchmarks/results/active
    python benchmarks/active_target.py benchmarks/results/active --method hybrid   # the default before badge
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from _earlier import OPTION as EARLIER
from _earlier import fill_from_earlier, finished
from _provenance import code_footer, results_folder_main

from fewshot.active import METHODS, default_method, labels_to_reach
from fewshot.bench.active import mean_curve
from fewshot.bench.results import check_code_versions, code_versions, collect

BASELINE = ("random", "random")
MAX_SHARE = 0.60
MIN_DATASETS = 3
PLOT = "target_curves.png"


def _curves(cells: list[dict]) -> dict[int, dict[int, float]]:
    """``{seed: {labels: metric}}`` of finished cells."""
    return {c["seed"]: {int(p["n_labels"]): float(p["metric"]) for p in c["curve"]} for c in cells}


def compare(method_cells: list[dict], base_cells: list[dict], *, shared_start: bool = False) -> dict:
    """One method against random on one dataset: labels to reach random's final mean, its share of
    random's labels, and the worst mean paired difference with the seed noise there. With
    ``shared_start`` (a method from the random start: its first labels are random's own, the same
    point) the rounds after the start are read."""
    base_curve = mean_curve(base_cells) if base_cells else []
    curve = mean_curve(method_cells) if method_cells else []
    out = {"seeds": len(method_cells), "final": curve[-1][:2] if curve else None, "reach": None, "share": None,
           "worst": None}
    if not curve or not base_curve:
        return out
    target_n, target, _ = base_curve[-1]
    reach = labels_to_reach([{"n_labels": n, "metric": m} for n, m, _ in curve], target - 1e-12)
    out.update(reach=reach, share=None if reach is None else reach / target_n, target=(target_n, target))
    method, base = _curves(method_cells), _curves(base_cells)
    seeds = sorted(method.keys() & base.keys())
    counts = sorted(set.intersection(*(set(method[s]) & set(base[s]) for s in seeds))) if seeds else []
    rounds = []
    for n in counts[1:] if shared_start else counts:
        diffs = [method[s][n] - base[s][n] for s in seeds]
        noise = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
        rounds.append({"labels": n, "mean": statistics.fmean(diffs), "noise": noise, "seeds": len(seeds)})
    # the round closest to (or furthest past) "worse than random beyond the noise": mean + noise lowest
    out["worst"] = min(rounds, key=lambda r: r["mean"] + r["noise"], default=None)
    return out


def _name(method: str, start: str) -> str:
    return method + ("-cold" if start == "cold" else "")


def _subject(method: str | None, cells: list[dict]) -> tuple[str, str]:
    """(method, start) the target judges on a dataset: ``method``, else the library's default for the
    dataset's number of classes."""
    if method is None:
        n_classes = {c["active"].get("n_classes") for c in cells} - {None}
        method = default_method(max(n_classes) if n_classes else None)
    return method, "random"


def target_markdown(results_dir, *, allow_mixed: bool = False, method: str | None = None,
                    earlier=(), no_plot: bool = False) -> str:
    res = collect(results_dir)
    versions = check_code_versions(res, allow_mixed=allow_mixed)
    cells, filled = res.cells, None
    if earlier:
        extra, filled = fill_from_earlier(res, list(earlier))
        cells = cells + extra
        versions = code_versions(cells)
    cells_read = [c for c in cells if finished(c)]
    planned = res.planned_seeds or 0
    groups: dict[str, dict[tuple[str, str], list[dict]]] = {}
    for c in cells_read:
        groups.setdefault(c["dataset"], {}).setdefault((c["active"]["method"], c["active"]["start"]), []).append(c)
    if not groups:
        raise SystemExit(f"{results_dir}: no finished active-learning cells; is it active.toml's results folder?")
    datasets = res.suite.datasets if res.suite else sorted(groups)

    subjects = {d: _subject(method, [c for c in cells_read if c["dataset"] == d]) for d in datasets}
    judged_names = sorted({_name(*s) for s in subjects.values()})
    who = (f"`{method}`, on every dataset" if method else "the library's default for the dataset's number of "
           "classes (`fewshot.active.default_method`: " + ", ".join(f"`{_name(*subjects[d])}` on {d}" for d in datasets)
           + ")")
    lines = ["# Active learning against issue 18's target", "",
             f"The method judged, {who}, must reach random sampling's final metric with at most "
             f"{MAX_SHARE:.0%} of its labels on at least {MIN_DATASETS} of the {len(datasets)} datasets, and never "
             "trail random by more than the seed noise (the standard deviation over seeds of the paired "
             "difference at a label count). Test rows; mean curves over seeds.", "",
             *([filled, ""] if filled else []),
             "| dataset | method | seeds | random's final: labels, mean | method's final | labels to reach random (share) "
             "| worst round: labels, method − random ± noise | verdict |", "|---|---|---|---|---|---|---|---|"]
    within, worse, judged = 0, 0, 0
    for d in datasets:
        by = groups.get(d, {})
        base = by.get(BASELINE, [])
        subject = subjects[d]
        for key in [subject, *sorted(k for k in by if k not in (BASELINE, subject))]:
            arm = by.get(key, [])
            r = compare(arm, base, shared_start=key[1] == "random")
            complete = len(arm) == planned and len(base) == planned and planned > 0
            rt = r.get("target")
            fin = r["final"]
            reach = ("never" if r["reach"] is None else f"{r['reach']} ({r['share']:.2f})") if rt else "n/a"
            w = r["worst"]
            worst = (f"{w['labels']}: {100 * w['mean']:+.1f} ± {100 * w['noise']:.1f}" if w else "n/a")
            if not complete:
                verdict = f"partial ({len(arm)}/{planned} seeds, random {len(base)}/{planned})"
            else:
                ok_share = r["share"] is not None and r["share"] <= MAX_SHARE + 1e-12
                ok_noise = w is None or w["mean"] >= -w["noise"] - 1e-12
                verdict = ("within 60%" if ok_share else "never reaches it" if r["reach"] is None else "over 60%") + ", " + (
                    "within the noise" if ok_noise else "**worse than random beyond the noise**")
                if key == subject:
                    judged += 1
                    within += ok_share
                    worse += not ok_noise
            lines.append(" | ".join([
                f"| {d}", f"**{_name(*key)}**" if key == subject else _name(*key), str(len(arm)),
                f"{rt[0]}, {100 * rt[1]:.1f}" if rt else "n/a",
                f"{fin[0]}, {100 * fin[1]:.1f}" if fin else "n/a", reach, worst, verdict]) + " |")
    lines.append("")
    if not no_plot:
        from fewshot.bench.active import plot_active_curves

        order = {d: i for i, d in enumerate(datasets)}  # the panels in the suite's order
        png = plot_active_curves(sorted(cells_read, key=lambda c: order.get(c["dataset"], len(order))),
                                 Path(results_dir) / PLOT)
        lines += [f"![Learning curves: metric against labels used, mean over seeds ± std]({png.name})", ""]
    if judged < len(datasets):
        lines.append(f"**Target not judged yet:** {judged} of {len(datasets)} datasets have every planned seed of "
                     f"the judged method and `random`; so far {within} within {MAX_SHARE:.0%}, {worse} worse "
                     "than random beyond the noise.")
    else:
        met = within >= MIN_DATASETS and worse == 0
        judged_as = (f"`{judged_names[0]}`" if len(judged_names) == 1
                     else "the default (" + " / ".join(f"`{n}`" for n in judged_names) + ")")
        lines.append(f"**Target {'met' if met else 'missed'}:** {judged_as} reaches random's metric with "
                     f"at most {MAX_SHARE:.0%} of its labels on {within} of {len(datasets)} datasets (needed: "
                     f"{MIN_DATASETS}) and trails random beyond the noise on {worse} (allowed: none).")
    lines += ["", code_footer(versions), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    method = (("--method",), {"default": None, "choices": [m for m in METHODS if m not in ("random", "cold")],
                              "help": "the method the target judges on every dataset (default: the library's "
                                      "default for each dataset's number of classes, badge up to 20, hybrid above)"})
    no_plot = (("--no-plot",), {"action": "store_true", "help": f"do not draw {PLOT}"})
    return results_folder_main(argv, __doc__, target_markdown, "target.md",
                               "the folder `fewshot bench benchmarks/active.toml --out` wrote",
                               [method, EARLIER, no_plot])


if __name__ == "__main__":
    sys.exit(main())
