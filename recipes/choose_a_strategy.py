"""Which strategy should I use for my data at my labeling budget, and what will it cost?

Give it your labeled file. It splits the file into folds (cross-validation), and in each fold the
benchmark harness draws k examples per class from the training part (your budget), trains every
strategy on the same examples, and scores the held-out part. Prints the table and a verdict.

Run:  python recipes/choose_a_strategy.py                              # built-in demo intents
      python recipes/choose_a_strategy.py --data my_labeled.jsonl --k 16   # JSONL/CSV: text,label
"""

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from sklearn.model_selection import StratifiedKFold

import fewshot
import fewshot.registry
from fewshot.bench import run_suite
from fewshot.bench.suite import StrategySpec, Suite
from fewshot.data import sample_k_shot
from fewshot.datasets import read_labeled_file

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--data", help="labeled JSONL/CSV/TSV file with text and label columns (default: demo intents)")
parser.add_argument("--k", type=int, default=8, help="your budget: labeled examples per class (default 8)")
parser.add_argument("--folds", type=int, default=3, help="cross-validation folds (default 3)")
parser.add_argument("--out", default=None, help="where to save the chosen classifier (default: a temporary folder)")
parser.add_argument("--fast", action="store_true", help="tiny settings for a smoke run")
args = parser.parse_args()

if args.data:
    X, y = read_labeled_file(args.data)
else:
    demo = fewshot.load_demo("intent")
    X, y = demo.train.X + demo.test.X, demo.train.y + demo.test.y

# The candidates. Prompt runs zero-shot here (no training cost); try mode="lora" when label names
# are meaningful words and you can afford minutes of training.
fast = args.fast
candidates = [
    StrategySpec("majority", "majority", {}, (args.k,)),
    StrategySpec("setfit", "setfit", {"num_iterations": 1} if fast else {}, (args.k,)),
    StrategySpec("head", "head", {"epochs": 1} if fast else {}, (args.k,)),
    StrategySpec("prompt-zero", "prompt", {"mode": "zero"}, (args.k,)),
]

with tempfile.TemporaryDirectory(prefix="choose-") as tmp:
    folds = []
    splitter = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=0)
    for i, (train_idx, test_idx) in enumerate(splitter.split(X, y)):
        if fast:
            test_idx = test_idx[:30]
        folder = Path(tmp) / f"fold{i}"
        folder.mkdir()
        for name, idx in (("train", train_idx), ("test", test_idx)):
            row = lambda j: {"text": X[j][0], "text_pair": X[j][1]} if isinstance(X[j], tuple) else {"text": X[j]}  # noqa: E731
            (folder / f"{name}.jsonl").write_text("".join(json.dumps({**row(j), "label": y[j]}) + "\n" for j in idx))
        folds.append(str(folder))
    suite = Suite(name="choose", datasets=folds, strategies=candidates, k=[args.k], seeds=[0])
    run_suite(suite, Path(tmp) / "results", log=lambda line: None)
    cells = [json.loads(p.read_text()) for p in (Path(tmp) / "results").rglob("*.json") if p.name != "suite.json"]

rows = []
for spec in candidates:
    mine = [c for c in cells if c.get("strategy") == spec.label and c.get("status") == "ok"]
    if not mine:  # a failed cell keeps its error message in the cell record
        continue
    scores = [c["metrics"]["accuracy"] for c in mine]
    rows.append((spec.label, statistics.fmean(scores), statistics.pstdev(scores),
                 statistics.median(c["train_seconds"] for c in mine),
                 statistics.median(c["predictions_per_second"] for c in mine)))

print(f"\n{len(X)} labeled texts, {len(set(y))} classes, budget k={args.k} per class, {args.folds}-fold CV")
print(f"{'strategy':<13}{'accuracy':>10}{'± std':>8}{'train s':>10}{'pred/s':>10}")
for label, mean, std, train_s, pps in rows:
    print(f"{label:<13}{mean:>10.3f}{std:>8.3f}{train_s:>10.1f}{pps:>10.0f}")

# The verdict: the most accurate, unless a cheaper one is within a point of it.
best = max(rows, key=lambda r: r[1])
close = [r for r in rows if r[1] >= best[1] - 0.01 and r[3] < best[3]]
pick = min(close, key=lambda r: r[3]) if close else best
print(f"\nuse {pick[0]}: {pick[1]:.1%} accuracy at k={args.k}, {pick[3]:.0f} s to train, "
      f"{pick[4]:.0f} predictions/s" + (f" (within a point of {best[0]}, and cheaper)" if pick is not best else ""))

# Train the pick on k examples per class from the whole file and save it, ready to use.
spec = next(s for s in candidates if s.label == pick[0])
clf = fewshot.registry.make_classifier(spec.name, **spec.params)
clf.fit(*sample_k_shot(X, y, k=args.k, seed=0))
out = args.out or tempfile.mkdtemp(prefix="chosen-")
clf.save(out, overwrite=True)
print(f"saved {spec.label} trained on {args.k} examples per class to {out}")
