"""User input -> validated texts, pairs and labels; k-shot sampling; the ``Dataset`` container.

Everything here is plain Python and numpy: importing it imports neither torch nor ``datasets``,
and nothing above it (named data sources - dataset folders, ``demo:...``, files, hub ids - live in
:mod:`fewshot.datasets`).

What counts as a text (checked before any work, the error naming the index, e.g. ``X[3]``):
a ``str`` that is valid Unicode (no lone surrogates such as ``"\\ud800"``) and holds at least one
non-whitespace character. ``None``/NaN, bytes, numbers and nested lists are refused in ``fit``
and in ``predict`` alike. Empty or whitespace-only texts are refused in ``fit`` (they carry
nothing to learn from: drop such rows or fill them first); ``predict`` answers them like any other
text (``allow_empty=True``), so one blank message never fails a batch being served.

Example::

    from fewshot.data import as_inputs, sample_k_shot

    X = as_inputs(["refund please", "where is my parcel?", "charged twice"])  # validated texts
    X1, y1 = sample_k_shot(X, ["billing", "delivery", "billing"], k=1, seed=0)  # 1 per class, seeded
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DataError

#: The DataFrame columns ``as_inputs`` reads: the text, and the second text of a pair.
TEXT_COLUMN, TEXT_PAIR_COLUMN = "text", "text_pair"


# --------------------------------------------------------------------------- input validation
def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")  # pandas.NA, pandas.NaT


def _columns_hint(cols: list) -> str:
    return (
        f"pass X=df[{TEXT_COLUMN!r}] for single texts, or a DataFrame with exactly the columns "
        f"{TEXT_COLUMN!r} and {TEXT_PAIR_COLUMN!r} for (text, text_pair) pairs (rename yours with "
        f"df.rename(columns={{...}})); the columns found are {cols}"
    )


def _dataframe_inputs(X: Any, what: str) -> list:
    cols = list(X.columns)
    if len(cols) == 1:
        return list(X[cols[0]])
    if what == "X" and set(cols) == {TEXT_COLUMN, TEXT_PAIR_COLUMN} and len(cols) == 2:
        return list(zip(X[TEXT_COLUMN], X[TEXT_PAIR_COLUMN], strict=True))
    if what == "X":
        raise DataError(f"X is a DataFrame with {len(cols)} columns, and fewshot will not guess which is "
                        f"the text: {_columns_hint(cols)}.")
    raise DataError(f"{what} is a DataFrame with {len(cols)} columns {cols}; pass one column, e.g. df['label'].")


def _to_list(X: Any, what: str) -> list:
    if isinstance(X, (str, bytes)):
        kind = "string" if isinstance(X, str) else "bytes value"
        raise DataError(f"{what} must be a list of {'texts' if what == 'X' else 'labels'}, not a single {kind}; "
                        f"wrap it: [{_short(X)}].")
    if hasattr(X, "columns") and hasattr(X, "itertuples"):  # pandas DataFrame
        return _dataframe_inputs(X, what)
    if hasattr(X, "column_names") and hasattr(X, "features"):  # a whole datasets.Dataset
        raise DataError(f"{what} is a datasets.Dataset with columns {X.column_names}; pass one column, "
                        f"e.g. ds[{'text' if what == 'X' else 'label'!r}].")
    if isinstance(X, Mapping):
        raise DataError(f"{what} is a {type(X).__name__} with keys {list(X)[:5]}; pass a list "
                        f"(e.g. data[{'text' if what == 'X' else 'label'!r}]), not the mapping itself.")
    if isinstance(X, AbstractSet):
        raise DataError(f"{what} is a {type(X).__name__}, which has no order; pass a list so texts and labels line up.")
    if hasattr(X, "tolist") and not isinstance(X, list):  # numpy array, pandas Series
        arr = np.asarray(X, dtype=object)
        if arr.ndim == 2 and arr.shape[1] == 2:
            return [tuple(row) for row in arr.tolist()]
        if arr.ndim != 1:
            raise DataError(f"{what} must be one-dimensional (or n x 2 for pairs); got shape {arr.shape}.")
        return arr.tolist()
    if isinstance(X, Iterable):
        return list(X)
    raise DataError(f"{what} must be a list; got {type(X).__name__} ({X!r}).")


def as_inputs(X: Any, *, allow_pairs: bool = True, allow_empty: bool = False) -> list:
    """Validate classifier input: a non-empty list of texts or of ``(text, text_pair)`` tuples.

    Accepts lists, tuples, numpy arrays (n x 2 for pairs), pandas Series, a pandas DataFrame with one
    column (texts) or with exactly the columns ``text`` and ``text_pair`` (pairs), and ``datasets``
    columns. Any other DataFrame is refused (two arbitrary columns are often text and label, and
    the label must never become the second text).

    Every text must be a ``str`` of valid Unicode with at least one non-whitespace character; with
    ``allow_empty=True`` empty and whitespace-only texts pass. Raises
    :class:`~fewshot.errors.DataError` naming the first bad item, e.g. ``X[3] is missing (None)``.

    Example::

        as_inputs(["great!", "awful"])                   # ['great!', 'awful']
        as_inputs([("is it cheap?", "yes, 5 EUR")])      # [('is it cheap?', 'yes, 5 EUR')]
    """
    items = _to_list(X, "X")
    if not items:
        raise DataError("X is empty; pass at least one text.")
    out: list = []
    kind = None
    for i, item in enumerate(items):
        if isinstance(item, (list, tuple)):
            if len(item) != 2:
                raise DataError(f"X[{i}] is a sequence of {len(item)} items; X holds texts, or (text, text_pair) "
                                "pairs of exactly two texts.")
            if not allow_pairs:
                raise DataError(f"X[{i}] is a (text, text_pair) pair, but this strategy takes single texts.")
            for j, part in enumerate(item):
                check_text(part, f"X[{i}][{j}]", allow_empty=allow_empty)
            this, value = "pair", (item[0], item[1])
        else:
            check_text(item, f"X[{i}]", allow_empty=allow_empty)
            this, value = "text", item
        if kind is None:
            kind = this
        elif kind != this:
            raise DataError(f"X mixes single texts and (text, text_pair) pairs (X[{i}] is a {this}); use one kind.")
        out.append(value)
    return out


def check_text(value: Any, where: str, *, allow_empty: bool = False) -> None:
    """Raise :class:`~fewshot.errors.DataError` unless ``value`` is a usable text; ``where`` names it
    in the message (``"X[3]"``, ``"train.jsonl line 7, 'text'"``)."""
    if _is_missing(value):
        raise DataError(f"{where} is missing ({value!r}); drop or fill missing texts before fitting or predicting.")
    if isinstance(value, (bytes, bytearray)):
        raise DataError(f"{where} is bytes ({value[:40]!r}); decode it to a string first, e.g. value.decode('utf-8').")
    if not isinstance(value, str):
        raise DataError(f"{where} is a {type(value).__name__} ({_short(value)}); texts must be strings.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DataError(
            f"{where} is not valid Unicode: it holds a lone surrogate {value[exc.start]!r} at character {exc.start} "
            "(a broken escape such as '\\ud83d' without its pair, or bytes decoded with errors='surrogateescape'); "
            "repair or drop that text."
        ) from None
    if not allow_empty and not value.strip():
        what = "empty" if not value else f"whitespace only ({value!r})"
        raise DataError(f"{where} is {what}; a text must have at least one visible character. Drop such rows "
                        "(or fill them) before fitting or predicting.")


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_pairs(X: Sequence) -> bool:
    """Whether validated input ``X`` holds ``(text, text_pair)`` pairs."""
    return bool(X) and isinstance(X[0], tuple)


def as_targets(y: Any, problem: str = "single_label") -> list:
    """Validate labels: str/int labels, label lists for multi-label, numbers for regression.

    ``problem`` is ``"single_label"``, ``"multi_label"`` or ``"regression"``. Raises
    :class:`~fewshot.errors.DataError` naming the first bad label, e.g. ``y[2] is missing (None)``.

    Example::

        as_targets(["pos", "neg"])                               # ['pos', 'neg']
        as_targets([["billing"], ["billing", "urgent"]], "multi_label")
    """
    if hasattr(y, "columns") and hasattr(y, "itertuples"):  # pandas DataFrame
        labels = _dataframe_inputs(y, "y")
    elif getattr(y, "ndim", 1) == 2:  # e.g. a 2-D indicator matrix
        raise DataError(f"y is a 2-D array of shape {y.shape}; pass one label per text (a 1-D list), or for "
                        "multi-label a list of label lists, e.g. [['a'], ['a', 'b']].")
    else:
        labels = _to_list(y, "y")
    if not labels:
        raise DataError("y is empty; pass one label per text.")
    for i, lab in enumerate(labels):
        if problem == "multi_label":
            if isinstance(lab, str) or not isinstance(lab, Iterable):
                raise DataError(f"y[{i}] is {lab!r}; multi-label targets are lists of labels, e.g. ['billing', 'urgent'].")
            for sub in lab:
                _check_label(sub, f"y[{i}]")
        elif problem == "regression":
            if isinstance(lab, bool) or not isinstance(lab, (int, float, np.integer, np.floating)) or _is_missing(lab):
                raise DataError(f"y[{i}] is {lab!r}; regression targets must be numbers (e.g. CSAT 1-5).")
        else:
            _check_label(lab, f"y[{i}]")
    if problem == "multi_label":
        labels = [list(dict.fromkeys(row)) for row in labels]
    elif problem == "single_label":
        kinds = {type(_plain(lab)) for lab in labels}
        if len(kinds) > 1:
            raise DataError(f"y mixes label types ({', '.join(sorted(k.__name__ for k in kinds))}); use all strings or all ints.")
        labels = [_plain(lab) for lab in labels]
    return labels


def _plain(label: Any) -> Any:
    return label.item() if isinstance(label, np.generic) else label


def _check_label(label: Any, where: str) -> None:
    if _is_missing(label):
        raise DataError(f"{where} is missing ({label!r}); every text needs a label.")
    plain = _plain(label)
    if not isinstance(plain, (str, int)) or isinstance(plain, bool):
        hint = ""
        if isinstance(plain, float) and plain.is_integer():
            hint = " (a column of ints with gaps reads as floats: convert it, e.g. y.astype(int))"
        elif isinstance(plain, (list, tuple, set)):
            hint = " (label lists are multi-label targets: use multi_label=True, or --param multi_label=true)"
        raise DataError(f"{where} is a {type(label).__name__} ({_short(label)}); labels must be strings or ints{hint}.")
    if isinstance(plain, str) and not plain.strip():
        raise DataError(f"{where} is an empty label ({label!r}); every text needs a label.")


# --------------------------------------------------------------------------- k-shot sampling
def k_shot_indices(labels: Sequence, k: int, seed: int, *, warn: bool = True) -> np.ndarray:
    """Indices of ``k`` examples per class, drawn with ``random_state=seed``.

    The examples are shuffled once with the seed and the first ``k`` of each class kept (the SetFit
    paper's protocol); a class with fewer than ``k`` keeps all it has, with a warning. The returned
    indices are in shuffled order, so classes are interleaved.
    """
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer (examples per class); got {k!r}.")
    labels = np.asarray([_plain(x) for x in labels], dtype=object)
    order = np.random.RandomState(seed).permutation(len(labels))
    taken: dict[Any, int] = {}
    keep = []
    for idx in order:
        lab = labels[idx]
        if taken.get(lab, 0) < k:
            taken[lab] = taken.get(lab, 0) + 1
            keep.append(idx)
    short = {lab: n for lab, n in taken.items() if n < k}
    if short and warn:
        detail = ", ".join(f"{lab!r}: {n}" for lab, n in sorted(short.items(), key=lambda t: str(t[0])))
        warnings.warn(f"fewer than k={k} examples for some classes; using all they have ({detail}).", stacklevel=2)
    return np.asarray(keep, dtype=np.int64)


def sample_k_shot(X: Sequence, y: Sequence, k: int, seed: int = 0) -> tuple[list, list]:
    """``k`` examples per class from ``(X, y)``, seeded; returns ``(X_k, y_k)`` lists.

    Example::

        X8, y8 = sample_k_shot(texts, labels, k=8, seed=0)
    """
    X, y = list(X), list(y)
    if len(X) != len(y):
        raise DataError(f"X has {len(X)} items but y has {len(y)}; they must be the same length.")
    idx = k_shot_indices(y, k, seed)
    return [X[i] for i in idx], [y[i] for i in idx]


def subsample(X: Sequence, y: Sequence, n: int | None, seed: int = 0) -> tuple[list, list]:
    """A fixed, seeded subsample of ``n`` rows (all rows when ``n`` is None or larger)."""
    X, y = list(X), list(y)
    if n is None or n >= len(X):
        return X, y
    idx = np.sort(np.random.RandomState(seed).choice(len(X), size=n, replace=False))
    return [X[i] for i in idx], [y[i] for i in idx]


# --------------------------------------------------------------------------- the Dataset container
@dataclass
class Split:
    """One split of a dataset: inputs ``X`` (texts or pairs) and labels ``y``."""

    X: list
    y: list

    def __len__(self) -> int:
        return len(self.X)


@dataclass
class Dataset:
    """A labeled dataset: ``train``/``test`` (and maybe ``validation``) splits plus its metadata."""

    name: str
    train: Split
    test: Split
    validation: Split | None = None
    labels: list = field(default_factory=list)
    metric: str = "accuracy"
    task: str = ""
    info: dict = field(default_factory=dict)
