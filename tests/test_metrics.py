"""Metrics against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from fewshot import MajorityClassifier
from fewshot.metrics import (
    classification_metrics,
    evaluate,
    expected_calibration_error,
    format_report,
    multilabel_metrics,
    regression_metrics,
)


def test_classification_metrics_by_hand():
    y_true = ["a", "a", "b", "b"]
    y_pred = ["a", "b", "b", "b"]
    m = classification_metrics(y_true, y_pred, labels=["a", "b"])
    assert m["accuracy"] == 0.75
    # a: P=1, R=0.5, F1=2/3; b: P=2/3, R=1, F1=0.8
    assert m["per_class"]["a"]["f1"] == pytest.approx(2 / 3)
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert m["f1_macro"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert m["confusion_matrix"] == [[1, 1], [0, 2]]
    assert m["mcc"] == pytest.approx(2 / np.sqrt(12))  # (TP*TN - FP*FN)/sqrt(...) = (2*1-0*1)/sqrt(2*3*2*1)


def test_ece_by_hand():
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    # bins: 0.9 -> correct(1), 0.6 -> wrong(0), 0.7 -> correct(1); each its own bin
    ece = expected_calibration_error(proba, np.array([0, 1, 1]))
    assert ece == pytest.approx((abs(1 - 0.9) + abs(0 - 0.6) + abs(1 - 0.7)) / 3)
    assert expected_calibration_error(np.array([[1.0, 0.0]]), np.array([0])) == 0.0


def test_multilabel_and_regression():
    m = multilabel_metrics([["a"], ["a", "b"]], [["a"], ["b"]], ["a", "b"])
    assert m["f1_samples"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["subset_accuracy"] == 0.5
    r = regression_metrics([1, 3, 5], [2, 3, 3])
    assert r["mae"] == pytest.approx(1.0) and r["accuracy"] == pytest.approx(1 / 3)


def test_evaluate_and_report_text():
    clf = MajorityClassifier().fit(["x", "y", "z"], ["a", "a", "b"])
    report = evaluate(clf, ["p", "q"], ["a", "b"])
    assert report["accuracy"] == 0.5 and "ece" in report
    text = format_report(report)
    assert "accuracy" in text and "f1_macro" in text and "support" in text
