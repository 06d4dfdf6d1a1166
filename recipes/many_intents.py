"""Intent classification with many classes (banking77 style) on SetFit, with a per-class
report and the pairs of intents the model confuses most.

Run:  python recipes/many_intents.py                                   # built-in demo intents
      python recipes/many_intents.py --data-dir ../shared/datasets     # banking77, 77 intents
"""

import argparse
import tempfile

import numpy as np

import fewshot
from fewshot.data import sample_k_shot, subsample
from fewshot.datasets import resolve_dataset

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--data-dir", help="folder of datasets; uses its banking77/ (default: demo intents)")
parser.add_argument("--k", type=int, default=8, help="labeled examples per intent (default 8)")
parser.add_argument("--out", default=None, help="where to save the classifier (default: a temporary folder)")
parser.add_argument("--fast", action="store_true", help="tiny settings for a smoke run")
args = parser.parse_args()

ds = resolve_dataset("banking77", args.data_dir) if args.data_dir else fewshot.load_demo("intent")
X_test, y_test = subsample(ds.test.X, ds.test.y, 1000, seed=0)
X, y = sample_k_shot(ds.train.X, ds.train.y, k=args.k, seed=0)
print(f"{len(set(y))} intents, {len(X)} labeled examples, {len(X_test)} test messages")

# With many classes, SetFit's "unique" pairs keep the pair count (and training time) in check
# while every intent still meets every other; class_weight="balanced" guards the head when a
# rare intent has fewer than k examples.
clf = fewshot.SetFitClassifier(model="minilm", sampling="unique", class_weight="balanced", seed=0,
                               **({"num_iterations": 1} if args.fast else {}))
clf.fit(X, y)
report = fewshot.evaluate(clf, X_test, y_test)
print(f"accuracy {report['accuracy']:.3f}   macro-F1 {report['f1_macro']:.3f}")

# Per-class report: the five weakest intents are where more labels pay off first.
weakest = sorted(report["per_class"].items(), key=lambda kv: kv[1]["f1"])[:5]
print("\nweakest intents (label more of these first):")
for name, row in weakest:
    print(f"  {name:<40} F1 {row['f1']:.2f}  precision {row['precision']:.2f}  recall {row['recall']:.2f}")

# Most confused pairs: off-diagonal cells of the confusion matrix, largest first.
cm = np.array(report["confusion_matrix"])
labels = report["labels"]
np.fill_diagonal(cm, 0)
print("\nmost confused (true -> predicted, count):")
for flat in np.argsort(cm, axis=None)[::-1][:5]:
    i, j = np.unravel_index(flat, cm.shape)
    if cm[i, j]:
        print(f"  {labels[i]} -> {labels[j]}: {cm[i, j]}")

out = args.out or tempfile.mkdtemp(prefix="intents-")
clf.save(out, overwrite=True)
print(f"\nsaved to {out}")
