"""``fewshot suggest`` and ``fewshot prelabel``: which texts to label next, and model-assisted labels.

Building the parser is cheap: this module imports nothing beyond the standard library; the model
and :mod:`fewshot.active` load only when a command runs. Output files are written whole or not at
all, and an existing file is only replaced with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path

from .cli import positive_int, whole_number
from .errors import FewshotError

FORMATS = ("jsonl", "csv", "label-studio")
#: The Label Studio control names the label-studio format refers to: a labeling config with
#: ``<Text name="text" value="$text"/>`` and ``<Choices name="label" toName="text">``.
LS_FROM_NAME, LS_TO_NAME = "label", "text"

SUGGEST_EPILOG = """\
examples:
  fewshot suggest models/intent --pool unlabeled.txt --n 50 --out to_label.jsonl
  fewshot suggest models/intent --pool unlabeled.txt --labeled train.jsonl --n 50 --out next.jsonl
  fewshot suggest models/intent --pool unlabeled.jsonl --n 50 --method margin --out batch.csv
  fewshot suggest models/intent --pool unlabeled.txt --n 50 --format label-studio --out tasks.json
  fewshot suggest --labels "billing,shipping,refund" --pool unlabeled.txt --n 30 --out first.jsonl

Methods: badge (the default up to 20 classes: uncertain and diverse in one step), hybrid (the
default above 20 classes: the most uncertain texts, one per cluster of them), margin, entropy,
least_confidence, kmeans, coreset, random; with --labels (no model yet) a cold start: a zero-shot
prompt classifier proposes a label for every text and the suggestion covers every class.
Near-duplicate texts are collapsed first.
Give --labeled (the texts the model was trained on): they are left out. With it and --method hybrid,
--warmup N (off by default) makes hybrid pick typical texts of the pool regions no labeled text
covers yet while fewer than N texts per class are labeled, since a model trained on a handful of
labels is a poor judge of what is uncertain.
Output: one row per text with its pool index, the model's guess and confidence (jsonl, csv, or
Label Studio's JSON import: tasks with the guess as a prediction; the format follows from --out's
suffix, .csv or .json, unless --format says otherwise).
"""

PRELABEL_EPILOG = """\
examples:
  fewshot prelabel models/intent --pool unlabeled.txt --out prelabels.jsonl
  fewshot prelabel models/intent --pool unlabeled.txt --out sure.csv --min-confidence 0.9
  fewshot prelabel --labels "billing,shipping,refund" --pool unlabeled.txt --out review.json

Every text gets the model's label and confidence, least confident first, so a person reviews the
doubtful ones; --min-confidence keeps only labels at or above it (to accept in bulk).
"""


def add_parsers(sub) -> None:
    """Add ``suggest`` and ``prelabel`` to the ``fewshot`` command's subparsers ``sub``."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("suggest", help="Pick the unlabeled texts most worth labeling next.",
                       description="Pick the N texts of an unlabeled pool most worth a person's time, each "
                       "with the model's guess and confidence.", epilog=SUGGEST_EPILOG, formatter_class=fmt)
    _common(p)
    p.add_argument("--n", required=True, type=_count, help="how many texts to suggest")
    p.add_argument("--method", default=None,
                   help="badge (the default up to 20 classes), hybrid (the default above), margin, entropy, "
                        "least_confidence, kmeans, coreset, random; cold (the default with --labels)")
    p.add_argument("--labeled", help="a file of texts already labeled (any format --pool takes): they and "
                                     "their near-duplicates are left out")
    p.add_argument("--warmup", type=_warmup, default=None, metavar="N",
                   help="hybrid with --labeled: below N labeled texts per class, pick representative texts "
                        "instead of uncertain ones (default 0: never; e.g. 14)")
    p.add_argument("--features", choices=("auto", "embeddings", "tfidf"), default="auto",
                   help="what diversity methods cluster: the model's embeddings when it has them (auto), "
                        "or TF-IDF vectors of the texts")
    p.add_argument("--seed", type=int, default=0, help="seed of ties, clustering and random sampling (default 0)")
    p.set_defaults(func=cmd_suggest)

    p = sub.add_parser("prelabel", help="Label every pool text with a model, least confident first.",
                       description="Write the model's label and confidence for every text of a pool, least "
                       "confident first, for a person to review or accept in bulk.",
                       epilog=PRELABEL_EPILOG, formatter_class=fmt)
    _common(p)
    p.add_argument("--min-confidence", type=_fraction, help="keep only labels with at least this confidence (0-1)")
    p.set_defaults(func=cmd_prelabel)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("model_dir", nargs="?", metavar="MODEL_DIR",
                   help="folder written by `fewshot train` or clf.save() (or give --labels instead)")
    p.add_argument("--labels", help='no model yet: comma-separated label names for a zero-shot prompt '
                                    'classifier, e.g. "billing,shipping,refund"')
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="with --labels: a parameter of the zero-shot PromptClassifier (model=..., template=...)")
    p.add_argument("--pool", required=True,
                   help="the unlabeled texts: one per line, or .jsonl/.csv/.tsv with a text column")
    p.add_argument("--out", required=True, help="file to write (written whole or not at all)")
    p.add_argument("--format", choices=FORMATS,
                   help="jsonl, csv or label-studio (default: from --out's suffix: .csv, .json, else jsonl)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if the file exists")
    p.add_argument("--text-column", default="text", help="column holding the text (default: text)")


