"""The ``fewshot`` command (also ``python -m fewshot``).

Subcommands: ``train``, ``predict``, ``evaluate``, ``models``, ``demo``, ``bench``, ``report``.
Run ``fewshot COMMAND --help`` for each one's options and an example.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import FewshotError

QUICK_START = """\
quick start:
  fewshot demo                                   # train every strategy on the built-in data, compare
  fewshot train --strategy setfit --data train.jsonl --out models/intent
  fewshot predict models/intent --input new.txt  # one text per line, or JSONL with "text"
  fewshot evaluate models/intent --data test.jsonl
  fewshot models                                 # the offline model aliases and where they live
  fewshot bench benchmarks/smoke.toml            # compare strategies across labeled budgets
"""


def _parse_value(raw: str):
    """``--param`` values: JSON when it parses (numbers, true/false/null, lists), else a string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _parse_params(items: list[str] | None) -> dict:
    params = {}
    for item in items or []:
        if "=" not in item:
            raise FewshotError(f"--param {item!r} is not key=value (e.g. --param epochs=2).")
        key, raw = item.split("=", 1)
        params[key.strip()] = _parse_value(raw.strip())
    return params


def _add_columns(p: argparse.ArgumentParser, *, label: bool = True) -> None:
    p.add_argument("--text-column", default="text", help="column holding the text (default: text)")
    p.add_argument("--text-pair-column", default="text_pair",
                   help="column holding the second text of a pair, used when present (default: text_pair)")
    if label:
        p.add_argument("--label-column", default="label", help="column holding the label (default: label)")


def _load_xy(args):
    from .datasets import read_labeled_file, resolve_dataset

    path = Path(args.data)
    if path.is_file():
        return read_labeled_file(path, text_column=args.text_column, label_column=args.label_column,
                                 text_pair_column=args.text_pair_column)
    ds = resolve_dataset(args.data, getattr(args, "data_dir", None))
    split = ds.train if getattr(args, "split", "train") == "train" else ds.test
    return split.X, split.y


# --------------------------------------------------------------------------- commands
def cmd_train(args) -> int:
    from .data import sample_k_shot
    from .registry import make_classifier

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise FewshotError(f"{out} already exists; pass --overwrite to replace it.")
    params = _parse_params(args.param)
    clf = make_classifier(args.strategy, **params)
    if "show_progress" in clf.get_params() and "show_progress" not in params:
        clf.set_params(show_progress=True)
    X, y = _load_xy(args)
    if args.k:
        X, y = sample_k_shot(X, y, args.k, seed=args.seed)
    print(f"training {args.strategy} on {len(X)} examples ...", file=sys.stderr)
    clf.fit(X, y)
    clf.save(out, overwrite=args.overwrite)
    print(f"saved to {out} (classes: {', '.join(map(str, clf.classes_))})")
    return 0


def cmd_predict(args) -> int:
    from .base import load
    from .datasets import read_texts

    clf = load(args.model_dir)
    X = read_texts(args.input, text_column=args.text_column, text_pair_column=args.text_pair_column)
    labels = clf.predict(X)
    proba = clf.predict_proba(X)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        for x, label, row in zip(X, labels, proba, strict=True):
            record = {"text": x[0], "text_pair": x[1]} if isinstance(x, tuple) else {"text": x}
            record["label"] = label.item() if hasattr(label, "item") else label
            record["proba"] = {str(c): round(float(p), 6) for c, p in zip(clf.classes_, row, strict=True)}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def cmd_evaluate(args) -> int:
    from .base import load
    from .metrics import evaluate, format_report

    clf = load(args.model_dir)
    args.split = "test"
    X, y = _load_xy(args)
    report = evaluate(clf, X, y)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0


def cmd_models(args) -> int:
    from .models import cache_dir, model_table

    rows = model_table()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        status = "installed" if row["installed"] else f"NOT INSTALLED ({row['install']})"
        size = f"{row['size_mb']} MB" if row["size_mb"] is not None else "-"
        print(f"{row['alias']:<14} {row['kind']:<21} {status}, {size}")
        print(f"{'':<14} {row['description']}")
        if row["path"]:
            print(f"{'':<14} -> {row['path']}")
    print(f"\ncache dir: {cache_dir()}  (set FEWSHOT_CACHE to move it)")
    print("Any local model folder, or a hub id ('org/name', 'hub:name') when online, also works as --param model=...")
    return 0


