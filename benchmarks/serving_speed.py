"""Serving speed: the same fitted SetFit classifier predicted four ways, side by side.

torch float32 (``quantize=False``), today's torch int8 (``quantize="int8"``, the default), ONNX
float32 and ONNX int8 (``clf.export(..., quantize="int8")`` served by ``fewshot.serving``), on 1 and
2 threads, on sst2 (short texts) and ag_news (longer texts) test rows. For each: predictions per
second (after a warm-up), accuracy, label agreement with torch float32 and the largest probability
difference from it. Also the installed size of what serving needs (onnxruntime, tokenizers, numpy and
their dependencies) against fewshot's full environment.

Targets (issue 16): ONNX int8 >= 2x torch int8 predictions per second; float ONNX the same labels as
torch on >= 99.5% of the texts and probabilities within 1e-4; int8 ONNX within 1 accuracy point.

Run (trains one SetFit classifier per dataset at k = 8, seed 0; minutes on 2 cores)::

    python benchmarks/serving_speed.py --data-dir ../shared/datasets
    python benchmarks/serving_speed.py --render-only          # rewrite the table from the JSON
    python benchmarks/serving_speed.py --teacher --out benchmarks/results/distill_speed.md   # + the teacher
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from _provenance import run_command, run_commit, write_results
from serve_install import dependency_closure, full_install_mb, installed_mb

HERE = Path(__file__).resolve().parent
VARIANTS = ("torch float32", "torch int8", "onnx float32", "onnx int8")
TEACHER = "teacher (prompt lora)"


# --------------------------------------------------------------------------- environment size
def environment_sizes() -> dict:
    """What serving imports (onnxruntime, tokenizers, numpy and their dependencies) against the full
    install, fewshot[train,serve,export]. ``serve_install.py`` measures what pip really installs."""
    serve = dependency_closure(["onnxruntime", "tokenizers", "numpy"])
    full = full_install_mb()
    return {"serve_packages": sorted(serve), "serve_mb": round(installed_mb(serve), 1),
            "full_packages": full["distributions"], "full_mb": full["mb"]}


# --------------------------------------------------------------------------- measuring
def timed_proba(predict, texts: list[str], rounds: int) -> tuple[np.ndarray, float]:
    """Probabilities and the best predictions-per-second of ``rounds`` passes (after a warm-up)."""
    predict(texts[:4])
    best, proba = 0.0, None
    for _ in range(rounds):
        started = time.perf_counter()
        proba = predict(texts)
        best = max(best, len(texts) / (time.perf_counter() - started))
    return np.asarray(proba, dtype=np.float64), best


def measure(clf, folders: dict[str, Path], X: list[str], y: list, threads: int, rounds: int,
            teacher=None) -> list[dict]:
    """One row per variant: texts/s, accuracy, agreement with torch float32, max |Δp| from it. With
    ``teacher`` (a fitted classifier, e.g. the prompt strategy a distilled student learns from), one
    more row: its texts/s and accuracy on the same texts and threads, timed in one pass."""
    import fewshot.serving
    from fewshot.compat import torch_threads

    rows, reference = [], None
    before = clf.quantize
    for variant in VARIANTS:
        if variant.startswith("torch"):
            clf.set_params(quantize=False if variant == "torch float32" else "int8")
            with torch_threads(threads):
                proba, speed = timed_proba(clf.predict_proba, X, rounds)
        else:
            model = fewshot.serving.load(folders[variant], threads=threads)
            proba, speed = timed_proba(model.predict_proba, X, rounds)
        labels = np.asarray(clf.classes_)[proba.argmax(1)]
        if reference is None:
            reference = proba
        rows.append({
            "variant": variant, "threads": threads, "texts_per_second": round(speed, 1),
            "accuracy": round(float(np.mean(labels == np.asarray(y))), 4),
            "agreement_with_torch_float32": round(float(np.mean(proba.argmax(1) == reference.argmax(1))), 4),
            "max_abs_proba_diff": float(np.abs(proba - reference).max()),
        })
    clf.set_params(quantize=before)
    if teacher is not None:
        with torch_threads(threads):
            proba, speed = timed_proba(teacher.predict_proba, X, 1)
        labels = np.asarray(teacher.classes_)[proba.argmax(1)]
        rows.append({"variant": TEACHER, "threads": threads, "texts_per_second": round(speed, 1),
                     "accuracy": round(float(np.mean(labels == np.asarray(y))), 4),
                     "agreement_with_torch_float32": None, "max_abs_proba_diff": None})
    return rows


def run(args) -> dict:
    import fewshot
    from fewshot.data import sample_k_shot, subsample
    from fewshot.datasets import resolve_dataset

    results = {"context": {"python": platform.python_version(), "machine": platform.machine(),
                           "processor": platform.processor(), "k": args.k, "seed": 0, "n_test": args.n,
                           "commit": run_commit(), "command": run_command("serving_speed.py")},
               "datasets": {}, "environment": environment_sizes()}
    for name in args.datasets:
        ds = resolve_dataset(name, args.data_dir)
        X, y = sample_k_shot(ds.train.X, ds.train.y, args.k, seed=0)
        X_test, y_test = subsample(ds.test.X, ds.test.y, args.n, seed=0)
        started = time.perf_counter()
        clf = fewshot.SetFitClassifier(seed=0).fit(X, y)
        train_seconds = time.perf_counter() - started
        teacher = fewshot.PromptClassifier(mode="lora", seed=0).fit(X, y) if args.teacher else None
        with tempfile.TemporaryDirectory(prefix="fewshot-serving-speed-") as tmp:
            folders = {"onnx float32": clf.export(Path(tmp) / "float"),
                       "onnx int8": clf.export(Path(tmp) / "int8", quantize="int8")}
            sizes = {k: round(sum(f.stat().st_size for f in v.iterdir()) / 1e6, 1) for k, v in folders.items()}
            rows = [row for threads in args.threads for row in measure(clf, folders, X_test, y_test, threads,
                                                                       args.rounds, teacher)]
        mean_words = float(np.mean([len(t.split()) for t in X_test]))
        results["datasets"][name] = {"rows": rows, "export_mb": sizes, "train_seconds": round(train_seconds, 1),
                                     "mean_words": round(mean_words, 1)}
    return results


def render(results: dict) -> str:
    lines = ["# Serving speed: torch vs ONNX, float32 vs int8", "",
             "The same fitted SetFit classifier (MiniLM, k = 8, seed 0) per dataset, predicted four ways. "
             "texts/s: best of the passes after a warm-up; x int8: speed relative to today's torch int8 on the "
             "same threads; agreement and max |Δp|: against torch float32.", ""]
    ctx = results.get("context", {})  # older JSON files have none
    if ctx.get("commit"):
        lines += [f"Measured by commit {ctx['commit']} in one run: `{ctx.get('command', '')}`.", ""]
    for name, entry in results["datasets"].items():
        lines += [f"## {name} ({entry['mean_words']} words per text on average; ONNX folder "
                  f"{entry['export_mb']['onnx float32']} MB float, {entry['export_mb']['onnx int8']} MB int8)", "",
                  "| threads | variant | texts/s | x torch int8 | accuracy | agreement | max abs Δp |",
                  "|---:|---|---:|---:|---:|---:|---:|"]
        for threads in sorted({r["threads"] for r in entry["rows"]}):
            rows = [r for r in entry["rows"] if r["threads"] == threads]
            base = next(r["texts_per_second"] for r in rows if r["variant"] == "torch int8")
            for r in rows:
                paired = r["agreement_with_torch_float32"] is not None
                lines.append(f"| {threads} | {r['variant']} | {r['texts_per_second']:.1f} | "
                             f"{r['texts_per_second'] / base:.2f} | {r['accuracy']:.3f} | "
                             + (f"{r['agreement_with_torch_float32']:.3f} | {r['max_abs_proba_diff']:.1e} |"
                                if paired else "— | — |"))
        lines.append("")
        teacher = {r["threads"]: r["texts_per_second"] for r in entry["rows"] if r["variant"] == TEACHER}
        if teacher:
            onnx = {r["threads"]: r["texts_per_second"] for r in entry["rows"] if r["variant"] == "onnx int8"}
            torch8 = {r["threads"]: r["texts_per_second"] for r in entry["rows"] if r["variant"] == "torch int8"}
            lines += ["The student's speed over the teacher's (issue 16's distillation target: >= 20x): "
                      + "; ".join(f"{t} thread(s): ONNX int8 {onnx[t] / teacher[t]:.1f}x, torch int8 "
                                  f"{torch8[t] / teacher[t]:.1f}x" for t in sorted(teacher)), ""]
    env = results["environment"]
    lines += ["## Environment size", "",
              f"What `fewshot.serving` needs ({', '.join(env['serve_packages'])}): {env['serve_mb']} MB installed; "
              f"fewshot's full environment ({env['full_packages']} distributions): {env['full_mb']} MB.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", help="folder of the benchmark datasets (default: $FEWSHOT_DATA_DIR)")
    parser.add_argument("--datasets", nargs="+", default=["sst2", "ag_news"])
    parser.add_argument("--n", type=int, default=500, help="test texts per dataset (default 500)")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2, help="timed passes per variant; the best counts")
    parser.add_argument("--teacher", action="store_true",
                        help="also time the prompt strategy with LoRA fitted on the same examples (the teacher a "
                             "distilled student replaces): minutes more per dataset")
    parser.add_argument("--out", default=str(HERE / "results" / "serving_speed.md"))
    parser.add_argument("--render-only", action="store_true", help="rewrite the table from the JSON")
    write_results(parser.parse_args(argv), run, render)


if __name__ == "__main__":
    main()
