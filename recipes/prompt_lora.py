"""The decoder LM as a classifier: a template, a verbalizer (label -> words), then LoRA.
Prints zero-shot and fine-tuned accuracy side by side.

Run:  python recipes/prompt_lora.py                                  # built-in demo intents
      python recipes/prompt_lora.py --data-dir ../shared/datasets    # emotion (6 classes)
"""

import argparse
import tempfile

import fewshot
from fewshot.data import sample_k_shot, subsample
from fewshot.datasets import resolve_dataset

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--data-dir", help="folder of datasets; uses its emotion/ (default: demo intents)")
parser.add_argument("--k", type=int, default=8, help="labeled examples per class (default 8)")
parser.add_argument("--out", default=None, help="where to save the classifier (default: a temporary folder)")
parser.add_argument("--fast", action="store_true", help="tiny settings for a smoke run")
args = parser.parse_args()

if args.data_dir:
    ds = resolve_dataset("emotion", args.data_dir)
    template = "Tweet: {text}\nEmotion:"
    verbalizer = None  # the label names (sadness, joy, ...) are already good words
else:
    ds = fewshot.load_demo("intent")
    template = "Customer message: {text}\nThe message is about:"
    # Words the model would naturally write after the prompt; one label, one meaning.
    verbalizer = {"account": " account access", "billing": " billing", "delivery": " delivery",
                  "product_info": " product information", "returns": " a return", "technical": " a technical problem"}

X_test, y_test = subsample(ds.test.X, ds.test.y, 40 if args.fast else 300, seed=0)
X, y = sample_k_shot(ds.train.X, ds.train.y, k=args.k, seed=0)
common = dict(model="smollm2-135m", template=template, verbalizer=verbalizer, seed=0)

# Zero-shot: no training at all; fit() only records the label set.
zero = fewshot.PromptClassifier(mode="zero", **common).fit(X, y)
# LoRA: small adapters learn to rank the right label's words above the others (prompt tokens are not trained).
lora = fewshot.PromptClassifier(mode="lora", **common, **({"epochs": 1} if args.fast else {})).fit(X, y)

print(f"{'mode':<8}{'accuracy':>10}{'macro-F1':>10}   ({len(X)} training examples, {len(X_test)} test)")
for name, clf in [("zero", zero), ("lora", lora)]:
    report = fewshot.evaluate(clf, X_test, y_test)
    print(f"{name:<8}{report['accuracy']:>10.3f}{report['f1_macro']:>10.3f}")

out = args.out or tempfile.mkdtemp(prefix="prompt-")
lora.save(out, overwrite=True)  # the adapter + template + verbalizer; the base model is found offline
print(f"saved to {out}; reloaded predicts: {fewshot.load(out).predict([X_test[0]])[0]!r} for {X_test[0][:60]!r}")
