"""The prompt strategy's prediction in float32 and in int8, side by side on the same fitted classifier.

For each dataset: a PromptClassifier with its defaults (LoRA on SmolLM2-135M) is fitted on k = 8
examples per class (seed 0), then predicts the same seeded test rows with ``quantize=False`` (float32,
batched, today's default) and ``quantize="int8"`` (one text per pass), alternated over the rounds;
the best pass counts. Reported: texts per second, accuracy, label agreement with float32 and the
largest probability difference. Issue 14's bar for int8: accuracy within 0.5 points; its speed
target for the prompt strategy as a whole is 3x float32's texts per second.

Run (one LoRA fit per dataset; about 10 minutes on 2 cores)::

    python benchmarks/prompt_int8.py --data-dir ../shared/datasets
    python benchmarks/prompt_int8.py --render-only        # rewrite the table from the JSON
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
VARIANTS = {"float32 (default)": False, "int8": "int8"}


def _commit() -> str:
    def git(*cmd):
        return subprocess.run(["git", "-C", str(HERE), *cmd], capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def _command() -> str:
    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg == "--out":
            skip = True
        elif not arg.startswith("--out="):
            args.append(arg)
    return " ".join(["python benchmarks/prompt_int8.py", *args])


def run(args) -> dict:
    import fewshot
    from fewshot.compat import torch_threads
    from fewshot.data import sample_k_shot, subsample
    from fewshot.datasets import resolve_dataset

    results = {"context": {"commit": _commit(), "command": _command(), "k": args.k, "seed": 0, "n_test": args.n,
                           "threads": args.threads, "rounds": args.rounds}, "datasets": {}}
    for name in args.datasets:
        ds = resolve_dataset(name, args.data_dir)
        X, y = sample_k_shot(ds.train.X, ds.train.y, args.k, seed=0)
        X_test, y_test = subsample(ds.test.X, ds.test.y, args.n, seed=0)
        with torch_threads(args.threads):
            started = time.perf_counter()
            clf = fewshot.PromptClassifier(seed=0).fit(X, y)
            fit_seconds = time.perf_counter() - started
            clf.set_params(quantize="int8")
            started = time.perf_counter()
            clf.predict_proba(X_test[:1])  # the first int8 prediction makes the int8 copy
            copy_seconds = time.perf_counter() - started
            clf.set_params(quantize=False)
            clf.predict_proba(X_test[:1])  # warm-up
            best = {v: 0.0 for v in VARIANTS}
            proba = {}
            for _ in range(args.rounds):
                for variant, quantize in VARIANTS.items():
                    clf.set_params(quantize=quantize)
                    started = time.perf_counter()
                    proba[variant] = clf.predict_proba(X_test)
                    best[variant] = max(best[variant], len(X_test) / (time.perf_counter() - started))
        classes = np.asarray(clf.classes_)
        truth = np.asarray([str(v) for v in y_test])
        reference = proba["float32 (default)"]
        rows = []
        for variant in VARIANTS:
            p = proba[variant]
            rows.append({"variant": variant, "texts_per_second": round(best[variant], 2),
                         "accuracy": float(np.mean(classes[p.argmax(1)].astype(str) == truth)),
                         "agreement": float(np.mean(p.argmax(1) == reference.argmax(1))),
                         "max_abs_proba_diff": float(np.abs(p - reference).max())})
        results["datasets"][name] = {"rows": rows, "fit_seconds": round(fit_seconds, 1),
                                     "int8_copy_seconds": round(copy_seconds, 1),
                                     "mean_words": round(float(np.mean([len(t.split()) for t in X_test])), 1)}
        print(f"{name}: " + ", ".join(f"{r['variant']} {r['texts_per_second']:.1f}/s acc {r['accuracy']:.3f}"
                                      for r in rows), flush=True)
    return results


def render(results: dict) -> str:
    ctx = results["context"]
    lines = ["# The prompt strategy's prediction: float32 against int8", "",
             f"One PromptClassifier with its defaults (LoRA, SmolLM2-135M) per dataset, k = {ctx['k']}, seed 0; "
             f"the same {ctx['n_test']} seeded test rows predicted both ways, alternated over {ctx['rounds']} rounds "
             f"(best pass), {ctx['threads']} torch thread(s). Agreement and max |Δp|: against float32.", "",
             f"Measured by commit {ctx['commit']} in one run: `{ctx['command']}`.", "",
             "| dataset | variant | texts/s | x float32 | accuracy | agreement | max abs Δp |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, d in results["datasets"].items():
        base = d["rows"][0]["texts_per_second"]
        for r in d["rows"]:
            lines.append(f"| {name} ({d['mean_words']} words) | {r['variant']} | {r['texts_per_second']:.1f} | "
                         f"{r['texts_per_second'] / base:.2f} | {100 * r['accuracy']:.1f} | "
                         f"{100 * r['agreement']:.1f}% | {r['max_abs_proba_diff']:.3f} |")
    lines += ["", "Fit seconds (LoRA, float32): " + ", ".join(
        f"{n} {d['fit_seconds']:.0f}" for n, d in results["datasets"].items())
        + "; making the int8 copy: " + ", ".join(
        f"{n} {d['int8_copy_seconds']:.1f} s" for n, d in results["datasets"].items()) + ".", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", help="folder of the benchmark datasets (default: $FEWSHOT_DATA_DIR)")
    parser.add_argument("--datasets", nargs="+", default=["sst2", "ag_news"])
    parser.add_argument("--n", type=int, default=300, help="test texts per dataset (default 300)")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results" / "prompt_int8.md"))
    parser.add_argument("--render-only", action="store_true", help="rewrite the table from the JSON")
    args = parser.parse_args(argv)
    from fewshot._atomic import write_json_atomic, write_text_atomic

    out = Path(args.out)
    data = out.with_suffix(".json")
    results = json.loads(data.read_text()) if args.render_only else run(args)
    if not args.render_only:
        write_json_atomic(data, results)
    write_text_atomic(out, render(results))
    print(render(results))


if __name__ == "__main__":
    main()
