"""Turning user input into validated texts and labels; k-shot sampling; dataset folders and files.

Everything here is plain Python and numpy: importing it imports neither torch nor ``datasets``.

Example::

    from fewshot.data import load_dataset_folder, sample_k_shot

    ds = load_dataset_folder("../shared/datasets/sst2")
    X, y = sample_k_shot(ds.train.X, ds.train.y, k=8, seed=0)
"""

from __future__ import annotations

import csv
import json
import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError

DATA_DIR_ENV = "FEWSHOT_DATA_DIR"


# --------------------------------------------------------------------------- input validation
def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _to_list(X: Any, what: str) -> list:
    if isinstance(X, (str, bytes)):
        raise DataError(f"{what} must be a list of texts, not a single string; wrap it: [{X!r}].")
    if hasattr(X, "columns") and hasattr(X, "itertuples"):  # pandas DataFrame
        cols = list(X.columns)
        if len(cols) == 1:
            return list(X[cols[0]])
        if len(cols) == 2:
            return [tuple(row) for row in X.itertuples(index=False, name=None)]
        raise DataError(
            f"{what} is a DataFrame with {len(cols)} columns {cols}; pass one text column, or two for "
            "(text, text_pair) pairs."
        )
    if hasattr(X, "tolist") and not isinstance(X, list):  # numpy array, pandas Series
        arr = np.asarray(X, dtype=object)
        if arr.ndim == 2 and arr.shape[1] == 2:
            return [tuple(row) for row in arr.tolist()]
        if arr.ndim != 1:
            raise DataError(f"{what} must be one-dimensional (or n x 2 for pairs); got shape {arr.shape}.")
        return arr.tolist()
    if isinstance(X, Iterable):
        return list(X)
    raise DataError(f"{what} must be a list of texts; got {type(X).__name__}.")


def as_inputs(X: Any, *, allow_pairs: bool = True) -> list:
    """Validate classifier input: a non-empty list of ``str`` or ``(text, text_pair)`` tuples.

    Accepts lists, tuples, numpy arrays, pandas Series/DataFrames (two columns = pairs) and
    ``datasets`` columns. Raises :class:`~fewshot.errors.DataError` naming the first bad item.
    """
    items = _to_list(X, "X")
    if not items:
        raise DataError("X is empty; pass at least one text.")
    out: list = []
    kind = None
    for i, item in enumerate(items):
        if isinstance(item, (list, tuple)) and not isinstance(item, str):
            if len(item) != 2:
                raise DataError(f"X[{i}] is a sequence of {len(item)} items; pairs must be (text, text_pair).")
            if not allow_pairs:
                raise DataError(f"X[{i}] is a (text, text_pair) pair, but this strategy takes single texts.")
            for j, part in enumerate(item):
                _check_text(part, f"X[{i}][{j}]")
            this, value = "pair", (item[0], item[1])
        else:
            _check_text(item, f"X[{i}]")
            this, value = "text", item
        if kind is None:
            kind = this
        elif kind != this:
            raise DataError(f"X mixes single texts and (text, text_pair) pairs (X[{i}] is a {this}); use one kind.")
        out.append(value)
    return out


def _check_text(value: Any, where: str) -> None:
    if _is_missing(value):
        raise DataError(f"{where} is missing ({value!r}); drop or fill empty texts before fitting or predicting.")
    if not isinstance(value, str):
        raise DataError(f"{where} is a {type(value).__name__} ({value!r}); texts must be strings.")


def is_pairs(X: Sequence) -> bool:
    """Whether validated input ``X`` holds ``(text, text_pair)`` pairs."""
    return bool(X) and isinstance(X[0], tuple)


def as_targets(y: Any, problem: str = "single_label") -> list:
    """Validate labels: str/int labels, label lists for multi-label, numbers for regression."""
    labels = _to_list(y, "y") if not (hasattr(y, "ndim") and getattr(y, "ndim", 1) == 2) else None
    if labels is None:  # 2-D indicator matrix for multi-label
        raise DataError("y is a 2-D array; pass multi-label targets as a list of label lists, e.g. [['a'], ['a', 'b']].")
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
    if not isinstance(_plain(label), (str, int)) or isinstance(label, bool):
        raise DataError(f"{where} is a {type(label).__name__} ({label!r}); labels must be strings or ints.")


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


# --------------------------------------------------------------------------- datasets
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


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno} is not valid JSON ({exc.msg}).") from None
    return rows


