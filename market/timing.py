"""When a digest is due.

A ``Schedule`` is a wall-clock time in an IANA time zone, on every trading day
(``daily``/``weekdays``) or one weekday a week (``weekly``).  Due instants are
built from the local date and time with ``zoneinfo``, so "08:30 New York" is
08:30 on the wall clock before and after a daylight-saving change (13:30 UTC
in winter, 12:30 UTC in summer).

Daily and weekday digests describe the US market, so they are not due on a
day the New York Stock Exchange is closed (weekends, holidays): no digest
about a holiday unless someone asks with ``/digest now``.  A weekly digest
sums up the week and is due on its weekday whatever the exchange does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Iterator, Literal
from zoneinfo import ZoneInfo

from market.calendar import NEW_YORK, is_trading_day

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far back to look for the latest due instant: a weekly schedule repeats every 7 days.
LOOKBACK_DAYS = 8


@dataclass(frozen=True)
class Schedule:
    kind: Literal["daily", "weekdays", "weekly"]
    at: str  # "HH:MM", 24-hour wall clock
    tz: str  # IANA name, e.g. "America/New_York"
    weekday: int | None = None  # 0 = Monday, for weekly schedules

    def describe(self) -> str:
        when = {"daily": "every trading day", "weekdays": "every weekday the market is open",
                "weekly": f"every {WEEKDAYS[self.weekday or 0].capitalize()}"}[self.kind]
        return f"{when} at {self.at} {self.tz}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Schedule":
        return cls(**data)


def latest_due(schedule: Schedule, now: dt.datetime) -> dt.datetime | None:
    """The most recent due instant at or before ``now`` (aware), or ``None`` within the look-back."""
    return next((i for i in _instants(schedule, now, step=-1) if i <= now), None)


def next_due(schedule: Schedule, now: dt.datetime) -> dt.datetime | None:
    """The first due instant after ``now`` within the look-ahead (a week and a bit; holidays may push it out)."""
    return next((i for i in _instants(schedule, now, step=1) if i > now), None)


def _instants(schedule: Schedule, now: dt.datetime, step: int) -> Iterator[dt.datetime]:
    """Candidate due instants on the days around ``now``'s local date, walking ``step`` days at a time."""
    zone = ZoneInfo(schedule.tz)
    local_today = now.astimezone(zone).date()
    hour, minute = (int(part) for part in schedule.at.split(":"))
    for offset in range(LOOKBACK_DAYS + 1):
        day = local_today + dt.timedelta(days=step * offset)
        instant = dt.datetime.combine(day, dt.time(hour, minute), zone)
        if _is_due_day(schedule, instant):
            yield instant


def _is_due_day(schedule: Schedule, instant: dt.datetime) -> bool:
    local_day = instant.date()
    if schedule.kind == "weekly":
        return local_day.weekday() == schedule.weekday
    return is_trading_day(instant.astimezone(NEW_YORK).date())
