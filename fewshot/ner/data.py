"""NER input: sentences (word lists or raw strings), tag sequences, CoNLL column files, JSONL
``{"tokens", "tags"}`` files, NER dataset folders, and few-shot sampling by entity mentions.

Plain Python and numpy: importing this module imports no torch.

Example::

    from fewshot.ner.data import read_token_file, sample_k_mentions

    X, y = read_token_file("train.conll")        # token ... tag, a blank line between sentences
    X16, y16 = sample_k_mentions(X, y, k=16, seed=0)   # >= 16 mentions of every entity type
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import _is_missing, _short, _to_list, check_text
from ..errors import DataError
from .tags import TAG_SCHEMES, entity_spans, parse_tag, to_iob2

#: Suffixes read as JSON lines of ``{"tokens": [...], "tags": [...]}``; any other file is CoNLL columns.
JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
#: Suffixes that name a CoNLL column file.
CONLL_SUFFIXES = (".conll", ".conllu", ".iob", ".iob2", ".bio", ".col", ".tags")

_WORD = re.compile(r"\w+(?:[-'’.]\w+)*|\S")


@dataclass(frozen=True)
class Sentence:
    """One input sentence: its words, and for a raw string the text and each word's character span."""

    words: tuple[str, ...]
    text: str | None = None
    offsets: tuple[tuple[int, int], ...] | None = None


