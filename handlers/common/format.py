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


def _rounded(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` decimals, a rounded zero unsigned (``+ 0.0`` turns ``-0.0`` into ``0.0``)."""
    return round(value, digits) + 0.0


def percent(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """``0.1234`` -> ``12.3%`` (``+12.3%`` when ``signed``); a value that rounds to zero reads ``0.0%``."""
    if _missing(value):
        return NOT_AVAILABLE
    shown = _rounded(value * 100, digits)
    return f"{shown:{'+' if signed and shown != 0 else ''}.{digits}f}%"


def points(value: float | None, digits: int = 1) -> str:
    """A share or gap in percentage points, the unit named in the column's title: ``0.1234`` -> ``+12.3``."""
    if _missing(value):
        return NOT_AVAILABLE
    shown = _rounded(value * 100, digits)
    return f"{shown:{'+' if shown != 0 else ''}.{digits}f}"


def weight(value: float) -> str:
    """A portfolio weight given in percent: ``70`` -> ``70%``, ``33.3333`` -> ``33.3%``."""
    return f"{_rounded(value, 1):g}%"


def short_weight(value: float) -> str:
    """A weight in a portfolio's short name (``SPY70``): whole percent when whole, else one decimal."""
    return f"{_rounded(value, 1):g}"


def ratio(value: float | None, digits: int = 2) -> str:
    """A plain ratio such as Sharpe or beta: ``0.8512`` -> ``0.85``."""
    return NOT_AVAILABLE if _missing(value) else f"{_rounded(value, digits):.{digits}f}"


def multiple(value: float | None) -> str:
    """A valuation multiple: ``15.9`` -> ``15.9x``."""
    return NOT_AVAILABLE if _missing(value) else f"{_rounded(value, 1):.1f}x"


def money(value: float | None) -> str:
    """Large amounts in short form: ``71_200_000_000`` -> ``$71.2B``."""
    if _missing(value):
        return NOT_AVAILABLE
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(value) >= size:
            return f"${_rounded(value / size, 1):.1f}{suffix}"
    return f"${_rounded(value, 0):,.0f}"


def price(value: float) -> str:
    """A close: ``1234.5`` -> ``1,234.50``."""
    return f"{_rounded(value, 2):,.2f}"


def years(value: float) -> str:
    """A window length: ``10.02`` -> ``10.0y``; under 0.1y in days (``0.011`` -> ``4 days``), never ``0.0y``."""
    if value < 0.05:
        days = round(value * 365.25)
        return f"{days} day{'' if days == 1 else 's'}"
    return f"{_rounded(value, 1):.1f}y"


def same_when_shown(a: float, b: float, digits: int) -> bool:
    """Whether two fractions read the same as percentages with ``digits`` decimals (``-0.341`` and ``-0.344``
    at 0 decimals): words comparing them must then say they are level, whatever the unrounded gap."""
    return percent(a, digits) == percent(b, digits)
