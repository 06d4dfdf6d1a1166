"""The strategies: each is a :class:`fewshot.base.BaseClassifier`, found by name in :mod:`fewshot.registry`."""
