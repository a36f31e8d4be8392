"""How figures read in chat: one formatter per kind of number, "n/a" for anything missing.

Every number a reply shows goes through here, so a rounded zero never keeps its sign ("0.0%", never
"-0.0%" or "+0.0%" for a value that rounds to nothing) and comparison words can be decided on the
figures as shown (``same_when_shown``).
"""

from __future__ import annotations

import math

NOT_AVAILABLE = "n/a"


def _missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def _fixed(value: float, digits: int, signed: bool = False) -> str:
    """``value`` with ``digits`` decimals (``+`` in front when ``signed``); a rounded zero is never negative
    (``0.0``, or ``+0.0`` when ``signed``)."""
    text = f"{value:{'+' if signed else ''}.{digits}f}"
    return ("+" if signed else "") + text.lstrip("+-") if float(text) == 0 else text


def percent(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """``0.1234`` -> ``12.3%`` (``+12.3%`` when ``signed``); a value that rounds to zero reads ``0.0%`` (``+0.0%``),
    never ``-0.0%``."""
    if _missing(value):
        return NOT_AVAILABLE
    return f"{_fixed(value * 100, digits, signed)}%"


def points(value: float | None, digits: int = 1) -> str:
    """A share or gap in percentage points, the unit named in the column's title: ``0.1234`` -> ``+12.3``."""
    if _missing(value):
        return NOT_AVAILABLE
    return _fixed(value * 100, digits, signed=True)


def short_weight(value: float) -> str:
    """A weight in a portfolio's short name (``SPY70``): whole percent when whole, else one decimal."""
    return f"{float(_fixed(value, 1)):g}"


def ratio(value: float | None, digits: int = 2) -> str:
    """A plain ratio such as Sharpe or beta: ``0.8512`` -> ``0.85``."""
    return NOT_AVAILABLE if _missing(value) else _fixed(value, digits)


def multiple(value: float | None) -> str:
    """A valuation multiple: ``15.9`` -> ``15.9x``."""
    return NOT_AVAILABLE if _missing(value) else f"{_fixed(value, 1)}x"


def money(value: float | None) -> str:
    """Large amounts in short form: ``71_200_000_000`` -> ``$71.2B``."""
    if _missing(value):
        return NOT_AVAILABLE
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(value) >= size:
            return f"${_fixed(value / size, 1)}{suffix}"
    return f"${value:,.0f}"


def years(value: float) -> str:
    """A window length: ``10.02`` -> ``10.0y``; under 0.1y in days (``0.011`` -> ``4 days``), never ``0.0y``."""
    if value < 0.05:
        days = round(value * 365.25)
        return f"{days} day{'' if days == 1 else 's'}"
    return f"{_fixed(value, 1)}y"


def same_when_shown(a: float, b: float, digits: int) -> bool:
    """Whether two fractions read the same as percentages with ``digits`` decimals (``-0.341`` and ``-0.344``
    at 0 decimals): words comparing them must then say they are level, whatever the unrounded gap."""
    return percent(a, digits) == percent(b, digits)
