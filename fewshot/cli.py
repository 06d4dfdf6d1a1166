"""The ``fewshot`` command (also ``python -m fewshot``).

Subcommands: ``train``, ``predict``, ``evaluate``, ``suggest``, ``prelabel``, ``distill``, ``export``,
``models``, ``demo``, ``bench``, ``report``.
Run ``fewshot COMMAND --help`` for each one's options and an example.

Errors are one line on stderr, ``fewshot: error: ...``, with exit code 2, found before any model is
loaded or trained wherever the input can be checked first; Ctrl-C prints ``fewshot: interrupted``
and exits with 130, leaving no half-written folder or file. ``fewshot --traceback COMMAND ...``
shows the full Python traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

from .errors import DataError, FewshotError

QUICK_START = """\
quick start:
  fewshot demo                                   # train every strategy on the built-in data, compare
  fewshot train --strategy setfit --data train.jsonl --out models/intent
  fewshot predict models/intent --input new.txt  # one text per line, or JSONL with "text"
  fewshot evaluate models/intent --data test.jsonl
  fewshot suggest models/intent --pool unlabeled.txt --n 50 --out to_label.jsonl   # what to label next
  fewshot prelabel --labels "billing,shipping,refund" --pool unlabeled.txt --out prelabels.jsonl
  fewshot distill models/prompt --unlabeled unlabeled.txt --out models/fast       # a fast student
  fewshot export models/fast --out serve/fast --quantize int8                    # ONNX, no torch to serve
  fewshot models                                 # the offline model aliases and where they live
  fewshot bench benchmarks/smoke.toml            # compare strategies across labeled budgets
"""


class _Parser(argparse.ArgumentParser):
    """argparse with fewshot's error style: one line on stderr, exit code 2."""

    def error(self, message: str):
        self.exit(2, f"fewshot: error: {message} (see '{self.prog} --help')\n")


def whole_number(what: str, minimum: int = 0):
    """An argparse ``type`` for a whole number >= ``minimum``; ``what`` names it in the error message."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum} ({what}); got {value}")
        return value

    return parse


def positive_int(what: str):
    """An argparse ``type`` for a whole number >= 1; ``what`` names it in the error message."""
    return whole_number(what, 1)


_positive_int = positive_int("labeled examples per class")


def _seed(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**32 - 1; got {value}")
    return value


def _parse_value(raw: str):
    """``--param`` values: JSON when it parses (numbers, true/false/null, lists), else a string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _parse_params(items: list[str] | None) -> dict:
    params = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise FewshotError(f"--param {item!r} is not key=value (e.g. --param epochs=2).")
        if key.strip() in params:
            raise FewshotError(f"--param {key.strip()} is given twice; give each parameter once.")
        params[key.strip()] = _parse_value(raw.strip())
    return params


def _add_columns(p: argparse.ArgumentParser, *, label: bool = True) -> None:
    p.add_argument("--text-column", default="text", help="column holding the text (default: text)")
    p.add_argument("--text-pair-column", default="text_pair",
                   help="column holding the second text of a pair, used when present (default: text_pair)")
    if label:
        p.add_argument("--label-column", default="label", help="column holding the label (default: label)")


def _load_xy(args, split: str):
    from .datasets import read_labeled

    return read_labeled(args.data, split=split, data_dir=getattr(args, "data_dir", None),
                        text_column=args.text_column, label_column=args.label_column,
                        text_pair_column=args.text_pair_column)


def _warn(message: str) -> None:
    print(f"fewshot: warning: {message}", file=sys.stderr)


