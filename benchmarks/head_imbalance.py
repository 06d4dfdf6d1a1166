"""HeadClassifier on class imbalance (sms_spam) and ordinal labels (sst5).

sms_spam (13% spam): ``HeadClassifier(model="minilm")`` trained four ways on the same samples,
scored on the whole test split (1115 messages, 149 spam) by macro-F1 and spam-class F1:

- ``ce``: plain cross-entropy;
- ``weighted``: cross-entropy with ``class_weight="inverse"``;
- ``focal``: focal loss, ``focal_gamma=2``, no class weights;
- ``oversample``: cross-entropy, batches drawn by a seeded weighted sampler.

Training samples per seed (the same sample for every method):

- ``balanced k=32`` / ``k=64``: k messages per class (``sample_k_shot``). The sample is balanced, so
  ``weighted`` has equal class weights and is the same loss as ``ce``: it is skipped unless
  ``--balanced-weighted`` (tests/test_losses.py checks that balanced counts give equal weights).
- ``natural n=64`` / ``n=128``: a sample of the same total size as k=32 / k=64 that keeps the
  training set's class proportions (stratified: 9 / 17 spam messages). This is where imbalance bites.
- ``full``: all 4459 training messages, with shorter training (``--full-epochs``) because a full
  pass costs ~70x a k=32 epoch on our shared 2-core machine.

sst5 (ordinal, 5 classes): ``problem="regression"`` (labels 1..5) vs ``problem="single_label"`` at
k=32 per class, on a fixed test subsample: accuracy (regression rounded to the nearest value)
and MAE in label steps.

The balanced and natural few-shot parts are now suites the harness runs
(``benchmarks/head_imbalance.toml`` and ``head_imbalance_natural.toml``, with ``sampling =
"proportional"`` drawing the same samples as ``natural_sample`` here); this script's default runs
only what the harness cannot express: the full-training-set cells and the sst5 regression study
(pass ``--settings balanced,natural,full,sst5`` for the whole study as before).

Each finished cell is appended to a JSONL file and the Markdown table is rewritten, so a partial
run is already useful and a rerun skips finished cells. Cells are ordered seed by seed, so every
few-shot condition gets seed 0 first; then full-data ce and weighted, the other seeds, the rest.

Run (what produced ``benchmarks/results/head_imbalance.md``)::

    FEWSHOT_DATA_DIR=../shared/datasets nohup .venv/bin/python benchmarks/head_imbalance.py \\
        --workers 2 --threads 1 > /tmp/head_imbalance.log 2>&1 &
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
METHODS = {
    "ce": {"loss": "ce"},
    "weighted": {"loss": "weighted", "class_weight": "inverse"},
    "focal": {"loss": "focal", "focal_gamma": 2.0},
    "oversample": {"loss": "ce", "oversample": True},
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("FEWSHOT_DATA_DIR", str(HERE.parent.parent / "shared" / "datasets")))
    p.add_argument("--model", default="minilm")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--ks", default="32,64", help="k per class for the balanced samples; natural samples use 2k rows")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--settings", default="full,sst5",
                   help="any of balanced,natural,full,sst5 (balanced and natural are also suites)")
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--balanced-weighted", action="store_true",
                   help="also run 'weighted' on balanced samples (its class weights are all equal there)")
    p.add_argument("--full-epochs", type=int, default=1)
    p.add_argument("--full-seeds", default="0", help="seeds for the full-training-set cells (expensive)")
    p.add_argument("--sst5-test-size", type=int, default=1000)
    p.add_argument("--workers", type=int, default=1, help="cells run in parallel processes")
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    p.add_argument("--out", default=str(HERE / "results" / "head_imbalance.md"))
    p.add_argument("--cells", default=str(HERE / "results" / "head_imbalance.jsonl"))
    p.add_argument("--table-only", action="store_true", help="rewrite the Markdown table from the JSONL and exit")
    p.add_argument("--reproduce", default="", help="with --table-only: the command(s) shown as how to reproduce")
    return p.parse_args(argv)


def cell_key(c: dict) -> str:
    return "|".join(str(c[k]) for k in ("dataset", "setting", "size", "method", "seed"))


def plan(args) -> list[dict]:
    seeds = [int(s) for s in args.seeds.split(",")]
    full_seeds = [int(s) for s in args.full_seeds.split(",") if s != ""]
    ks = [int(k) for k in args.ks.split(",")]
    methods = args.methods.split(",")
    settings = args.settings.split(",")
    def few_shot(seed: int) -> list[dict]:
        cells = []
        for k in ks:
            if "balanced" in settings:
                # weighted == ce on a balanced sample (equal class weights): not run unless asked for
                balanced = [m for m in methods if m != "weighted" or args.balanced_weighted]
                cells += [dict(dataset="sms_spam", setting="balanced", size=k, method=m, seed=seed) for m in balanced]
            if "natural" in settings:
                cells += [dict(dataset="sms_spam", setting="natural", size=2 * k, method=m, seed=seed) for m in methods]
        if "sst5" in settings:
            cells += [dict(dataset="sst5", setting="k-shot", size=32, method=m, seed=seed)
                      for m in ("single_label", "regression")]
        return cells

    full = [dict(dataset="sms_spam", setting="full", size=4459, method=m, seed=seed)
            for seed in full_seeds for m in methods] if "full" in settings else []
    # every few-shot condition gets seed 0 first, then the first full-data cells (ce, weighted),
    # then the other seeds, then the remaining full-data cells
    cells = few_shot(seeds[0]) + full[:2]
    for seed in seeds[1:]:
        cells += few_shot(seed)
    cells += full[2:]
    return cells


def natural_sample(X, y, n: int, seed: int):
    """n rows keeping the training set's class proportions (stratified, seeded): 13% spam."""
    labels = np.asarray(y, dtype=object)
    rng = np.random.RandomState(seed)
    classes, counts = np.unique(labels, return_counts=True)
    want = np.maximum(1, np.round(counts / counts.sum() * n).astype(int))
    want[np.argmax(want)] += n - want.sum()
    keep = []
    for cls, m in zip(classes, want):
        idx = np.flatnonzero(labels == cls)
        keep += rng.choice(idx, size=m, replace=False).tolist()
    keep = rng.permutation(keep)
    return [X[i] for i in keep], [y[i] for i in keep]


