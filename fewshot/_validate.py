"""Type checks shared by the strategies' parameter validation.

Parameters arrive from Python code, JSON (``--param key=value``), suite files and grid searches, so
numpy scalars count as numbers and ``True``/``False`` never count as integers.
"""

from __future__ import annotations

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
