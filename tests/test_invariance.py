"""A prediction is a function of its own text: batch composition, order and duplicates change nothing.

Run over every strategy of the conformance table (tiny in-process models, default prediction
settings), and SetFit with its int8 body (the default on minilm), whose dynamic activation scales
once made a text's label depend on the other texts of the call.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_conformance import CASES

import fewshot
from fewshot.registry import get_strategy

_CASES = {**CASES, "setfit-int8": (lambda request: get_strategy("setfit")(
    model=str(request.getfixturevalue("tiny_st_dir")), num_iterations=2, epochs=1, quantize="int8"), None)}

# float32 kernels may sum in another order for another padding length: far below a label change
ATOL = 1e-4


@pytest.fixture(scope="module")
def texts():
    ds = fewshot.load_demo("intent")
    pool = ds.test.X
    # short and long texts together, so batches pad to very different lengths
    return sorted(pool, key=len)[:6] + sorted(pool, key=len)[-6:]


@pytest.fixture(scope="module", params=list(_CASES))
def fitted(request):
    factory, _ = _CASES[request.param]
    ds = fewshot.load_demo("intent")
    keep = {"billing", "delivery", "account"}
    rows = [(x, t) for x, t in zip(ds.train.X, ds.train.y) if t in keep][:18]
    return factory(request).fit([x for x, _ in rows], [t for _, t in rows])


def test_one_at_a_time_equals_batched(fitted, texts):
    batched = fitted.predict_proba(texts)
    single = np.vstack([fitted.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(single, batched, atol=ATOL)
    assert fitted.predict(texts).tolist() == [fitted.predict([t])[0] for t in texts]


def test_order_and_duplicates_change_nothing(fitted, texts):
    batched = fitted.predict_proba(texts)
    np.testing.assert_allclose(fitted.predict_proba(texts[::-1])[::-1], batched, atol=ATOL)
    doubled = fitted.predict_proba(texts + texts)
    np.testing.assert_allclose(doubled[: len(texts)], batched, atol=ATOL)
    np.testing.assert_allclose(doubled[len(texts):], batched, atol=ATOL)


def test_the_company_a_text_keeps_changes_nothing(fitted, texts):
    """The same text among very long neighbours or alone gives the same probabilities."""
    target = texts[0]
    noisy = [target] + ["a very long unrelated message about parcels and refunds " * 6] * 5
    np.testing.assert_allclose(fitted.predict_proba(noisy)[0], fitted.predict_proba([target])[0], atol=ATOL)


def test_blank_texts_get_a_defined_answer_in_predict(fitted):
    """Empty and whitespace-only texts are refused in fit but answered in predict, like any text."""
    blanks = ["", "   ", "\t\n"]
    proba = fitted.predict_proba(["where is my parcel", *blanks])
    assert proba.shape == (4, len(fitted.classes_)) and np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert set(fitted.predict(blanks).tolist()) <= set(fitted.classes_.tolist())
