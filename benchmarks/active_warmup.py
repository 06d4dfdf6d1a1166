"""Read the warm-up tuning study (``tune_active_start*.toml``) and apply its rule: from how many labels
per class should ``hybrid`` trust the model's uncertainty instead of picking representative texts?

Two results folders: the first holds ``random`` and hybrid with ``warmup = 0`` (uncertain from the
first round), the second hybrid with a warm-up longer than the study (representative in every round).
Curves are means over seeds at each labels-per-class level (``per_class`` of the curve points), then
means over the datasets. The rule, fixed in ``tune_active_start.toml`` before the run: the default
``warmup`` W is the smallest level L from which the uncertain curve is at or above the representative
one at every level >= L; 0 if that holds from the first level after the start (the start itself is
the same random labels in every arm); the study's last level, flagged, if it never holds.

``--check THIRD_DIR``: hybrid with that warm-up (``tune_active_start_check.toml``), read against the
check fixed before it ran: it becomes the default if on no dataset its mean paired difference with
random at any level is below minus the seed noise (the sd over seeds of that difference, as in
``active_target.py``), and at the last level its mean over the datasets is no more than 1 point
below the uncertain arm's. Otherwise hybrid keeps ``warmup = 0``.

Prints the Markdown and writes it to ``FIRST_DIR/warmup.md``. Run::

    fewshot bench benchmarks/tune_active_start.toml --out benchmarks/results/tune_active_start --jobs 2 --threads 1
    fewshot bench benchmarks/tune_active_start_warm.toml --out benchmarks/results/tune_active_start_warm --jobs 2 --threads 1
    python benchmarks/active_warmup.py benchmarks/results/tune_active_start benchmarks/results/tune_active_start_warm
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from _provenance import code_footer

from fewshot._atomic import write_text_atomic
from fewshot.bench.results import check_code_versions, code_versions, collect


def _arm(cell: dict) -> str:
    a = cell["active"]
    if a["method"] == "random":
        return "random"
    if a["method"] != "hybrid":  # another method tried in hybrid's place (badge): its own arm
        return a["method"]
    warmup = (a.get("method_params") or {}).get("warmup", 0)
    if warmup == 0:
        return "uncertain"
    return "representative" if warmup >= a.get("max_per_class", 64) else "warm-up"


def _levels(cells: list[dict]) -> dict[str, dict[str, dict[float, dict[int, float]]]]:
    """``{dataset: {arm: {per_class: {seed: metric}}}}``."""
    out: dict = {}
    for c in cells:
        if c.get("status") != "ok" or not c.get("curve") or not c.get("active"):
            continue
        by = out.setdefault(c["dataset"], {}).setdefault(_arm(c), {})
        for p in c["curve"]:
            by.setdefault(float(p["per_class"]), {})[int(c["seed"])] = float(p["metric"])
    return out


def _paired(a: dict[int, float], b: dict[int, float]) -> tuple[float, float]:
    """Mean and sd over the seeds both hold of ``a - b``."""
    diffs = [a[s] - b[s] for s in sorted(a.keys() & b.keys())]
    return statistics.fmean(diffs), (statistics.stdev(diffs) if len(diffs) > 1 else 0.0)


def choose_warmup(levels: list[float], uncertain: list[float], representative: list[float]) -> tuple[float, bool]:
    """``(W, found)``: the smallest level from which ``uncertain >= representative`` at every later
    level; the first level counts as 0 (no warm-up). ``found`` is False when it never holds."""
    for i in range(1, len(levels)):
        if all(u >= r - 1e-12 for u, r in zip(uncertain[i:], representative[i:], strict=True)):
            return (0.0 if i == 1 else levels[i]), True
    return levels[-1], False


def load_folders(folders, *, allow_mixed: bool = False) -> tuple[list, list[dict], list[dict]]:
    """``(results, cells, versions)`` of several results folders, refusing cells of different code
    versions (within a folder or across them) unless ``allow_mixed``."""
    results = [collect(f) for f in folders]
    for res in results:
        check_code_versions(res, allow_mixed=allow_mixed)
    cells = [c for res in results for c in res.cells]
    versions = code_versions(cells)
    if len(versions) > 1 and not allow_mixed:
        raise SystemExit(f"the folders come from different code versions ({'; '.join(v['name'] for v in versions)}); "
                         "rerun one, or pass --allow-mixed")
    return results, cells, versions


def warmup_markdown(first: str, second: str, check: str | None = None, *, allow_mixed: bool = False) -> str:
    results, cells, versions = load_folders([f for f in (first, second, check) if f], allow_mixed=allow_mixed)
    res_a = results[0]
    data = _levels(cells)
    arms = ("random", "uncertain", "representative")
    planned = res_a.planned_seeds or 0
    lines = ["# Hybrid's warm-up: when to trust the model's uncertainty", "",
             "Mean accuracy over seeds on validation rows (hold-outs of train where a dataset has no validation "
             "split) at each labels-per-class level; `uncertain` = hybrid with warmup = 0, `representative` = "
             "hybrid picking typical texts of uncovered pool regions in every round. ± is the standard deviation "
             "over seeds of the paired difference.", ""]
    common: set[float] | None = None
    per_dataset: dict[str, dict[str, dict[float, float]]] = {}
    for d in sorted(data):
        arm = data[d]
        seeds = {a: min((len(v) for v in arm.get(a, {}).values()), default=0) for a in arms}
        levels = sorted(set.intersection(*(set(arm.get(a, {})) for a in arms)))
        levels = [L for L in levels if all(len(arm[a][L]) == seeds[a] for a in arms)]
        lines += [f"## {d} (seeds: " + ", ".join(f"{a} {seeds[a]}" for a in arms) + f"; planned {planned})", "",
                  "| labels per class | random | uncertain | representative | uncertain − representative |",
                  "|---|---|---|---|---|"]
        per_dataset[d] = {a: {} for a in arms}
        for L in levels:
            means = {a: statistics.fmean(arm[a][L].values()) for a in arms}
            for a in arms:
                per_dataset[d][a][L] = means[a]
            diff, noise = _paired(arm["uncertain"][L], arm["representative"][L])
            lines.append(f"| {L:g} | {100 * means['random']:.1f} | {100 * means['uncertain']:.1f} | "
                         f"{100 * means['representative']:.1f} | {100 * diff:+.1f} ± {100 * noise:.1f} |")
        lines.append("")
        common = set(levels) if common is None else common & set(levels)
    levels = sorted(common or [])
    complete = planned > 0 and all(min((len(v) for v in data[d].get(a, {}).values()), default=0) == planned
                                   for d in data for a in arms)
    lines += ["## Mean over the datasets", "", "| labels per class | random | uncertain | representative |",
              "|---|---|---|---|"]
    mean = {a: [statistics.fmean(per_dataset[d][a][L] for d in per_dataset) for L in levels] for a in arms}
    for i, L in enumerate(levels):
        lines.append(f"| {L:g} | " + " | ".join(f"{100 * mean[a][i]:.1f}" for a in arms) + " |")
    lines.append("")
    if len(levels) < 2:
        lines.append("**No verdict:** fewer than two common levels.")
    else:
        w, found = choose_warmup(levels, mean["uncertain"], mean["representative"])
        head = "**Rule" + ("" if complete else " (interim: not every planned seed has finished)") + ":** "
        if found:
            lines.append(head + (f"warmup = {w:g}: the uncertain curve is at or above the representative one "
                                 f"from {w:g} labels per class on." if w else
                                 "warmup = 0: the uncertain curve is at or above the representative one at every "
                                 "level after the start."))
        else:
            lines.append(head + f"warmup = {w:g}, the study's last level: the uncertain curve never stays at or "
                                "above the representative one; the crossing was not found.")
    if check:
        lines += ["", *_check_lines(data, planned)]
    lines += ["", code_footer(versions), ""]
    return "\n".join(lines)


def _check_lines(data: dict, planned: int) -> list[str]:
    """The pre-registered check of the warm-up arm (see the module docstring)."""
    lines = ["## Check: hybrid with the warm-up against random and the uncertain arm", "",
             "| dataset | seeds | worst level: warm-up − random ± noise | last level: warm-up − uncertain |",
             "|---|---|---|---|"]
    worse, last_gap, complete = 0, [], True
    for d in sorted(data):
        arm = data[d]
        if "warm-up" not in arm:
            lines.append(f"| {d} | 0 | n/a | n/a |")
            complete = False
            continue
        levels = sorted(set(arm["warm-up"]) & set(arm.get("random", {})) & set(arm.get("uncertain", {})))
        seeds = min(len(arm["warm-up"][L]) for L in levels)
        complete &= seeds == planned
        rounds = [(L, *_paired(arm["warm-up"][L], arm["random"][L])) for L in levels]
        L, mean, noise = min(rounds, key=lambda r: r[1] + r[2])
        beyond = mean < -noise - 1e-12
        worse += beyond
        gap = statistics.fmean(arm["warm-up"][levels[-1]].values()) - statistics.fmean(arm["uncertain"][levels[-1]].values())
        last_gap.append(gap)
        lines.append(f"| {d} | {seeds} | {L:g}: {100 * mean:+.1f} ± {100 * noise:.1f}"
                     f"{' (**beyond the noise**)' if beyond else ''} | {100 * gap:+.1f} |")
    lines.append("")
    if not complete:
        lines.append("**Check not judged yet:** not every planned seed of the warm-up arm has finished.")
        return lines
    gap = statistics.fmean(last_gap)
    ok = worse == 0 and gap >= -0.01 - 1e-12
    lines.append(f"**Check {'passed' if ok else 'failed'}:** worse than random beyond the noise on {worse} "
                 f"dataset(s) (allowed: none); at the last level {100 * gap:+.1f} points against the uncertain "
                 f"arm on the mean over datasets (allowed: -1.0). "
                 + ("The warm-up becomes hybrid's default." if ok else "hybrid keeps warmup = 0."))
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("first", help="the folder of tune_active_start.toml (random, hybrid warmup = 0)")
    p.add_argument("second", help="the folder of tune_active_start_warm.toml (hybrid, representative)")
    p.add_argument("--check", metavar="THIRD_DIR",
                   help="the folder of tune_active_start_check.toml (hybrid with the chosen warm-up)")
    p.add_argument("--allow-mixed", action="store_true", help="accept cells of different code versions")
    args = p.parse_args(argv)
    text = warmup_markdown(args.first, args.second, args.check, allow_mixed=args.allow_mixed)
    write_text_atomic(Path(args.first) / "warmup.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