def split_words(text: str) -> list[tuple[str, int, int]]:
    """Split a raw string into words and punctuation, keeping each one's character offsets.

    Words are runs of letters and digits (joined across ``-``, ``'`` and inner ``.``, so
    ``"1996-08-22"``, ``"don't"`` and ``"U.S"`` stay whole); every other visible character is a word
    of its own. Offsets are ``(start, end)`` with ``text[start:end] == word``.

    Example::

        split_words("Anna flew to New York.")
        # [('Anna', 0, 4), ('flew', 5, 9), ('to', 10, 12), ('New', 13, 16), ('York', 17, 21), ('.', 21, 22)]
    """
    return [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def as_sentences(X, *, allow_empty: bool = False) -> list[Sentence]:
    """Validate NER input: a non-empty list of sentences, each a list of words or a raw string.

    Words must be strings with a visible character (a word is one token of the sentence, as in a
    CoNLL file); a raw string is split with :func:`split_words`. An empty sentence (``[]`` or a
    blank string) is a :class:`~fewshot.errors.DataError` naming it, unless ``allow_empty``
    (prediction: it gets no tags). One list mixes no kinds.
    """
    items = _to_list(X, "X")
    if not items:
        raise DataError("X is empty; pass at least one sentence (a list of words, or a string).")
    out: list[Sentence] = []
    kind = None
    for i, item in enumerate(items):
        if isinstance(item, str):
            check_text(item, f"X[{i}]", allow_empty=True)
            parts = split_words(item)
            this = "raw strings"
            sentence = Sentence(tuple(w for w, _, _ in parts), item, tuple((s, e) for _, s, e in parts))
        elif isinstance(item, (list, tuple)) or (hasattr(item, "tolist") and not isinstance(item, (bytes, str))):
            words = list(item.tolist() if hasattr(item, "tolist") else item)
            for j, word in enumerate(words):
                check_text(word, f"X[{i}][{j}]")
            this = "word lists"
            sentence = Sentence(tuple(words))
        elif _is_missing(item):
            raise DataError(f"X[{i}] is missing ({item!r}); a sentence is a list of words or a string.")
        else:
            raise DataError(f"X[{i}] is a {type(item).__name__} ({_short(item)}); a sentence is a list of words "
                            "(e.g. ['Anna', 'lives', 'in', 'Paris']) or a string.")
        if kind is None:
            kind = this
        elif kind != this:
            raise DataError(f"X mixes word lists and raw strings (X[{i}] is one of the {this}); use one kind.")
        if not sentence.words and not allow_empty:
            raise DataError(f"X[{i}] is an empty sentence (no words); drop it before fitting.")
        out.append(sentence)
    return out


def as_tag_sequences(y, sentences: Sequence[Sentence], scheme: str = "IOB2") -> list[list[str]]:
    """Validate ``y``: one tag list per sentence, one tag per word, in ``scheme``; returns IOB2 tags.

    Errors name the sentence and position: lengths that differ, a tag of no known scheme
    (``"PER"``, ``"S-PER"``), an ``I-X`` that starts an entity in IOB2 data.
    """
    if scheme not in TAG_SCHEMES:
        raise ValueError(f"tag_scheme must be one of {', '.join(TAG_SCHEMES)}; got {scheme!r}.")
    rows = _to_list(y, "y")
    if len(rows) != len(sentences):
        raise DataError(f"X has {len(sentences)} sentences but y has {len(rows)} tag lists; they must be the same "
                        "length.")
    out = []
    for i, (tags, sentence) in enumerate(zip(rows, sentences, strict=True)):
        if isinstance(tags, str) or not isinstance(tags, (list, tuple)) and not hasattr(tags, "tolist"):
            raise DataError(f"y[{i}] is {_short(tags)}; each sentence needs a list of tags, one per word "
                            "(e.g. ['B-PER', 'O', 'O', 'B-LOC']).")
        tags = list(tags.tolist() if hasattr(tags, "tolist") else tags)
        if len(tags) != len(sentence.words):
            shown = f" (words {list(sentence.words)[:8]}{' ...' if len(sentence.words) > 8 else ''})"
            raise DataError(f"sentence {i} has {len(sentence.words)} words but y[{i}] has {len(tags)} tags{shown}; "
                            "give exactly one tag per word.")
        out.append(to_iob2(tags, scheme, f"y[{i}]"))
    return out


# --------------------------------------------------------------------------- files
def _read_text(path: Path) -> str:
    from ..datasets import _decode

    return _decode(path)


def read_conll(path, *, tag_scheme: str = "IOB2") -> tuple[list[list[str]], list[list[str]]]:
    """Sentences and IOB2 tags of a CoNLL column file: ``token ... tag`` per line (columns split on
    tabs or spaces, the token first and the tag last), a blank line between sentences, and
    ``-DOCSTART-`` lines skipped. A line with one column, or with another number of columns than
    the file's first line, is a :class:`~fewshot.errors.DataError` naming its line number; so is a
    tag of no known scheme. IOB1 files are converted with ``tag_scheme="IOB1"``.

    Example::

        X, y = read_conll("eng.train", tag_scheme="IOB1")
    """
    path = Path(path)
    X: list[list[str]] = []
    y: list[list[str]] = []
    lines_of: list[int] = []
    words: list[str] = []
    tags: list[str] = []
    width = None
    first_line = 0

    def flush():
        if words:
            X.append(list(words))
            y.append(list(tags))
            lines_of.append(first_line)
            words.clear()
            tags.clear()

    for lineno, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            flush()
            continue
        columns = line.split()
        if columns[0] == "-DOCSTART-":
            flush()
            continue
        if len(columns) < 2:
            raise DataError(f"{path} line {lineno} is {_short(line)}: one column, but a CoNLL line needs the word and "
                            "its tag separated by a space or tab (e.g. 'Paris B-LOC'); a blank line ends a sentence.")
        if width is None:
            width = len(columns)
        elif len(columns) != width:
            raise DataError(f"{path} line {lineno} has {len(columns)} columns but the file's first line has {width}; "
                            "every line must have the same columns (word ... tag).")
        parse_tag(columns[-1], f"{path} line {lineno}: the tag")
        if not words:
            first_line = lineno
        words.append(columns[0])
        tags.append(columns[-1])
    flush()
    if not X:
        raise DataError(f"{path} holds no sentences (expected 'word tag' lines, a blank line between sentences).")
    return X, [to_iob2(t, tag_scheme, f"{path} line {n}: the sentence's tags")
               for t, n in zip(y, lines_of, strict=True)]


def read_token_jsonl(path, *, tag_scheme: str = "IOB2", tokens_key: str = "tokens",
                     tags_key: str = "tags") -> tuple[list[list[str]], list[list[str]]]:
    """Sentences and IOB2 tags of a JSONL file of ``{"tokens": [...], "tags": [...]}`` lines.

    Every problem is a :class:`~fewshot.errors.DataError` naming the line: bad JSON, a missing
    field, tokens and tags of different lengths, an empty sentence, a tag of no known scheme.
    """
    path = Path(path)
    X, y = [], []
    for lineno, line in enumerate(_read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path} line {lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where} is not valid JSON ({exc.msg}); each line must be one object such as "
                            '{"tokens": ["Paris"], "tags": ["B-LOC"]}.') from None
        if not isinstance(row, dict) or tokens_key not in row or tags_key not in row:
            keys = ", ".join(map(repr, row)) if isinstance(row, dict) else type(row).__name__
            raise DataError(f"{where} needs the fields {tokens_key!r} and {tags_key!r} (found: {keys}).")
        tokens, tags = row[tokens_key], row[tags_key]
        if not isinstance(tokens, list) or not isinstance(tags, list):
            raise DataError(f"{where}: {tokens_key!r} and {tags_key!r} must be lists.")
        if not tokens:
            raise DataError(f"{where} is an empty sentence (no tokens); drop the line.")
        if len(tokens) != len(tags):
            raise DataError(f"{where} has {len(tokens)} tokens but {len(tags)} tags; give one tag per token.")
        for j, word in enumerate(tokens):
            check_text(word, f"{where}, token {j}")
        X.append(tokens)
        y.append(to_iob2(tags, tag_scheme, f"{where}, tags"))
    if not X:
        raise DataError(f"{path} holds no sentences.")
    return X, y