_STATE: dict = {}


def _init_worker(threads: int, data_dir: str, model: str):
    import torch

    torch.set_num_threads(threads)
    from fewshot.datasets import load_dataset_folder
    from fewshot.models import resolve_model

    _STATE["spam"] = load_dataset_folder(Path(data_dir) / "sms_spam")
    _STATE["sst5"] = load_dataset_folder(Path(data_dir) / "sst5")
    _STATE["model"] = resolve_model(model)


def run_cell(task: tuple[dict, dict]) -> dict:
    cell, opts = task
    from fewshot.data import sample_k_shot, subsample
    from fewshot.metrics import classification_metrics, regression_metrics
    from fewshot.strategies.head import HeadClassifier

    seed = cell["seed"]
    common = dict(model=_STATE["model"], seed=seed, max_length=opts["max_length"])
    out = dict(cell)
    if cell["dataset"] == "sms_spam":
        ds = _STATE["spam"]
        if cell["setting"] == "balanced":
            X, y = sample_k_shot(ds.train.X, ds.train.y, cell["size"], seed=seed)
        elif cell["setting"] == "natural":
            X, y = natural_sample(ds.train.X, ds.train.y, cell["size"], seed=seed)
        else:
            X, y = ds.train.X, ds.train.y
            common["epochs"] = opts["full_epochs"]
        params = {**common, **METHODS[cell["method"]]}
        t0 = time.perf_counter()
        clf = HeadClassifier(**params).fit(X, y)
        fit_s = time.perf_counter() - t0
        pred = clf.predict(ds.test.X)
        m = classification_metrics(ds.test.y, pred, labels=["ham", "spam"])
        out.update(f1_macro=m["f1_macro"], f1_spam=m["per_class"]["spam"]["f1"],
                   recall_spam=m["per_class"]["spam"]["recall"], precision_spam=m["per_class"]["spam"]["precision"],
                   n_train=len(X), n_spam_train=int(sum(t == "spam" for t in y)), n_test=len(pred))
    else:
        ds = _STATE["sst5"]
        order = {lab: i + 1 for i, lab in enumerate(ds.labels)}  # very negative=1 ... very positive=5
        X, y = sample_k_shot(ds.train.X, ds.train.y, cell["size"], seed=seed)
        Xt, yt = subsample(ds.test.X, ds.test.y, opts["sst5_test_size"], seed=0)
        yt_num = np.array([order[t] for t in yt])
        params = {**common, "problem": cell["method"]}
        t0 = time.perf_counter()
        clf = HeadClassifier(**params).fit(X, [order[t] for t in y])  # classes 1..5 either way
        fit_s = time.perf_counter() - t0
        pred = np.asarray(clf.predict(Xt), dtype=float)
        r = regression_metrics(yt_num, pred)
        out.update(accuracy=r["accuracy"], mae=r["mae"], n_train=len(X), n_test=len(Xt))
    out.update(fit_s=round(fit_s, 1), params={k: v for k, v in params.items() if k != "model"},
               defaults=_defaults())
    return out


def _defaults() -> dict:
    from fewshot.strategies.head import HeadClassifier

    clf = HeadClassifier()
    p = dict(clf.get_params(), learning_rate=clf.effective_learning_rate())  # None resolves per problem (5e-5 here)
    return {k: p[k] for k in ("epochs", "learning_rate", "batch_size", "warmup_ratio", "weight_decay")}


def _mean_std(values) -> str:
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return "-"
    if v.size == 1:
        return f"{v[0]:.3f}"
    return f"{v.mean():.3f} ± {v.std(ddof=0):.3f}"


