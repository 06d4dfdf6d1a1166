"""Speed and memory of PromptClassifier's label scoring and LoRA training (SmolLM2-135M, CPU).

Three measurements, each a ratio taken in ONE run on the same inputs (A and B alternated), so that
other jobs on the machine slow both sides alike:

1. banking77 (77 labels, multi-token names): our scoring (prompt encoded once, label continuations as a
   prefix tree over its cache, logits only where read) against naive scoring, one full forward pass of
   ``prompt + label`` per label (batched over the examples, logits at every position). Target >= 10x.
2. sst2 (2 single-token labels): ours (length-bucketed batches, next-token distribution read at the
   last prompt position only) against a plain batched forward computing logits at every position, on
   batches in data order. Target >= 1.5x.
3. LoRA training with the default settings on emotion at k=8 and k=32 (6 classes): seconds per
   training example and peak memory, each in a fresh subprocess.
4. Accuracy of each mode (zero-shot, calibrated, in-context, LoRA) on the integration tests' samples.

Both scorers' log-likelihoods are compared (max absolute difference) so that speed is never bought
with wrong numbers.

5. ``--parts bound``: how close scoring runs to this CPU's compute limit. The floating-point work one
   text needs (every linear layer over the prompt's tokens, attention, the vocabulary projection
   where a label token is read, the label tree's extra positions; the prefix all prompts share is
   counted once) divided into the matrix-multiply throughput measured here on the model's own layer
   shapes gives a compute-bound rate; ``label_log_likelihood``'s measured rate is set beside it, for
   sst2 and ag_news at 1 and 2 threads.
6. ``--parts precision``: ``precision="bf16"`` against float32 scoring of the same LoRA classifier
   (default settings, k = 8), alternated on the same rows: speed, accuracy and the share of labels
   that change. The tuning datasets' validation rows (trec, cr, sst5) decide whether bf16 keeps
   accuracy; sst2 and ag_news test rows measure the speed target.

Parts 3 and 4 are now suites the harness runs (``benchmarks/prompt_modes.toml`` and
``prompt_modes_sst2.toml``: each mode's accuracy, and the LoRA cells' training time and peak memory,
each cell in its own process); this script's default runs parts 1 and 2 only, which compares our scoring
with naive implementations inside one process and so cannot be a suite (``--parts
scoring,training,accuracy`` still runs all of them).

Run (writes benchmarks/results/prompt_speed.md)::

    FEWSHOT_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/prompt_speed.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _provenance import run_command, run_commit

from fewshot._atomic import write_json_atomic, write_text_atomic

HERE = Path(__file__).resolve().parent


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _padded(rows: list[list[int]], pad: int):
    """Right-padded ids and attention mask for token-id rows of different lengths."""
    import torch

    width = max(map(len, rows))
    ids = torch.full((len(rows), width), pad)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, mask


def naive_scores(clf, X, *, batch_size: int) -> np.ndarray:
    """One full forward per label (batched over examples), logits at every position."""
    import torch

    tok, lm = clf.tokenizer_, clf.lm_
    prompts = clf._prompt_ids(X)
    out = np.zeros((len(X), len(clf.classes_)))
    with torch.inference_mode():
        for j, words in enumerate(clf.verbalizations_):
            w = tok(words[0], add_special_tokens=False)["input_ids"]
            for start in range(0, len(X), batch_size):
                rows = [p + w for p in prompts[start:start + batch_size]]
                ids, mask = _padded(rows, clf._pad)
                logp = torch.log_softmax(lm(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
                for i, r in enumerate(rows):
                    n = len(r) - len(w)
                    out[start + i, j] = sum(logp[i, n - 1 + k, w[k]].item() for k in range(len(w)))
    return out


def plain_batched_scores(clf, X, *, batch_size: int) -> np.ndarray:
    """Single-token labels: a plain batched forward in data order, logits at every position."""
    import torch

    prompts = clf._prompt_ids(X)
    first = clf._tree.first
    out = np.zeros((len(X), len(clf.classes_)))
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            rows = prompts[start:start + batch_size]
            ids, mask = _padded(rows, clf._pad)
            logp = torch.log_softmax(clf.lm_(input_ids=ids, attention_mask=mask).logits.float(), dim=-1)
            last = mask.sum(1) - 1
            out[start:start + len(rows)] = logp[torch.arange(len(rows)), last][:, first].numpy()
    return out


def compare(name, clf, X, baseline, rounds: int, batch_size: int) -> dict:
    ours_t, base_t, ours, base = [], [], None, None
    for _ in range(rounds):
        ours, t = _timed(lambda: clf.label_log_likelihood(X))
        ours_t.append(t)
        base, t = _timed(lambda: baseline(clf, X, batch_size=batch_size))
        base_t.append(t)
    ours_rate, base_rate = len(X) / np.median(ours_t), len(X) / np.median(base_t)
    return {"dataset": name, "n": len(X), "labels": len(clf.classes_), "rounds": rounds,
            "ours_per_s": ours_rate, "baseline_per_s": base_rate, "speedup": ours_rate / base_rate,
            "max_abs_diff": float(np.abs(ours - base).max()),
            "same_predictions": float(np.mean(ours.argmax(1) == base.argmax(1)))}


def train_one(k: int, epochs: int | None = None) -> dict:
    """Run in a subprocess: fit the default LoRA classifier on emotion k-shot, report time and memory."""
    from fewshot.data import sample_k_shot
    from fewshot.datasets import resolve_dataset
    from fewshot.strategies.prompt import PromptClassifier

    ds = resolve_dataset("emotion")
    X, y = sample_k_shot(ds.train.X, ds.train.y, k=k, seed=0)
    clf = PromptClassifier(mode="zero", template="Text: {text}\nEmotion:").fit(X[:12], y[:12])
    rss_model = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del clf
    params = dict(mode="lora", template="Text: {text}\nEmotion:", seed=0)
    if epochs:
        params["epochs"] = epochs
    cpu = time.process_time()
    clf, seconds = _timed(lambda: PromptClassifier(**params).fit(X, y))
    cpu = time.process_time() - cpu
    return {"k": k, "n_train": len(X), "epochs": clf.epochs_, "fit_s": seconds, "fit_cpu_s": cpu,
            "s_per_example": seconds / len(X),
            "s_per_example_epoch": seconds / (len(X) * clf.epochs_),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_after_model_load_mb": rss_model,
            "defaults": {k2: v for k2, v in clf.get_params().items()
                         if k2 in ("lora_r", "lora_alpha", "target_modules", "lora_layers", "objective",
                                   "batch_size", "max_length")}
            | {"epochs (resolved)": clf.epochs_, "learning_rate (resolved)": clf.learning_rate_}}


def run_scoring(args) -> list[dict]:
    from fewshot.data import subsample
    from fewshot.datasets import resolve_dataset
    from fewshot.strategies.prompt import PromptClassifier

    rows = []
    bank = resolve_dataset("banking77")
    Xb, _ = subsample(bank.test.X, bank.test.y, args.banking_n, seed=0)
    clf = PromptClassifier(mode="zero", template="Customer message: {text}\nIntent:").fit(bank.train.X, bank.train.y)
    rows.append(compare("banking77", clf, Xb, naive_scores, args.rounds, batch_size=8))
    print(rows[-1], flush=True)
    sst2 = resolve_dataset("sst2")
    Xs, _ = subsample(sst2.test.X, sst2.test.y, args.sst2_n, seed=0)
    clf = PromptClassifier(mode="zero", template="Review: {text}\nSentiment:").fit(sst2.train.X[:8], sst2.train.y[:8])
    rows.append(compare("sst2", clf, Xs, plain_batched_scores, args.rounds + 1, batch_size=4 * clf.batch_size))
    print(rows[-1], flush=True)
    return rows


BOUND_TEMPLATES = {"sst2": "Review: {text}\nSentiment:", "ag_news": "News: {text}\nTopic:"}


def _linear_shapes(lm) -> tuple[int, list[tuple[int, int]]]:
    """Parameters of the linear layers the decoder runs per token, and their distinct (in, out) shapes."""
    import torch

    head = lm.get_output_embeddings()
    layers = [m for m in lm.modules() if isinstance(m, torch.nn.Linear) and m is not head]
    return sum(m.in_features * m.out_features for m in layers), sorted({(m.in_features, m.out_features) for m in layers})


def flops_per_text(lm, prompts: list[list[int]], tree) -> dict:
    """Floating-point operations scoring needs per prompt, on average (a multiply-add counts 2).

    Linear layers: 2 x their parameters per token (prompt tokens beyond the prefix all prompts share,
    plus the label tree's nodes). Attention: 4 x heads x head size per (query, key) pair, causal. The
    vocabulary projection: 2 x hidden x vocabulary at each position a label token is read (the last
    prompt token and each tree node). The shared prefix is counted once over all prompts.
    """
    cfg = lm.config
    linear, _ = _linear_shapes(lm)
    head = lm.get_output_embeddings()
    vocab_proj = 2 * head.in_features * head.out_features
    attn_dim = cfg.num_attention_heads * (getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads)
    shared = len(os.path.commonprefix(prompts)) if len(prompts) > 1 else 0
    nodes = len(tree.node_token)

    def attention(first: int, last: int) -> float:  # query positions first..last (1-based), keys 1..i each
        return 4 * attn_dim * cfg.num_hidden_layers * (last * (last + 1) - (first - 1) * first) / 2

    total = 2 * linear * shared + attention(1, shared)
    tokens = 0
    for p in prompts:
        n = len(p)
        tokens += n - shared
        total += 2 * linear * (n - shared + nodes) + attention(shared + 1, n)
        total += 4 * attn_dim * cfg.num_hidden_layers * nodes * (n + 1) + vocab_proj * (1 + nodes)
    return {"flops": total / len(prompts), "tokens": tokens / len(prompts), "shared_prefix": shared,
            "tree_nodes": nodes, "linear_params": linear, "vocab_projection_flops": vocab_proj}


def gemm_throughput(shapes: list[tuple[int, int]], rows: int, rounds: int = 5) -> dict:
    """The best float32 matrix-multiply rate (FLOP/s) on ``rows`` x in @ in x out for the given shapes."""
    import torch

    best = {"flops_per_s": 0.0}
    with torch.inference_mode():
        for k, n in shapes:
            a, b = torch.randn(rows, k), torch.randn(k, n)
            torch.mm(a, b)  # warm-up
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                torch.mm(a, b)
                times.append(time.perf_counter() - start)
            rate = 2 * rows * k * n / float(np.median(times))
            if rate > best["flops_per_s"]:
                best = {"flops_per_s": rate, "shape": [rows, k, n]}
    return best


def run_bound(args) -> list[dict]:
    from fewshot.compat import torch_threads
    from fewshot.data import subsample
    from fewshot.datasets import resolve_dataset
    from fewshot.strategies.prompt import PromptClassifier

    rows = []
    for name, template in BOUND_TEMPLATES.items():
        ds = resolve_dataset(name)
        X, _ = subsample(ds.test.X, ds.test.y, args.bound_n, seed=0)
        clf = PromptClassifier(mode="zero", template=template).fit(ds.train.X[:200], ds.train.y[:200])
        budget = clf.max_length_ - clf._label_budget
        work = flops_per_text(clf.lm_, clf._prompt_ids(X, budget=max(budget, 1)), clf._tree)
        _, shapes = _linear_shapes(clf.lm_)
        head = clf.lm_.get_output_embeddings()
        for threads in [int(t) for t in args.bound_threads.split(",")]:
            with torch_threads(threads):
                # rows of a typical scoring batch: its prompts' tokens (body) and one read per prompt (head)
                body = gemm_throughput(shapes, rows=int(4 * clf.batch_size * work["tokens"]))
                clf.label_log_likelihood(X[:8])  # warm-up
                times = []
                for _ in range(args.rounds):
                    start = time.perf_counter()
                    clf.label_log_likelihood(X)
                    times.append(time.perf_counter() - start)
            rate = len(X) / float(np.median(times))
            bound = body["flops_per_s"] / work["flops"]
            rows.append({"dataset": name, "n": len(X), "threads": threads, "labels": len(clf.classes_),
                         **work, "gemm": body, "head_shape": [head.in_features, head.out_features],
                         "ours_per_s": rate, "bound_per_s": bound, "fraction": rate / bound,
                         "achieved_flops_per_s": rate * work["flops"]})
            print(rows[-1], flush=True)
    return rows


#: ``--parts precision``: the tuning datasets' validation rows (a seeded 20 % hold-out of train where a
#: dataset has no validation split, as the harness makes it) decide whether bf16 keeps accuracy; sst2
#: and ag_news test rows measure the issue's speed target, after the decision is made.
PRECISION_ROWS = [("trec", "validation"), ("cr", "validation"), ("sst5", "validation"),
                  ("sst2", "test"), ("ag_news", "test")]


def _precision_data(name: str, source: str, n: int, k: int, seed: int):
    """The k-shot training sample and ``n`` evaluation rows of ``name`` (``source``: validation or test)."""
    from fewshot.bench.runner import holdout_split
    from fewshot.bench.suite import HOLDOUT_FRACTION
    from fewshot.data import sample_k_shot, subsample
    from fewshot.datasets import resolve_dataset

    ds = resolve_dataset(name)
    train_X, train_y = ds.train.X, ds.train.y
    if source == "test":
        rows, where = (ds.test.X, ds.test.y), "test"
    elif ds.validation is not None and ds.validation.X:
        rows, where = (ds.validation.X, ds.validation.y), "validation"
    else:
        kept, held = holdout_split(train_y, HOLDOUT_FRACTION, 0)
        rows, where = ([train_X[i] for i in held], [train_y[i] for i in held]), "train-holdout"
        train_X, train_y = [train_X[i] for i in kept], [train_y[i] for i in kept]
    return sample_k_shot(train_X, train_y, k=k, seed=seed), subsample(*rows, n, seed=0), where


def run_precision(args) -> list[dict]:
    """float32 against bf16 scoring of one LoRA classifier (default settings, k = 8), side by side.

    Each dataset's classifier is fitted once in float32; its evaluation rows are then scored in both
    precisions, alternated over ``--rounds`` at each thread count: accuracy (first round), the share of
    rows whose label changes, the largest log-likelihood difference and the texts per second of each.
    """
    from fewshot.compat import torch_threads
    from fewshot.strategies.prompt import PromptClassifier

    rows = []
    for name, source in PRECISION_ROWS:
        for seed in [int(s) for s in args.precision_seeds.split(",")]:
            (X, y), (Xe, ye), where = _precision_data(name, source, args.precision_n, 8, seed)
            start = time.perf_counter()
            clf = PromptClassifier(seed=seed).fit(X, y)
            fit_s = time.perf_counter() - start
            truth = np.asarray(ye)
            for threads in [int(t) for t in args.bound_threads.split(",")]:
                scores, times = {}, {"float32": [], "bf16": []}
                with torch_threads(threads):
                    for precision in times:  # warm-up; builds the bf16 copy outside the timings
                        clf.set_params(precision=precision).label_log_likelihood(Xe[:8])
                    for _ in range(args.rounds):
                        for precision in times:
                            start = time.perf_counter()
                            out = clf.set_params(precision=precision).label_log_likelihood(Xe)
                            times[precision].append(time.perf_counter() - start)
                            scores.setdefault(precision, out)
                clf.set_params(precision="float32")
                pred = {p: clf.classes_[v.argmax(1)] for p, v in scores.items()}
                rate = {p: len(Xe) / float(np.median(t)) for p, t in times.items()}
                rows.append({"dataset": name, "rows": where, "n": len(Xe), "seed": seed, "threads": threads,
                             "fit_s": fit_s, "labels": len(clf.classes_),
                             "accuracy": {p: float(np.mean(v == truth)) for p, v in pred.items()},
                             "changed": float(np.mean(pred["float32"] != pred["bf16"])),
                             "max_abs_diff": float(np.abs(scores["bf16"] - scores["float32"]).max()),
                             "per_s": rate, "speedup": rate["bf16"] / rate["float32"]})
                print(rows[-1], flush=True)
    return rows


PLAIN_TEMPLATES = {"sst2": "Review: {text}\nSentiment:", "emotion": "Text: {text}\nEmotion:"}
ACCURACY_RUNS = [  # (dataset, what, PromptClassifier parameters); the integration tests' settings
    ("sst2", "zero-shot", {"mode": "zero"}),
    ("sst2", "zero-shot, calibrated", {"mode": "zero", "calibrate": True}),
    ("emotion", "zero-shot", {"mode": "zero"}),
    ("emotion", "zero-shot, calibrated", {"mode": "zero", "calibrate": True}),
    ("emotion", "ICL, 8 per class (fitted to the context)", {"mode": "icl", "icl_k": 8}),
    ("emotion", "ICL, 2 per class", {"mode": "icl", "icl_k": 2}),
    ("emotion", "LoRA, k=8, defaults", {"mode": "lora", "seed": 0}),
]


def run_accuracy(args) -> list[dict]:
    """Accuracy of each mode on the integration tests' samples: 300 seeded test sentences, emotion k=8 seed 0."""
    from fewshot.data import sample_k_shot, subsample
    from fewshot.datasets import resolve_dataset
    from fewshot.strategies.prompt import PromptClassifier

    data = {}
    for name in PLAIN_TEMPLATES:
        ds = resolve_dataset(name)
        train = sample_k_shot(ds.train.X, ds.train.y, k=8, seed=0)
        data[name] = (train, subsample(ds.test.X, ds.test.y, args.accuracy_n, seed=0))
    rows = []
    for name, what, params in ACCURACY_RUNS:
        (X, y), (Xt, yt) = data[name]
        start = time.perf_counter()
        clf = PromptClassifier(template=PLAIN_TEMPLATES[name], **params).fit(X, y)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        pred = clf.predict(Xt)
        predict_s = time.perf_counter() - start
        rows.append({"dataset": name, "what": what, "params": params, "n_test": len(Xt), "n_train": len(X),
                     "accuracy": float(np.mean(np.asarray(pred) == np.asarray(yt))),
                     "fit_s": fit_s, "predict_per_s": len(Xt) / predict_s})
        print(rows[-1], flush=True)
    return rows


def run_training(args) -> list[dict]:
    rows = []
    for k in [int(v) for v in args.ks.split(",") if v]:
        extra = ["--epochs", str(args.epochs)] if args.epochs else []
        extra += ["--threads", str(args.threads)] if args.threads else []
        res = subprocess.run([sys.executable, __file__, "--train-one", str(k), *extra], capture_output=True, text=True,
                             check=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    return rows


def _context() -> dict:
    import torch

    return {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": os.getloadavg()[0],
            "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "cpu_model": _cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def _cpu_model() -> str | None:
    """The processor's name as Linux reports it (bfloat16 speed depends on it), else None."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def render(results: dict) -> str:
    cmd = "FEWSHOT_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/prompt_speed.py"
    lines = ["# PromptClassifier speed and memory (SmolLM2-135M-Instruct, CPU)", "", f"Command: `{cmd}` "
             "(`--parts scoring`, `--parts training` or `--parts accuracy` reruns one part; results merge in prompt_speed.json).", ""]
    lines += ["Each section gives the load average of the 2-core machine at its start and the torch threads "
              "used; absolute rates depend on both. The scoring ratios are taken side by side in one run (A and "
              "B alternated on the same inputs, median of the rounds), so they hold whatever the load; training "
              "times are wall-clock seconds, with the process CPU seconds beside them.", ""]
    if "scoring" in results:
        ctx = results["scoring"]["context"]
        lines += ["## Scoring: predictions per second", "",
                  f"Run {ctx['when']}, {ctx['cpu']}, {ctx['cores']} cores, torch {ctx['torch']} with "
                  f"{ctx['threads']} threads, load average {ctx['load']:.1f} at the start.", "",
                  "| dataset | labels | sentences | ours / s | baseline / s | speedup | target | "
                  "max abs diff of log-lik | same argmax |",
                  "|---|---:|---:|---:|---:|---:|---|---:|---:|"]
        targets = {"banking77": ("naive: one full forward per label", 10.0), "sst2": ("plain batched forward", 1.5)}
        for r in results["scoring"]["rows"]:
            what, target = targets[r["dataset"]]
            ok = "met" if r["speedup"] >= target else "MISSED"
            lines.append(f"| {r['dataset']} | {r['labels']} | {r['n']} | {r['ours_per_s']:.2f} | "
                         f"{r['baseline_per_s']:.2f} | **{r['speedup']:.1f}x** | >= {target}x vs {what} ({ok}) | "
                         f"{r['max_abs_diff']:.1e} | {r['same_predictions']:.0%} |")
        lines += ["", "Baselines: banking77, one forward of `prompt + label` per label, batched over the sentences "
                  "(8 per batch), vocabulary logits at every position; sst2, a plain batched forward (the same "
                  "batch size, data order, no length bucketing) with logits at every position, read at the last "
                  "prompt token. Ours: `PromptClassifier.label_log_likelihood` (tokenization included). Label words: the "
                  "default verbalizer (banking77's `card_arrival` is scored as `' card arrival'`, 264 label tokens "
                  "in all, a prefix tree of 140 nodes), the same words for both sides.", ""]
    if "training" in results:
        ctx = results["training"]["context"]
        lines += ["## LoRA training (emotion, 6 classes, default settings)", "",
                  f"Run {ctx['when']}, load average {ctx['load']:.1f} at the start.", "",
                  "| k per class | examples | epochs | fit wall s | fit CPU s | wall s / example / epoch | "
                  "CPU s / example / epoch | peak RSS MB | RSS after loading the model MB | load average |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in results["training"]["rows"]:
            load = r.get("context", ctx)["load"]
            lines.append(f"| {r['k']} | {r['n_train']} | {r['epochs']} | {r['fit_s']:.0f} | {r['fit_cpu_s']:.0f} | "
                         f"{r['s_per_example_epoch']:.2f} | {r['fit_cpu_s'] / (r['n_train'] * r['epochs']):.2f} | "
                         f"{r['peak_rss_mb']:.0f} | {r['rss_after_model_load_mb']:.0f} | "
                         f"{load:.1f} |")
        rows = results["training"]["rows"]
        if rows:
            lines += ["", f"Defaults used: `{json.dumps(rows[0]['defaults'])}`. The fit includes loading the model. "
                      "Peak RSS is the whole process (Python, torch, the 135M float32 model and its tokenizer "
                      "included), each k in a fresh process."]
    if "accuracy" in results:
        ctx = results["accuracy"]["context"]
        rows = results["accuracy"]["rows"]
        lines += ["", "## Accuracy by mode (sst2, emotion)", "",
                  f"Run {ctx['when']}, load average {ctx['load']:.1f} at the start. The integration tests' samples: "
                  f"{rows[0]['n_test'] if rows else '-'} seeded test sentences per dataset "
                  "(`fewshot.data.subsample(test, n, seed=0)`), training sample emotion k=8 seed 0 "
                  "(`sample_k_shot`, 48 examples; zero-shot uses it for the label set only), templates "
                  f"`{PLAIN_TEMPLATES['sst2']!r}` and `{PLAIN_TEMPLATES['emotion']!r}`, default verbalizer.", "",
                  "| dataset | mode | accuracy | fit s | predictions / s |", "|---|---|---:|---:|---:|"]
        for r in rows:
            lines.append(f"| {r['dataset']} | {r['what']} | {r['accuracy']:.3f} | {r['fit_s']:.0f} | "
                         f"{r['predict_per_s']:.1f} |")
    if "bound" in results:
        ctx = results["bound"]["context"]
        rows = results["bound"]["rows"]
        lines += ["", "## Scoring against the compute limit (sst2, ag_news)", "", _run_line(ctx, cmd + " --parts bound"),
                  "", "| dataset | threads | texts | tokens / text | GFLOP / text | matmul GFLOP/s | "
                  "compute bound texts / s | ours texts / s | ours / bound |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            lines.append(f"| {r['dataset']} | {r['threads']} | {r['n']} | {r['tokens']:.1f} | {r['flops'] / 1e9:.3f} | "
                         f"{r['gemm']['flops_per_s'] / 1e9:.1f} | {r['bound_per_s']:.1f} | {r['ours_per_s']:.1f} | "
                         f"**{r['fraction']:.0%}** |")
        if rows:
            r = rows[0]
            lines += ["", f"Work per text: 2 FLOP per linear-layer parameter ({r['linear_params'] / 1e6:.1f}M) per token, "
                      "causal attention, and the vocabulary projection "
                      f"({r['head_shape'][0]} x {r['head_shape'][1]}, {r['vocab_projection_flops'] / 1e6:.0f} MFLOP) "
                      "at each position a label token is read; the prefix all prompts share is counted once. "
                      "Matmul GFLOP/s: the best float32 `torch.mm` rate over the model's linear-layer shapes, with "
                      "as many rows as a scoring batch has tokens, measured in the same run at the same thread "
                      "count. The bound assumes every operation runs at that rate; tokenization, padding, "
                      "normalisation layers, softmax and Python are what the gap is made of."]
    if "precision" in results:
        ctx = results["precision"]["context"]
        rows = results["precision"]["rows"]
        lines += ["", "## Scoring in bfloat16 against float32 (LoRA, k = 8)", "",
                  _run_line(ctx, cmd + " --parts precision"), "", "One LoRA classifier per dataset and seed (default settings, fitted in float32), its rows "
                  "scored with `precision=\"float32\"` and `\"bf16\"` alternately; speed is the median over the "
                  "rounds, accuracy and changed labels are from the first. Validation rows (a seeded 20 % "
                  "hold-out of train where there is no validation split) decide; sst2 and ag_news test rows "
                  "measure the speed target.", "",
                  "| dataset | rows | seed | threads | accuracy float32 | accuracy bf16 | labels changed | "
                  "max abs diff of log-lik | float32 texts / s | bf16 texts / s | bf16 / float32 |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            lines.append(f"| {r['dataset']} | {r['rows']} ({r['n']}) | {r['seed']} | {r['threads']} | "
                         f"{r['accuracy']['float32']:.3f} | {r['accuracy']['bf16']:.3f} | {r['changed']:.1%} | "
                         f"{r['max_abs_diff']:.3f} | {r['per_s']['float32']:.1f} | {r['per_s']['bf16']:.1f} | "
                         f"**{r['speedup']:.2f}x** |")
    return "\n".join(lines) + "\n"


def _run_line(ctx: dict, command: str) -> str:
    """When, where (commit, CPU, torch, load) and how a part ran."""
    cpu = ctx["cpu"] + "".join(f" ({ctx[key]})" for key in ("cpu_model", "cpu_capability") if ctx.get(key))
    return (f"Run {ctx['when']}{_commit_text(ctx)}, {cpu}, {ctx['cores']} cores, torch {ctx['torch']}, "
            f"load average {ctx['load']:.1f} at the start. Command: `{ctx.get('command', command)}`.")


def _commit_text(ctx: dict) -> str:
    return f" at commit {ctx['commit']}" if ctx.get("commit") else ""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="scoring",
                        help="comma-separated: scoring, training, accuracy, bound, precision")
    parser.add_argument("--bound-n", type=int, default=200, help="test texts per dataset in the bound part")
    parser.add_argument("--bound-threads", default="1,2", help="torch threads the bound and precision parts run with")
    parser.add_argument("--precision-n", type=int, default=300, help="rows per dataset in the precision part")
    parser.add_argument("--precision-seeds", default="0", help="k-shot seeds of the precision part")
    parser.add_argument("--accuracy-n", type=int, default=300, help="test sentences per dataset in the accuracy part")
    parser.add_argument("--banking-n", type=int, default=8, help="banking77 test sentences scored")
    parser.add_argument("--sst2-n", type=int, default=96, help="sst2 test sentences scored")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ks", default="8,32", help="k per class for the LoRA training measurement")
    parser.add_argument("--out", default=str(HERE / "results" / "prompt_speed.md"))
    parser.add_argument("--epochs", type=int, help="override the default epochs in the training part")
    parser.add_argument("--render-only", action="store_true", help="rewrite the table from prompt_speed.json")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--train-one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.train_one:
        print(json.dumps(train_one(args.train_one, args.epochs)))
        return
    out = Path(args.out)
    store = out.with_suffix(".json")
    if args.render_only:
        write_text_atomic(out, render(json.loads(store.read_text())))
        return
    for part in args.parts.split(","):
        context = _context()
        runner = {"scoring": run_scoring, "training": run_training, "accuracy": run_accuracy,
                  "bound": run_bound, "precision": run_precision}.get(part)
        if runner is None:
            parser.error(f"unknown part {part!r}; choose from scoring, training, accuracy, bound, precision")
        if part in ("bound", "precision"):
            context |= {"commit": run_commit(), "command": run_command("prompt_speed.py")}
        rows = runner(args)
        results = json.loads(store.read_text()) if store.is_file() else {}  # re-read: parts may run at once
        if part == "training" and "training" in results:  # merge by k: each k may be measured separately
            done = {r["k"]: r for r in results["training"]["rows"]}
            done.update({r["k"]: dict(r, context=context) for r in rows})
            rows = [done[k] for k in sorted(done)]
        results[part] = {"context": context, "rows": rows}
        write_json_atomic(store, results, indent=2)
        write_text_atomic(out, render(results))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
