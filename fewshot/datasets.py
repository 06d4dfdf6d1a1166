"""Named data sources: labeled files, dataset folders, the built-in demo data and hub datasets.

This module sits above :mod:`fewshot.data` (validation, sampling, the ``Dataset`` container) and
:mod:`fewshot.demo`; neither imports it. Importing it imports neither torch nor ``datasets``.

- :func:`read_labeled_file` / :func:`read_texts`: ``.jsonl``, ``.json``, ``.csv`` and ``.tsv`` files
  (UTF-8, with or without a byte-order mark); every problem names the file and the line.
- :func:`load_dataset_folder`: the benchmark layout (``train.jsonl``, ``test.jsonl``, optional
  ``validation.jsonl`` and ``dataset.json``).
- :func:`resolve_dataset`: ``demo`` / ``demo:TASK``, a folder, a name under ``FEWSHOT_DATA_DIR`` or
  ``hub:<id>``; :func:`read_labeled` also takes a labeled file, as the command line does.

Example::

    from fewshot.datasets import read_labeled_file, resolve_dataset

    X, y = read_labeled_file("train.csv", text_column="message", label_column="intent")
    ds = resolve_dataset("sst2", data_dir="../shared/datasets")
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from .data import Dataset, Split, check_text
from .demo import load_demo
from .errors import DataError

DATA_DIR_ENV = "FEWSHOT_DATA_DIR"

#: File suffixes read as records (one object per row); anything else is read as one text per line.
RECORD_SUFFIXES = (".jsonl", ".json", ".ndjson", ".csv", ".tsv")

#: A spec that ends like this names a file, never a dataset.
_FILE_SUFFIXES = (*RECORD_SUFFIXES, ".txt", ".xlsx", ".xls", ".parquet")


# --------------------------------------------------------------------------- files
def _decode(path: Path) -> str:
    """The text of ``path`` as UTF-8 (a leading byte-order mark is dropped)."""
    if not path.exists():
        raise DataError(f"file not found: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder; pass a file (.jsonl, .csv, .tsv or one text per line).")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path} line {line} is not UTF-8 text (byte {raw[exc.start]:#04x}); save the file as UTF-8 "
            "(e.g. 'UTF-8' in your spreadsheet's CSV export)."
        ) from None


def _jsonl_records(path: Path, text: str) -> list[tuple[str, dict]]:
    stripped = text.lstrip()
    if path.suffix.lower() == ".json" and stripped.startswith("["):  # one JSON array of objects
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} line {exc.lineno} is not valid JSON ({exc.msg}).") from None
        located = [(f"{path} item {i}", item) for i, item in enumerate(items, 1)]
    else:
        located = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                located.append((f"{path} line {lineno}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path} line {lineno} is not valid JSON ({exc.msg}); each line must be one "
                                'object such as {"text": "...", "label": "..."}.') from None
    for where, item in located:
        if not isinstance(item, dict):
            raise DataError(f"{where} is a JSON {type(item).__name__}, not an object with named fields "
                            '(e.g. {"text": "...", "label": "..."}).')
    return located


def _table_records(path: Path, text: str) -> list[tuple[str, dict]]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return []
        header = [name.strip() for name in header]
        located = []
        for row in reader:
            lineno = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise DataError(
                    f"{path} line {lineno} has {len(row)} fields but the header has {len(header)} "
                    f"({', '.join(header)}); quote texts that contain {'tabs' if delimiter == chr(9) else 'commas'}."
                )
            located.append((f"{path} line {lineno}", dict(zip(header, row, strict=False))))
    except csv.Error as exc:
        raise DataError(f"{path} line {reader.line_num} is not valid {'TSV' if delimiter == chr(9) else 'CSV'} ({exc}).") from None
    return located


def _located_records(path) -> list[tuple[str, dict]]:
    """``(where, row)`` for every row of a record file; ``where`` reads ``"FILE line N"``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in RECORD_SUFFIXES:
        if not path.exists():
            raise DataError(f"file not found: {path}")
        raise DataError(f"{path}: unsupported file type {suffix!r}; use .jsonl, .json, .csv or .tsv.")
    text = _decode(path)
    if suffix in (".csv", ".tsv"):
        return _table_records(path, text)
    return _jsonl_records(path, text)


def read_records(path) -> list[dict]:
    """Rows of a ``.jsonl``/``.json`` (one object per line, or one array), ``.csv`` or ``.tsv`` file.

    Files are read as UTF-8 (a byte-order mark, as spreadsheets write, is fine). Raises
    :class:`~fewshot.errors.DataError` naming the file and line: not found, not UTF-8, bad JSON, ...
    """
    return [row for _, row in _located_records(path)]


