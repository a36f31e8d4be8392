"""Periods as people say them, and the trading-day windows they mean.

A ``Period`` is what the user asked for ("10y", "ytd", "since 2020",
"2015-01-01..2025-09-30"); ``resolve_window`` turns it into a ``Window`` of
two trading dates on the tickers' common dates, with the convention of
trailing-return tables:

* the window **ends** at the last common trading day (for a date range, the
  last common trading day on or before the range's end);
* it **starts** at the last close on or before the start date, where the start
  date is the end minus N calendar years, months or weeks (trailing periods),
  the last day of the previous year, quarter or month (``ytd``, ``qtd``,
  ``mtd``), the day before a range's first day (so the first day's return
  counts), or the first common day (``max``).

When the common history does not reach back to the start date the window
starts at the first common day and is marked ``truncated``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from errors import DataUnavailable

EARLIEST = dt.date(1900, 1, 1)
# The periods "to date" and how a sentence says them.
TO_DATE = {"ytd": "year to date", "qtd": "quarter to date", "mtd": "month to date"}
# Fetch a little before the start date so "the last close on or before" it exists.
LOOKBACK_MARGIN = dt.timedelta(days=10)


@dataclass(frozen=True)
class Period:
    """A normalised period; build it with the class methods."""

    label: str
    kind: Literal["trailing", "ytd", "qtd", "mtd", "max", "range"]
    years: int = 0
    months: int = 0
    weeks: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None

    @classmethod
    def trailing(cls, *, years: int = 0, months: int = 0, weeks: int = 0) -> "Period":
        label = f"{years}y" if years else f"{months}m" if months else f"{weeks}w"
        return cls(label=label, kind="trailing", years=years, months=months, weeks=weeks)

    @classmethod
    def ytd(cls) -> "Period":
        return cls(label="ytd", kind="ytd")

    @classmethod
    def qtd(cls) -> "Period":
        return cls(label="qtd", kind="qtd")

    @classmethod
    def mtd(cls) -> "Period":
        return cls(label="mtd", kind="mtd")

    @classmethod
    def calendar_year(cls, year: int) -> "Period":
        return cls(label=str(year), kind="range", first_day=dt.date(year, 1, 1), last_day=dt.date(year, 12, 31))

    @classmethod
    def max(cls) -> "Period":
        return cls(label="max", kind="max")

    @classmethod
    def since(cls, first_day: dt.date) -> "Period":
        label = f"since {first_day.year}" if (first_day.month, first_day.day) == (1, 1) else f"since {first_day}"
        return cls(label=label, kind="range", first_day=first_day)

    @classmethod
    def between(cls, first_day: dt.date, last_day: dt.date) -> "Period":
        return cls(label=f"{first_day}..{last_day}", kind="range", first_day=first_day, last_day=last_day)

    @property
    def phrase(self) -> str:
        """The period in a sentence: "over 10y", "year to date", "since 2020"."""
        if self.kind in TO_DATE:
            return TO_DATE[self.kind]
        if self.kind == "max":
            return "over all common history"
        if self.kind == "range":
            if self.label.isdigit():
                return f"in {self.label}"
            return f"from {self.first_day} to {self.last_day}" if self.last_day else self.label
        return f"over {self.label}"

    def fetch_span(self, today: dt.date) -> tuple[dt.date, dt.date]:
        """The calendar span of data needed to resolve this period on or before ``today``."""
        end = min(self.last_day, today) if self.last_day else today
        if self.kind == "max":
            return EARLIEST, end
        return self.start_target(pd.Timestamp(end)).date() - LOOKBACK_MARGIN, end

    def start_target(self, end: pd.Timestamp) -> pd.Timestamp:
        """The date whose last close (on or before it) opens the window ending at ``end``."""
        if self.kind == "trailing":
            return end - pd.DateOffset(years=self.years, months=self.months, weeks=self.weeks)
        if self.kind == "ytd":
            return pd.Timestamp(end.year - 1, 12, 31)
        if self.kind == "qtd":
            return pd.Timestamp(end.year, (end.month - 1) // 3 * 3 + 1, 1) - pd.Timedelta(days=1)
        if self.kind == "mtd":
            return pd.Timestamp(end.year, end.month, 1) - pd.Timedelta(days=1)
        if self.kind == "range":
            return pd.Timestamp(self.first_day) - pd.Timedelta(days=1)
        return pd.Timestamp(EARLIEST)


@dataclass(frozen=True)
class Window:
    """The trading dates a period resolves to; ``truncated`` when history was too short."""

    start: pd.Timestamp
    end: pd.Timestamp
    truncated: bool


def resolve_window(period: Period, dates: pd.DatetimeIndex) -> Window:
    """Resolve ``period`` on the sorted common trading ``dates`` (see the module docstring)."""
    if period.last_day is not None:
        dates = dates[dates <= pd.Timestamp(period.last_day)]
    if len(dates) < 2:
        raise DataUnavailable(f"There is not enough common price history for {period.label}.")
    end = dates[-1]
    if period.kind == "max":
        return Window(start=dates[0], end=end, truncated=False)
    target = period.start_target(end)
    on_or_before = dates[dates <= target]
    if on_or_before.empty:
        return Window(start=dates[0], end=end, truncated=True)
    start = on_or_before[-1]
    if start == end:
        raise DataUnavailable(f"There is not enough common price history for {period.label}.")
    return Window(start=start, end=end, truncated=False)
