"""Export a fitted classifier to an ONNX folder (:mod:`fewshot.serving`). Needs torch and onnx.

Supported: ``SetFitClassifier`` (single- and multi-label), ``HeadClassifier`` (single- and
multi-label, single texts) and ``DistilledClassifier`` (its student). Each becomes one graph
``(input_ids, attention_mask) -> probabilities`` computed exactly as the torch classifier does in
float32 (``predict`` with ``quantize=False`` for SetFit), the tokenizer's ``tokenizer.json`` and a
``fewshot.json``.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from .. import _saved_folder as _folder
from ..errors import FewshotError, SaveTargetError
from .predictor import FORMAT, FORMAT_VERSION, META_FILE, MODEL_FILE, TOKENIZER_FILE

FORMATS = ("onnx",)
QUANTIZE = (None, "int8")
INPUTS = ["input_ids", "attention_mask"]


class ExportError(FewshotError, ValueError):
    """A classifier that cannot be exported (its strategy, its problem), or a bad export option."""


def export(clf, path, *, format: str = "onnx", quantize: str | None = None, overwrite: bool = False) -> Path:
    """Write ``clf`` as an ONNX folder at ``path`` (see :mod:`fewshot.serving`); returns the path.

    ``quantize="int8"`` applies onnxruntime's dynamic int8 quantization to the graph's matrix
    products. ``overwrite=True`` replaces an earlier export at ``path`` (never any other folder).
    The folder is written beside ``path`` and renamed at the end: nothing is left half-written.

    Example::

        from fewshot.serving.export import export
        export(clf, "serve/intent", quantize="int8")
    """
    from sklearn.utils.validation import check_is_fitted

    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; supported: {', '.join(FORMATS)}.")
    if quantize not in QUANTIZE:
        raise ExportError(f"quantize must be None (float32) or 'int8'; got {quantize!r}.")
    source = clf
    clf = _exportable(clf)
    check_is_fitted(clf, "classes_")
    path = _check_target(Path(path), overwrite)
    graph, tokenizer, settings = _graph(clf)
    path.parent.mkdir(parents=True, exist_ok=True)
    _folder.remove_stale_siblings(path)
    tmp = _folder.temp_sibling(path, "tmp")
    tmp.mkdir()
    try:
        _write(graph, tokenizer, settings, tmp, quantize)
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "problem": clf.problem_,
            "classes": [c.item() if hasattr(c, "item") else c for c in clf.classes_.tolist()],
            "threshold": float(getattr(clf, "threshold", 0.5)),
            "inputs": list(INPUTS),
            "max_length": settings["max_length"],
            "pad_id": settings["pad_id"],
            "strip_text": settings["strip_text"],
            "quantize": quantize,
            "source": _source(source),
            "fewshot_version": _version(),
            "libraries": _libraries(),
            "files": _folder.build_manifest(tmp),
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n",
                                     encoding="utf-8")
        with _folder.folder_lock(path.parent, exclusive=True):
            _check_target(path, overwrite)
            _folder.replace_folder(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


# --------------------------------------------------------------------------- checks
def _exportable(clf):
    from ..base import BaseClassifier

    if not isinstance(clf, BaseClassifier):
        raise ExportError(f"export takes a fitted fewshot classifier; got {type(clf).__name__}.")
    name = clf.strategy_name
    if name == "distill":
        if not hasattr(clf, "student_"):
            raise ExportError("this DistilledClassifier is not fitted; fit it first (its student is what is exported).")
        return _exportable(clf.student_)
    if name == "prompt":
        raise ExportError(
            "the prompt strategy cannot be exported to ONNX: it classifies by scoring every label's words with a "
            "decoder language model (a template, a verbalizer and one scoring pass per label), not with one graph "
            "from tokens to probabilities, and its speed problem is the decoder itself. Distil it into a small "
            "student first - student = fewshot.distill(clf, unlabeled_texts, X=texts, y=labels) (or `fewshot "
            "distill TEACHER_DIR --unlabeled FILE --out DIR`) - and export the student.")
    if name not in ("setfit", "head"):
        raise ExportError(f"the {name!r} strategy cannot be exported to ONNX; export supports setfit and head "
                          "classifiers and distilled students (fewshot.distill).")
    if getattr(clf, "problem_", None) == "regression":
        raise ExportError("a regression head cannot be exported: export serves class probabilities.")
    if getattr(clf, "pairs_", False):
        raise ExportError("a classifier trained on (text, text_pair) pairs cannot be exported yet; export takes "
                          "single-text classifiers.")
    return clf


def _check_target(path: Path, overwrite: bool) -> Path:
    if path.exists():
        if path.is_file():
            raise SaveTargetError(f"{path} is a file; export writes a folder. Name a new folder.")
        if not overwrite:
            raise SaveTargetError(f"{path} already exists; choose a new folder, or pass overwrite=True (--overwrite) "
                                  "to replace an earlier export.")
        meta = path / META_FILE
        exported = False
        if meta.is_file():
            try:
                exported = json.loads(meta.read_text(encoding="utf-8")).get("format") == FORMAT
            except (OSError, ValueError, AttributeError):
                exported = False
        if not exported and any(path.iterdir()):
            raise SaveTargetError(f"{path} exists and is not an exported classifier; it is never replaced. Name "
                                  "another folder.")
    if Path.cwd().resolve() in (path.resolve(), *path.resolve().parents) and path.exists():
        raise SaveTargetError(f"{path} is the working directory (or contains it); name a folder inside it.")
    return path


# --------------------------------------------------------------------------- graphs
def _graph(clf) -> tuple[Any, Any, dict]:
    """``(torch module, HF fast tokenizer, settings)`` of a setfit or head classifier."""
    if clf.strategy_name == "setfit":
        return _setfit_graph(clf)
    return _head_graph(clf)


def _setfit_graph(clf):
    import torch

    body = copy.deepcopy(clf.body_).to("cpu").eval()  # a copy: the classifier stays on its device
    coef = torch.tensor(np.asarray(clf.coef_, dtype=np.float32))
    intercept = torch.tensor(np.asarray(clf.intercept_, dtype=np.float32))
    kind = clf.head_kind_

    class SetFitGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body
            self.register_buffer("coef", coef)
            self.register_buffer("intercept", intercept)

        def forward(self, input_ids, attention_mask):
            emb = self.body({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]
            logits = emb.float() @ self.coef.T + self.intercept
            if kind == "softmax":
                return torch.softmax(logits, dim=-1)
            p = torch.sigmoid(logits)
            return torch.cat([1.0 - p, p], dim=-1) if kind == "binary" else p

    tokenizer = body.tokenizer
    limit = body.max_seq_length
    settings = {"max_length": int(limit) if limit else None, "pad_id": _pad_id(tokenizer),
                "strip_text": True,  # sentence-transformers strips each text before tokenizing
                "keep_float": ("/MatMul", "/Gemm")}  # the logistic head (outside /body/) stays float
    return SetFitGraph().eval(), tokenizer, settings


def _head_graph(clf):
    import torch

    model = copy.deepcopy(clf.model_).to("cpu").eval()  # a copy: the classifier stays on its device
    problem = clf.problem_

    class HeadGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits.float()
            return torch.sigmoid(logits) if problem == "multi_label" else torch.softmax(logits, dim=-1)

    tokenizer = clf.tokenizer_
    if getattr(tokenizer, "padding_side", "right") != "right":
        raise ExportError("export needs a tokenizer that pads on the right.")
    settings = {"max_length": int(clf.max_length), "pad_id": _pad_id(tokenizer), "strip_text": False,
                "keep_float": tuple(f"/model/{name}/" for name in clf.head_modules_)}  # the head stays float
    return HeadGraph().eval(), tokenizer, settings


def _pad_id(tokenizer) -> int:
    pad = getattr(tokenizer, "pad_token_id", None)
    return int(pad) if pad is not None else 0


def _write(graph, tokenizer, settings: dict, folder: Path, quantize: str | None) -> None:
    import torch

    from ..compat import export_onnx, quantize_onnx_int8

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ExportError(f"the model's tokenizer ({type(tokenizer).__name__}) has no fast (tokenizers) version, "
                          "so it cannot be saved as tokenizer.json.")
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(backend.to_str())
    tok.no_padding()
    if settings["max_length"]:
        tok.enable_truncation(int(settings["max_length"]))
    else:
        tok.no_truncation()
    tok.save(str(folder / TOKENIZER_FILE))

    example = tok.encode_batch(["fewshot export example text", "a second one"])
    width = max(len(e.ids) for e in example)
    ids = torch.full((2, width), settings["pad_id"], dtype=torch.long)
    mask = torch.zeros((2, width), dtype=torch.long)
    for row, e in enumerate(example):
        ids[row, :len(e.ids)] = torch.tensor(e.ids)
        mask[row, :len(e.ids)] = 1
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "probabilities": {0: "batch"}}
    target = folder / MODEL_FILE
    if quantize == "int8":
        float_file = folder / ".float.onnx"
        export_onnx(graph, (ids, mask), float_file, input_names=INPUTS, output_names=["probabilities"],
                    dynamic_axes=axes)
        quantize_onnx_int8(float_file, target, keep_float=settings["keep_float"])
        for leftover in folder.glob(".float.onnx*"):
            leftover.unlink()
    else:
        export_onnx(graph, (ids, mask), target, input_names=INPUTS, output_names=["probabilities"], dynamic_axes=axes)
    extra = sorted(p.name for p in folder.iterdir() if p.name not in (MODEL_FILE, TOKENIZER_FILE))
    if extra:  # e.g. external weight files: the folder must hold exactly what the predictor reads
        raise ExportError(f"the ONNX export wrote unexpected files {extra}; the model may be too large for one file.")


# --------------------------------------------------------------------------- records
def _source(clf) -> dict[str, Any]:
    out: dict[str, Any] = {"strategy": clf.strategy_name}
    try:
        out["params"] = json.loads(json.dumps(clf._params_to_save(), default=str))
    except (TypeError, ValueError):
        out["params"] = None
    distillation = getattr(clf, "distillation_", None)
    if isinstance(distillation, dict):
        out["distillation"] = distillation
    return out


def _version() -> str:
    from .. import __version__

    return __version__


def _libraries() -> dict[str, str | None]:
    from importlib import metadata

    out = {}
    for name in ("torch", "onnx", "onnxruntime", "tokenizers", "transformers", "sentence-transformers"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


__all__ = ["ExportError", "export"]
