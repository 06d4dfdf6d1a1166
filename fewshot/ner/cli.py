"""The NER side of the ``fewshot`` command: ``train --strategy token``, and ``predict`` /
``evaluate`` of a saved token classifier. :mod:`fewshot.cli` hands these cases over here.

Data: a CoNLL column file (``word ... tag``, a blank line between sentences), a JSONL file of
``{"tokens", "tags"}`` lines, or a NER dataset folder/name (``conll2003`` under ``--data-dir``).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

from ..errors import DataError


def read_tagged(spec: str, *, split: str, data_dir=None, tag_scheme: str = "IOB2") -> tuple[list, list]:
    """``(sentences, IOB2 tags)`` from a token file or one split of a NER dataset folder."""
    from ..datasets import resolve_dataset
    from .data import read_token_file

    path = Path(spec).expanduser()
    if path.is_file():
        return read_token_file(path, tag_scheme=tag_scheme)
    ds = resolve_dataset(spec, data_dir)
    part = getattr(ds, split, None)
    if part is None:
        raise DataError(f"dataset {spec!r} has no {split!r} split.")
    if ds.metric != "entity_f1" or not part.X or not isinstance(part.X[0], list):
        raise DataError(f"dataset {spec!r} is not a NER dataset (its rows are texts with labels, not tokens with "
                        "tags); the token strategy needs a CoNLL file, JSONL with tokens/tags, or a NER folder.")
    return part.X, part.y


def train(args, params: dict, warn) -> int:
    from .._saved_folder import check_save_target
    from ..registry import make_classifier
    from .data import mention_counts, sample_k_mentions

    out = Path(args.out)
    check_save_target(out, overwrite=args.overwrite)
    clf = make_classifier("token", **params)
    clf._check_params()
    X, y = read_tagged(args.data, split="train", data_dir=args.data_dir, tag_scheme=clf.tag_scheme)
    if "show_progress" not in params:
        clf.set_params(show_progress=True)
    if args.k:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            X, y = sample_k_mentions(X, y, args.k, seed=args.seed)
        for w in caught:
            warn(str(w.message))
    started = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - started
    clf.save(out, overwrite=args.overwrite)
    counts = ", ".join(f"{kind} {n}" for kind, n in sorted(mention_counts(y).items()))
    print(f"trained token on {len(X)} sentences ({counts} mentions) in {seconds:.1f} s; saved to {out} "
          f"(entity types: {', '.join(clf.entity_types_)})")
    return 0


def read_sentences(path) -> list:
    """Sentences to tag: a token file (word lists), else one raw sentence per line (or a JSONL/CSV text column)."""
    from ..datasets import read_texts
    from .data import CONLL_SUFFIXES, is_token_file, read_token_jsonl

    path = Path(path)
    if path.suffix.lower() in CONLL_SUFFIXES:
        return _read_conll_words(path)
    if is_token_file(path):
        rows = read_token_jsonl(path) if _has_tags(path) else _read_token_lines(path)
        return rows[0] if isinstance(rows, tuple) else rows
    return read_texts(path)


def _has_tags(path: Path) -> bool:
    first = next(line for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip())
    return "tags" in json.loads(first)


def _read_token_lines(path: Path) -> list:
    out = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if line.strip():
            tokens = json.loads(line).get("tokens")
            if not isinstance(tokens, list):
                raise DataError(f"{path} line {lineno}: 'tokens' must be a list of words.")
            out.append(tokens)
    return out


def _read_conll_words(path: Path) -> list:
    """Words of a CoNLL file with or without a tag column (the first column is the word)."""
    sentences, words = [], []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        columns = line.split()
        if not columns or columns[0] == "-DOCSTART-":
            if words:
                sentences.append(words)
                words = []
            continue
        words.append(columns[0])
    if words:
        sentences.append(words)
    if not sentences:
        raise DataError(f"{path} holds no sentences.")
    return sentences


def predict(args) -> int:
    from ..base import load

    X = read_sentences(args.input)
    clf = load(args.model_dir)
    lines = []
    for x, tags, entities in zip(X, clf.predict(X), clf.predict_entities(X), strict=True):
        record = {"text": x} if isinstance(x, str) else {"tokens": list(x), "tags": tags}
        record["entities"] = [{**e, "score": round(e["score"], 6)} for e in entities]
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    if args.output is None:
        sys.stdout.write("".join(lines))
    else:
        from .._atomic import write_text_atomic

        write_text_atomic(Path(args.output), "".join(lines))
        print(f"wrote entities of {len(lines)} sentences to {args.output}", file=sys.stderr)
    return 0


def evaluate(args, meta: dict) -> int:
    from ..base import load
    from ..metrics import entity_metrics, format_entity_report

    scheme = (meta.get("params") or {}).get("tag_scheme", "IOB2")
    X, y = read_tagged(args.data, split="test", data_dir=args.data_dir, tag_scheme=scheme)
    clf = load(args.model_dir)
    report = entity_metrics(y, clf.predict(X))
    print(json.dumps(report, indent=2) if args.json else format_entity_report(report))
    return 0
