"""Read ``mpnet_paper.toml``'s results against issue 14's three targets for SetFit on ``mpnet``.

1. accuracy: our SetFit on ``mpnet`` averages at least the SetFit paper's k = 8 figure over the
   suite's datasets (Table 2, paraphrase-mpnet-base-v2: SST-5 43.6, CR 88.5, Emotion 48.8,
   AG News 82.9; average 65.95);
2. parity: it is within 0.5 points of plain setfit on the same body, on average, side by side on
   the same k-shot draws (the paired difference, mean ± standard error, is shown beside it);
3. time: it trains in no more time than plain setfit needs with MiniLM-L6 on the same draws (the
   median training time per dataset, their ratio, averaged over the datasets; the share of draws on
   which ours was the faster is shown beside it).

A target is judged only when every planned cell of the three strategies has finished; before that the
table is printed as "partial". Prints the Markdown and writes it to ``RESULTS_DIR/targets.md``.

Run::

    fewshot bench benchmarks/mpnet_paper.toml --out benchmarks/results/mpnet_paper --jobs 2 --threads 1
    python benchmarks/mpnet_paper.py benchmarks/results/mpnet_paper
"""

from __future__ import annotations

import statistics
import sys

from _provenance import code_footer, results_folder_main

from fewshot.bench.references import references_for
from fewshot.bench.results import check_code_versions, collect
from fewshot.bench.verdicts import paired_difference

OURS, PLAIN, BAR = "setfit-mpnet", "setfit-upstream-mpnet", "setfit-upstream-minilm"
K = 8
PARITY_POINTS = 0.5


def _paper(dataset: str) -> float | None:
    return next((r.value for r in references_for(dataset, K) if r.method == "setfit-mpnet"), None)


def _pct(x: float | None, std: float | None = None, digits: int = 1) -> str:
    if x is None:
        return "n/a"
    return f"{100 * x:.{digits}f}" + (f" ± {100 * std:.1f}" if std is not None else "")


def _train_seconds_by_seed(res, dataset: str, label: str) -> dict[int, float]:
    g = res.group(dataset, label, K)
    return {c["seed"]: c["train_seconds"] for c in (g.ok if g else []) if c.get("train_seconds")}


def targets_markdown(results_dir, *, allow_mixed: bool = False) -> str:
    res = collect(results_dir)
    versions = check_code_versions(res, allow_mixed=allow_mixed)
    missing = [s for s in (OURS, PLAIN, BAR) if s not in res.strategies]
    if missing:
        raise SystemExit(f"{results_dir}: no cells of {', '.join(missing)}; is it mpnet_paper.toml's results folder?")
    planned = res.planned_for(K) or 0
    datasets = res.datasets
    done = {s: sum(len(g.ok) for d in datasets if (g := res.group(d, s, K))) for s in (OURS, PLAIN, BAR)}
    complete = all(n == planned * len(datasets) for n in done.values())
    common = res.common_datasets(K, [OURS, PLAIN, BAR])

    lines = ["# SetFit on `mpnet` against issue 14's targets", ""]
    lines += [
        f"k = {K} per class, whole test splits, seeds {', '.join(map(str, res.suite.seeds)) if res.suite else '?'}. "
        f"Finished cells: {', '.join(f'{s} {n}/{planned * len(datasets)}' for s, n in done.items())}"
        + ("." if complete else ": **partial, no target is judged yet**."),
        "",
        "| dataset | paper (SetFit mpnet) | ours on mpnet | plain setfit on mpnet | plain setfit on minilm "
        "| ours − plain on mpnet (paired) | median train s: ours / plain mpnet / plain minilm | ours ÷ plain minilm |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ratios = []
    faster = total = 0
    for d in datasets:
        g = {s: res.group(d, s, K) for s in (OURS, PLAIN, BAR)}
        cols = [_pct(g[s].mean, g[s].std) + f" (n={len(g[s].ok)})" if g[s] and g[s].ok else "n/a" for s in g]
        p = paired_difference(res, K, OURS, PLAIN, [d])
        pair = f"{100 * p.mean:+.1f} ± {100 * p.se:.1f} ({p.n} draws)" if p.se is not None else (
            f"{100 * p.mean:+.1f} (1 draw)" if p.n else "n/a")
        med = {s: (g[s].median("train_seconds") if g[s] else None) for s in g}
        ratio = med[OURS] / med[BAR] if med[OURS] and med[BAR] else None
        if ratio is not None:
            ratios.append(ratio)
        ours_t, bar_t = _train_seconds_by_seed(res, d, OURS), _train_seconds_by_seed(res, d, BAR)
        shared = ours_t.keys() & bar_t.keys()
        faster += sum(ours_t[s] <= bar_t[s] for s in shared)
        total += len(shared)
        times = " / ".join(f"{med[s]:.0f}" if med[s] else "n/a" for s in (OURS, PLAIN, BAR))
        lines.append(f"| {d} | {_pct(_paper(d))} | {' | '.join(cols)} | {pair} | {times} | "
                     + (f"{ratio:.2f}x" if ratio is not None else "n/a") + " |")

    def avg(label: str) -> float | None:
        means = [res.group(d, label, K).mean for d in common]
        return statistics.fmean(means) if means else None

    papers = [_paper(d) for d in common]
    paper_avg = statistics.fmean(papers) if common and None not in papers else None
    ours_avg, plain_avg = avg(OURS), avg(PLAIN)
    p_all = paired_difference(res, K, OURS, PLAIN, common)
    ratio_avg = statistics.fmean(ratios) if ratios else None
    lines.append(
        f"| **average** ({len(common)} datasets) | **{_pct(paper_avg, digits=2)}** | **{_pct(ours_avg)}** | **{_pct(plain_avg)}** "
        f"| **{_pct(avg(BAR))}** | {100 * p_all.mean:+.1f}"
        + (f" ± {100 * p_all.se:.1f}" if p_all.se is not None else "") + f" ({p_all.n} draws) | "
        f"ours faster on {faster} of {total} draws | **"
        + (f"{ratio_avg:.2f}x" if ratio_avg is not None else "n/a") + "** |"
    )
    lines.append("")

    def verdict(ok: bool | None) -> str:
        if not complete or ok is None:
            return "not judged (partial)"
        return "**met**" if ok else "**missed**"

    lines += [
        "Targets:",
        "",
        f"1. average at or above the paper's ({_pct(paper_avg, digits=2)}): ours {_pct(ours_avg)}: "
        + verdict(None if ours_avg is None or paper_avg is None else ours_avg >= paper_avg - 1e-9) + ";",
        f"2. within {PARITY_POINTS} points of plain setfit on `mpnet` on average: "
        + (f"{100 * (ours_avg - plain_avg):+.1f} points: " if ours_avg is not None and plain_avg is not None else "")
        + verdict(None if ours_avg is None or plain_avg is None
                  else 100 * (ours_avg - plain_avg) >= -PARITY_POINTS) + ";",
        "3. training time no more than plain setfit on `minilm`: "
        + (f"{ratio_avg:.2f}x: " if ratio_avg is not None else "")
        + verdict(None if ratio_avg is None else ratio_avg <= 1.0) + ".",
        "",
        "Training time is the wall time of `fit` on one torch thread, two cells running side by side "
        "(`--jobs 2 --threads 1`): which cell shares the machine with which changes from run to run, "
        "so read a per-dataset ratio as ±10-15 %.",
        "",
        code_footer(versions),
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    return results_folder_main(argv, __doc__, targets_markdown, "targets.md", "the folder `fewshot bench benchmarks/mpnet_paper.toml --out` wrote")


if __name__ == "__main__":
    sys.exit(main())
