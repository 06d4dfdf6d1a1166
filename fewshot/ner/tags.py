"""Tag sequences for named-entity recognition: IOB2 checks, IOB1 conversion, entity spans, the
tag set of a model and constrained (Viterbi) decoding.

IOB2 (also called BIO): every entity starts with ``B-TYPE`` and continues with ``I-TYPE``; words
outside any entity are ``O``. IOB1 (the original CoNLL-2003 files) uses ``I-TYPE`` for the first
word too and ``B-TYPE`` only where two entities of one type touch.

Entity spans are read strictly, as seqeval's strict IOB2 mode reads them (the score NER tables
quote): an entity is a ``B-X`` followed by any ``I-X``; an ``I-X`` that follows ``O`` or another
type starts nothing and is dropped.

Plain Python and numpy: importing this module imports no torch.

Example::

    from fewshot.ner.tags import entity_spans, iob1_to_iob2

    entity_spans(["B-PER", "I-PER", "O", "B-LOC"])   # [('PER', 0, 2), ('LOC', 3, 4)]
    iob1_to_iob2(["I-PER", "I-PER", "O", "I-LOC"])   # ['B-PER', 'I-PER', 'O', 'B-LOC']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..errors import DataError

TAG_SCHEMES = ("IOB2", "IOB1")
OUTSIDE = "O"
_TAG = re.compile(r"^([BI])-(\S.*)$")
_OTHER_SCHEMES = re.compile(r"^([ESLU])-(\S.*)$")


def parse_tag(tag: str, where: str = "tag") -> tuple[str, str | None]:
    """``("B", "PER")`` for ``"B-PER"``, ``("O", None)`` for ``"O"``; anything else is a DataError."""
    if not isinstance(tag, str):
        raise DataError(f"{where} is a {type(tag).__name__} ({tag!r}); tags are strings such as 'B-PER', "
                        "'I-PER' or 'O'.")
    if tag == OUTSIDE:
        return OUTSIDE, None
    match = _TAG.match(tag)
    if match:
        return match.group(1), match.group(2)
    if _OTHER_SCHEMES.match(tag):
        raise DataError(f"{where} is {tag!r}, a tag of the BIOES/BILOU scheme; fewshot reads IOB2 (B-X, I-X, O) "
                        "or IOB1 (tag_scheme='IOB1'). Convert the tags to IOB2 first (S-X -> B-X, E-X -> I-X).")
    raise DataError(f"{where} is {tag!r}, which is not a tag of a known scheme; expected IOB2 tags: 'O', or "
                    "'B-' / 'I-' followed by the entity type (e.g. 'B-PER', 'I-PER').")


def check_iob2(tags: Sequence[str], where: str = "y") -> None:
    """Raise :class:`~fewshot.errors.DataError` unless ``tags`` is a valid IOB2 sequence.

    Valid: every ``I-X`` follows a ``B-X`` or ``I-X`` of the same type. The message names the
    position and says how to read IOB1 data.
    """
    previous: str | None = None
    for i, tag in enumerate(tags):
        prefix, kind = parse_tag(tag, f"{where}[{i}]")
        if prefix == "I" and previous != kind:
            before = "the start of the sentence" if i == 0 else f"{tags[i - 1]!r}"
            raise DataError(
                f"{where}[{i}] is {tag!r} after {before}: not valid IOB2, where every entity starts with "
                f"'B-{kind}'. If the data is IOB1 (the original CoNLL-2003 files), pass tag_scheme='IOB1' "
                "(--param tag_scheme=IOB1) and it is converted; otherwise fix the tag."
            )
        previous = kind


def iob1_to_iob2(tags: Sequence[str], where: str = "y") -> list[str]:
    """IOB1 tags as IOB2: an ``I-X`` that starts an entity becomes ``B-X``; the rest is unchanged."""
    out: list[str] = []
    previous: str | None = None
    for i, tag in enumerate(tags):
        prefix, kind = parse_tag(tag, f"{where}[{i}]")
        if prefix == "I" and previous != kind:
            out.append(f"B-{kind}")
        else:
            out.append(tag)
        previous = kind
    return out


def to_iob2(tags: Sequence[str], scheme: str, where: str = "y") -> list[str]:
    """``tags`` in ``scheme`` (``"IOB2"`` or ``"IOB1"``) as checked IOB2 tags."""
    if scheme == "IOB1":
        return iob1_to_iob2(tags, where)
    if scheme == "IOB2":
        check_iob2(tags, where)
        return list(tags)
    raise ValueError(f"unknown tag scheme {scheme!r}; fewshot reads {', '.join(TAG_SCHEMES)}.")


def entity_types(tag_sequences: Sequence[Sequence[str]]) -> list[str]:
    """The entity types named in the tags, sorted."""
    return sorted({tag[2:] for tags in tag_sequences for tag in tags if tag != OUTSIDE})


def tag_set(types: Sequence[str]) -> list[str]:
    """The tags a model predicts for ``types``: ``O`` first, then ``B-X``, ``I-X`` per type."""
    out = [OUTSIDE]
    for kind in types:
        out += [f"B-{kind}", f"I-{kind}"]
    return out


def entity_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entities of an IOB2 tag sequence as ``(type, start, end)`` word positions (``end`` exclusive).

    Strict reading (seqeval's strict IOB2 mode): ``B-X`` starts an entity, following ``I-X`` extend
    it; an ``I-X`` after ``O`` or after another type is not part of any entity.
    """
    spans = []
    kind, start = None, 0
    for i, tag in enumerate(list(tags) + [OUTSIDE]):
        prefix, this = (OUTSIDE, None) if tag == OUTSIDE else (tag[0], tag[2:])
        if kind is not None and not (prefix == "I" and this == kind):
            spans.append((kind, start, i))
            kind = None
        if prefix == "B":
            kind, start = this, i
    return spans


