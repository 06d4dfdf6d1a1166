"""Named-entity recognition from 16 mentions per entity type: sample CoNLL-2003, train, evaluate,
then tag sentences of your own.

Run:  python recipes/ner_few_shot.py --data-dir ../shared/datasets          # conll2003
      python recipes/ner_few_shot.py --data-dir ../shared/datasets --sentence "Angela Merkel met Macron in Paris."
Without --data-dir (or FEWSHOT_DATA_DIR) it trains on a handful of sentences written below.
Copy it, point it at your own data (word lists and IOB2 tag lists, or a CoNLL file), keep the rest.
"""

import argparse
import os
import tempfile

import fewshot
from fewshot.datasets import resolve_dataset
from fewshot.metrics import entity_metrics, format_entity_report
from fewshot.ner import mention_counts, read_token_file, sample_k_mentions

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--data-dir", default=os.environ.get("FEWSHOT_DATA_DIR"),
                    help="folder of datasets holding conll2003/ (default: $FEWSHOT_DATA_DIR)")
parser.add_argument("--train-file", help="your own CoNLL (word ... tag) or JSONL tokens/tags file instead")
parser.add_argument("--k", type=int, default=16, help="mentions per entity type to train on (default 16)")
parser.add_argument("--sentence", action="append", help="a sentence to tag (repeatable)")
parser.add_argument("--out", default=None, help="where to save the tagger (default: a temporary folder)")
parser.add_argument("--fast", action="store_true", help="tiny settings for a smoke run")
args = parser.parse_args()

# A few hand-written sentences, used when no dataset is at hand (they only show the mechanics).
TOY = [
    ("Maria Lopez joined Siemens in Munich .", "B-PER I-PER O B-ORG O B-LOC O"),
    ("Tom Baker flew from Oslo to Lisbon .", "B-PER I-PER O O B-LOC O B-LOC O"),
    ("Oxfam opened an office in Nairobi .", "B-ORG O O O O B-LOC O"),
    ("Nokia hired Anna Berg last week .", "B-ORG O B-PER I-PER O O O"),
    ("Paul Smith left Reuters for the BBC .", "B-PER I-PER O B-ORG O O B-ORG O"),
    ("The summit in Geneva ended on Friday .", "O O O B-LOC O O O O"),
    ("Lena Fischer lives in Hamburg .", "B-PER I-PER O O B-LOC O"),
    ("Shell cut jobs in Rotterdam .", "B-ORG O O O B-LOC O"),
]

if args.train_file:
    X_pool, y_pool = read_token_file(args.train_file)
    X_test, y_test = X_pool, y_pool
elif args.data_dir:
    ds = resolve_dataset("conll2003", args.data_dir)
    X_pool, y_pool = ds.train.X, ds.train.y
    n_test = 100 if args.fast else 1000
    X_test, y_test = ds.test.X[:n_test], ds.test.y[:n_test]
else:
    print("no --data-dir or FEWSHOT_DATA_DIR: training on 8 built-in sentences (a demonstration only)")
    X_pool, y_pool = [s.split() for s, _ in TOY], [t.split() for _, t in TOY]
    X_test, y_test = X_pool, y_pool

# The budget: sentences drawn (seeded) until every entity type has at least k mentions.
X, y = sample_k_mentions(X_pool, y_pool, k=args.k, seed=0)
counts = ", ".join(f"{kind} {n}" for kind, n in sorted(mention_counts(y).items()))
print(f"training on {len(X)} sentences ({counts} mentions)")

# minilm with a token-classification head; the defaults suit a few dozen sentences.
ner = fewshot.TokenClassifier(model="minilm", seed=0, **({"epochs": 4} if args.fast else {}))
ner.fit(X, y)

# Entity-level precision/recall/F1 as seqeval computes them (strict IOB2), per type and overall.
report = entity_metrics(y_test, ner.predict(X_test))
print(f"entity F1 {report['entity_f1']:.3f}   precision {report['precision']:.3f}   recall {report['recall']:.3f}"
      f"   ({len(X_test)} test sentences)")
print(format_entity_report(report))

# Save (safetensors + JSON, no pickle), load it back, and tag raw sentences: offsets are characters.
out = args.out or tempfile.mkdtemp(prefix="ner-")
ner.save(out, overwrite=True)
loaded = fewshot.load(out)
sentences = args.sentence or ["Angela Merkel met Emmanuel Macron in Paris on Monday.",
                              "Shares of Volkswagen fell after the report from Reuters in London."]
for sentence, entities in zip(sentences, loaded.predict_entities(sentences)):
    print(f"\n{sentence}")
    for e in entities:
        print(f"  {e['type']:<5} {e['text']!r} [{e['start']}:{e['end']}] ({e['score']:.2f})")
    if not entities:
        print("  (no entities found)")
print(f"\nsaved to {out}")
