"""`fewshot demo` / `make demo`: train each strategy on k examples per intent of the built-in
support messages and print one comparison table (quality beside cost)."""

from __future__ import annotations

import sys
import time

DEFAULT_STRATEGIES = ("majority", "setfit", "head", "prompt")

# Tiny settings for `--fast`: a smoke run that exercises every strategy in well under a minute each.
FAST_PARAMS = {
    "setfit": {"num_iterations": 1, "epochs": 1},
    "head": {"epochs": 1},
    "prompt": {"mode": "zero"},
}

# What a strategy is, in one line, for the table's readers.
BLURB = {
    "majority": "always the most frequent intent (the floor)",
    "setfit": "contrastive sentence-transformer + logistic head",
    "head": "fine-tuned encoder + classification head",
    "prompt": "decoder LM scores each intent's words (LoRA)",
}


def run_demo(strategies=None, k: int = 8, fast: bool = False, seed: int = 0, out=None) -> int:
    """Train ``strategies`` on ``k`` examples per intent and print accuracy, macro-F1 and cost."""
    from ..data import sample_k_shot
    from ..metrics import evaluate
    from ..registry import make_classifier
    from . import load_demo

    out = out or sys.stdout
    ds = load_demo("intent")
    X, y = sample_k_shot(ds.train.X, ds.train.y, k=k, seed=seed)
    n_classes = len(set(y))
    print(f"Built-in demo: {n_classes} support intents, {len(X)} training messages ({k} per intent), "
          f"{len(ds.test)} test messages.\n", file=out)
    rows = []
    for name in strategies or DEFAULT_STRATEGIES:
        params = dict(FAST_PARAMS.get(name, {})) if fast else {}
        try:
            clf = make_classifier(name, **params)
        except Exception as exc:  # an unknown or unavailable strategy should not stop the demo
            print(f"  {name}: skipped ({exc})", file=out)
            continue
        if "seed" in clf.get_params():
            clf.set_params(seed=seed)
        print(f"  training {name:<9} {BLURB.get(name, '')} ...", file=out, flush=True)
        t0 = time.perf_counter()
        clf.fit(X, y)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = evaluate(clf, ds.test.X, ds.test.y)
        pred_s = time.perf_counter() - t0
        rows.append((name, report["accuracy"], report["f1_macro"], train_s, len(ds.test) / pred_s))
    print("", file=out)
    print(f"{'strategy':<10}{'accuracy':>10}{'macro-F1':>10}{'train s':>10}{'pred/s':>10}", file=out)
    for name, acc, f1, train_s, pps in rows:
        print(f"{name:<10}{acc:>10.3f}{f1:>10.3f}{train_s:>10.1f}{pps:>10.1f}", file=out)
    if rows:
        best = max(rows, key=lambda r: r[1])
        print(f"\nBest here: {best[0]} ({best[1]:.1%} accuracy with {k} examples per intent). "
              f"Chance is {1 / n_classes:.1%}. Numbers on real benchmarks: benchmarks/README.md.", file=out)
    return 0 if rows else 1


__all__ = ["run_demo"]