def _check_output_file(path: Path, *, overwrite: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Refuse an output file that would destroy data or cannot be written, before any work."""
    if path.is_dir():
        raise FewshotError(f"--output {path} is a folder; name a file, e.g. {path / 'predictions.jsonl'}.")
    for source in inputs:
        if source.exists() and path.exists() and path.resolve() == source.resolve():
            raise FewshotError(f"--output {path} is the input file; writing there would destroy it. Name another file.")
    if path.exists() and not overwrite:
        raise FewshotError(f"--output {path} already exists; pass --overwrite to replace it.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FewshotError(f"--output {path}: the folder {parent} does not exist.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FewshotError(f"--output {path}: the folder {parent} is not writable.")


# --------------------------------------------------------------------------- commands
def cmd_train(args) -> int:
    from ._saved_folder import check_save_target
    from .data import sample_k_shot
    from .registry import make_classifier, strategy_names

    params = _parse_params(args.param)
    if args.strategy not in strategy_names():
        raise FewshotError(f"unknown strategy {args.strategy!r}; known strategies: {', '.join(strategy_names())}.")
    if args.strategy == "token":  # NER: sentences with tags, sampled by entity mentions
        from .ner import cli as ner_cli

        return ner_cli.train(args, params, _warn)
    out = Path(args.out)
    check_save_target(out, overwrite=args.overwrite)
    X, y = _load_xy(args, "train")
    clf = make_classifier(args.strategy, **params)
    if "show_progress" in clf.get_params() and "show_progress" not in params:
        clf.set_params(show_progress=True)
    if args.k:
        if any(isinstance(lab, (list, tuple, dict)) for lab in y):
            raise DataError(f"--k samples k examples per class, but {args.data} has label lists (multi-label); "
                            "drop --k and pass the examples to train on.")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            X, y = sample_k_shot(X, y, args.k, seed=args.seed)
        for w in caught:
            _warn(str(w.message))
    started = time.perf_counter()
    clf.fit(X, y)  # validates texts, labels and parameters before any model is loaded
    seconds = time.perf_counter() - started
    clf.save(out, overwrite=args.overwrite)
    print(f"trained {args.strategy} on {len(X)} examples in {seconds:.1f} s; saved to {out} "
          f"(classes: {', '.join(map(str, clf.classes_))})")
    return 0


def cmd_predict(args) -> int:
    from .datasets import read_texts
    from .serving.predictor import is_export, read_export_meta

    exported = is_export(args.model_dir)  # an ONNX folder from `fewshot export`: needs fewshot[serve] only
    if exported:
        meta = read_export_meta(Path(args.model_dir))
    else:
        from .base import read_meta

        meta = read_meta(args.model_dir)  # a folder that is not a saved classifier fails before any loading
    output = Path(args.output) if args.output else None
    if output is not None:
        _check_output_file(output, overwrite=args.overwrite, inputs=(Path(args.input),))
    if meta.get("problem") == "token":  # NER: entities per sentence
        from .ner import cli as ner_cli

        return ner_cli.predict(args)
    X = read_texts(args.input, text_column=args.text_column, text_pair_column=args.text_pair_column)
    if exported:
        from .serving import load as load_export

        clf = load_export(args.model_dir)
    else:
        from .base import load

        clf = load(args.model_dir)
    labels = clf.predict(X)
    proba = clf.predict_proba(X)
    lines = []
    for x, label, row in zip(X, labels, proba, strict=True):
        record = {"text": x[0], "text_pair": x[1]} if isinstance(x, tuple) else {"text": x}
        record["label"] = label.item() if hasattr(label, "item") else label
        record["proba"] = {str(c): round(float(p), 6) for c, p in zip(clf.classes_, row, strict=True)}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    if output is None:
        sys.stdout.write("".join(lines))
    else:
        from ._atomic import write_text_atomic

        write_text_atomic(output, "".join(lines))
        print(f"wrote {len(lines)} predictions to {output}", file=sys.stderr)
    return 0


def cmd_evaluate(args) -> int:
    from .metrics import align_labels, evaluate, format_report
    from .serving.predictor import is_export, read_export_meta

    if is_export(args.model_dir):  # an ONNX folder from `fewshot export`: scored as it will serve
        from .serving import load

        meta = read_export_meta(Path(args.model_dir))
    else:
        from .base import load, read_meta

        meta = read_meta(args.model_dir)  # a folder that is not a saved classifier fails before any loading
    if meta.get("problem") == "token":  # NER: the seqeval table
        from .ner import cli as ner_cli

        return ner_cli.evaluate(args, meta)
    X, y = _load_xy(args, "test")
    y = align_labels(y, meta.get("problem", "single_label"), meta.get("classes") or [], args.data)
    clf = load(args.model_dir)
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
        if row["installed"]:
            status = row["state"]
        else:
            status = f"NOT INSTALLED (missing {', '.join(row['missing'])}): {row['install']}"
        size = f"{row['size_mb']} MB" if row["size_mb"] is not None else "-"
        print(f"{row['alias']:<14} {row['kind']:<21} {status}, {size}")
        print(f"{'':<14} {row['description']}")
        if row["path"]:
            print(f"{'':<14} -> {row['path']}")
        if row["terms_note"]:
            where = row["terms"] or f"in the package {row['packages'][0]}"
            print(f"{'':<14} {row['terms_note']}: {where}")
    print(f"\ncache dir: {cache_dir()}  (set FEWSHOT_CACHE to move it)")
    print("Any local model folder, or a hub id ('org/name', 'hub:name') when online, also works as --param model=...")
    return 0


def cmd_demo(args) -> int:
    from .demo.run import run_demo

    return run_demo(strategies=args.strategies, k=args.k, fast=args.fast, seed=args.seed)


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="fewshot",
        description="Few-shot text classification: train, predict, evaluate and benchmark with 8-64 labeled examples per class.",
        epilog=QUICK_START, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fewshot {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="on an error, show the full Python traceback instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name, help_, epilog):
        return sub.add_parser(name, help=help_, description=help_, epilog=epilog,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    p = add("train", "Train a classifier on a labeled file and save it to a folder.",
            "example:\n  fewshot train --strategy setfit --data train.jsonl --out models/intent --param num_iterations=10\n"
            "  fewshot train --strategy head --data sst2 --data-dir ../shared/datasets --k 16 --out models/sst2\n"
            "  fewshot train --strategy token --data train.conll --out models/ner     # NER (word ... tag columns)\n"
            "  fewshot train --strategy token --data conll2003 --data-dir ../shared/datasets --k 16 --out models/ner")
    p.add_argument("--strategy", required=True,
                   help="setfit, prompt, head, majority, ensemble (--param members=...), auto (cross-validates "
                        "setfit, prompt and head on your data and keeps the best), or token (NER: tags words)")
    p.add_argument("--data", required=True,
                   help="a JSONL/CSV/TSV file with text and label columns, or a dataset name/folder (train split)")
    p.add_argument("--data-dir", help="folder of datasets in the benchmark layout (default: $FEWSHOT_DATA_DIR)")
    p.add_argument("--out", required=True,
                   help="folder to write the trained classifier to (new, empty, or a saved classifier with --overwrite)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="a strategy parameter, repeatable; values parse as JSON when they can (epochs=2, multi_label=true)")
    p.add_argument("--k", type=_positive_int, help="sample K examples per class from the data first (K >= 1); "
                   "with --strategy token: sentences until every entity type has K mentions")
    p.add_argument("--seed", type=_seed, default=0, help="seed for --k sampling (default 0)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace --out if it holds a saved classifier (any other folder is never touched)")
    _add_columns(p)
    p.set_defaults(func=cmd_train)

    p = add("predict", "Predict labels (and probabilities) for new texts with a saved classifier.",
            "example:\n  fewshot predict models/intent --input new.txt > predictions.jsonl\n"
            "  fewshot predict serve/intent --input new.txt   # a folder from `fewshot export`: "
            "needs only pip install 'fewshot[serve]'\n"
            "input: one text per line, or .jsonl/.csv/.tsv with a text column; output: JSON lines "
            '{"text", "label", "proba"}\n'
            'a token (NER) classifier: one sentence per line, a CoNLL file or JSONL with "tokens"; output: '
            '{"text" or "tokens", "entities": [{"text", "type", "start", "end", "score"}]}')
    p.add_argument("model_dir", help="folder written by `fewshot train` or clf.save(), or by `fewshot export` (ONNX)")
    p.add_argument("--input", required=True, help="texts to classify")
    p.add_argument("--output", help="write JSON lines to this file instead of stdout (written whole or not at all)")
    p.add_argument("--overwrite", action="store_true", help="replace --output if the file exists")
    _add_columns(p, label=False)
    p.set_defaults(func=cmd_predict)

    p = add("evaluate", "Score a saved classifier on labeled data: accuracy, F1, MCC, per-class report.",
            "example:\n  fewshot evaluate models/intent --data test.jsonl\n"
            "  fewshot evaluate models/sst2 --data sst2 --data-dir ../shared/datasets   # its test split\n"
            "  fewshot evaluate serve/sst2 --data sst2   # a folder from `fewshot export`, scored as it serves")
    p.add_argument("model_dir", help="folder written by `fewshot train` or clf.save(), or by `fewshot export` (ONNX)")
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
    p.add_argument("--k", type=_positive_int, default=8, help="labeled examples per class (default 8)")
    p.add_argument("--seed", type=_seed, default=0, help="sampling and training seed (default 0)")
    p.add_argument("--fast", action="store_true", help="tiny settings: a smoke run in well under a minute")
    p.set_defaults(func=cmd_demo)

    from .bench.cli import add_parsers

    add_parsers(sub)
    from .active_cli import add_parsers as add_active_parsers

    add_active_parsers(sub)

    from .distill_cli import add_parsers as add_distill_parsers

    add_distill_parsers(sub)  # distill, export
    return parser


def _one_line(exc: BaseException | str) -> str:
    text = str(exc).strip() or type(exc).__name__
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def main(argv: list[str] | None = None) -> int:
    """Run the ``fewshot`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit code.

    0 on success, 2 for a usage or input error (one line on stderr), 130 when interrupted, 1 for an
    unexpected internal error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed in one line
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    if not getattr(args, "func", None):
        print("fewshot: error: no command given; choose one of train, predict, evaluate, suggest, prelabel, "
              "distill, export, models, demo, bench, report (see 'fewshot --help')", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if args.traceback:
            raise
        print("fewshot: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:  # an optional dependency this installation lacks (fewshot[serve] only)
        if args.traceback:
            raise
        from .errors import missing_dependency

        error = missing_dependency(exc, f"'fewshot {args.command}'")
        if error is None:
            return _unexpected(exc)
        print(f"fewshot: error: {error}", file=sys.stderr)
        return 2
    except (FewshotError, ValueError, OSError) as exc:
        if args.traceback:
            raise
        print(f"fewshot: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.traceback:
            raise
        return _unexpected(exc)


def _unexpected(exc: BaseException) -> int:
    print(f"fewshot: error: unexpected {type(exc).__name__}: {_one_line(exc)} (rerun with "
          "'fewshot --traceback ...' to see where, and report it)", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
