"""Exceptions fewshot raises on purpose, so callers can catch them by type."""


class FewshotError(Exception):
    """Base class of fewshot's own errors."""


class NotASavedClassifierError(FewshotError, ValueError):
    """A folder passed to ``fewshot.load`` is not a classifier saved by fewshot (or is too new)."""


class UnknownModelError(FewshotError, ValueError):
    """A model alias that fewshot does not know, or whose package is not installed."""


class UnknownStrategyError(FewshotError, ValueError):
    """A strategy name that is not registered."""


class DataError(FewshotError, ValueError):
    """Input data that cannot be used as given (empty, wrong types, missing columns, ...)."""


class SaveTargetError(FewshotError, ValueError):
    """An output path that ``save()`` must not write to (a file, a data folder, the working directory...)."""


class MissingDependencyError(FewshotError, ImportError):
    """A feature needs packages that this installation lacks; the message names the pip extra to add.

    ``pip install fewshot[serve]`` installs only the ONNX predictor's packages, so training, loading
    a saved (torch) classifier or the benchmark harness in such an environment raises this, e.g.
    ``fewshot.SetFitClassifier needs torch, which is not installed: pip install 'fewshot[train]'``.
    """


#: Which extra of ``pip install fewshot[...]`` provides each optional top-level module.
EXTRA_OF_MODULE = {
    **dict.fromkeys(("torch", "transformers", "sentence_transformers", "setfit", "peft", "datasets", "sklearn",
                     "scipy", "accelerate", "gguf", "safetensors", "tqdm", "matplotlib", "seqeval",
                     "huggingface_hub"), "train"),
    "onnx": "export",
    "onnxruntime": "serve",
    "tokenizers": "serve",
    "ray": "ray",
}


def missing_dependency(exc: ModuleNotFoundError, feature: str) -> MissingDependencyError | None:
    """The error to raise when ``feature`` failed to import with ``exc``: it names the missing package and
    the extra that provides it. ``None`` when the missing module is not one of fewshot's optional
    dependencies (then the original error is the better report)."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    if extra is None:
        return None
    package = {"sklearn": "scikit-learn", "sentence_transformers": "sentence-transformers",
               "huggingface_hub": "huggingface-hub"}.get(top, top)
    return MissingDependencyError(f"{feature} needs {package}, which is not installed: pip install 'fewshot[{extra}]'")
