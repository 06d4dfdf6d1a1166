"""Pre-labeling with no labels at all: how right are zero-shot prompt labels, by confidence?

For each dataset, a seeded sample of its train split plays the unlabeled pool. The zero-shot prompt
classifier built from the dataset's label names (``fewshot.prelabel(None, pool, labels=...)``, the
same as ``fewshot prelabel --labels ... --pool FILE``) labels every text; the hidden true labels then
give the accuracy of the labels kept above each confidence threshold (``fewshot.active.reliability_table``)
and the largest share a person could accept in bulk at 95% label accuracy (``fewshot.active.bulk_share``,
most confident first). Nothing here chooses a default: the table describes what bulk acceptance
costs, so a user can pick a threshold for their own pool.

Run (zero-shot prediction only; banking77's 77 labels make it the slow one)::

    python benchmarks/prelabel_reliability.py --data-dir ../shared/datasets
    python benchmarks/prelabel_reliability.py --render-only     # rewrite the table from the JSON
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _provenance import run_command, run_commit, write_results

HERE = Path(__file__).resolve().parent
DATASETS = {"sst2": 500, "emotion": 500, "ag_news": 500, "banking77": 300}


def run(args) -> dict:
    import fewshot
    from fewshot.active import bulk_share, reliability_table, zero_shot_classifier
    from fewshot.data import subsample
    from fewshot.datasets import resolve_dataset

    sizes = dict(DATASETS)
    if args.n:
        sizes = {name: args.n for name in sizes}
    results = {"context": {"commit": run_commit(), "command": run_command("prelabel_reliability.py"), "model": args.model, "seed": 0,
                           "split": "train (seeded sample, labels hidden)"}, "datasets": {}}
    for name in args.datasets:
        ds = resolve_dataset(name, args.data_dir)
        pool, truth = subsample(ds.train.X, ds.train.y, sizes.get(name, args.n or 500), seed=0)
        clf = zero_shot_classifier(list(ds.labels), model=args.model)  # what prelabel(None, labels=...) builds
        started = time.perf_counter()  # prediction only: the model is loaded
        rows = fewshot.prelabel(clf, pool)
        seconds = time.perf_counter() - started
        y_true = [truth[r.index] for r in rows]
        y_pred = [r.label for r in rows]
        conf = [r.confidence for r in rows]
        results["datasets"][name] = {
            "n": len(pool), "classes": len(ds.labels), "seconds": round(seconds, 1),
            "accuracy": sum(str(a) == str(b) for a, b in zip(y_true, y_pred)) / len(pool),
            "majority": max(truth.count(c) for c in set(truth)) / len(truth),
            "table": reliability_table(y_true, y_pred, conf),
            "bulk_95": bulk_share(y_true, y_pred, conf, target=0.95),
        }
        print(f"{name}: {len(pool)} texts in {seconds:.0f} s, accuracy {results['datasets'][name]['accuracy']:.3f}",
              flush=True)
    return results


def render(results: dict) -> str:
    ctx = results["context"]
    lines = ["# Pre-labeling reliability: zero-shot prompt labels by confidence", "",
             f"Zero-shot prompt classifier (`{ctx['model']}`, label names as words) on a seeded sample of each "
             "dataset's train split, labels hidden. Per confidence threshold: the share of texts kept and the "
             "accuracy of their labels. Bulk at 95%: the largest share, most confident first, whose labels are "
             "95% right (found with the true labels: the threshold a user would pick from this table).", "",
             f"Measured by commit {ctx['commit']} in one run: `{ctx['command']}`.", ""]
    thresholds = [row["threshold"] for row in next(iter(results["datasets"].values()))["table"]]
    head = "| dataset (texts, classes) | accuracy (all) | majority | " + " | ".join(
        f"≥ {t:g}: share / acc" for t in thresholds) + " | bulk at 95%: share (threshold) | texts/s |"
    lines += [head, "|" + "---|" * (5 + len(thresholds))]
    for name, d in results["datasets"].items():
        cells = []
        for row in d["table"]:
            acc = "-" if row["accuracy"] is None else f"{100 * row['accuracy']:.0f}"
            cells.append(f"{100 * row['share']:.0f}% / {acc}")
        bulk = d["bulk_95"]
        bulk_text = (f"{100 * bulk['share']:.1f}% (≥ {bulk['threshold']:.2f})" if bulk.get("share") else "0%")
        lines.append(f"| {name} ({d['n']}, {d['classes']}) | {100 * d['accuracy']:.1f} | {100 * d['majority']:.1f} | "
                     + " | ".join(cells) + f" | {bulk_text} | {d['n'] / d['seconds']:.1f} |")
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", help="folder of the benchmark datasets (default: $FEWSHOT_DATA_DIR)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--n", type=int, default=None,
                        help="pool texts per dataset (default 500; 300 for banking77)")
    parser.add_argument("--model", default="smollm2-135m", help="the zero-shot LM (default smollm2-135m)")
    parser.add_argument("--out", default=str(HERE / "results" / "prelabel_reliability.md"))
    parser.add_argument("--render-only", action="store_true", help="rewrite the table from the JSON")
    write_results(parser.parse_args(argv), run, render)


if __name__ == "__main__":
    main()
