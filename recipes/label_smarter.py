"""Label smarter: a cold start from label names, two rounds of suggested labels, compared with random.

Run:  python recipes/label_smarter.py            # built-in demo data (6 support intents)
Copy it, put your unlabeled texts in `pool` and a person's answers where `ask_a_person` is.

1. No labels yet: a zero-shot prompt classifier proposes a label for every text; `suggest` picks
   2 texts per proposed class, representative and diverse, so the first round covers every class.
2. Two rounds: train SetFit on what is labeled, `suggest` the texts worth labeling next (badge,
   the default up to 20 classes: uncertain and diverse; hybrid above), label them, retrain.
3. The same number of labels drawn at random, for comparison; then pre-labels for the rest.
"""

import argparse
import tempfile

import fewshot

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--per-round", type=int, default=2, help="labels per class each round (default 2)")
parser.add_argument("--model", default="minilm", help="SetFit's sentence-transformer (default minilm)")
parser.add_argument("--prompt-model", default="smollm2-135m", help="the zero-shot LM (default smollm2-135m)")
parser.add_argument("--out", default=None, help="where to save the classifier (default: a temporary folder)")
parser.add_argument("--fast", action="store_true", help="tiny settings for a smoke run")
args = parser.parse_args()

ds = fewshot.load_demo("intent")
pool, X_test, y_test = ds.train.X, ds.test.X, ds.test.y
if args.fast:  # a smoke run: half the pool and the test messages
    pool, X_test, y_test = pool[:90], X_test[:90], y_test[:90]
truth = dict(zip(ds.train.X, ds.train.y))  # stands in for a person: in your project, ask one


def ask_a_person(texts):
    return [truth[t] for t in texts]


names = ds.labels  # the label names are all a cold start needs
n = args.per_round * len(names)
setfit = dict(model=args.model, seed=0, **({"num_iterations": 1, "quantize": False} if args.fast else {}))

learner = fewshot.ActiveLearner(fewshot.SetFitClassifier(**setfit), pool, labels=names, X_eval=X_test,
                                y_eval=y_test, prompt_params={"model": args.prompt_model})
for round_no in range(3):  # the cold start, then two rounds of badge suggestions
    batch = learner.query(n)
    learner.teach([s.text for s in batch], ask_a_person([s.text for s in batch]))
    h = learner.history[-1]
    print(f"round {round_no}: {h['n_labels']} labels, {h['n_classes']} classes -> accuracy {h.get('metric', 0):.3f}")

random_X = [pool[s.index] for s in fewshot.suggest(None, pool, learner.history[-1]["n_labels"], "random")]
random_clf = fewshot.SetFitClassifier(**setfit).fit(random_X, ask_a_person(random_X))
print(f"random, same {len(random_X)} labels -> accuracy {fewshot.evaluate(random_clf, X_test, y_test)['accuracy']:.3f}")

rest = learner.remaining
sure = fewshot.prelabel(learner.clf, rest, min_confidence=0.6)
print(f"pre-labels: {len(sure)} of {len(rest)} remaining texts at confidence >= 0.6")

out = args.out or tempfile.mkdtemp(prefix="label-smarter-")
learner.clf.save(out, overwrite=True)
print(f"saved to {out}")
