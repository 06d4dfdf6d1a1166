"""Decide between an active-learning default and a candidate: the rule written in the first suite
file before the run (``tune_active_decide*.toml``, ``tune_active_badge*.toml``, ``tune_active_many*``,
``tune_active_binary*``), applied to its two results folders.

The first folder holds ``random`` and hybrid with ``warmup = 0`` (the current default), the second
the candidate: hybrid with a warm-up (``warmup = 14``), or another method in hybrid's place
(``badge``), all on the same datasets, rows and seeds. Levels are the labels-per-class points after
the start (the start is the same random labels in every arm). "Beyond the noise" is a mean paired
difference over seeds below minus its sd over seeds, as in ``active_target.py``. The candidate
becomes the default only if all three hold:

1. it trails random beyond the noise at no more (dataset, level) pairs than ``warmup = 0`` does;
2. the mean over datasets and levels of (candidate - ``warmup = 0``) is above 0;
3. at the last level, its mean over datasets is no more than 1 point below ``warmup = 0``'s.

``--many-classes`` applies ``tune_active_many.toml``'s rule instead, to the same table (hybrid is the
candidate, badge the incumbent, on banking77): hybrid becomes the default for tasks with more than 20
classes only if it trails random beyond the noise at no more levels than badge, badge − hybrid is
below 0 at every level, and its mean over the levels is below -1 point.

``--binary`` applies ``tune_active_binary.toml``'s rule: the first folder holds random and badge (the
incumbent), the second kmeans (the candidate), on cr. kmeans becomes the default for two-class tasks only
if it trails random beyond the noise at no more levels than badge, kmeans − badge is above 0 at each of
the first three levels, its mean over all levels is above +1 point, and at the last level it is no less
than -1 point.

``--earlier DIR`` (repeatable): earlier runs of FIRST's cells, the same suite at another code version.
A cell FIRST lacks is taken from them; a cell both hold must be the same run (setup, pool sample,
training labels and every round's metric), else the script stops, since then the earlier run cannot
stand in (``_earlier.py``). The Markdown says how many cells were taken and how many were compared.

Prints the Markdown and writes it to ``FIRST_DIR/decision.md``. Run::

    fewshot bench benchmarks/tune_active_decide.toml --out benchmarks/results/tune_active_decide --jobs 2 --threads 1
    fewshot bench benchmarks/tune_active_decide_warm.toml --out benchmarks/results/tune_active_decide_warm --jobs 2 --threads 1
    python benchmarks/active_warmup_decide.py benchmarks/results/tune_active_decide benchmarks/results/tune_active_decide_warm
    python benchmarks/active_warmup_decide.py benchmarks/results/tune_active_many \
        benchmarks/results/tune_active_many_candidate --many-classes
    python benchmarks/active_warmup_decide.py benchmarks/results/tune_active_binary \
        benchmarks/results/tune_active_binary_candidate --binary
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from _earlier import OPTION as EARLIER
from _earlier import fill_from_earlier
from _provenance import code_footer
from active_warmup import _levels, _paired, load_folders

from fewshot._atomic import write_text_atomic
from fewshot.bench.results import code_versions

EPS = 1e-12


def _beyond(mean: float, noise: float) -> bool:
    return mean < -noise - EPS


#: tune_active_many.toml: the fewest classes for which hybrid would replace badge as the default.
MANY_CLASSES = 20
#: tune_active_binary.toml: how many of the first levels the candidate must lead badge at, each one.
BINARY_FIRST_LEVELS = 3


def decision_markdown(first: str, second: str, *, allow_mixed: bool = False, earlier: list[str] = (),
                      many_classes: bool = False, binary: bool = False) -> str:
    if many_classes and binary:
        raise SystemExit("--many-classes and --binary are two different rules: pass one")
    results, cells, versions = load_folders([first, second], allow_mixed=allow_mixed)
    filled = None
    if earlier:
        extra, filled = fill_from_earlier(results[0], list(earlier))
        cells = cells + extra
        versions = code_versions(cells)
    planned = min(res.planned_seeds or 0 for res in results)
    data = _levels(cells)
    ok_cells = [c for c in results[1].cells if c.get("status") == "ok" and c.get("active")]
    others = sorted({c["active"]["method"] for c in ok_cells} - {"random", "hybrid"})
    cand = others[0] if others else "warm-up"  # the second folder's arm: a hybrid warm-up, or another method
    inc = "badge" if binary else "uncertain"  # the incumbent, in the first folder beside random
    if binary and cand in ("warm-up", "badge"):
        raise SystemExit(f"--binary compares another method with badge; the second folder holds {cand!r}")
    arms = ("random", inc, cand)
    if cand == "warm-up":
        warm = sorted({(c["active"].get("method_params") or {}).get("warmup") for c in ok_cells} - {None})
        name = f"warmup = {', '.join(f'{w:g}' for w in warm)}" if warm else "the warm-up"
        title, what = f"Hybrid's default warm-up: warmup = 0 or {name}", f"`warm-up` = hybrid with {name}"
        subject, adopted, kept = "the warm-up", f"{name} becomes hybrid's default.", "hybrid keeps warmup = 0."
    else:
        name = f"`{cand}`"
        title, what = f"The default suggestion method: hybrid or {name}", f"`{cand}` = the {cand} method"
        subject, adopted, kept = cand, f"{name} replaces hybrid as the default method.", "hybrid stays the default."
    if many_classes:
        if cand != "badge":
            raise SystemExit(f"--many-classes compares hybrid with badge; the second folder holds {cand!r}")
        title = f"Hybrid or badge on many classes (more than {MANY_CLASSES})"
        adopted = (f"hybrid becomes the default for tasks with more than {MANY_CLASSES} classes; badge stays the "
                   f"default up to {MANY_CLASSES}.")
        kept = "badge stays the default for every task."
    if binary:
        title = f"{name} or badge on two-class tasks"
        what = f"`badge` = the badge method (the default), {what}"
        adopted = f"{name} becomes the default for tasks with two classes; badge stays the default from 3 classes."
        kept = "badge stays the default for two-class tasks."
    lines = [f"# {title}", "",
             "Mean accuracy over seeds on validation rows (hold-outs of train where a dataset has no validation "
             "split) at each labels-per-class level after the shared random start. "
             + ("" if binary else "`uncertain` = hybrid with warmup = 0, ")
             + f"{what}. Differences are paired by seed: mean ± sd over seeds; "
             "**bold** = beyond the noise (the mean is below minus the sd).", ""]
    if filled:
        lines += [filled, ""]
    trails = {inc: 0, cand: 0}
    gaps, first_gaps, last_gaps, complete = [], [], [], planned > 0
    for d in sorted(data):
        arm = data[d]
        if not all(a in arm for a in arms):
            lines += [f"## {d}", "", "Not every arm has results yet.", ""]
            complete = False
            continue
        seeds = {a: min(len(v) for v in arm[a].values()) for a in arms}
        complete &= all(seeds[a] == planned for a in arms)
        levels = sorted(set.intersection(*(set(arm[a]) for a in arms)))[1:]
        levels = [L for L in levels if all(len(arm[a][L]) == seeds[a] for a in arms)]
        lines += [f"## {d} (seeds: " + ", ".join(f"{a} {seeds[a]}" for a in arms) + f"; planned {planned})", "",
                  f"| labels per class | random | {inc} | {cand} | {inc} − random | {cand} − random "
                  f"| {cand} − {inc} |", "|---|---|---|---|---|---|---|"]
        for i, L in enumerate(levels):
            means = {a: statistics.fmean(arm[a][L].values()) for a in arms}
            cols = []
            for a, b in ((inc, "random"), (cand, "random"), (cand, inc)):
                mean, noise = _paired(arm[a][L], arm[b][L])
                bold = _beyond(mean, noise)
                if b == "random":
                    trails[a] += bold
                cols.append(f"{'**' if bold else ''}{100 * mean:+.1f} ± {100 * noise:.1f}{'**' if bold else ''}")
            gaps.append(means[cand] - means[inc])
            if i < BINARY_FIRST_LEVELS:
                first_gaps.append(gaps[-1])
            lines.append(f"| {L:g} | " + " | ".join(f"{100 * means[a]:.1f}" for a in arms) + " | " + " | ".join(cols)
                         + " |")
        if levels:
            last = levels[-1]
            last_gaps.append(statistics.fmean(arm[cand][last].values())
                             - statistics.fmean(arm[inc][last].values()))
        lines.append("")
    if not gaps or not last_gaps:
        return "\n".join([*lines, "**No verdict:** no level after the start has every arm.", "",
                          code_footer(versions), ""])
    area, end = statistics.fmean(gaps), statistics.fmean(last_gaps)
    if many_classes:
        checks = [
            (trails["uncertain"] <= trails[cand],
             f"hybrid trails random beyond the noise at {trails['uncertain']} (dataset, level) pair(s), badge at "
             f"{trails[cand]} (allowed: no more)"),
            (max(gaps) < -EPS, f"badge − uncertain at every level: at most {100 * max(gaps):+.1f} points "
                               "(needed: below 0 at every level)"),
            (area < -0.01 - EPS, f"mean over levels of badge − uncertain: {100 * area:+.2f} points "
                                 "(needed: below -1.00)"),
        ]
    elif binary:
        checks = [
            (trails[cand] <= trails[inc],
             f"{cand} trails random beyond the noise at {trails[cand]} level(s), badge at {trails[inc]} "
             "(allowed: no more)"),
            (len(first_gaps) >= BINARY_FIRST_LEVELS and min(first_gaps) > EPS,
             f"{cand} − badge at each of the first {BINARY_FIRST_LEVELS} levels: "
             + ", ".join(f"{100 * g:+.1f}" for g in first_gaps) + " points (needed: above 0 at each)"),
            (area > 0.01 + EPS, f"mean over levels of {cand} − badge: {100 * area:+.2f} points (needed: above +1.00)"),
            (end >= -0.01 - EPS, f"at the last level, {cand} − badge: {100 * end:+.2f} points (allowed: -1.00)"),
        ]
    else:
        checks = [
            (trails[cand] <= trails["uncertain"],
             f"{subject} trails random beyond the noise at {trails[cand]} (dataset, level) pair(s), "
             f"warmup = 0 at {trails['uncertain']} (allowed: no more)"),
            (area > EPS, f"mean over datasets and levels of {cand} − uncertain: {100 * area:+.2f} points "
                         "(needed: above 0)"),
            (end >= -0.01 - EPS, f"at the last level, mean over datasets of {cand} − uncertain: {100 * end:+.1f} "
                                 "points (allowed: -1.0)"),
        ]
    which = (" (tune_active_many.toml: hybrid or badge on many classes)" if many_classes else
             f" (tune_active_binary.toml: {cand} or badge on two-class tasks)" if binary else "")
    lines += ["## The rule" + which, ""]
    lines += [f"{i}. {'met' if ok else '**not met**'}: {text}" for i, (ok, text) in enumerate(checks, 1)]
    lines.append("")
    adopt = all(ok for ok, _ in checks)
    if not complete:
        lines.append("**Not decided yet:** not every planned seed of every arm has finished.")
    else:
        lines.append(f"**Decision:** {adopted}" if adopt else f"**Decision:** {kept}")
    lines += ["", code_footer(versions), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("first", help="the folder of random and hybrid with warmup = 0 (tune_active_decide.toml, "
                                 "tune_active_badge.toml, tune_active_many.toml), or of random and badge with "
                                 "--binary (tune_active_binary.toml)")
    p.add_argument("second", help="the folder of the candidate: hybrid with a warm-up (tune_active_decide_warm.toml) "
                                  "or another method (tune_active_badge_candidate.toml, "
                                  "tune_active_many_candidate.toml, tune_active_binary_candidate.toml)")
    p.add_argument("--allow-mixed", action="store_true", help="accept cells of different code versions")
    p.add_argument("--many-classes", action="store_true",
                   help="apply tune_active_many.toml's rule (should hybrid be the default for tasks with more than "
                        f"{MANY_CLASSES} classes?) instead of the rule for replacing hybrid")
    p.add_argument("--binary", action="store_true",
                   help="apply tune_active_binary.toml's rule (should the second folder's method replace badge as the "
                        "default for two-class tasks?); the first folder holds random and badge")
    p.add_argument(*EARLIER[0], **EARLIER[1])
    args = p.parse_args(argv)
    text = decision_markdown(args.first, args.second, allow_mixed=args.allow_mixed, earlier=args.earlier,
                             many_classes=args.many_classes, binary=args.binary)
    write_text_atomic(Path(args.first) / "decision.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