def _located_xy(
    located: list[tuple[str, dict]], *, text_column: str, label_column: str | None,
    text_pair_column: str | None, source: str,
) -> tuple[list, list | None]:
    if not located:
        raise DataError(f"{source} has no rows.")
    pairs = bool(text_pair_column) and any(text_pair_column in row for _, row in located)
    needed = [text_column] + ([text_pair_column] if pairs else []) + ([label_column] if label_column else [])
    X, y = [], []
    for where, row in located:
        for column in needed:
            if column not in row:
                keys = ", ".join(map(repr, row)) or "none"
                raise DataError(
                    f"{where} has no {column!r} field (its fields: {keys}). Name the columns with "
                    "--text-column/--label-column (text_column=/label_column= in Python)."
                )
        text = row[text_column]
        check_text(text, f"{where}, {text_column!r}")
        if pairs:
            check_text(row[text_pair_column], f"{where}, {text_pair_column!r}")
            X.append((text, row[text_pair_column]))
        else:
            X.append(text)
        if label_column:
            label = row[label_column]
            if label is None or (isinstance(label, str) and not label.strip()):
                raise DataError(f"{where} has an empty {label_column!r} ({label!r}); every text needs a label.")
            y.append(label)
    return X, (y if label_column else None)


def records_to_xy(
    rows: list[dict],
    *,
    text_column: str = "text",
    label_column: str | None = "label",
    text_pair_column: str | None = "text_pair",
    source: str = "data",
) -> tuple[list, list | None]:
    """Texts (pairs when any row has ``text_pair_column``) and labels out of record dicts.

    Every row must have the text (and label) column; a problem names the row, e.g.
    ``data row 7 has no 'label' value``.
    """
    located = [(f"{source} row {i}", row) for i, row in enumerate(rows, 1)]
    return _located_xy(located, text_column=text_column, label_column=label_column,
                       text_pair_column=text_pair_column, source=source)


def read_labeled_file(path, *, text_column="text", label_column="label", text_pair_column="text_pair"):
    """``(X, y)`` from a JSONL/JSON/CSV/TSV file with a text column and a label column.

    A ``text_pair`` column, when present, makes ``X`` a list of ``(text, text_pair)`` pairs. A
    missing column, an empty text or label, bad JSON or a non-UTF-8 byte is a
    :class:`~fewshot.errors.DataError` naming the file and line.

    Example::

        X, y = read_labeled_file("train.jsonl")          # {"text": ..., "label": ...} per line
    """
    return _located_xy(_located_records(path), text_column=text_column, label_column=label_column,
                       text_pair_column=text_pair_column, source=str(path))


def read_texts(path, *, text_column="text", text_pair_column="text_pair") -> list:
    """Inputs to predict: a JSONL/JSON/CSV/TSV file with a text column, or any other file as one
    text per line (blank lines skipped).

    Example::

        X = read_texts("new.txt")
    """
    path = Path(path)
    if path.suffix.lower() in RECORD_SUFFIXES:
        located = _located_records(path)
        if not located:
            raise DataError(f"{path} has no rows to predict (the file is empty).")
        X, _ = _located_xy(located, text_column=text_column, label_column=None,
                           text_pair_column=text_pair_column, source=str(path))
        return X
    texts = []
    for lineno, line in enumerate(_decode(path).splitlines(), 1):
        if line.strip():
            check_text(line, f"{path} line {lineno}")
            texts.append(line)
    if not texts:
        raise DataError(f"{path} has no texts to predict (the file is empty or only blank lines).")
    return texts


