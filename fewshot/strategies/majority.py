"""MajorityClassifier: always predicts the training label distribution.

A trivial, instant strategy. It is the floor every real strategy must beat, and it lets the
contract, the CLI and the benchmark harness be tested end to end in seconds.

Example::

    from fewshot import MajorityClassifier
    clf = MajorityClassifier().fit(["a", "b", "c"], ["x", "x", "y"])
    clf.predict(["anything"])  # array(['x'])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._validate import BOOL, Real
from ..base import BaseClassifier


class MajorityClassifier(BaseClassifier):
    """Predict the class prior seen in training, whatever the text.

    Parameters
    ----------
    multi_label : bool
        Treat ``y`` as label lists and predict every label whose training frequency reaches
        ``threshold`` (the per-label majority).
    threshold : float
        Multi-label decision threshold on the label frequencies.
    """

    strategy_name = "majority"
    _parameter_rules = {"multi_label": BOOL, "threshold": Real(0, 1, closed="neither")}

    def __init__(self, *, multi_label: bool = False, threshold: float = 0.5):
        self.multi_label = multi_label
        self.threshold = threshold

    def _problem(self) -> str:
        return "multi_label" if self.multi_label else "single_label"

    def _fit(self, X: list, y: np.ndarray) -> None:
        if self.problem_ == "multi_label":
            self.prior_ = y.mean(axis=0).astype(np.float64)
        else:
            self.prior_ = np.bincount(y, minlength=len(self.classes_)).astype(np.float64) / len(y)
        self.loss_history_ = []  # nothing is trained
    def _predict_scores(self, X: list) -> np.ndarray:
        return np.tile(self.prior_, (len(X), 1))

    def _save_state(self, folder: Path) -> dict:
        return {"prior": self.prior_.tolist()}

    def _load_state(self, folder: Path, state: dict) -> None:
        self.prior_ = np.asarray(state["prior"], dtype=np.float64)
        self.loss_history_ = []
