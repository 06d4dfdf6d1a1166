"""fewshot: text classification with 8 to 64 labeled examples per class.

Three strategies behind one scikit-learn contract, plus a benchmark harness:

- :class:`SetFitClassifier`: contrastive sentence-transformer fine-tuning + logistic head;
- :class:`PromptClassifier`: a decoder LM scores each label's words after a prompt (LoRA, ICL, zero-shot);
- :class:`HeadClassifier`: an encoder/decoder with a classification or regression head, fine-tuned.

and two that build on them: :class:`EnsembleClassifier` (members' probabilities combined) and
:class:`AutoClassifier` (cross-validates the strategies on your examples and keeps the best).

Example::

    import fewshot
    clf = fewshot.SetFitClassifier().fit(texts, labels)
    clf.save("models/intent")
    fewshot.load("models/intent").predict(["where is my parcel?"])

Importing ``fewshot`` is cheap: torch and the strategies load on first use. Install with
``pip install 'fewshot[train]'`` to train; ``pip install 'fewshot[serve]'`` installs only the
torch-free predictor of exported ONNX folders (:mod:`fewshot.serving`).
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "load": ("fewshot.base", "load"),
    "BaseClassifier": ("fewshot.base", "BaseClassifier"),
    "MajorityClassifier": ("fewshot.strategies.majority", "MajorityClassifier"),
    "SetFitClassifier": ("fewshot.strategies.setfit", "SetFitClassifier"),
    "PromptClassifier": ("fewshot.strategies.prompt", "PromptClassifier"),
    "HeadClassifier": ("fewshot.strategies.head", "HeadClassifier"),
    "TokenClassifier": ("fewshot.strategies.token", "TokenClassifier"),
    "EnsembleClassifier": ("fewshot.ensemble", "EnsembleClassifier"),
    "AutoClassifier": ("fewshot.auto", "AutoClassifier"),
    "DistilledClassifier": ("fewshot.distill", "DistilledClassifier"),
    "distill": ("fewshot.distill", "distill"),
    "get_strategy": ("fewshot.registry", "get_strategy"),
    "strategy_names": ("fewshot.registry", "strategy_names"),
    "sample_k_shot": ("fewshot.data", "sample_k_shot"),
    "load_dataset_folder": ("fewshot.datasets", "load_dataset_folder"),
    "resolve_dataset": ("fewshot.datasets", "resolve_dataset"),
    "read_labeled_file": ("fewshot.datasets", "read_labeled_file"),
    "load_demo": ("fewshot.demo", "load_demo"),
    "evaluate": ("fewshot.metrics", "evaluate"),
    "resolve_model": ("fewshot.models", "resolve_model"),
    "suggest": ("fewshot.active", "suggest"),
    "prelabel": ("fewshot.active", "prelabel"),
    "ActiveLearner": ("fewshot.active", "ActiveLearner"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'fewshot' has no attribute {name!r}") from None
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:  # e.g. torch in an environment installed with fewshot[serve] only
        from .errors import missing_dependency

        error = missing_dependency(exc, f"fewshot.{name}")
        if error is None:
            raise
        raise error from exc
    value = getattr(module, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
