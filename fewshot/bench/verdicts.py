"""The verdict per labeled budget: which strategy to pick at k examples per class, what it costs,
and whether the runner-up is a tie (a paired comparison over the shared k-shot draws).

Example::

    from fewshot.bench.results import collect
    from fewshot.bench.verdicts import verdict, paired_difference
    res = collect("benchmarks/results/quick")
    print(verdict(res, 8))
    paired_difference(res, 8, "setfit", "head").tie
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass

from ._format import _num, _pct, _secs, _signed
from .results import _METRIC_NAMES, Results, _average, _pooled, _with_data

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
        return f"**{res.budget(k, short=True)}.** No finished cells yet: nothing to recommend."
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
    size = {s: _pooled(res, k, s, "serve_size_mb") for s in strategies}
    seeds = [len(res.groups[(d, s, k)].ok) for s in strategies for d in common]

    parts = [f"**{res.budget(k, short=True)}.**"] + ([note] if note else [])
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
            f"predicts {_num(pps[best])} texts/s, peaks at {_num(mem[best])} MB of memory and needs "
            f"{_num(size[best])} MB on disk to serve (its saved folder plus any base model it loads)."
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
    planned = f" of {res.planned_for(k)} planned" if res.planned_for(k) else ""
    parts.append(f"Based on {lo if lo == hi else f'{lo}–{hi}'} seed(s){planned} per dataset.")
    if lo == 1 and len(strategies) > 1:
        parts.append(
            "With a single seed, differences of a few points can be sampling noise of the k-shot draw."
        )
    return " ".join(parts)