def write_table(rows: list[dict], path: Path, args, command: str) -> None:
    lines = ["# HeadClassifier: class imbalance (sms_spam) and ordinal labels (sst5)", ""]
    lines += [f"Reproduce: {command}" if "`" in command else f"Reproduce: `{command}`", ""]
    d = rows[0]["defaults"] if rows else _defaults()
    lines += [
        f"Model `{args.model}` (all-MiniLM-L6-v2 as `BertForSequenceClassification`), HeadClassifier defaults "
        f"(epochs={d['epochs']}, learning_rate={d['learning_rate']}, batch_size={d['batch_size']}, "
        f"warmup_ratio={d['warmup_ratio']}, weight_decay={d['weight_decay']}), max_length={args.max_length}; "
        f"full-training-set cells use epochs={args.full_epochs}. Mean ± std over the seeds listed; "
        f"torch threads per worker: {args.threads}, workers: {args.workers}, {platform.machine()} CPU shared "
        "with other jobs (fit times are indicative only).",
        "",
        "## sms_spam: macro-F1 and spam-class F1 on the full test split (1115 messages, 149 spam)",
        "",
        "`balanced k` = k per class (weights are equal there, so `weighted` = `ce` as a loss); "
        "`natural n` = n messages drawn per class in the training proportions (13.4% spam); `full` = all 4459.",
        "",
        "| training sample | spam in sample | method | macro-F1 | spam F1 | spam recall | spam precision | seeds | fit s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    spam = [r for r in rows if r["dataset"] == "sms_spam"]
    order = {"balanced": 0, "natural": 1, "full": 2}
    groups: dict = {}
    for r in spam:
        groups.setdefault((r["setting"], r["size"], r["method"]), []).append(r)
    for (setting, size, method), rs in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1],
                                                                             list(METHODS).index(kv[0][2]))):
        label = {"balanced": f"balanced k={size}", "natural": f"natural n={size}", "full": "full (4459)"}[setting]
        n_spam = sorted({r["n_spam_train"] for r in rs})
        lines.append(
            f"| {label} | {', '.join(map(str, n_spam))} | {method} | {_mean_std([r['f1_macro'] for r in rs])} | "
            f"{_mean_std([r['f1_spam'] for r in rs])} | {_mean_std([r['recall_spam'] for r in rs])} | "
            f"{_mean_std([r['precision_spam'] for r in rs])} | {','.join(str(r['seed']) for r in sorted(rs, key=lambda r: r['seed']))} | "
            f"{np.mean([r['fit_s'] for r in rs]):.0f} |"
        )
    sst = [r for r in rows if r["dataset"] == "sst5"]
    lines += ["", f"## sst5 at k=32 per class: regression (labels 1..5) vs single-label, "
              f"{args.sst5_test_size} test sentences", "",
              "| problem | accuracy | MAE (label steps) | seeds | fit s |", "|---|---|---|---|---|"]
    for method in ("single_label", "regression"):
        rs = [r for r in sst if r["method"] == method]
        if rs:
            lines.append(f"| {method} | {_mean_std([r['accuracy'] for r in rs])} | {_mean_std([r['mae'] for r in rs])} | "
                         f"{','.join(str(r['seed']) for r in sorted(rs, key=lambda r: r['seed']))} | "
                         f"{np.mean([r['fit_s'] for r in rs]):.0f} |")
    notes = HERE / "results" / "head_imbalance_notes.md"
    if notes.is_file():
        lines += ["", notes.read_text().rstrip()]
    write_text_atomic(path, "\n".join(lines) + "\n")


def main(argv=None):
    args = parse_args(argv)
    command = "FEWSHOT_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/head_imbalance.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    cells_path, out_path = Path(args.cells), Path(args.out)
    done = {}
    if cells_path.is_file():
        for line in cells_path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done[cell_key(r)] = r
    if args.table_only:
        write_table(list(done.values()), out_path, args, args.reproduce or command)
        return
    todo = [c for c in plan(args) if cell_key(c) not in done]
    print(f"{len(done)} cells done, {len(todo)} to run", flush=True)
    rows = list(done.values())
    if rows:
        write_table(rows, out_path, args, command)
    opts = {"max_length": args.max_length, "full_epochs": args.full_epochs, "sst5_test_size": args.sst5_test_size}
    tasks = [(c, opts) for c in todo]

    def record(result):
        rows.append(result)
        with open(cells_path, "a") as fh:
            fh.write(json.dumps(result) + "\n")
        write_table(rows, out_path, args, command)
        summary = {k: result.get(k) for k in ("f1_macro", "f1_spam", "accuracy", "mae", "fit_s") if k in result}
        print(time.strftime("%H:%M:%S"), cell_key(result), summary, flush=True)

    if args.workers <= 1:
        _init_worker(args.threads, args.data_dir, args.model)
        for t in tasks:
            record(run_cell(t))
    else:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        with ctx.Pool(args.workers, initializer=_init_worker, initargs=(args.threads, args.data_dir, args.model)) as pool:
            for result in pool.imap(run_cell, tasks):
                record(result)


if __name__ == "__main__":
    main()
