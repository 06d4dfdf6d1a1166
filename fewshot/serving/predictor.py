"""The torch-free predictor of an exported folder: onnxruntime for the graph, ``tokenizers`` for the text.

Nothing here imports torch, transformers or sentence-transformers (a test checks it in a fresh process).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .. import _saved_folder as _folder
from ..errors import NotASavedClassifierError

FORMAT = "fewshot-onnx"
FORMAT_VERSION = 1
META_FILE = "fewshot.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
#: Texts per forward pass of a float graph (length-sorted, so padding stays small). An int8 graph
#: quantizes each pass's activations with one scale, so it encodes one text per pass: a text's
#: prediction never depends on the other texts of the call.
FLOAT_BATCH_SIZE = 32


class OnnxClassifier:
    """A classifier exported with ``clf.export(path)``, predicting with onnxruntime, without torch.

    ``predict``/``predict_proba`` take a list of texts and return what the torch classifier returns:
    labels from ``classes_`` and an ``(n, len(classes_))`` float array whose columns follow
    ``classes_`` (multi-label: the label lists whose probability reaches ``threshold``).

    Build it with :meth:`load` (or :func:`fewshot.serving.load`).

    Example::

        from fewshot.serving import OnnxClassifier
        model = OnnxClassifier.load("serve/intent", threads=1)
        model.predict_proba(["where is my parcel?", "refund please"])
    """

    def __init__(self, session, tokenizer, meta: dict[str, Any], *, batch_size: int):
        self.session_ = session
        self.tokenizer_ = tokenizer
        self.meta_ = meta
        self.classes_ = np.asarray(meta["classes"])
        self.problem_ = meta["problem"]
        self.threshold = float(meta.get("threshold", 0.5))
        self.quantize = meta.get("quantize")
        self.batch_size = int(batch_size)
        self._input_names = [i.name for i in session.get_inputs()]
        self._pad_id = int(meta.get("pad_id", 0))
        self._strip = bool(meta.get("strip_text", False))

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path, *, threads: int | None = None, batch_size: int | None = None) -> OnnxClassifier:
        """Load an exported folder, checked: every file must match the size and sha256 written at export.

        ``threads``: onnxruntime intra-op threads (default: onnxruntime's choice, all cores).
        ``batch_size``: texts per forward pass (default 32 for a float graph, 1 for an int8 graph).
        Raises :class:`~fewshot.errors.NotASavedClassifierError` naming what is wrong.
        """
        folder = Path(path)
        meta = read_export_meta(folder)
        if not (folder / TOKENIZER_FILE).is_file():
            raise NotASavedClassifierError(
                f"{folder} has no {TOKENIZER_FILE}: the tokenizer is missing, so texts cannot be turned into token ids. "
                "Copy the whole exported folder again, or export the classifier again.")
        _folder.verify_manifest(folder, meta["files"])
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ModuleNotFoundError as exc:  # installed without the [serve] extra
            from ..errors import missing_dependency

            raise (missing_dependency(exc, "serving an exported classifier") or exc) from None
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(folder / MODEL_FILE), sess_options=options,
                                           providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            raise NotASavedClassifierError(f"{folder}: the exported files cannot be loaded ({type(exc).__name__}: "
                                           f"{exc}).") from exc
        names = [i.name for i in session.get_inputs()]
        if names != list(meta["inputs"]):
            raise NotASavedClassifierError(f"{folder / MODEL_FILE} takes inputs {names} but {META_FILE} lists "
                                           f"{meta['inputs']}; the graph was changed.")
        if batch_size is None:
            batch_size = 1 if meta.get("quantize") else FLOAT_BATCH_SIZE
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
        model = cls(session, tokenizer, meta, batch_size=int(batch_size))
        width = model.predict_proba(["fewshot load check"]).shape[1]
        if width != len(model.classes_):
            raise NotASavedClassifierError(f"{folder}: the graph gives {width} probabilities per text but "
                                           f"{META_FILE} lists {len(model.classes_)} classes.")
        return model

    # ------------------------------------------------------------------ prediction
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, ``(n, len(classes_))``, columns following ``classes_``."""
        from ..data import as_inputs

        texts = as_inputs(X, allow_pairs=False, allow_empty=True)
        if self._strip:
            texts = [t.strip() for t in texts]
        out = np.zeros((len(texts), len(self.classes_)), dtype=np.float64)
        if not texts:
            return out
        encodings = self.tokenizer_.encode_batch(texts)
        ids = [e.ids for e in encodings]
        order = np.argsort([len(i) for i in ids], kind="stable")
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            width = max(len(ids[i]) for i in idx)
            input_ids = np.full((len(idx), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                input_ids[row, :len(ids[i])] = ids[i]
                mask[row, :len(ids[i])] = 1
            feeds = {"input_ids": input_ids, "attention_mask": mask}
            out[idx] = self.session_.run(None, {name: feeds[name] for name in self._input_names})[0]
        return out

    def predict(self, X):
        """Labels from ``classes_`` (``classes_[argmax(predict_proba)]``); multi-label: label lists."""
        proba = self.predict_proba(X)
        if self.problem_ == "multi_label":
            return [list(self.classes_[row >= self.threshold]) for row in proba]
        return self.classes_[np.argmax(proba, axis=1)]

    def __repr__(self) -> str:
        source = self.meta_.get("source", {}).get("strategy")
        return (f"OnnxClassifier(source={source!r}, classes={self.classes_.tolist()!r}, "
                f"quantize={self.quantize!r})")


def is_export(path) -> bool:
    """Whether ``path`` is a folder written by ``clf.export()`` (its ``fewshot.json`` names the ONNX format);
    a quick look only: :func:`read_export_meta` and :meth:`OnnxClassifier.load` do the checking."""
    try:
        meta = json.loads((Path(path) / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def read_export_meta(folder: Path) -> dict[str, Any]:
    """``fewshot.json`` of an exported folder, checked (format, classes, inputs, file manifest)."""
    meta_file = Path(folder) / META_FILE
    if not Path(folder).is_dir():
        raise NotASavedClassifierError(f"{folder} is not a folder; expected a folder written by clf.export().")
    if not meta_file.is_file():
        raise NotASavedClassifierError(f"{folder} has no {META_FILE}; it was not written by clf.export().")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NotASavedClassifierError(f"{meta_file} is not valid JSON ({exc}).") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        hint = (" It is a saved classifier: load it with fewshot.load(), or export it with "
                "`fewshot export DIR --out SERVE_DIR`.") if isinstance(meta, dict) and "strategy" in meta else ""
        raise NotASavedClassifierError(f"{folder} is not an exported ONNX classifier (no format {FORMAT!r} in "
                                       f"{META_FILE}).{hint}")
    if not isinstance(meta.get("format_version"), int) or meta["format_version"] > FORMAT_VERSION:
        raise NotASavedClassifierError(f"{folder} was exported with format version {meta.get('format_version')}; "
                                       f"this fewshot reads up to {FORMAT_VERSION}. Upgrade fewshot.")
    classes = meta.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or meta.get("problem") not in ("single_label", "multi_label"):
        raise NotASavedClassifierError(f"{meta_file}: classes/problem are missing or invalid.")
    if not isinstance(meta.get("inputs"), list) or not isinstance(meta.get("files"), dict):
        raise NotASavedClassifierError(f"{meta_file}: inputs/files are missing.")
    if MODEL_FILE not in meta["files"]:
        raise NotASavedClassifierError(f"{meta_file}: the file list has no {MODEL_FILE}.")
    return meta


def load(path, *, threads: int | None = None, batch_size: int | None = None) -> OnnxClassifier:
    """Load an exported folder: :meth:`OnnxClassifier.load`.

    Example::

        import fewshot.serving
        fewshot.serving.load("serve/intent").predict(["where is my parcel?"])
    """
    return OnnxClassifier.load(path, threads=threads, batch_size=batch_size)
