"""Parameter checks, declared once per strategy.

Each strategy lists its parameters and what each may hold in one class attribute, the way
scikit-learn's ``_parameter_constraints`` does (scikit-learn's ``Interval``/``StrOptions`` live in a
private module, so this is a small equivalent of our own)::

    _parameter_rules = {
        "epochs": Integer(1),
        "learning_rate": Real(0, 1, closed="neither") | NONE,
        "sampling": Options("oversampling", "undersampling", "unique"),
    }

:func:`check_params` then checks a parameter dict against it and raises a ``ValueError`` that names
the parameter, says what is allowed and what was given:
``epochs must be an integer >= 1; got 0.``

Parameters arrive from Python code, JSON (``--param key=value``), suite files and grid searches, so
numpy scalars count as numbers and ``True``/``False`` never count as integers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np


def is_int(value: Any, *, minimum: int | None = None) -> bool:
    """``value`` is an integer (Python or numpy, not a bool), at least ``minimum`` when given."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        return False
    return minimum is None or value >= minimum


def is_number(value: Any) -> bool:
    """``value`` is a real number (Python or numpy int/float, not a bool)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value: Any, minimum: int) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is an integer ``>= minimum``."""
    if not is_int(value, minimum=minimum):
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")


class Rule:
    """What one parameter may hold: a test and the words a message uses for it.

    ``rule_a | rule_b`` accepts what either accepts; ``rule.described("...")`` keeps the test and
    changes the words (for a hint such as ``"an integer >= 0 (0 keeps the body frozen)"``).
    """

    def __init__(self, accepts: Callable[[Any], bool], text: str):
        self.accepts = accepts
        self.text = text

    def __call__(self, value: Any) -> bool:
        try:
            return bool(self.accepts(value))
        except (TypeError, ValueError):
            return False

    def __or__(self, other: Rule) -> Rule:
        return Rule(lambda v: self(v) or other(v), f"{self.text} or {other.text}")

    def described(self, text: str) -> Rule:
        return Rule(self.accepts, text)

    def __repr__(self) -> str:
        return f"Rule({self.text!r})"


def Integer(minimum: int | None = None) -> Rule:  # noqa: N802 - reads as a type
    """An integer (not a bool), at least ``minimum`` when given."""
    text = "an integer" if minimum is None else f"an integer >= {minimum}"
    return Rule(lambda v: is_int(v, minimum=minimum), text)


def Real(low: float | None = None, high: float | None = None, *, closed: str = "both") -> Rule:  # noqa: N802
    """A finite real number between ``low`` and ``high``; ``closed`` is ``"both"``, ``"left"``,
    ``"right"`` or ``"neither"`` (which ends belong to the interval)."""
    left_in, right_in = closed in ("both", "left"), closed in ("both", "right")

    def accepts(v):
        if not is_number(v) or not math.isfinite(float(v)):
            return False
        if low is not None and (v < low or (v == low and not left_in)):
            return False
        return not (high is not None and (v > high or (v == high and not right_in)))

    if low == 0 and high is None:
        text = "a non-negative number" if left_in else "a positive number"
    elif low is not None and high is not None and not (left_in or right_in):
        text = f"between {low:g} and {high:g}"
    elif low is not None and high is not None:
        text = f"in {'[' if left_in else '('}{low:g}, {high:g}{']' if right_in else ')'}"
    elif low is not None:
        text = f"a number {'>=' if left_in else '>'} {low:g}"
    elif high is not None:
        text = f"a number {'<=' if right_in else '<'} {high:g}"
    else:
        text = "a finite number"
    return Rule(accepts, text)


def Options(*values: Any) -> Rule:  # noqa: N802
    """One of ``values``: equal and of the same type (``True`` is not ``1`` here; a numpy string counts as a str)."""

    def accepts(v):
        v = str(v) if isinstance(v, np.str_) else v
        return any(type(v) is type(o) and v == o for o in values)

    if len(values) == 2:
        text = f"{values[0]!r} or {values[1]!r}"
    elif all(isinstance(v, str) for v in values):
        text = "one of " + ", ".join(values)
    else:
        text = "one of " + ", ".join(repr(v) for v in values)
    return Rule(accepts, text)


def Check(test: Callable[[Any], bool], text: str) -> Rule:  # noqa: N802
    """Any test with the words a message uses for it."""
    return Rule(test, text)


NONE = Rule(lambda v: v is None, "None")
BOOL = Rule(lambda v: isinstance(v, (bool, np.bool_)), "True or False")
MODEL = Rule(lambda v: isinstance(v, str) and bool(v), "a model alias, folder or hub id (a non-empty string)")
SEED = Integer(0)
_DEVICE = re.compile(r"(auto|cpu|cuda(:\d+)?)")
#: ``"auto"`` (a GPU when one is present, else the CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; None means "auto".
DEVICE = Rule(lambda v: v is None or (isinstance(v, str) and _DEVICE.fullmatch(v) is not None),
              "'auto', 'cpu', 'cuda' or 'cuda:N' (N a GPU index)")


def check_params(params: Mapping[str, Any], rules: Mapping[str, Rule]) -> None:
    """Raise ``ValueError`` for the first parameter of ``params`` that its rule refuses.

    Parameters without a rule are not checked (a strategy checks combinations itself).
    """
    for name, rule in rules.items():
        if name in params and not rule(params[name]):
            raise ValueError(f"{name} must be {rule.text}; got {params[name]!r}.")


__all__ = [
    "BOOL", "DEVICE", "MODEL", "NONE", "SEED", "Check", "Integer", "Options", "Real", "Rule", "check_int",
    "check_params", "is_int", "is_number",
]
