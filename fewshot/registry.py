"""Strategy registry: name -> class, imported only when asked for.

``fewshot.load``, the CLI and the benchmark harness find strategies by the name written in
``fewshot.json``. Importing this module imports no strategy (and so no torch).
"""

from __future__ import annotations

from importlib import import_module

from .errors import UnknownStrategyError

# name -> (module, class). A new strategy joins with one line here.
_STRATEGIES: dict[str, tuple[str, str]] = {
    "majority": ("fewshot.strategies.majority", "MajorityClassifier"),
    "setfit": ("fewshot.strategies.setfit", "SetFitClassifier"),
    "setfit-upstream": ("fewshot.strategies.setfit_upstream", "SetFitUpstreamClassifier"),
    "prompt": ("fewshot.strategies.prompt", "PromptClassifier"),
    "head": ("fewshot.strategies.head", "HeadClassifier"),
    "token": ("fewshot.strategies.token", "TokenClassifier"),
    "ensemble": ("fewshot.ensemble", "EnsembleClassifier"),
    "auto": ("fewshot.auto", "AutoClassifier"),
    "distill": ("fewshot.distill", "DistilledClassifier"),
}


def strategy_names() -> list[str]:
    """Names of every registered strategy."""
    return list(_STRATEGIES)


def get_strategy(name: str) -> type:
    """The classifier class registered under ``name`` (imported on first use)."""
    try:
        module_name, class_name = _STRATEGIES[name]
    except KeyError:
        raise UnknownStrategyError(
            f"unknown strategy {name!r}; known strategies: {', '.join(_STRATEGIES)}."
        ) from None
    return getattr(import_module(module_name), class_name)


def parameter_names(cls: type) -> list[str]:
    """The parameters a strategy class accepts, sorted."""
    return sorted(cls().get_params(deep=False))


def unknown_parameters_message(cls: type, params: dict) -> str | None:
    """``None`` when every key of ``params`` is a parameter of ``cls``, else a message naming the strays."""
    valid = parameter_names(cls)
    unknown = sorted(set(params) - set(valid))
    if not unknown:
        return None
    return (f"strategy {cls.strategy_name!r} has no parameter(s) {', '.join(unknown)}; its parameters are: "
            f"{', '.join(valid)}.")


def make_classifier(name: str, **params):
    """Instantiate strategy ``name`` with ``params``; an unknown parameter is a clear error."""
    cls = get_strategy(name)
    message = unknown_parameters_message(cls, params)
    if message:
        raise UnknownStrategyError(message)
    return cls(**params)
