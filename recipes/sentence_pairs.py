"""A sentence-pair task: does the agent's reply answer the customer's question?
Inputs are (text, text_pair) tuples; the encoder reads both texts together.

Run:  python recipes/sentence_pairs.py           # built-in (question, reply) pairs
"""

import argparse
import tempfile

import fewshot
from fewshot.data import sample_k_shot

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--k", type=int, default=32, help="labeled pairs per class (default 32)")
parser.add_argument("--out", default=None, help="where to save the classifier (default: a temporary folder)")
parser.add_argument("--fast", action="store_true", help="tiny settings for a smoke run")
args = parser.parse_args()

ds = fewshot.load_demo("pairs")  # X: [(question, reply), ...]; y: "answers" / "does_not_answer"
X, y = sample_k_shot(ds.train.X, ds.train.y, k=args.k, seed=0)

# A cross-encoder: question and reply go through the model as one sequence ([CLS] q [SEP] r),
# so attention can compare them word by word. That is what this task needs.
clf = fewshot.HeadClassifier(model="minilm", seed=0, **({"epochs": 1} if args.fast else {})).fit(X, y)
r = fewshot.evaluate(clf, ds.test.X, ds.test.y)
print(f"accuracy {r['accuracy']:.3f}   macro-F1 {r['f1_macro']:.3f}   ({len(X)} labeled pairs, {len(ds.test)} test)")

question = "How long does delivery to Norway take?"
for reply in ["Parcels to Norway arrive in 3 to 5 working days.",
              "You can return any product within 30 days for a full refund."]:
    label = clf.predict([(question, reply)])[0]
    print(f"  {label:<16} {reply}")

out = args.out or tempfile.mkdtemp(prefix="pairs-")
clf.save(out, overwrite=True)
print(f"saved to {out}")
