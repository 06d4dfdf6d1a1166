"""What the prompt strategy's training did, cell by cell, from the cells of ``tune_prompt.toml``.

``benchmarks/tuning.py`` ranks the configurations; this shows why one fails: per configuration and
dataset, the training loss at the first and last pass (from the cells' ``loss_history``), the
headline metric on the validation rows, and how the predictions spread over the labels (the
confusion matrix's column sums). The language-model objective's failure mode, nearly every text
predicted as one label, shows up as one label holding most predictions.

Run::

    fewshot bench benchmarks/tune_prompt.toml --out benchmarks/results/tune_prompt
    python benchmarks/prompt_objective.py benchmarks/results/tune_prompt
"""

from __future__ import annotations

import argparse
import sys

from fewshot.bench.results import collect


def diagnose(results_dir) -> str:
    res = collect(results_dir)
    lines = [
        "| configuration | dataset | k | seed | loss first → last | headline | largest predicted label share |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in sorted(
        (c for c in res.cells if c["status"] == "ok"),
        key=lambda c: (c["strategy"], c["dataset"], c["k"], c["seed"]),
    ):
        history = c.get("loss_history") or []
        loss = f"{history[0]:.3f} → {history[-1]:.3f}" if history else "–"
        cm = (c.get("confusion_matrix") or {}).get("matrix") or []
        labels = (c.get("confusion_matrix") or {}).get("labels") or []
        predicted = [sum(row[j] for row in cm) for j in range(len(labels))] if cm else []
        share = "–"
        if predicted and sum(predicted):
            j = max(range(len(predicted)), key=predicted.__getitem__)
            share = f"{labels[j]} {100 * predicted[j] / sum(predicted):.0f}%"
        lines.append(
            f"| {c['strategy']} | {c['dataset']} | {c['k']} | {c['seed']} | {loss} | "
            f"{100 * c['headline']:.1f} | {share} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results_dir", help="results folder of benchmarks/tune_prompt.toml (fewshot bench --out)")
    args = p.parse_args(argv)
    print(diagnose(args.results_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
