"""A side study behind SetFitClassifier's int8 default: which linear layers quantization may touch.

``quantize``: the benchmark's cells are refitted (float32 prediction), then the same fitted body is
quantized four ways (all linear layers, feed-forward only, all but the last layer, all but the
attention output) and the accuracy and encoding time on the 500 test sentences compared with
float32. This stays a script: the layer subsets are not parameters of the strategy, so the harness
cannot run them as a suite. (The body learning-rate study that lived here is now
``benchmarks/tune_setfit.toml``, scored on validation rows, with ``benchmarks/tuning.py``.)

It appends one JSON line per (dataset, seed) to ``--out`` and prints a summary.

``--model mpnet --rows validation --variants all`` asks the same question for the larger body, on
rows a default may be chosen from: a dataset's validation split, else a seeded hold-out of its
train split (the harness's ``holdout_split``, 20 %) with the k-shot sample drawn from the rest.

Run::

    FEWSHOT_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/setfit_studies.py quantize --threads 1
    FEWSHOT_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/setfit_studies.py quantize \
        --model mpnet --rows validation --variants all --datasets trec,cr,sst5 --seeds 0,1 \
        --out benchmarks/results/setfit_quantize_mpnet.jsonl
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

def _linear_names(body) -> list[str]:
    import torch

    return [n for n, m in body.named_modules() if isinstance(m, torch.nn.Linear)]


def quantize_variant(body, which: str):
    """A copy of ``body`` with int8 dynamic quantization on a subset of its linear layers."""
    from fewshot.compat import quantize_linear_int8

    names = _linear_names(body)
    if which == "all":
        keep = names
    elif which == "ffn":
        keep = [n for n in names if n.endswith("intermediate.dense")
                or (n.endswith("output.dense") and "attention" not in n)]
    elif which == "skip_last":
        last = max(int(n.split("layer.")[1].split(".")[0]) for n in names if "layer." in n)
        keep = [n for n in names if f"layer.{last}." not in n]
    elif which == "no_attn_out":
        keep = [n for n in names if "attention.output" not in n]
    else:
        raise ValueError(which)
    return quantize_linear_int8(copy.deepcopy(body).eval(), only=keep)


def run(args) -> list[dict]:
    from fewshot.data import sample_k_shot, subsample
    from fewshot.datasets import load_dataset_folder
    from fewshot.strategies.setfit import SetFitClassifier, _encode, _head_proba

    datasets = args.datasets.split(",") if args.datasets else ["sst5", "cr", "emotion", "ag_news"]
    variants = args.variants.split(",")
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for name in datasets:
            ds = load_dataset_folder(Path(args.data_dir) / name)
            train_X, train_y, rows_from = ds.train.X, ds.train.y, "test"
            if args.rows == "test":
                Xt, yt = subsample(ds.test.X, ds.test.y, args.n_eval, seed=0)
            elif ds.validation is not None and ds.validation.X:
                Xt, yt = subsample(ds.validation.X, ds.validation.y, args.n_eval, seed=0)
                rows_from = "validation"
            else:
                from fewshot.bench.runner import holdout_split

                kept, held = holdout_split(ds.train.y, 0.2, seed=0)
                Xt, yt = subsample([train_X[i] for i in held], [train_y[i] for i in held], args.n_eval, seed=0)
                train_X, train_y, rows_from = [train_X[i] for i in kept], [train_y[i] for i in kept], "train-holdout"
            X, y = sample_k_shot(train_X, train_y, k=8, seed=seed)
            yt = np.asarray(yt)
            row = {"study": args.study, "model": args.model, "rows": rows_from, "n_eval": len(yt),
                   "dataset": name, "seed": seed}
            clf = SetFitClassifier(model=args.model, seed=seed, quantize=False).fit(X, y)
            bodies = {"float32": clf.body_, **{w: quantize_variant(clf.body_, w) for w in variants}}
            for label, body in bodies.items():
                _encode(body, Xt[:4])  # warm up
                start = time.perf_counter()
                emb = _encode(body, Xt)
                row[f"{label} encode_s"] = round(time.perf_counter() - start, 2)
                proba = _head_proba(emb, clf.head_kind_, clf.coef_, clf.intercept_)
                row[label] = float(np.mean(clf.classes_[proba.argmax(1)] == yt))
            print(json.dumps(row), flush=True)
            rows.append(row)
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")
    return rows


def summarise(rows: list[dict], study: str) -> None:
    rows = [r for r in rows if r["study"] == study]
    for label in ("all", "ffn", "skip_last", "no_attn_out"):
        if not all(label in r for r in rows):
            continue
        d = 100 * np.array([r[label] - r["float32"] for r in rows])
        speed = sum(r["float32 encode_s"] for r in rows) / sum(r[f"{label} encode_s"] for r in rows)
        print(f"int8 {label}: accuracy {d.mean():+.2f} ± {d.std(ddof=1) / np.sqrt(len(d)):.2f} (s.e.) points vs "
              f"float32 over {len(d)} cells, worst {d.min():+.1f}; encoding {speed:.2f}x float32")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("study", choices=["quantize"])
    p.add_argument("--data-dir", default=os.environ.get("FEWSHOT_DATA_DIR", str(HERE.parent.parent / "shared" / "datasets")))
    p.add_argument("--datasets", default="", help="default: sst5,cr,emotion,ag_news")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--model", default="minilm", help="the sentence-transformer body (default minilm)")
    p.add_argument("--rows", choices=["test", "validation"], default="test",
                   help="score on test rows (the original study) or on validation rows (validation split, "
                        "else a seeded 20%% hold-out of train)")
    p.add_argument("--n-eval", type=int, default=500, help="rows scored per dataset (default 500)")
    p.add_argument("--variants", default="all,ffn,skip_last,no_attn_out",
                   help="which linear layers int8 touches, comma-separated (default: all four)")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    p.add_argument("--out", default=str(HERE / "results" / "setfit_studies.jsonl"))
    p.add_argument("--summary-only", action="store_true", help="print the summary of --out and exit")
    args = p.parse_args(argv)
    if not args.summary_only:
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        run(args)
    rows = [json.loads(line) for line in Path(args.out).read_text().splitlines() if line.strip()]
    summarise(rows, args.study)


if __name__ == "__main__":
    main()