def is_token_file(path) -> bool:
    """Whether ``path`` is a token-level (NER) file: a CoNLL suffix, or JSON lines whose first row has ``tokens``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CONLL_SUFFIXES:
        return True
    if suffix in JSON_SUFFIXES and path.is_file():
        try:
            with open(path, encoding="utf-8-sig") as fh:  # the first row decides; the file is read later
                for line in fh:
                    if line.strip():
                        row = json.loads(line)
                        return isinstance(row, dict) and "tokens" in row and "text" not in row
        except (UnicodeDecodeError, json.JSONDecodeError):
            return False  # the reader of the file reports the problem with its line
    return False


def read_token_file(path, *, tag_scheme: str = "IOB2") -> tuple[list[list[str]], list[list[str]]]:
    """``(sentences, tags)`` of a JSONL ``tokens``/``tags`` file or, for any other suffix, a CoNLL file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"file not found: {path}")
    if path.suffix.lower() in JSON_SUFFIXES:
        return read_token_jsonl(path, tag_scheme=tag_scheme)
    return read_conll(path, tag_scheme=tag_scheme)


def is_token_folder(folder, info: dict | None = None) -> bool:
    """Whether a dataset folder holds NER data: ``dataset.json`` says so (``metric`` ``entity_f1``, a
    ``tag_scheme``, or a ``task`` naming token classification), or its train rows have ``tokens``."""
    info = info or {}
    task = str(info.get("task", "")).lower()
    if info.get("metric") == "entity_f1" or "tag_scheme" in info or "token" in task or "ner" in task.split():
        return True
    return is_token_file(Path(folder) / "train.jsonl")


def load_token_split(folder, split: str, info: dict | None = None):
    """``(sentences, tags)`` of ``split`` (``train``, ``validation``, ``test``) of a NER folder, or None."""
    file = Path(folder) / f"{split}.jsonl"
    if not file.is_file():
        return None
    scheme = str((info or {}).get("tag_scheme", "IOB2")).upper()
    if scheme in ("BIO", "IOB"):
        scheme = "IOB2"
    if scheme not in TAG_SCHEMES:
        raise DataError(f"{Path(folder) / 'dataset.json'}: tag_scheme {scheme!r} is not one fewshot reads "
                        f"({', '.join(TAG_SCHEMES)}).")
    return read_token_jsonl(file, tag_scheme=scheme)


# --------------------------------------------------------------------------- few-shot sampling
def mention_counts(y: Sequence[Sequence[str]]) -> dict[str, int]:
    """Entity mentions per type in IOB2 tag sequences."""
    counts: dict[str, int] = {}
    for tags in y:
        for kind, _, _ in entity_spans(tags):
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def k_mention_indices(y: Sequence[Sequence[str]], k: int, seed: int = 0, *, warn: bool = True) -> np.ndarray:
    """Sentences drawn greedily until every entity type has at least ``k`` mentions, seeded.

    The greedy protocol of few-shot NER (Yang & Katiyar 2020; Few-NERD): sentences are shuffled
    with ``seed``; types are served rarest first, and for each type sentences holding it are taken
    in shuffled order until it reaches ``k`` mentions (mentions of other types in a taken sentence
    count for them too). A type with fewer than ``k`` mentions in all keeps them all, with a warning.
    Returns indices in the order they were drawn.
    """
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer (mentions per entity type); got {k!r}.")
    spans = [mention_counts([tags]) for tags in y]
    totals = mention_counts(y)
    if not totals:
        raise DataError("the data has no entities (every tag is 'O'); few-shot sampling needs entity mentions.")
    order = np.random.RandomState(seed).permutation(len(spans))
    have = dict.fromkeys(totals, 0)
    taken: list[int] = []
    used = set()
    for kind in sorted(totals, key=lambda t: (totals[t], t)):
        for idx in order:
            if have[kind] >= k:
                break
            if idx in used or kind not in spans[idx]:
                continue
            used.add(idx)
            taken.append(int(idx))
            for other, n in spans[idx].items():
                have[other] += n
    short = {kind: n for kind, n in have.items() if n < k}
    if short and warn:
        detail = ", ".join(f"{kind!r}: {n}" for kind, n in sorted(short.items()))
        warnings.warn(f"fewer than k={k} mentions for some entity types; using all they have ({detail}).",
                      stacklevel=2)
    return np.asarray(taken, dtype=np.int64)


def sample_k_mentions(X: Sequence, y: Sequence, k: int, seed: int = 0) -> tuple[list, list]:
    """Sentences with at least ``k`` mentions of every entity type (see :func:`k_mention_indices`).

    Example::

        X16, y16 = sample_k_mentions(sentences, tags, k=16, seed=0)
    """
    X, y = list(X), [list(t) for t in y]
    if len(X) != len(y):
        raise DataError(f"X has {len(X)} sentences but y has {len(y)} tag lists; they must be the same length.")
    idx = k_mention_indices(y, k, seed)
    return [X[i] for i in idx], [y[i] for i in idx]


__all__ = [
    "CONLL_SUFFIXES", "JSON_SUFFIXES", "Sentence", "as_sentences", "as_tag_sequences", "is_token_file",
    "is_token_folder", "k_mention_indices", "load_token_split", "mention_counts", "read_conll",
    "read_token_file", "read_token_jsonl", "sample_k_mentions", "split_words",
]
