"""Satisfaction scores 1-5 are ordered: predicting 4 for a 5 is better than predicting 1.
Ordinal regression (one output, MSE, rounded to 1..5) vs 5-class classification, side by side.

Run:  python recipes/csat_regression.py          # built-in demo messages with CSAT scores
"""

import argparse
import tempfile

import fewshot
from fewshot.data import sample_k_shot
from fewshot.metrics import regression_metrics

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--k", type=int, default=16, help="labeled examples per score (default 16)")
parser.add_argument("--out", default=None, help="where to save the regression model (default: a temporary folder)")
parser.add_argument("--fast", action="store_true", help="tiny settings for a smoke run")
args = parser.parse_args()

ds = fewshot.load_demo("csat")
X, y = sample_k_shot(ds.train.X, ds.train.y, k=args.k, seed=0)
fast = {"epochs": 1} if args.fast else {}

# Regression: y are numbers; predict() rounds to the nearest allowed score and clips to 1..5.
reg = fewshot.HeadClassifier(model="minilm", problem="regression", seed=0, **fast).fit(X, y)
# Classification: the five scores as unrelated classes.
cls = fewshot.HeadClassifier(model="minilm", problem="single_label", seed=0, **fast).fit(X, y)

print(f"{'approach':<16}{'MAE':>8}{'exact':>8}{'within 1':>10}   ({len(X)} training messages)")
for name, clf in [("regression", reg), ("classification", cls)]:
    m = regression_metrics(ds.test.y, clf.predict(ds.test.X))
    print(f"{name:<16}{m['mae']:>8.3f}{m['accuracy']:>8.3f}{m['within_one']:>10.3f}")
baseline = regression_metrics(ds.test.y, [round(sum(y) / len(y))] * len(ds.test.y))
print(f"{'always the mean':<16}{baseline['mae']:>8.3f}{baseline['accuracy']:>8.3f}{baseline['within_one']:>10.3f}")

# The continuous score is useful for ranking tickets by how unhappy the customer is.
text = "Third time the courier lost my parcel. I want my money back now."
print(f"\n{text!r}: score {reg.predict_values([text])[0]:.2f} -> {reg.predict([text])[0]}")
out = args.out or tempfile.mkdtemp(prefix="csat-")
reg.save(out, overwrite=True)
print(f"saved to {out}")