def cmd_demo(args) -> int:
    from .demo.run import run_demo

    return run_demo(strategies=args.strategies, k=args.k, fast=args.fast, seed=args.seed)


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="fewshot",
        description="Few-shot text classification: train, predict, evaluate and benchmark with 8-64 labeled examples per class.",
        epilog=QUICK_START, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fewshot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name, help_, epilog):
        return sub.add_parser(name, help=help_, description=help_, epilog=epilog,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = add("train", "Train a classifier on a labeled file and save it to a folder.",
            "example:\n  fewshot train --strategy setfit --data train.jsonl --out models/intent --param num_iterations=10\n"
            "  fewshot train --strategy head --data sst2 --data-dir ../shared/datasets --k 16 --out models/sst2")
    p.add_argument("--strategy", required=True, help="setfit, prompt, head or majority")
    p.add_argument("--data", required=True,
                   help="a JSONL/CSV/TSV file with text and label columns, or a dataset name/folder (train split)")
    p.add_argument("--data-dir", help="folder of datasets in the benchmark layout (default: $FEWSHOT_DATA_DIR)")
    p.add_argument("--out", required=True, help="folder to write the trained classifier to")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="a strategy parameter, repeatable; values parse as JSON when they can (epochs=2, multi_label=true)")
    p.add_argument("--k", type=int, help="sample K examples per class from the data first")
    p.add_argument("--seed", type=int, default=0, help="seed for --k sampling (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    _add_columns(p)
    p.set_defaults(func=cmd_train)

    p = add("predict", "Predict labels (and probabilities) for new texts with a saved classifier.",
            "example:\n  fewshot predict models/intent --input new.txt > predictions.jsonl\n"
            "input: one text per line, or .jsonl/.csv/.tsv with a text column; output: JSON lines "
            '{"text", "label", "proba"}')
    p.add_argument("model_dir", help="folder written by `fewshot train` or clf.save()")
    p.add_argument("--input", required=True, help="texts to classify")
    p.add_argument("--output", help="write JSON lines here instead of stdout")
    _add_columns(p, label=False)
    p.set_defaults(func=cmd_predict)

    p = add("evaluate", "Score a saved classifier on labeled data: accuracy, F1, MCC, per-class report.",
            "example:\n  fewshot evaluate models/intent --data test.jsonl\n"
            "  fewshot evaluate models/sst2 --data sst2 --data-dir ../shared/datasets   # its test split")
    p.add_argument("model_dir", help="folder written by `fewshot train` or clf.save()")
    p.add_argument("--data", required=True, help="a labeled JSONL/CSV/TSV file, or a dataset name/folder (test split)")
    p.add_argument("--data-dir", help="folder of datasets in the benchmark layout (default: $FEWSHOT_DATA_DIR)")
    p.add_argument("--json", action="store_true", help="print the full metrics as JSON")
    _add_columns(p)
    p.set_defaults(func=cmd_evaluate)

    p = add("models", "List the model aliases that work offline, where they resolve to, and their size.",
            "example:\n  fewshot models\n  fewshot train --strategy head --data train.jsonl --out m --param model=minilm")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=cmd_models)

    p = add("demo", "Train the strategies on the built-in support-message data and print a comparison.",
            "example:\n  fewshot demo\n  fewshot demo --strategies setfit head --k 16")
    p.add_argument("--strategies", nargs="+", default=None,
                   help="which strategies to run (default: majority setfit head prompt)")
    p.add_argument("--k", type=int, default=8, help="labeled examples per class (default 8)")
    p.add_argument("--seed", type=int, default=0, help="sampling and training seed (default 0)")
    p.add_argument("--fast", action="store_true", help="tiny settings: a smoke run in well under a minute")
    p.set_defaults(func=cmd_demo)

    from .bench.cli import add_parsers

    add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (FewshotError, ValueError, FileExistsError, FileNotFoundError) as exc:
        print(f"fewshot {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
