"""Serving without torch: an exported ONNX folder and a predictor that needs onnxruntime and tokenizers only.

Export a fitted SetFit or head classifier (or a distilled student) with
``clf.export(path, format="onnx", quantize="int8" | None)`` (or ``fewshot export MODEL_DIR --out DIR``).
The folder holds:

- ``model.onnx``: one graph from token ids and attention mask to class probabilities (the encoder,
  the pooling and normalisation the model uses, and the head: a logistic head as a matrix product
  and softmax/sigmoid);
- ``tokenizer.json``: the model's fast tokenizer, truncating at the model's token limit;
- ``fewshot.json``: the classes, the problem, the input names, the source classifier's strategy and
  parameters, and the size and sha256 of every file (a changed graph or a missing tokenizer is an
  error at load time).

:class:`OnnxClassifier` (``fewshot.serving.load(path)``) predicts with onnxruntime and the
``tokenizers`` package; importing this package imports neither torch, transformers nor
sentence-transformers. ``pip install 'fewshot[serve]'`` installs only what it needs (no torch);
exporting needs ``pip install 'fewshot[export]'`` in the training environment.

Example::

    clf.export("serve/intent", quantize="int8")           # in the training environment

    import fewshot.serving                                 # in the serving environment
    model = fewshot.serving.load("serve/intent")
    model.predict(["where is my parcel?"])                 # same labels, same classes_ order
"""

from __future__ import annotations

from .predictor import OnnxClassifier, load

__all__ = ["OnnxClassifier", "load", "export"]


def __getattr__(name: str):
    if name == "export":  # needs torch: imported only when asked for
        from .export import export

        return export
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
