"""Which strategy should I use for my data at my labeling budget, and what will it cost?

Give it your labeled file. It draws k examples per class (your budget), and fewshot.AutoClassifier
cross-validates the strategies on them (stratified folds; repeated when k is small), adds an
ensemble of the best two, prints the table and keeps the best, or a cheaper one within the noise.
The pick is refitted on the k examples per class and saved, ready to use. The texts you did not
draw score it once more.

With 8 examples per class the choice is noisy (a held-out fold holds 2 examples per class): trust
large differences, not a point or two. The table's diff and SE columns say how sure it is.

Run:  python recipes/choose_a_strategy.py                              # built-in demo intents
      python recipes/choose_a_strategy.py --data my_labeled.jsonl --k 16   # JSONL/CSV: text,label
"""

import argparse
import tempfile

import numpy as np

import fewshot
from fewshot.data import sample_k_shot
from fewshot.datasets import read_labeled_file

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--data", help="labeled JSONL/CSV/TSV file with text and label columns (default: demo intents)")
parser.add_argument("--k", type=int, default=8, help="your budget: labeled examples per class (default 8)")
parser.add_argument("--folds", type=int, default=None,
                    help="cross-validation folds (default: 4 folds repeated twice below 16 per class, else 5)")
parser.add_argument("--out", default=None, help="where to save the chosen classifier (default: a temporary folder)")
parser.add_argument("--fast", action="store_true", help="tiny settings for a smoke run")
args = parser.parse_args()

if args.data:
    X, y = read_labeled_file(args.data)
else:
    demo = fewshot.load_demo("intent")
    X, y = demo.train.X + demo.test.X, demo.train.y + demo.test.y
X_k, y_k = sample_k_shot(X, y, k=args.k, seed=0)

# The candidates. Prompt runs zero-shot here (no training cost); try mode="lora" when label names
# are meaningful words and you can afford minutes of training.
candidates = ["majority",
              {"name": "setfit", "params": {"num_iterations": 1, "epochs": 1} if args.fast else {}},
              {"name": "head", "params": {"epochs": 1} if args.fast else {}},
              {"name": "prompt", "params": {"mode": "zero"}, "label": "prompt-zero"}]
clf = fewshot.AutoClassifier(candidates=candidates, cv=args.folds or (2 if args.fast else None), show_progress=True)
clf.fit(X_k, y_k)  # prints the table

chosen = set(map(str, X_k))
rest = [i for i, x in enumerate(X) if str(x) not in chosen][: 60 if args.fast else None]
res = clf.cv_results_
best = int(np.argmax(res["chosen"]))
print(f"\n{len(X_k)} labeled texts, {len(set(y))} classes, budget k={args.k} per class")
print(f"use {clf.best_candidate_}: {res['mean_test_score'][best]:.1%} cross-validated accuracy at k={args.k}, "
      f"{res['mean_fit_seconds'][best]:.1f} s to train on a fold")
if rest:
    accuracy = float(np.mean(clf.predict([X[i] for i in rest]) == np.asarray([y[i] for i in rest])))
    print(f"on {len(rest)} texts it was not trained on: accuracy {accuracy:.3f}")
out = args.out or tempfile.mkdtemp(prefix="chosen-")
clf.save(out, overwrite=True)
print(f"saved the pick, trained on {args.k} examples per class, to {out} (fewshot.load gives it back)")
