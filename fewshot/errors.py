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
