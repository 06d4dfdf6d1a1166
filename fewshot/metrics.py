"""Classification metrics, computed locally with scikit-learn and numpy (nothing is fetched).

Example::

    from fewshot.metrics import evaluate
    report = evaluate(clf, X_test, y_test)
    report["accuracy"], report["f1_macro"], report["per_class"]["billing"]["f1"]
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from sklearn import metrics as skm

from .errors import DataError

HEADLINE_METRICS = ("accuracy", "f1_macro", "f1_weighted", "mcc")


def expected_calibration_error(proba: np.ndarray, y_true_ids: np.ndarray, n_bins: int = 10) -> float:
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins.

    ``proba`` is ``(n, n_classes)``; ``y_true_ids`` the column index of each true class.
    """
    proba = np.asarray(proba, dtype=np.float64)
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == np.asarray(y_true_ids)).astype(np.float64)
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def _label_array(values) -> np.ndarray:
    """Labels as an array scikit-learn recognises: int labels as ints (an object array of ints is
    an "unknown" target type to it), anything else as objects (no string coercion)."""
    arr = np.asarray(list(values), dtype=object)
    if arr.size and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr.tolist()):
        return arr.astype(np.int64)
    return arr


def classification_metrics(y_true, y_pred, labels=None, proba=None) -> dict[str, Any]:
    """Accuracy, macro/weighted F1, MCC, per-class precision/recall/F1/support, confusion matrix,
    and expected calibration error when ``proba`` (columns ordered as ``labels``) is given."""
    y_true, y_pred = _label_array(y_true), _label_array(y_pred)
    if labels is None:
        labels = sorted(set(y_true.tolist()) | set(y_pred.tolist()), key=str)
    labels = list(labels)
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out: dict[str, Any] = {
        "n": int(len(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "f1_macro": float(skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "f1_weighted": float(skm.f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)),
        "mcc": float(skm.matthews_corrcoef(y_true, y_pred)),
        "per_class": {
            str(lab): {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, lab in enumerate(labels)
        },
        "labels": [str(lab) for lab in labels],
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    if proba is not None:
        index = {lab: i for i, lab in enumerate(labels)}
        ids = np.array([index.get(t, -1) for t in y_true.tolist()])
        out["ece"] = expected_calibration_error(proba, ids)
    return out


def multilabel_metrics(y_true: list, y_pred: list, labels) -> dict[str, Any]:
    """Example-based (samples) F1, micro/macro F1, subset accuracy and Hamming loss for label lists."""
    labels = list(labels)
    index = {lab: i for i, lab in enumerate(labels)}

    def binarize(rows):
        Y = np.zeros((len(rows), len(labels)), dtype=int)
        for r, row in enumerate(rows):
            for lab in row:
                if lab in index:
                    Y[r, index[lab]] = 1
        return Y

    T, P = binarize(y_true), binarize(y_pred)
    return {
        "n": int(len(T)),
        "f1_samples": float(skm.f1_score(T, P, average="samples", zero_division=0)),
        "f1_micro": float(skm.f1_score(T, P, average="micro", zero_division=0)),
        "f1_macro": float(skm.f1_score(T, P, average="macro", zero_division=0)),
        "subset_accuracy": float(skm.accuracy_score(T, P)),
        "hamming_loss": float(skm.hamming_loss(T, P)),
        "per_class": {
            str(lab): {"f1": float(skm.f1_score(T[:, i], P[:, i], zero_division=0)), "support": int(T[:, i].sum())}
            for i, lab in enumerate(labels)
        },
    }


def regression_metrics(y_true, y_pred, values=None) -> dict[str, Any]:
    """MAE, RMSE and exact-match accuracy for ordinal scores; Spearman-free, all numpy."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    out = {
        "n": int(len(t)),
        "mae": float(np.mean(np.abs(t - p))),
        "rmse": float(np.sqrt(np.mean((t - p) ** 2))),
        "accuracy": float(np.mean(np.round(p) == np.round(t))),
        "within_one": float(np.mean(np.abs(np.round(p) - t) <= 1)),
    }
    return out


_INT_LITERAL = re.compile(r"[+-]?\d+")


def align_labels(y: list, problem: str, classes: list, source: str = "y") -> list:
    """Labels of the evaluation data in the model's label type, or a clear error when they cannot be.

    A CSV holds only strings: ``"1"`` matches a model whose classes are the ints ``1``, ``2``, ...
    """
    classes = [c.item() if isinstance(c, np.generic) else c for c in list(classes)]
    y = [lab.item() if isinstance(lab, np.generic) else lab for lab in list(y)]
    if problem == "multi_label":
        bad = next((lab for lab in y if not isinstance(lab, list)), None)
        if bad is not None:
            raise DataError(f"the model is multi-label, but {source} has the label {bad!r}; each label must be a "
                            'list of labels, e.g. ["billing", "urgent"].')
        return y
    if problem == "regression":
        out = []
        for lab in y:
            try:
                out.append(float(lab) if isinstance(lab, str) else lab)
            except ValueError:
                raise DataError(f"the model predicts numbers, but {source} has the label {lab!r}.") from None
        return out
    model_ints = bool(classes) and all(isinstance(c, int) and not isinstance(c, bool) for c in classes)
    data_strs = all(isinstance(lab, str) for lab in y)
    data_ints = all(isinstance(lab, int) and not isinstance(lab, bool) for lab in y)
    if model_ints and data_strs:
        if all(_INT_LITERAL.fullmatch(lab.strip()) for lab in y):
            y = [int(lab) for lab in y]
        else:
            example = next(lab for lab in y if not _INT_LITERAL.fullmatch(lab.strip()))
            raise DataError(
                f"label type mismatch: the model's labels are ints ({_preview(classes)}) but {source} has "
                f"string labels (e.g. {example!r}); evaluate with the labels the model was trained on."
            )
    elif not model_ints and data_ints:
        if all(str(lab) in classes for lab in y):
            y = [str(lab) for lab in y]
        else:
            raise DataError(
                f"label type mismatch: the model's labels are strings ({_preview(classes)}) but {source} has "
                f"int labels (e.g. {y[0]!r}); evaluate with the labels the model was trained on."
            )
    known = set(classes)
    if not any(lab in known for lab in y):
        raise DataError(
            f"none of the labels in {source} ({_preview(sorted(set(y), key=str))}) is a class of the model "
            f"({_preview(classes)}); is it the right label column, and the model for this data?"
        )
    return y


def _preview(values: list, n: int = 5) -> str:
    shown = ", ".join(map(repr, values[:n]))
    return shown + (f", ... ({len(values)} in all)" if len(values) > n else "")


def evaluate(clf, X, y) -> dict[str, Any]:
    """Predict ``X`` with fitted ``clf`` and score against ``y``; returns a dict of metrics.

    Single-label: accuracy, f1_macro, f1_weighted, mcc, per-class report, confusion matrix, ECE.
    Token classification (NER): :func:`entity_metrics` (``y`` holds IOB2 tag lists).
    Multi-label: example-based F1 and friends. Regression: MAE, RMSE, accuracy after rounding.

    ``y`` must use the model's label type: string labels ``"1"`` are read as ints for a model with
    int classes; any other mismatch (strings for an int model, ints for a string model, no label
    the model knows) is a :class:`~fewshot.errors.DataError`, never a silent accuracy of 0.
    """
    problem = getattr(clf, "problem_", "single_label")
    if problem == "token":
        return entity_metrics(y, clf.predict(X))
    y = align_labels(list(y), problem, list(clf.classes_))
    if problem == "multi_label":
        return multilabel_metrics(list(y), clf.predict(X), clf.classes_)
    if problem == "regression":
        return regression_metrics(y, clf.predict(X))
    proba = clf.predict_proba(X)
    pred = clf.classes_[np.argmax(proba, axis=1)]
    return classification_metrics(y, pred, labels=list(clf.classes_), proba=proba)


def format_report(report: dict[str, Any]) -> str:
    """A plain-text table of a metrics dict from :func:`evaluate`."""
    lines = []
    scalars = {k: v for k, v in report.items() if isinstance(v, (int, float)) and k != "n"}
    lines.append(f"n = {report.get('n')}")
    for key, value in scalars.items():
        lines.append(f"{key:<16}{value:.4f}")
    per_class = report.get("per_class")
    if per_class:
        first = next(iter(per_class.values()))
        cols = [c for c in ("precision", "recall", "f1", "support") if c in first]
        width = max(12, *(len(k) + 2 for k in per_class))
        lines.append("")
        lines.append("class".ljust(width) + "".join(c.rjust(11) for c in cols))
        for lab, row in per_class.items():
            cells = "".join(
                (f"{row[c]:>11d}" if isinstance(row[c], int) else f"{row[c]:>11.3f}") for c in cols
            )
            lines.append(lab.ljust(width) + cells)
    return "\n".join(lines)


# --------------------------------------------------------------------------- NER
def entity_metrics(y_true, y_pred) -> dict[str, Any]:
    """Entity-level precision, recall and F1 of IOB2 tag sequences, as seqeval computes them in strict
    IOB2 mode (``mode="strict", scheme=IOB2``), micro over entities and per type, plus token accuracy.

    An entity counts only when its type and both boundaries match exactly; an ``I-X`` that follows
    ``O`` or another type starts no entity. Returns ``{"n", "n_tokens", "entity_f1", "precision",
    "recall", "f1", "f1_macro", "token_accuracy", "per_type": {type: {"precision", "recall", "f1",
    "support"}}}`` (``entity_f1`` and ``f1`` are the same micro F1, the headline figure).

    Example::

        entity_metrics([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])["entity_f1"]   # 0.0
    """
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    y_true = [list(t) for t in y_true]
    y_pred = [list(p) for p in y_pred]
    if len(y_true) != len(y_pred):
        raise DataError(f"y_true has {len(y_true)} sentences but y_pred has {len(y_pred)}.")
    for i, (t, p) in enumerate(zip(y_true, y_pred, strict=True)):
        if len(t) != len(p):
            raise DataError(f"sentence {i} has {len(t)} true tags but {len(p)} predicted tags.")
    n_tokens = sum(len(t) for t in y_true)
    correct = sum(a == b for t, p in zip(y_true, y_pred, strict=True) for a, b in zip(t, p, strict=True))
    types = sorted({tag[2:] for rows in (y_true, y_pred) for row in rows for tag in row if tag != "O"})
    out: dict[str, Any] = {"n": len(y_true), "n_tokens": n_tokens,
                           "token_accuracy": float(correct / n_tokens) if n_tokens else 0.0}
    if not types:  # seqeval cannot report on data without entities
        out.update(entity_f1=0.0, precision=0.0, recall=0.0, f1=0.0, f1_macro=0.0, per_type={})
        return out
    report = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    micro = report["micro avg"]
    out.update(
        entity_f1=float(micro["f1-score"]), precision=float(micro["precision"]), recall=float(micro["recall"]),
        f1=float(micro["f1-score"]), f1_macro=float(report["macro avg"]["f1-score"]),
        per_type={kind: {"precision": float(report[kind]["precision"]), "recall": float(report[kind]["recall"]),
                         "f1": float(report[kind]["f1-score"]), "support": int(report[kind]["support"])}
                  for kind in types if kind in report},
    )
    return out


def format_entity_report(report: dict[str, Any]) -> str:
    """The seqeval-style table of :func:`entity_metrics`: per type, then the micro average."""
    lines = [f"sentences = {report['n']}, tokens = {report['n_tokens']}, "
             f"token accuracy = {report['token_accuracy']:.4f}", ""]
    width = max(12, *(len(k) + 2 for k in report["per_type"]), len("micro avg") + 2)
    lines.append("type".ljust(width) + "".join(c.rjust(11) for c in ("precision", "recall", "f1", "support")))
    for kind, row in report["per_type"].items():
        lines.append(kind.ljust(width) + f"{row['precision']:>11.4f}{row['recall']:>11.4f}{row['f1']:>11.4f}"
                     f"{row['support']:>11d}")
    support = sum(row["support"] for row in report["per_type"].values())
    lines.append("")
    lines.append("micro avg".ljust(width) + f"{report['precision']:>11.4f}{report['recall']:>11.4f}"
                 f"{report['f1']:>11.4f}{support:>11d}")
    lines.append("macro avg".ljust(width) + f"{'':>11}{'':>11}{report['f1_macro']:>11.4f}{support:>11d}")
    return "\n".join(lines)
