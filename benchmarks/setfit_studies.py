"""Two side studies behind SetFitClassifier's defaults (the main comparison is setfit_speed.py).

``lr``: the body learning rate (and batch size / epochs) on datasets held out from the benchmark
(TREC and SST-2, k=8): batch-all training takes ~2.5x fewer optimizer steps than plain setfit for the
same pair budget, so setfit's 2e-5 leaves the body under-trained.

``quantize``: which linear layers int8 dynamic quantization may touch. The benchmark's cells are
refitted (float32 prediction), then the same fitted body is quantized four ways and the accuracy and
encoding time on the 500 test sentences compared with float32.

Both append one JSON line per (dataset, seed) to ``--out`` and print a summary.

Run::

    FEWSHOT_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/setfit_studies.py lr --threads 1
    FEWSHOT_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/setfit_studies.py quantize --threads 1
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

LR_CONFIGS = {
    "lr2e-5 (old default)": {"body_learning_rate": 2e-5},
    "lr4e-5": {"body_learning_rate": 4e-5},
    "lr6e-5 (default)": {"body_learning_rate": 6e-5},
    "lr2e-5 batch8 epochs2": {"body_learning_rate": 2e-5, "batch_size": 8, "epochs": 2},
    "lr2e-5 batch12": {"body_learning_rate": 2e-5, "batch_size": 12},
    "lr4e-5 epochs4": {"body_learning_rate": 4e-5, "epochs": 4},
}


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

    datasets = args.datasets.split(",") if args.datasets else (
        ["trec", "sst2"] if args.study == "lr" else ["sst5", "cr", "emotion", "ag_news"])
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for name in datasets:
            ds = load_dataset_folder(Path(args.data_dir) / name)
            X, y = sample_k_shot(ds.train.X, ds.train.y, k=8, seed=seed)
            Xt, yt = subsample(ds.test.X, ds.test.y, 500, seed=0)
            yt = np.asarray(yt)
            row = {"study": args.study, "dataset": name, "seed": seed}
            if args.study == "lr":
                for label, params in LR_CONFIGS.items():
                    start = time.perf_counter()
                    clf = SetFitClassifier(seed=seed, quantize=False, **params).fit(X, y)
                    row[f"{label} train_s"] = round(time.perf_counter() - start, 1)
                    row[label] = float(np.mean(clf.predict(Xt) == yt))
            else:
                clf = SetFitClassifier(seed=seed, quantize=False).fit(X, y)
                bodies = {"float32": clf.body_, **{w: quantize_variant(clf.body_, w)
                                                   for w in ("all", "ffn", "skip_last", "no_attn_out")}}
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
    if study == "lr":
        for name in dict.fromkeys(r["dataset"] for r in rows):
            sub = [r for r in rows if r["dataset"] == name]
            parts = []
            for k in LR_CONFIGS:
                have = [r for r in sub if k in r]
                if have:
                    parts.append(f"{k} {np.mean([r[k] for r in have]):.3f} (seeds {','.join(str(r['seed']) for r in have)})")
            print(f"{name}: " + "; ".join(parts))
        return
    for label in ("all", "ffn", "skip_last", "no_attn_out"):
        d = 100 * np.array([r[label] - r["float32"] for r in rows])
        speed = sum(r["float32 encode_s"] for r in rows) / sum(r[f"{label} encode_s"] for r in rows)
        print(f"int8 {label}: accuracy {d.mean():+.2f} ± {d.std(ddof=1) / np.sqrt(len(d)):.2f} (s.e.) points vs "
              f"float32 over {len(d)} cells, worst {d.min():+.1f}; encoding {speed:.2f}x float32")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("study", choices=["lr", "quantize"])
    p.add_argument("--data-dir", default=os.environ.get("FEWSHOT_DATA_DIR", str(HERE.parent.parent / "shared" / "datasets")))
    p.add_argument("--datasets", default="", help="default: trec,sst2 for lr; sst5,cr,emotion,ag_news for quantize")
    p.add_argument("--seeds", default="0,1,2")
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
