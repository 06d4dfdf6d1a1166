"""Several tags per text: a multi-label head, a threshold chosen on held-out data, example-based F1.

Run:  python recipes/multi_label_tags.py         # built-in demo messages with 1-3 tags each
"""

import argparse
import tempfile

import numpy as np

import fewshot
from fewshot.metrics import multilabel_metrics

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--out", default=None, help="where to save the classifier (default: a temporary folder)")
parser.add_argument("--fast", action="store_true", help="tiny settings for a smoke run")
args = parser.parse_args()

ds = fewshot.load_demo("tags")  # y is a list of tag lists, e.g. ["delivery", "urgent"]
X, y = ds.train.X, ds.train.y
fast = {"epochs": 1} if args.fast else {}

# Hold out a quarter of the training data to choose the decision threshold: with few examples the
# sigmoid outputs are rarely calibrated, and 0.5 is often too strict for rare tags.
rng = np.random.RandomState(0)
held = set(rng.choice(len(X), size=len(X) // 4, replace=False).tolist())
X_fit = [x for i, x in enumerate(X) if i not in held]
y_fit = [t for i, t in enumerate(y) if i not in held]
X_dev = [x for i, x in enumerate(X) if i in held]
y_dev = [t for i, t in enumerate(y) if i in held]

clf = fewshot.HeadClassifier(model="minilm", problem="multi_label", seed=0, **fast).fit(X_fit, y_fit)
scores = {}
for threshold in [0.2, 0.3, 0.4, 0.5, 0.6]:
    clf.set_params(threshold=threshold)  # predict() reads the threshold; no refit needed
    scores[threshold] = multilabel_metrics(y_dev, clf.predict(X_dev), clf.classes_)["f1_samples"]
best = max(scores, key=scores.get)
print("threshold -> held-out example-based F1: " + ", ".join(f"{t}: {s:.3f}" for t, s in scores.items()))

# Refit on all the training data with the chosen threshold, then score the test split.
clf = fewshot.HeadClassifier(model="minilm", problem="multi_label", threshold=best, seed=0, **fast).fit(X, y)
m = multilabel_metrics(ds.test.y, clf.predict(ds.test.X), clf.classes_)
print(f"threshold {best}: example-based F1 {m['f1_samples']:.3f}, micro-F1 {m['f1_micro']:.3f}, "
      f"exact match {m['subset_accuracy']:.3f}")
for tag, row in m["per_class"].items():
    print(f"  {tag:<14} F1 {row['f1']:.2f}  (support {row['support']})")
print(f"example: {ds.test.X[0]!r} -> {clf.predict([ds.test.X[0]])[0]}")

out = args.out or tempfile.mkdtemp(prefix="tags-")
clf.save(out, overwrite=True)
print(f"saved to {out}")