_count = positive_int("texts to suggest")


_warmup = whole_number("labels per class", 0)


def _fraction(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1; got {value}")
    return value


# --------------------------------------------------------------------------- checks before any work
def _output(args) -> tuple[Path, str]:
    out = Path(args.out)
    if out.is_dir():
        raise FewshotError(f"--out {out} is a folder; name a file, e.g. {out / 'to_label.jsonl'}.")
    pool = Path(args.pool)
    if pool.exists() and out.exists() and out.resolve() == pool.resolve():
        raise FewshotError(f"--out {out} is the --pool file; writing there would destroy it. Name another file.")
    if out.exists() and not args.overwrite:
        raise FewshotError(f"--out {out} already exists; pass --overwrite to replace it.")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise FewshotError(f"--out {out}: the folder {parent} does not exist.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FewshotError(f"--out {out}: the folder {parent} is not writable.")
    fmt = args.format or {".csv": "csv", ".json": "label-studio"}.get(out.suffix.lower(), "jsonl")
    return out, fmt


def _model(args):
    """``(classifier or None, label names or None, model version)``, checked before loading."""
    from .cli import _parse_params

    params = _parse_params(args.param)
    if args.model_dir and args.labels:
        raise FewshotError("give MODEL_DIR or --labels, not both (--labels builds a zero-shot classifier).")
    if not args.model_dir and not args.labels:
        raise FewshotError("give a trained model folder (MODEL_DIR) or --labels \"a,b,c\" for a zero-shot start.")
    if params and not args.labels:
        raise FewshotError("--param configures the zero-shot classifier of --labels; a saved model keeps its own.")
    if args.labels:
        from .active import _label_names

        return None, _label_names(args.labels), params
    from .base import read_meta

    meta = read_meta(args.model_dir)  # not a saved classifier: fails before anything is loaded
    if meta.get("problem", "single_label") != "single_label":
        raise FewshotError(f"{args.model_dir} is a {meta.get('problem')} classifier; suggest and prelabel need a "
                           "single-label one.")
    return args.model_dir, None, {"strategy": meta.get("strategy")}


def _pool(path, text_column: str, what: str = "--pool") -> list[str]:
    from .datasets import read_texts
    from .errors import DataError

    if not Path(path).is_file():
        raise DataError(f"{what} {path} does not exist (or is not a file).")
    texts = read_texts(path, text_column=text_column)
    if texts and isinstance(texts[0], tuple):
        raise DataError(f"{what} {path} holds text pairs; suggest and prelabel take single texts.")
    return texts


def _load(model_dir, names, params):
    if names is not None:
        from .active import zero_shot_classifier

        return zero_shot_classifier(names, **params), "fewshot-zero-shot-prompt"
    from .base import load

    return load(model_dir), f"fewshot-{params.get('strategy') or 'model'}:{Path(model_dir).name}"


# --------------------------------------------------------------------------- commands
def cmd_suggest(args) -> int:
    from .active import get_method, suggest

    out, fmt = _output(args)
    model_dir, names, params = _model(args)
    # unset: cold with --labels, else the default for the model's number of classes (suggest decides)
    method = args.method or ("cold" if names is not None else None)
    if method is not None:
        get_method(method)  # an unknown method lists the known ones, before any loading
    if args.warmup is not None and method != "hybrid":
        raise FewshotError("--warmup applies to --method hybrid; " + (
            f"got --method {method}." if method else "pass --method hybrid with it."))
    pool = _pool(args.pool, args.text_column)
    labeled = _pool(args.labeled, args.text_column, "--labeled") if args.labeled else ()
    if args.n > len(pool):
        raise FewshotError(f"--n {args.n} is larger than the pool ({len(pool)} texts in {args.pool}).")
    clf, version = _load(model_dir, names, params)
    options = {} if args.warmup is None else {"warmup": args.warmup}
    rows = suggest(clf, pool, args.n, method, labeled=labeled, seed=args.seed, features=args.features, **options)
    records = [s.to_dict() for s in rows]
    _write(out, fmt, records, version)
    how = f"method {rows.method}" + (f", diversity over {rows.features}" if rows.features else "")
    print(f"wrote {len(records)} suggestions to {out} ({fmt}; {how})", file=sys.stderr)
    return 0


def cmd_prelabel(args) -> int:
    from .active import prelabel

    out, fmt = _output(args)
    model_dir, names, params = _model(args)
    pool = _pool(args.pool, args.text_column)
    clf, version = _load(model_dir, names, params)
    rows = prelabel(clf, pool, min_confidence=args.min_confidence)
    records = [r.to_dict() for r in rows]
    _write(out, fmt, records, version)
    kept = f" ({len(pool) - len(records)} below --min-confidence {args.min_confidence} left out)" \
        if args.min_confidence is not None else ""
    print(f"wrote {len(records)} labels to {out}, least confident first{kept}", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------- output formats
def format_records(records: list[dict], fmt: str, model_version: str = "fewshot") -> str:
    """``records`` (dicts with ``index``, ``text``, ``label``, ``confidence``, ...) as file text.

    ``"jsonl"``: one JSON object per line. ``"csv"``: a header and one row per record.
    ``"label-studio"``: Label Studio's JSON import, a list of tasks with the model's label as a
    prediction (see the comment in the code for the reference).
    """
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if fmt == "csv":
        buf = io.StringIO()
        fields = list(records[0]) if records else ["index", "text", "label", "confidence"]
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return buf.getvalue()
    if fmt == "label-studio":
        # Label Studio's "Basic Label Studio JSON format" for importing pre-annotated tasks
        # (https://labelstud.io/guide/predictions): a list of tasks, each a "data" object holding the
        # text and a "predictions" list of {"model_version", "score", "result"}, where a result of a
        # <Choices name="label" toName="text"> control is {"from_name": "label", "to_name": "text",
        # "type": "choices", "value": {"choices": [LABEL]}}. "score" lets Label Studio's Data Manager
        # sort tasks by the model's confidence.
        tasks = []
        for r in records:
            task: dict = {"data": {"text": r["text"], "pool_index": r["index"]}}
            if r.get("label") is not None:
                task["predictions"] = [{
                    "model_version": model_version,
                    "score": r.get("confidence"),
                    "result": [{"from_name": LS_FROM_NAME, "to_name": LS_TO_NAME, "type": "choices",
                                "value": {"choices": [str(r["label"])]}}],
                }]
            tasks.append(task)
        return json.dumps(tasks, indent=1, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")


def _write(out: Path, fmt: str, records: list[dict], model_version: str) -> None:
    from ._atomic import write_text_atomic

    write_text_atomic(out, format_records(records, fmt, model_version))
