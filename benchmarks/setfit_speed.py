"""SetFitClassifier vs plain setfit, from the cells of ``benchmarks/setfit_speed.toml``.

The harness runs the suite (every configuration on the same k-shot samples and test rows, each cell
in its own process); this script reads the results folder and writes ``speed.md`` there: per
configuration of ours (``quantize`` false / int8 / bf16) against ``setfit-upstream``, paired over the
(dataset, seed) draws both ran: the headline-metric difference (mean ± standard error, a tie when
within 2 standard errors of zero), total training time as a ratio, and median predictions per second
as a ratio. Each accuracy figure goes with the speed of the same configuration.

Run::

    fewshot bench benchmarks/setfit_speed.toml --out benchmarks/results/setfit_speed --jobs 1
    python benchmarks/setfit_speed.py benchmarks/results/setfit_speed
"""

from __future__ import annotations

import statistics
import sys

from _provenance import code_footer, results_folder_main

from fewshot.bench.results import check_code_versions, collect
from fewshot.bench.verdicts import paired_difference


def _shared(res, k, a, b, key):
    """Values of ``key`` for a and b over the (dataset, seed) cells both finished."""
    out_a, out_b = [], []
    for d in res.datasets:
        ga, gb = res.group(d, a, k), res.group(d, b, k)
        if not ga or not gb:
            continue
        by_seed = {c["seed"]: c for c in gb.ok}
        for c in ga.ok:
            if c["seed"] in by_seed and c.get(key) is not None and by_seed[c["seed"]].get(key) is not None:
                out_a.append(c[key])
                out_b.append(by_seed[c["seed"]][key])
    return out_a, out_b


def speed_tables(results_dir, *, allow_mixed: bool = False) -> str:
    res = collect(results_dir)
    versions = check_code_versions(res, allow_mixed=allow_mixed)
    plain = next((s for s in res.strategies if res.names.get(s) == "setfit-upstream"), None)
    ours = [s for s in res.strategies if res.names.get(s) == "setfit"]
    if plain is None or not ours:
        raise SystemExit(f"{results_dir}: needs setfit-upstream and setfit cells (benchmarks/setfit_speed.toml)")
    lines = ["# SetFitClassifier vs plain setfit (setfit-upstream)", ""]
    for k in res.ks:
        rows = []
        for s in ours:
            p = paired_difference(res, k, s, plain)
            if not p.n:
                continue
            quantize = next(c["params"].get("quantize") for d in res.datasets
                            if (g := res.group(d, s, k)) for c in g.ok)
            train_a, train_b = _shared(res, k, s, plain, "train_seconds")
            pps_a, pps_b = _shared(res, k, s, plain, "predictions_per_second")
            if p.tie is None:
                verdict = "one draw"
            else:
                verdict = "tie" if p.tie else ("better" if p.mean > 0 else "worse")
            se = f" ± {100 * p.se:.1f}" if p.se is not None else ""
            rows.append(
                f"| {s} | {quantize} | {p.n} | {100 * p.mean:+.2f}{se} ({verdict}) | "
                f"{sum(train_a) / sum(train_b):.2f} | {statistics.median(pps_a) / statistics.median(pps_b):.2f} |"
            )
        if rows:
            lines += [
                f"## k = {k}",
                "",
                "| ours | quantize | paired draws | headline metric vs plain, points | train time / plain "
                "| predictions per second / plain |",
                "|---|---|---|---|---|---|",
                *rows,
                "",
            ]
    lines += [
        "Train time: total seconds over the shared draws, ours / plain. Predictions per second: median "
        "over the shared draws, ours / plain (`predict_proba` on the test rows, in the cell's process).",
        "",
        code_footer(versions),
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    return results_folder_main(argv, __doc__, speed_tables, "speed.md", "results folder of benchmarks/setfit_speed.toml (fewshot bench --out)")


if __name__ == "__main__":
    sys.exit(main())
