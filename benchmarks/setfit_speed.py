"""SetFitClassifier vs plain setfit, side by side: training time, accuracy, prediction throughput.

For every (seed, dataset) cell both strategies train on the same k-shot split
(``fewshot.data.sample_k_shot(train, k, seed)``) and predict the same fixed test subsample
(``fewshot.data.subsample(test, n, seed=0)``), in one process, alternating which goes first.

- plain setfit: ``SetFitUpstreamClassifier`` (``SetFitModel.from_pretrained`` + setfit's
  ``Trainer`` with ``num_iterations=20``, batch 16, 1 epoch, ``CosineSimilarityLoss``, logistic
  head); its throughput is measured on ``SetFitModel.predict`` itself.
- ours: ``SetFitClassifier()`` with its defaults; throughput of ``predict`` in float32 and, on the
  same fitted classifier, with ``quantize="int8"`` and ``quantize="bf16"`` (prediction-time only).

Each finished cell is appended to a JSONL file and the Markdown table is rewritten, so a partial
run is useful and a rerun skips finished cells.

Run::

    FEWSHOT_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/setfit_speed.py \\
        --datasets sst5,cr,emotion,ag_news --k 8 --seeds 0,1,2 --test-size 500
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from fewshot._atomic import write_text_atomic

HERE = Path(__file__).resolve().parent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("FEWSHOT_DATA_DIR", str(HERE.parent.parent / "shared" / "datasets")))
    p.add_argument("--datasets", default="sst5,cr,emotion,ag_news")
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--test-size", type=int, default=500)
    p.add_argument("--model", default="minilm")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    p.add_argument("--cells", default=str(HERE / "results" / "setfit_speed.jsonl"))
    p.add_argument("--out", default=str(HERE / "results" / "setfit_speed.md"))
    p.add_argument("--report-only", action="store_true", help="rewrite the table from the finished cells; run nothing")
    return p.parse_args(argv)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run_cell(name, seed, args, ds):
    from fewshot.data import sample_k_shot, subsample
    from fewshot.models import resolve_model
    from fewshot.strategies.setfit import SetFitClassifier
    from fewshot.strategies.setfit_upstream import SetFitUpstreamClassifier

    model = resolve_model(args.model)
    X, y = sample_k_shot(ds.train.X, ds.train.y, k=args.k, seed=seed)
    Xt, yt = subsample(ds.test.X, ds.test.y, args.test_size, seed=0)
    yt = np.asarray(yt)
    ours = SetFitClassifier(model=model, seed=seed)
    plain = SetFitUpstreamClassifier(model=model, seed=seed)
    row = {"dataset": name, "seed": seed, "k": args.k, "n_train": len(X), "n_test": len(Xt)}
    order = [("plain", plain), ("ours", ours)] if seed % 2 == 0 else [("ours", ours), ("plain", plain)]
    for tag, clf in order:
        _, row[f"{tag}_train_s"] = timed(lambda clf=clf: clf.fit(X, y))

    # prediction: plain SetFitModel.predict vs ours, alternating, same test texts
    def plain_predict():
        ids = np.asarray(plain.setfit_model_.predict(Xt, as_numpy=True))
        return plain.classes_[ids]

    def ours_predict(mode):
        return ours.predict(Xt)

    steps = [("plain", plain_predict), ("ours", lambda: ours_predict(False)),
             ("ours_int8", lambda: ours_predict("int8")), ("ours_bf16", lambda: ours_predict("bf16"))]
    modes = {"ours": False, "ours_int8": "int8", "ours_bf16": "bf16"}
    for tag, fn in (steps if seed % 2 == 0 else steps[::-1]):
        if tag in modes:  # build the reduced-precision body (once per fitted model) outside the timing
            ours.set_params(quantize=modes[tag]).predict(Xt[:2])
        pred, seconds = timed(fn)
        row[f"{tag}_predict_s"] = seconds
        row[f"{tag}_acc"] = float(np.mean(np.asarray(pred) == yt))
    ours.set_params(quantize=False)
    row["ours_steps_loss"] = ours.train_loss_
    row["ours_params"] = {k: v for k, v in ours.get_params().items() if k != "model"}
    return row


def warm_up(model: str) -> None:
    """Import both stacks and read the model once, so first-use costs land on neither strategy."""
    import setfit  # noqa: F401

    from fewshot.compat import load_sentence_transformer
    from fewshot.models import resolve_model

    load_sentence_transformer(resolve_model(model)).encode(["warm up"])


def summarise(rows, args) -> str:
    import torch

    lines = [
        "# SetFitClassifier vs plain setfit (side by side)",
        "",
        f"Model `{args.model}`, k={args.k} examples per class, seeds {args.seeds}; "
        f"accuracy on a fixed subsample of {args.test_size} test sentences per dataset "
        "(`fewshot.data.subsample(test, n, seed=0)`), the same k-shot split for both strategies "
        "(`fewshot.data.sample_k_shot(train, k, seed)`). Plain setfit: `SetFitModel.from_pretrained` + setfit "
        "`Trainer`, `num_iterations=20`, batch 16, 1 epoch, `CosineSimilarityLoss`, logistic head. Ours: "
        "`SetFitClassifier()` defaults (its `predict` uses `quantize='int8'` by default; the table shows float32 "
        "and int8 apart). Times are wall-clock seconds measured in one process, alternating "
        f"which strategy goes first; torch threads: {torch.get_num_threads()}, CPU: {platform.processor() or platform.machine()}, "
        "2 cores shared with other jobs (absolute times are noisy; the ratios are the result). Prediction "
        f"throughput: sentences/s over the {args.test_size} test sentences, plain = `SetFitModel.predict`, "
        "ours = `predict` (float32; then the same fitted classifier with `quantize='int8'` and `'bf16'`).",
        "",
        "| dataset | seed | train plain (s) | train ours (s) | time ratio | acc plain | acc ours | acc int8 | acc bf16 "
        "| pred/s plain | pred/s ours | pred/s int8 | pred/s bf16 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        n = r["n_test"]
        lines.append(
            f"| {r['dataset']} | {r['seed']} | {r['plain_train_s']:.1f} | {r['ours_train_s']:.1f} | "
            f"{r['ours_train_s'] / r['plain_train_s']:.2f} | {r['plain_acc']:.3f} | {r['ours_acc']:.3f} | "
            f"{r['ours_int8_acc']:.3f} | {r['ours_bf16_acc']:.3f} | {n / r['plain_predict_s']:.0f} | "
            f"{n / r['ours_predict_s']:.0f} | {n / r['ours_int8_predict_s']:.0f} | {n / r['ours_bf16_predict_s']:.0f} |"
        )
    if rows:
        def total(key):
            return sum(r[key] for r in rows)

        def mean(key):
            return float(np.mean([r[key] for r in rows]))

        n_all = sum(r["n_test"] for r in rows)
        lines += [
            "",
            f"## Summary over {len(rows)} cells",
            "",
            f"- training wall time, ours / plain: **{total('ours_train_s') / total('plain_train_s'):.3f}** "
            f"(total {total('ours_train_s'):.0f} s vs {total('plain_train_s'):.0f} s; target <= 0.333); "
            f"per-cell ratios {min(r['ours_train_s'] / r['plain_train_s'] for r in rows):.3f}"
            f"-{max(r['ours_train_s'] / r['plain_train_s'] for r in rows):.3f}",
            f"- mean accuracy: plain **{mean('plain_acc'):.4f}**, ours **{mean('ours_acc'):.4f}** "
            f"(difference {100 * (mean('ours_acc') - mean('plain_acc')):+.2f} points; target >= -0.5)",
            f"- prediction throughput vs `SetFitModel.predict`: float32 "
            f"**{total('plain_predict_s') / total('ours_predict_s'):.2f}x**, int8 "
            f"**{total('plain_predict_s') / total('ours_int8_predict_s'):.2f}x** "
            f"(accuracy {100 * (mean('ours_int8_acc') - mean('ours_acc')):+.2f} points vs float32), bf16 "
            f"**{total('plain_predict_s') / total('ours_bf16_predict_s'):.2f}x** "
            f"(accuracy {100 * (mean('ours_bf16_acc') - mean('ours_acc')):+.2f} points vs float32); "
            f"{n_all} predictions each",
            "",
            "| dataset | cells | acc plain | acc ours | train ratio |",
            "|---|---|---|---|---|",
        ]
        for name in dict.fromkeys(r["dataset"] for r in rows):
            sub = [r for r in rows if r["dataset"] == name]
            lines.append(
                f"| {name} | {len(sub)} | {np.mean([r['plain_acc'] for r in sub]):.4f} | "
                f"{np.mean([r['ours_acc'] for r in sub]):.4f} | "
                f"{sum(r['ours_train_s'] for r in sub) / sum(r['plain_train_s'] for r in sub):.3f} |"
            )
    lines += ["", "Reproduce (from the repository root):", "", "```",
              "FEWSHOT_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/setfit_speed.py "
              f"--datasets {args.datasets} --k {args.k} --seeds {args.seeds} --test-size {args.test_size}"
              + (f" --threads {args.threads}" if args.threads else ""),
              "```", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from fewshot.data import load_dataset_folder

    if args.threads:
        torch.set_num_threads(args.threads)
    cells_path, out_path = Path(args.cells), Path(args.out)
    cells_path.parent.mkdir(parents=True, exist_ok=True)
    rows = [json.loads(line) for line in cells_path.read_text().splitlines() if line.strip()] if cells_path.exists() else []
    names = [d for d in args.datasets.split(",") if d]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    rows = [r for r in rows if r["dataset"] in names and r["seed"] in seeds and r["k"] == args.k]
    rows.sort(key=lambda r: (seeds.index(r["seed"]), names.index(r["dataset"])))
    if args.report_only:
        write_text_atomic(out_path, summarise(rows, args))
        return 0
    done = {(r["dataset"], r["seed"], r["k"]) for r in rows}
    datasets = {name: load_dataset_folder(Path(args.data_dir) / name) for name in names}
    warm_up(args.model)
    for seed in seeds:  # seed-major: a partial run already covers every dataset
        for name in names:
            if (name, seed, args.k) in done:
                continue
            row = run_cell(name, seed, args, datasets[name])
            rows.append(row)
            with open(cells_path, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            write_text_atomic(out_path, summarise(rows, args))
            print(f"{name} seed {seed}: train {row['plain_train_s']:.0f}s vs {row['ours_train_s']:.0f}s, "
                  f"acc {row['plain_acc']:.3f} vs {row['ours_acc']:.3f}", flush=True)
    write_text_atomic(out_path, summarise(rows, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
