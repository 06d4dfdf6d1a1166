"""Number formatting shared by the report's tables and verdicts (percentages, seconds, counts)."""

from __future__ import annotations


def _pct(x: float | None, nd: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{nd}f}"


def _signed(x: float) -> str:
    return f"{100 * x:+.1f}"


def _secs(x: float | None) -> str:
    if x is None:
        return "–"
    if x < 1:
        return f"{x:.2f}"
    if x < 100:
        return f"{x:.1f}"
    return f"{x:.0f}"


def _num(x: float | None) -> str:
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}" if x >= 1 else f"{x:.2f}"