# --------------------------------------------------------------------------- dataset folders
def load_dataset_folder(path) -> Dataset:
    """A dataset folder in the benchmark layout: ``train.jsonl``, ``test.jsonl``, optional
    ``validation.jsonl`` (``{"text", "label"}`` rows, optional ``text_pair``) and ``dataset.json``.
    A NER folder (``dataset.json`` with ``metric`` ``entity_f1`` or a ``tag_scheme``, or ``{"tokens",
    "tags"}`` rows) gives word lists and IOB2 tag lists (IOB1 converted), metric ``entity_f1``.

    Example::

        ds = load_dataset_folder("../shared/datasets/sst2")
        ds.train.X[:2], ds.labels, ds.metric
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"dataset folder not found: {folder}")
    for required in ("train.jsonl", "test.jsonl"):
        if not (folder / required).is_file():
            raise DataError(f"dataset folder {folder} has no {required}; expected train.jsonl and test.jsonl.")
    info = {}
    if (folder / "dataset.json").is_file():
        try:
            info = json.loads(_decode(folder / "dataset.json"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{folder / 'dataset.json'} line {exc.lineno} is not valid JSON ({exc.msg}).") from None

    from .ner.data import is_token_folder, load_token_split

    tokens = is_token_folder(folder, info)  # NER: {"tokens", "tags"} lines

    def split(name: str) -> Split | None:
        file = folder / f"{name}.jsonl"
        if not file.is_file():
            return None
        X, y = load_token_split(folder, name, info) if tokens else read_labeled_file(file)
        return Split(X, y)

    train, test = split("train"), split("test")
    if tokens:
        from .ner.tags import entity_types, tag_set

        labels = info.get("labels") or tag_set(entity_types(train.y + test.y))
        return Dataset(
            name=info.get("name", folder.name), train=train, test=test, validation=split("validation"),
            labels=labels, metric=info.get("metric", "entity_f1"), task=info.get("task") or "token classification",
            info=info,
        )
    labels = info.get("labels") or sorted(set(train.y) | set(test.y), key=str)
    return Dataset(
        name=info.get("name", folder.name), train=train, test=test, validation=split("validation"),
        labels=labels, metric=info.get("metric", "accuracy"), task=info.get("task", ""), info=info,
    )


# --------------------------------------------------------------------------- the hub
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


# --------------------------------------------------------------------------- names
def default_data_dir() -> Path | None:
    """The benchmark datasets folder from ``FEWSHOT_DATA_DIR``, or None when unset."""
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value else None


def _looks_like_path(spec: str) -> bool:
    return ("/" in spec or os.sep in spec or spec.startswith((".", "~"))
            or spec.lower().endswith(_FILE_SUFFIXES))


def resolve_dataset(spec: str, data_dir=None) -> Dataset:
    """Find a dataset by name: ``demo`` (or ``demo:intent|csat|tags|pairs``), a folder path, a
    folder name under ``data_dir``/``FEWSHOT_DATA_DIR``, or ``hub:<id>`` for a hub dataset.

    Example::

        resolve_dataset("demo:pairs").train.X[0]      # a (question, reply) pair
    """
    if spec == "demo" or spec.startswith("demo:"):
        return load_demo(spec.split(":", 1)[1] if ":" in spec else "intent")
    if spec.startswith("hub:"):
        return load_hub_dataset(spec[4:])
    as_path = Path(spec).expanduser()
    if as_path.is_dir():
        return load_dataset_folder(as_path)
    if as_path.is_file():
        raise DataError(f"{spec} is a file, not a dataset folder; a dataset folder holds train.jsonl and test.jsonl.")
    base = Path(data_dir) if data_dir else default_data_dir()
    if not _looks_like_path(spec) and base is not None and (base / spec).is_dir():
        return load_dataset_folder(base / spec)
    if _looks_like_path(spec):
        raise DataError(f"file not found: {spec}")
    where = f"under {base}" if base else f"(no --data-dir given and {DATA_DIR_ENV} is unset)"
    known = sorted(p.name for p in base.iterdir() if (p / "train.jsonl").is_file()) if base and base.is_dir() else []
    hint = f" Datasets there: {', '.join(known)}." if known else ""
    raise DataError(
        f"unknown dataset {spec!r}: not a file or folder, not found {where}.{hint} Use a labeled file, 'demo', "
        "a folder path, a name under the data dir, or 'hub:<id>' for a hub dataset."
    )


def read_labeled(spec: str, *, split: str = "train", data_dir=None, text_column: str = "text",
                 label_column: str = "label", text_pair_column: str = "text_pair") -> tuple[list, list]:
    """``(X, y)`` from what a user names: a labeled file (the columns apply), or one ``split``
    (``train``, ``test`` or ``validation``) of a dataset :func:`resolve_dataset` finds.

    Example::

        X, y = read_labeled("train.csv", label_column="intent")
        X, y = read_labeled("demo", split="test")
    """
    path = Path(spec).expanduser()
    from .ner.data import is_token_file, read_token_file

    if path.is_file() and is_token_file(path):  # NER: a CoNLL column file, or JSONL with tokens/tags
        return read_token_file(path)
    if path.is_file() or (path.suffix.lower() in _FILE_SUFFIXES and not path.is_dir()):
        return read_labeled_file(path, text_column=text_column, label_column=label_column,
                                 text_pair_column=text_pair_column)
    ds = resolve_dataset(spec, data_dir)
    part = getattr(ds, split, None)
    if part is None:
        raise DataError(f"dataset {spec!r} has no {split!r} split.")
    return part.X, part.y


__all__ = [
    "DATA_DIR_ENV", "Dataset", "Split", "default_data_dir", "from_hf_dataset", "load_dataset_folder",
    "load_demo", "load_hub_dataset", "read_labeled", "read_labeled_file", "read_records", "read_texts",
    "records_to_xy", "resolve_dataset",
]