def allowed_transitions(tags: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(start, trans)`` boolean masks of IOB2: which tag may open a sentence (``O`` or ``B-X``) and
    which may follow which (``I-X`` only after ``B-X`` or ``I-X``)."""
    parsed = [(OUTSIDE, None) if t == OUTSIDE else (t[0], t[2:]) for t in tags]
    start = np.array([p != "I" for p, _ in parsed])
    trans = np.ones((len(tags), len(tags)), dtype=bool)
    for j, (pj, kj) in enumerate(parsed):
        if pj == "I":
            for i, (_, ki) in enumerate(parsed):
                trans[i, j] = ki == kj
    return start, trans


def viterbi(proba: np.ndarray, tags: Sequence[str]) -> list[int]:
    """The likeliest valid IOB2 path through per-word tag probabilities ``proba`` ``(n_words, n_tags)``.

    Maximises the sum of log probabilities over the paths :func:`allowed_transitions` permits, so
    the result never holds an ``I-X`` after ``O`` or after another type.
    """
    proba = np.asarray(proba, dtype=np.float64)
    if len(proba) == 0:
        return []
    start, trans = allowed_transitions(tags)
    log_p = np.log(np.clip(proba, 1e-12, 1.0))
    penalty = np.where(trans, 0.0, -np.inf)
    score = np.where(start, log_p[0], -np.inf)
    back = np.zeros(proba.shape, dtype=np.int64)
    for t in range(1, len(proba)):
        total = score[:, None] + penalty
        back[t] = np.argmax(total, axis=0)
        score = total[back[t], np.arange(len(tags))] + log_p[t]
    path = [int(np.argmax(score))]
    for t in range(len(proba) - 1, 0, -1):
        path.append(int(back[t, path[-1]]))
    return path[::-1]


__all__ = [
    "OUTSIDE", "TAG_SCHEMES", "allowed_transitions", "check_iob2", "entity_spans", "entity_types",
    "iob1_to_iob2", "parse_tag", "tag_set", "to_iob2", "viterbi",
]