def _read_table(path: Path) -> list[dict]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def read_records(path) -> list[dict]:
    """Rows of a ``.jsonl``/``.json`` (one object per line), ``.csv`` or ``.tsv`` file as dicts."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return _read_jsonl(path)
    if suffix in (".csv", ".tsv"):
        return _read_table(path)
    raise DataError(f"{path}: unsupported file type {suffix!r}; use .jsonl, .csv or .tsv.")


def records_to_xy(
    rows: list[dict],
    *,
    text_column: str = "text",
    label_column: str | None = "label",
    text_pair_column: str | None = "text_pair",
    source: str = "data",
) -> tuple[list, list | None]:
    """Pull texts (pairs when ``text_pair_column`` is present) and labels out of record dicts."""
    if not rows:
        raise DataError(f"{source} has no rows.")
    columns = set(rows[0])
    needed = [text_column] + ([label_column] if label_column else [])
    missing = [c for c in needed if c not in columns]
    if missing:
        raise DataError(
            f"{source} has no column(s) {', '.join(map(repr, missing))}; its columns are "
            f"{', '.join(map(repr, sorted(columns)))}. Name the columns with --text-column/--label-column."
        )
    pairs = bool(text_pair_column) and text_pair_column in columns
    X = [(r[text_column], r[text_pair_column]) if pairs else r[text_column] for r in rows]
    y = [r[label_column] for r in rows] if label_column else None
    return X, y


def read_labeled_file(path, *, text_column="text", label_column="label", text_pair_column="text_pair"):
    """``(X, y)`` from a JSONL/CSV/TSV file with a text column and a label column."""
    X, y = records_to_xy(read_records(path), text_column=text_column, label_column=label_column,
                         text_pair_column=text_pair_column, source=str(path))
    return X, y


def read_texts(path, *, text_column="text", text_pair_column="text_pair") -> list:
    """Inputs to predict: a JSONL/CSV/TSV file with a text column, or any other file as one text per line."""
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson", ".csv", ".tsv"):
        X, _ = records_to_xy(read_records(path), text_column=text_column, label_column=None,
                             text_pair_column=text_pair_column, source=str(path))
        return X
    if not path.is_file():
        raise DataError(f"input file {path} does not exist.")
    return [line.rstrip("\n") for line in open(path, encoding="utf-8") if line.strip()]


def load_dataset_folder(path) -> Dataset:
    """A dataset folder in the benchmark layout: ``train.jsonl``, ``test.jsonl``, optional
    ``validation.jsonl`` (``{"text", "label"}`` rows, optional ``text_pair``) and ``dataset.json``."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"dataset folder {folder} does not exist.")
    for required in ("train.jsonl", "test.jsonl"):
        if not (folder / required).is_file():
            raise DataError(f"dataset folder {folder} has no {required}; expected train.jsonl and test.jsonl.")
    info = {}
    if (folder / "dataset.json").is_file():
        info = json.loads((folder / "dataset.json").read_text())

    def split(name: str) -> Split | None:
        file = folder / f"{name}.jsonl"
        if not file.is_file():
            return None
        X, y = records_to_xy(_read_jsonl(file), source=str(file))
        return Split(X, y)

    train, test = split("train"), split("test")
    labels = info.get("labels") or sorted(set(train.y) | set(test.y), key=str)
    return Dataset(
        name=info.get("name", folder.name), train=train, test=test, validation=split("validation"),
        labels=labels, metric=info.get("metric", "accuracy"), task=info.get("task", ""), info=info,
    )


def load_hub_dataset(
    name: str, *, config: str | None = None, text_column: str = "text", label_column: str = "label",
    text_pair_column: str | None = None, train_split: str = "train", test_split: str = "test",
) -> Dataset:
    """A dataset from the Hugging Face hub through ``datasets.load_dataset`` (needs network).

    Integer labels of a ``ClassLabel`` column become their names.
    """
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is a dependency
        raise DataError("loading a hub dataset needs the 'datasets' package.") from exc
    try:
        dsd = datasets.load_dataset(name, config)
    except Exception as exc:
        raise DataError(
            f"could not load dataset {name!r} from the hub ({type(exc).__name__}: {exc}). Offline? Use a local "
            f"folder in the benchmark layout, or set {DATA_DIR_ENV}."
        ) from exc

    def split(part: str) -> Split:
        if part not in dsd:
            raise DataError(f"hub dataset {name!r} has no split {part!r}; it has {list(dsd)}.")
        return Split(*from_hf_dataset(dsd[part], text_column=text_column, label_column=label_column,
                                      text_pair_column=text_pair_column))

    train, test = split(train_split), split(test_split)
    return Dataset(name=name, train=train, test=test, labels=sorted(set(train.y), key=str), info={"hub": name})


def from_hf_dataset(ds, *, text_column="text", label_column="label", text_pair_column=None) -> tuple[list, list]:
    """``(X, y)`` from a ``datasets.Dataset``, mapping ``ClassLabel`` ids to their names."""
    missing = [c for c in (text_column, label_column, text_pair_column) if c and c not in ds.column_names]
    if missing:
        raise DataError(f"dataset has no column(s) {missing}; its columns are {ds.column_names}.")
    texts = list(ds[text_column])
    X = list(zip(texts, ds[text_pair_column], strict=True)) if text_pair_column else texts
    y = list(ds[label_column])
    feature = ds.features.get(label_column)
    if hasattr(feature, "int2str"):
        y = [feature.int2str(int(v)) for v in y]
    return X, y


def default_data_dir() -> Path | None:
    """The benchmark datasets folder from ``FEWSHOT_DATA_DIR``, or None when unset."""
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else None


def resolve_dataset(spec: str, data_dir=None) -> Dataset:
    """Find a dataset by name: ``demo`` (or ``demo:intent|csat|tags|pairs``), a folder path, a
    folder name under ``data_dir``/``FEWSHOT_DATA_DIR``, or ``hub:<id>`` for a hub dataset."""
    if spec == "demo" or spec.startswith("demo:"):
        from .demo import load_demo

        return load_demo(spec.split(":", 1)[1] if ":" in spec else "intent")
    if spec.startswith("hub:"):
        return load_hub_dataset(spec[4:])
    as_path = Path(spec)
    if as_path.is_dir():
        return load_dataset_folder(as_path)
    base = Path(data_dir) if data_dir else default_data_dir()
    if base is not None and (base / spec).is_dir():
        return load_dataset_folder(base / spec)
    where = f"under {base}" if base else f"(no --data-dir given and {DATA_DIR_ENV} is unset)"
    known = sorted(p.name for p in base.iterdir() if (p / "train.jsonl").is_file()) if base and base.is_dir() else []
    hint = f" Datasets there: {', '.join(known)}." if known else ""
    raise DataError(
        f"unknown dataset {spec!r}: not a folder, not found {where}.{hint} Use 'demo', a folder path, "
        "a name under the data dir, or 'hub:<id>' for a hub dataset."
    )
