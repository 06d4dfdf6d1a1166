"""Accurate and fast: a prompt-LoRA teacher taught on 8 examples per class labels unlabeled texts,
a small SetFit student learns from it, and the student is exported to ONNX to predict without torch.

Run:  python recipes/distill_and_serve.py                                  # built-in demo data
      python recipes/distill_and_serve.py --data-dir ../shared/datasets    # AG News
Copy it, point it at your own data (a few labeled texts per class and a pile of unlabeled ones).
"""

import argparse
import tempfile
import time

import fewshot
import fewshot.serving
from fewshot.data import sample_k_shot, subsample
from fewshot.datasets import resolve_dataset

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--data-dir", help="folder of datasets; uses its ag_news/ (default: built-in demo data)")
parser.add_argument("--k", type=int, default=8, help="labeled examples per class (default 8)")
parser.add_argument("--max-unlabeled", type=int, default=1000, help="unlabeled texts the teacher labels (default 1000)")
parser.add_argument("--teacher-model", default="smollm2-135m", help="the teacher's decoder LM (alias or folder)")
parser.add_argument("--student-model", default="minilm", help="the student's sentence-transformer (alias or folder)")
parser.add_argument("--out", default=None, help="where to save the student (default: a temporary folder)")
parser.add_argument("--serve-out", default=None, help="where to write the ONNX folder (default: a temporary folder)")
parser.add_argument("--fast", action="store_true", help="tiny settings for a smoke run")
args = parser.parse_args()

if args.data_dir:
    ds = resolve_dataset("ag_news", args.data_dir)
    template, verbalizer = "News: {text}\nTopic:", None
else:
    ds = fewshot.load_demo("intent")
    template = "Customer message: {text}\nThe message is about:"
    verbalizer = {"account": " account access", "billing": " billing", "delivery": " delivery",
                  "product_info": " product information", "returns": " a return", "technical": " a technical problem"}

X_test, y_test = subsample(ds.test.X, ds.test.y, 40 if args.fast else 300, seed=0)
X, y = sample_k_shot(ds.train.X, ds.train.y, k=args.k, seed=0)
# Unlabeled texts: here the rest of the training split with its labels dropped; in your project,
# texts from the same source as the ones you will classify.
labeled = set(X)
unlabeled = [x for x in ds.train.X if x not in labeled]
max_unlabeled = 60 if args.fast else args.max_unlabeled

# The teacher: accurate but slow (it scores every label's words with a decoder LM).
teacher = fewshot.PromptClassifier(model=args.teacher_model, mode="lora", template=template, verbalizer=verbalizer,
                                   seed=0, **({"epochs": 1} if args.fast else {})).fit(X, y)
# The student: SetFit on a small sentence-transformer, taught by the teacher's probabilities on the
# unlabeled texts plus the k labeled examples. The teacher's probabilities are cached, so a second
# student (other settings) does not wait for the teacher again.
student_params = {"model": args.student_model, "seed": 0, **({"num_iterations": 1} if args.fast else {})}
student = fewshot.distill(teacher, unlabeled, fewshot.SetFitClassifier(**student_params), X=X, y=y,
                          max_unlabeled=max_unlabeled)
plain = fewshot.SetFitClassifier(**student_params).fit(X, y)  # the same student on the k examples alone


def score(clf):
    clf.predict(X_test[:1])  # warm-up: the first call builds the int8 body of a SetFit classifier
    started = time.perf_counter()
    report = fewshot.evaluate(clf, X_test, y_test)
    return report["accuracy"], len(X_test) / (time.perf_counter() - started)


print(f"{len(X)} labeled examples, {student.distillation_['n_unlabeled']} unlabeled texts, {len(X_test)} test texts")
for name, clf in [("teacher (prompt LoRA)", teacher), ("student (distilled)", student), ("SetFit on k only", plain)]:
    accuracy, speed = score(clf)
    print(f"{name:<22} accuracy {accuracy:.3f}   {speed:7.1f} texts/s")

out = args.out or tempfile.mkdtemp(prefix="student-")
student.save(out, overwrite=True)  # fewshot.json records the teacher and the distillation settings

# Serve without torch: one ONNX graph (int8 encoder) + tokenizer.json; fewshot.serving needs only
# onnxruntime and tokenizers: pip install 'fewshot[serve]' on the serving machine, no torch.
serve = args.serve_out or tempfile.mkdtemp(prefix="student-onnx-")
student.export(serve, quantize="int8", overwrite=True)
served = fewshot.serving.load(serve)
same = sum(a == b for a, b in zip(served.predict(X_test), student.predict(X_test))) / len(X_test)
print(f"ONNX int8 agrees with the student on {same:.1%} of the test texts; saved to {out}, served from {serve}")
text = X_test[0]
print(f"{text[:60]!r} -> {served.predict([text])[0]}")
