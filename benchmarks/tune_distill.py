"""Tuning study: how many contrastive pairs a distilled SetFit student needs (``fewshot.distill``'s
``student_pairs``), chosen on validation rows only.

SetFit's pair budget is ``2 * num_iterations * n`` pairs an epoch. For a k-shot sample that is a few
thousand pairs; for a student trained on 2,000 teacher-labeled texts it is 80,000 an epoch, and the
3 epochs took ~2,500 s of the ~2,860 s of a distillation cell on one core (benchmarks/results/distill,
sst2 seed 0). setfit's own distillation guide stops its student after 500 steps of 16 texts.

For each tuning dataset and seed this fits one teacher (the prompt strategy with LoRA at k = 8, as in
``benchmarks/distill.toml``), lets it label 2,000 unlabeled texts drawn from the training split
(disjoint from the k-shot sample; the same draws as the harness), then trains one student per
``student_pairs`` value on the same teacher probabilities, plus plain SetFit on the k-shot sample.
Everything is scored on the dataset's validation rows (or the harness's seeded hold-out of train);
no test row is read.

Run (one process per dataset, one thread each, side by side)::

    OMP_NUM_THREADS=1 python benchmarks/tune_distill.py --dataset cr --out benchmarks/results/tune_distill.jsonl &
    OMP_NUM_THREADS=1 python benchmarks/tune_distill.py --dataset sst5 --out benchmarks/results/tune_distill.jsonl
    python benchmarks/tune_distill.py --report benchmarks/results/tune_distill.jsonl

The report (``tune_distill.md`` beside the JSONL) gives, per configuration, the validation accuracy,
the teacher's gain over plain SetFit kept by the student, and the student's training seconds; and a
paired comparison of each pair budget with the largest one over the (dataset, seed) draws.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _provenance import run_command, run_commit  # noqa: E402

DEFAULT_PAIRS = [2000, 8000, 32000]
SUITE_TOML = """
name = "tune_distill"
datasets = ["{dataset}"]
eval_split = "validation"
k = [8]
seeds = [0]
max_test = {max_test}
unlabeled = {unlabeled}
[[strategies]]
name = "setfit"
"""


def _accuracy(clf, X, y) -> tuple[float, float]:
    """Accuracy (the classifier's own ``score``) and the seconds its predictions took."""
    started = time.perf_counter()
    accuracy = float(clf.score(X, y))
    return accuracy, time.perf_counter() - started


def run(dataset: str, seeds: list[int], pairs: list[int], data_dir: str | None, out: Path, *, k: int = 8,
        unlabeled: int = 2000, max_test: int = 500) -> None:
    import fewshot
    from fewshot.bench.runner import _dataset_record, _sample_record, _unlabeled_record
    from fewshot.bench.suite import parse_suite
    from fewshot.datasets import resolve_dataset
    from fewshot.distill import distill, teacher_probabilities

    suite = parse_suite(SUITE_TOML.format(dataset=dataset, max_test=max_test, unlabeled=unlabeled),
                        source="tune_distill", base_dir=HERE)
    ds = resolve_dataset(dataset, Path(data_dir) if data_dir else None)
    rec = _dataset_record(dataset, ds, suite)
    assert rec["info"]["eval_split"] != "test", "tuning must not read test rows"
    X_val, y_val = rec["X_test"], rec["y_test"]
    common = {"dataset": dataset, "eval_split": rec["info"]["eval_split"], "n_eval": len(X_val), "k": k,
              "commit": run_commit(), "command": run_command("tune_distill.py")}

    def emit(row: dict) -> None:
        line = json.dumps({**common, **row}, sort_keys=True)
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        print(line, flush=True)

    with tempfile.TemporaryDirectory(prefix="fewshot-tune-distill-") as cache:
        for seed in seeds:
            sample = _sample_record(rec["train"], k, seed, rec["train_rows"])
            pool = _unlabeled_record(rec["train"], sample, unlabeled, seed, rec["train_rows"])["X_unlabeled"]
            X, y = sample["X_train"], sample["y_train"]

            started = time.perf_counter()
            plain = fewshot.SetFitClassifier(model="minilm", seed=seed).fit(X, y)
            acc, _ = _accuracy(plain, X_val, y_val)
            emit({"seed": seed, "config": "setfit", "accuracy": acc, "train_seconds": time.perf_counter() - started})

            started = time.perf_counter()
            teacher = fewshot.PromptClassifier(mode="lora", seed=seed).fit(X, y)
            fit_seconds = time.perf_counter() - started
            acc, predict_seconds = _accuracy(teacher, X_val, y_val)
            started = time.perf_counter()
            teacher_probabilities(teacher, pool, cache=cache, show_progress=False)
            emit({"seed": seed, "config": "teacher", "accuracy": acc, "train_seconds": fit_seconds,
                  "label_seconds": time.perf_counter() - started, "n_unlabeled": len(pool),
                  "predictions_per_second": len(X_val) / predict_seconds})

            for n_pairs in pairs:
                started = time.perf_counter()
                student = distill(teacher, pool, X=X, y=y, student_pairs=n_pairs, seed=seed, cache=cache,
                                          show_progress=False)
                seconds = time.perf_counter() - started
                assert student.distillation_["cache_hit"], "every student must reuse the teacher's labels"
                acc, _ = _accuracy(student, X_val, y_val)
                emit({"seed": seed, "config": f"student_pairs={n_pairs}", "student_pairs": n_pairs, "accuracy": acc,
                      "student_seconds": seconds})


def report(path: Path) -> str:
    import numpy as np

    from fewshot.bench.verdicts import Paired

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    commits = sorted({r["commit"] for r in rows})
    draws = sorted({(r["dataset"], r["seed"]) for r in rows})
    by = {(r["dataset"], r["seed"], r["config"]): r for r in rows}
    pairs = sorted({r["student_pairs"] for r in rows if "student_pairs" in r})
    lines = ["# Tuning: the distilled student's pair budget (`student_pairs`)", "",
             f"Code: {', '.join(commits)}. Scored on validation rows only "
             f"({', '.join(sorted({r['dataset'] + ': ' + r['eval_split'] + ', ' + str(r['n_eval']) + ' rows' for r in rows}))}). "
             f"Teacher: prompt LoRA at k = {rows[0]['k']}; 2,000 unlabeled train texts; student: SetFit on MiniLM, "
             "3 epochs of `student_pairs` pairs each, all students of a draw on the same teacher probabilities.",
             "", "Commands: " + "; ".join(f"`{c}`" for c in sorted({r["command"] for r in rows}))
             + " (one process per dataset, `OMP_NUM_THREADS=1`, side by side).", "",
             "| dataset | seed | setfit | teacher | " + " | ".join(f"student {p:,}" for p in pairs) + " |",
             "|---|---|---|---|" + "---|" * len(pairs)]
    kept: dict[int, list[float]] = {p: [] for p in pairs}
    for dataset, seed in draws:
        s, t = by.get((dataset, seed, "setfit")), by.get((dataset, seed, "teacher"))
        cells = []
        for p in pairs:
            r = by.get((dataset, seed, f"student_pairs={p}"))
            if r is None:
                cells.append("—")
                continue
            cells.append(f"{100 * r['accuracy']:.1f} ({r['student_seconds']:.0f} s)")
            if s and t and t["accuracy"] - s["accuracy"] > 0.02:
                kept[p].append((r["accuracy"] - s["accuracy"]) / (t["accuracy"] - s["accuracy"]))
        lines.append(f"| {dataset} | {seed} | {100 * s['accuracy']:.1f} | {100 * t['accuracy']:.1f} | "
                     + " | ".join(cells) + " |" if s and t else f"| {dataset} | {seed} | unfinished |")
    lines += ["", "Student cells: validation accuracy (seconds to train the student on the cached teacher labels).",
              "", "| student_pairs | mean accuracy | gain kept (draws where the teacher gains > 2 points) "
              "| paired difference with the largest budget | mean student seconds |", "|---|---|---|---|---|"]
    largest = pairs[-1] if pairs else None
    for p in pairs:
        accs = [by[(d, s, f"student_pairs={p}")]["accuracy"] for d, s in draws if (d, s, f"student_pairs={p}") in by]
        secs = [by[(d, s, f"student_pairs={p}")]["student_seconds"] for d, s in draws
                if (d, s, f"student_pairs={p}") in by]
        diffs = [by[(d, s, f"student_pairs={p}")]["accuracy"] - by[(d, s, f"student_pairs={largest}")]["accuracy"]
                 for d, s in draws if (d, s, f"student_pairs={p}") in by and (d, s, f"student_pairs={largest}") in by]
        if diffs and p != largest:
            pd = Paired(diffs, sum(d > 0 for d in diffs), sum(d < 0 for d in diffs))
            se = f" ± {100 * pd.se:.1f}" if pd.se is not None else ""
            paired = f"{100 * pd.mean:+.1f}{se} points, ahead on {pd.wins} of {pd.n} draws"
        else:
            paired = "—"
        gk = f"{100 * np.mean(kept[p]):.0f}% ({len(kept[p])} draws)" if kept[p] else "no draw"
        lines.append(f"| {p:,} | {100 * np.mean(accs):.1f} | {gk} | {paired} | {np.mean(secs):.0f} |"
                     if accs else f"| {p:,} | — | — | — | — |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", help="a tuning dataset (trec, cr, sst5, banking77)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--pairs", type=int, nargs="+", default=DEFAULT_PAIRS, help="student_pairs values to try")
    parser.add_argument("--data-dir", default=os.environ.get("FEWSHOT_DATA_DIR"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "tune_distill.jsonl")
    parser.add_argument("--report", type=Path, metavar="JSONL", help="write the Markdown report of a finished run")
    args = parser.parse_args(argv)
    if args.report:
        text = report(args.report)
        args.report.with_suffix(".md").write_text(text, encoding="utf-8")
        print(text)
        return 0
    if args.dataset not in ("trec", "cr", "sst5", "banking77"):
        parser.error("--dataset must be one of the tuning datasets: trec, cr, sst5, banking77")
    run(args.dataset, args.seeds, sorted(args.pairs), args.data_dir, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
