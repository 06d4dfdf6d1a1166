"""Read a tuning study's results folder and compare every configuration with the default.

A tuning suite (``benchmarks/tune_*.toml``) runs one strategy in several configurations on
validation rows; for each strategy this prints (and writes to ``RESULTS_DIR/tuning.md``) one table
per k: each configuration's average headline metric, its mean per dataset, and a paired comparison
with the baseline configuration (the label ``<strategy>-default``, else ``--baseline``) over the
(dataset, seed) draws both ran: mean difference ± standard error, how many draws it won, and the
verdict (a tie when within 2 standard errors of zero, as in ``fewshot report``). With ``--versus
LABEL`` each table also compares every configuration with that strategy (of any name, e.g. plain
setfit beside our setfit): the paired accuracy difference and the ratio of median training times.

Run::

    fewshot bench benchmarks/tune_head.toml --out benchmarks/results/tune_head
    python benchmarks/tuning.py benchmarks/results/tune_head
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _provenance import code_footer

from fewshot._atomic import write_text_atomic
from fewshot.bench.results import check_code_versions, collect
from fewshot.bench.verdicts import TIE_Z, paired_difference


def _params_text(res, label: str) -> str:
    if res.suite is None:
        return ""
    try:
        spec = res.suite.strategy(label)
    except KeyError:
        return ""
    return ", ".join(f"{k}={v}" for k, v in spec.params.items()) or "defaults"


def _baseline(labels: list[str], name: str, wanted: str | None) -> str:
    if wanted and wanted in labels:
        return wanted
    return next((s for s in labels if s == f"{name}-default"), labels[0])


def _paired_cell(p) -> str:
    """A paired comparison as a table cell: ``+1.2 ± 0.4, ahead 5/6: better``."""
    if p.se is None:
        return f"{100 * p.mean:+.1f} (one draw: no test)"
    word = "tie" if p.tie else ("better" if p.mean > 0 else "worse")
    return f"{100 * p.mean:+.1f} ± {100 * p.se:.1f}, ahead {p.wins}/{p.n}: {word}"


def _train_ratio(res, k: int, label: str, other: str, datasets: list[str]) -> str:
    """Median training time of ``label`` over that of ``other``, per dataset, then averaged."""
    ratios = []
    for d in datasets:
        a, b = res.group(d, label, k).median("train_seconds"), res.group(d, other, k).median("train_seconds")
        if a and b:
            ratios.append(a / b)
    return f"{sum(ratios) / len(ratios):.2f}x" if ratios else "n/a"


def tuning_tables(results_dir, *, baseline: str | None = None, versus: str | None = None,
                  allow_mixed: bool = False) -> str:
    """The Markdown text: one table per strategy and k."""
    res = collect(results_dir)
    versions = check_code_versions(res, allow_mixed=allow_mixed)
    by_name: dict[str, list[str]] = {}
    for label in res.strategies:
        by_name.setdefault(res.names.get(label, label), []).append(label)
    lines = [f"# Tuning: {res.suite.name if res.suite else Path(results_dir).name}", ""]
    splits = sorted({c.get("eval_split", "test") for c in res.cells})
    lines += [
        f"Scored on: {', '.join(splits)} rows. Paired comparisons over the (dataset, seed) draws both "
        f"configurations ran (the same k-shot sample); a tie is a mean difference within {TIE_Z:g} "
        "standard errors of zero.",
        "",
    ]
    if "test" in splits:
        lines += ["**Warning: some cells were scored on test rows; defaults must not be chosen on them.**", ""]
    for name, labels in by_name.items():
        if versus and labels == [versus]:
            continue  # the reference strategy: its figures appear as a column of the others' tables
        base = _baseline(labels, name, baseline)
        for k in res.ks:
            here = [s for s in labels if any((g := res.group(d, s, k)) and g.ok for d in res.datasets)]
            if base not in here:
                continue
            ref = versus if versus and any((g := res.group(d, versus, k)) and g.ok for d in res.datasets) else None
            datasets = res.common_datasets(k, here + ([ref] if ref else []))
            if not datasets:
                continue
            header = ["configuration", "parameters", "average", *datasets, f"vs {base} (paired)"]
            if ref:
                header += [f"vs {ref} (paired)", f"train time ÷ {ref}"]
            rows = []
            for s in sorted(here, key=lambda s: -sum(res.group(d, s, k).mean for d in datasets)):
                avg = sum(res.group(d, s, k).mean for d in datasets) / len(datasets)
                versus_base = "baseline" if s == base else _paired_cell(paired_difference(res, k, s, base, datasets))
                row = ([s, _params_text(res, s), f"{100 * avg:.1f}"]
                       + [f"{100 * res.group(d, s, k).mean:.1f}" for d in datasets] + [versus_base])
                if ref:
                    row += [_paired_cell(paired_difference(res, k, s, ref, datasets)),
                            _train_ratio(res, k, s, ref, datasets)]
                rows.append(row)
            if ref:
                avg = sum(res.group(d, ref, k).mean for d in datasets) / len(datasets)
                rows.append([ref, _params_text(res, ref), f"{100 * avg:.1f}"]
                            + [f"{100 * res.group(d, ref, k).mean:.1f}" for d in datasets] + ["", "reference", "1.00x"])
            lines += [f"## {name}, k = {k}", ""]
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(r) + " |" for r in rows]
            lines += [""]
    lines += [code_footer(versions), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results_dir", help="results folder of a tuning suite (fewshot bench --out)")
    p.add_argument("--baseline", help="configuration label to compare with (default: <strategy>-default)")
    p.add_argument("--versus", help="a strategy label to compare every configuration with (e.g. setfit-upstream-mpnet)")
    p.add_argument("--allow-mixed", action="store_true", help="accept cells of different code versions")
    args = p.parse_args(argv)
    text = tuning_tables(args.results_dir, baseline=args.baseline, versus=args.versus, allow_mixed=args.allow_mixed)
    write_text_atomic(Path(args.results_dir) / "tuning.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
