"""``fewshot distill`` and ``fewshot export``: a small student from a saved teacher, and an ONNX folder
that predicts without torch.

Building the parser is cheap: this module imports nothing beyond the standard library; models load
only when a command runs.
"""

from __future__ import annotations

import argparse
import sys

from .cli import positive_int

DISTILL_EPILOG = """\
examples:
  fewshot distill models/prompt-teacher --unlabeled pool.txt --out models/student
  fewshot distill models/prompt-teacher --unlabeled pool.jsonl --data train.jsonl --max-unlabeled 2000 \\
      --out models/student --student setfit --param epochs=2

The teacher (any saved classifier: a prompt LoRA, an mpnet SetFit, an ensemble) labels the unlabeled
texts (one per line, or JSONL/CSV with a text column) with its probabilities; the student (SetFit on
MiniLM by default) learns from them, plus the labeled examples of --data when given. The teacher's
probabilities are cached (in $FEWSHOT_CACHE/distill, default ~/.cache/fewshot/distill), so a second
student from the same teacher and texts does not wait for the teacher again; --no-cache turns it off.
The student's fewshot.json records the teacher and the distillation settings.
"""

EXPORT_EPILOG = """\
examples:
  fewshot export models/student --out serve/student
  fewshot export models/student --out serve/student-int8 --quantize int8

Writes model.onnx (token ids -> class probabilities), tokenizer.json and fewshot.json. Predict with
onnxruntime and tokenizers only (no torch):
  import fewshot.serving; fewshot.serving.load("serve/student").predict(["some text"])
SetFit and head classifiers and distilled students can be exported; a prompt classifier cannot
(distil it first with `fewshot distill`).
"""


def add_parsers(sub) -> None:
    """Add ``distill`` and ``export`` to the ``fewshot`` command's subparsers ``sub``."""
    fmt = argparse.RawDescriptionHelpFormatter
    text = "Train a small, fast student on a saved teacher's probabilities for unlabeled texts."
    p = sub.add_parser("distill", help=text, description=text, epilog=DISTILL_EPILOG, formatter_class=fmt)
    p.add_argument("teacher_dir", metavar="TEACHER_DIR", help="folder of a saved classifier (the teacher)")
    p.add_argument("--unlabeled", required=True, metavar="FILE",
                   help="texts without labels: one per line, or a JSONL/CSV/TSV file with a text column")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to save the student to")
    p.add_argument("--max-unlabeled", type=_positive_int, metavar="N",
                   help="label at most N texts (a seeded random sample); the teacher is the slow part")
    p.add_argument("--student", default="setfit",
                   help="the student's strategy (default: setfit, on minilm unless --param model=...)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="a student parameter, repeatable; values parse as JSON when they can (epochs=2)")
    p.add_argument("--student-pairs", type=_pairs, default=argparse.SUPPRESS, metavar="N|none",
                   help="contrastive pairs per epoch for a SetFit student that sets no max_pairs (default: "
                        "8000, fewshot.distill.STUDENT_PAIRS); 'none' keeps SetFit's own budget, 40 pairs per text")
    p.add_argument("--data", help="the labeled examples (JSONL/CSV/TSV with text and label) the student learns too")
    p.add_argument("--text-column", default="text", help="column holding the text (default: text)")
    p.add_argument("--label-column", default="label", help="column of --data holding the label (default: label)")
    p.add_argument("--seed", type=int, default=0, help="seeds the --max-unlabeled sample and the student (default 0)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the teacher-probability cache")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out if it holds a saved classifier (any other folder is never touched)")
    p.set_defaults(func=cmd_distill)

    text = "Export a saved classifier to an ONNX folder that predicts without torch."
    p = sub.add_parser("export", help=text, description=text, epilog=EXPORT_EPILOG, formatter_class=fmt)
    p.add_argument("model_dir", metavar="MODEL_DIR", help="folder of a saved setfit/head classifier or student")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write model.onnx, tokenizer.json, fewshot.json")
    p.add_argument("--format", default="onnx", choices=("onnx",), help="export format (default: onnx)")
    p.add_argument("--quantize", choices=("int8",), help="int8 weights for the encoder (default: float32)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it holds an earlier export")
    p.set_defaults(func=cmd_export)


_positive_int = positive_int("unlabeled texts to use")
_pair_count = positive_int("contrastive pairs per epoch")


def _pairs(value: str) -> int | None:
    """``--student-pairs``: a positive integer, or ``none`` (no cap: SetFit's own budget)."""
    return None if value.strip().lower() == "none" else _pair_count(value)


def cmd_distill(args) -> int:
    import time
    from pathlib import Path

    from ._saved_folder import check_save_target
    from .base import read_meta
    from .cli import _parse_params
    from .datasets import read_labeled, read_texts
    from .distill import distill
    from .registry import make_classifier

    read_meta(args.teacher_dir)  # not a saved classifier: fails before anything loads
    out = Path(args.out)
    check_save_target(out, overwrite=args.overwrite)
    params = _parse_params(args.param)
    student = make_classifier(args.student, **params)  # an unknown strategy or parameter fails here
    texts = read_texts(args.unlabeled, text_column=args.text_column)
    X = y = None
    if args.data:
        X, y = read_labeled(args.data, text_column=args.text_column, label_column=args.label_column)
    started = time.perf_counter()
    # the teacher given as its folder: loaded there, and named in the student's provenance
    # absent unless given, so distill()'s own default applies
    pairs = {"student_pairs": args.student_pairs} if "student_pairs" in vars(args) else {}
    fitted = distill(args.teacher_dir, texts, student, X=X, y=y, max_unlabeled=args.max_unlabeled, seed=args.seed,
                     cache=not args.no_cache, show_progress=True, **pairs)
    fitted.save(out, overwrite=args.overwrite)
    record = fitted.distillation_
    cached = " (teacher probabilities from the cache)" if record["cache_hit"] else ""
    print(f"distilled {read_meta(args.teacher_dir)['strategy']} -> {args.student} on {record['n_unlabeled']} "
          f"unlabeled and {record['n_labeled']} labeled texts in {time.perf_counter() - started:.1f} s{cached}; "
          f"saved to {out}")
    return 0


def cmd_export(args) -> int:
    from .base import load, read_meta
    from .serving.export import ExportError

    meta = read_meta(args.model_dir)
    if meta["strategy"] == "prompt":  # refuse before loading a decoder for nothing
        from .serving.export import _exportable
        from .strategies.prompt import PromptClassifier

        _exportable(PromptClassifier())
    if meta["strategy"] not in ("setfit", "head", "distill"):
        raise ExportError(f"{args.model_dir} holds a {meta['strategy']!r} classifier; export supports setfit and head "
                          "classifiers and distilled students.")
    clf = load(args.model_dir)
    path = clf.export(args.out, format=args.format, quantize=args.quantize, overwrite=args.overwrite)
    print(f"exported {meta['strategy']} ({'int8' if args.quantize else 'float32'}) to {path}; predict with "
          f"fewshot.serving.load({str(path)!r})", file=sys.stdout)
    return 0
