"""Sentiment with 8 labeled examples per class: SetFit, evaluate, save, load, predict.

Run:  python recipes/sentiment_8_examples.py                       # built-in demo data
      python recipes/sentiment_8_examples.py --data-dir ../shared/datasets   # SST-2
Copy it, point it at your own data (lists of texts and labels), keep the rest.
"""

import argparse
import tempfile

import fewshot
from fewshot.data import sample_k_shot, subsample
from fewshot.datasets import resolve_dataset

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--data-dir", help="folder of datasets; uses its sst2/ (default: built-in demo data)")
parser.add_argument("--k", type=int, default=8, help="labeled examples per class (default 8)")
parser.add_argument("--out", default=None, help="where to save the classifier (default: a temporary folder)")
parser.add_argument("--fast", action="store_true", help="tiny settings for a smoke run")
args = parser.parse_args()

if args.data_dir:
    ds = resolve_dataset("sst2", args.data_dir)
    X_test, y_test = subsample(ds.test.X, ds.test.y, 500, seed=0)
    X_pool, y_pool = ds.train.X, ds.train.y
else:
    # The demo messages carry a 1-5 satisfaction score: 1-2 is negative, 4-5 positive.
    ds = fewshot.load_demo("csat")
    to_sentiment = {1: "negative", 2: "negative", 4: "positive", 5: "positive"}
    keep = lambda X, y: ([x for x, s in zip(X, y) if s != 3], [to_sentiment[s] for s in y if s != 3])  # noqa: E731
    X_pool, y_pool = keep(ds.train.X, ds.train.y)
    X_test, y_test = keep(ds.test.X, ds.test.y)

# The budget: k examples per class, drawn with a seed so the run is repeatable.
X, y = sample_k_shot(X_pool, y_pool, k=args.k, seed=0)

# SetFit: contrastive pairs tune the sentence embedding, a logistic head reads it.
# Defaults are chosen for small budgets; --fast only makes the smoke test quick.
clf = fewshot.SetFitClassifier(model="minilm", seed=0, **({"num_iterations": 1} if args.fast else {}))
clf.fit(X, y)

report = fewshot.evaluate(clf, X_test, y_test)
print(f"accuracy {report['accuracy']:.3f}   macro-F1 {report['f1_macro']:.3f}   "
      f"(k={args.k} per class, {len(X_test)} test texts)")

# Save (a folder of safetensors + JSON, no pickle), load it back, predict new text.
out = args.out or tempfile.mkdtemp(prefix="sentiment-")
clf.save(out, overwrite=True)
loaded = fewshot.load(out)
for text in ["Absolutely loved it, thank you!", "This is the third time it broke. Unacceptable."]:
    label = loaded.predict([text])[0]
    confidence = loaded.predict_proba([text]).max()
    print(f"{label:>9} ({confidence:.2f})  {text}")
print(f"saved to {out}")
