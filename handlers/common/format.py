"""How figures read in chat: one formatter per kind of number, "n/a" for anything missing."""

from __future__ import annotations

import math

NOT_AVAILABLE = "n/a"


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def percent(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """``0.1234`` -> ``12.3%`` (``+12.3%`` when ``signed``); a value that rounds to zero reads ``0.0%``, never ``-0.0%``."""
    if _missing(value):
        return NOT_AVAILABLE
    # Rounding first and adding 0.0 turns -0.0 into 0.0, so a tiny loss does not print as "-0.0%".
    shown = round(value * 100, digits) + 0.0
    return f"{shown:{'+' if signed else ''}.{digits}f}%"


def ratio(value: float | None, digits: int = 2) -> str:
    """A plain ratio such as Sharpe or beta: ``0.8512`` -> ``0.85``."""
    return NOT_AVAILABLE if _missing(value) else f"{value:.{digits}f}"


def multiple(value: float | None) -> str:
    """A valuation multiple: ``15.9`` -> ``15.9x``."""
    return NOT_AVAILABLE if _missing(value) else f"{value:.1f}x"


def money(value: float | None) -> str:
    """Large amounts in short form: ``71_200_000_000`` -> ``$71.2B``."""
    if _missing(value):
        return NOT_AVAILABLE
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(value) >= size:
            return f"${value / size:.1f}{suffix}"
    return f"${value:,.0f}"


def years(value: float) -> str:
    """A window length: ``10.02`` -> ``10.0y``."""
    return f"{value:.1f}y"
