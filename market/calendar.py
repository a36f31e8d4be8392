"""When daily data goes stale.

A daily bar is final once the US market has closed and the data vendors have
settled it, so cached daily data (and replies built on it) stay valid until
the next weekday close in New York plus a settling delay.  Exchange holidays
are not modelled yet: on a holiday the cache simply refreshes once and finds
no new bar.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
SETTLED_AT = dt.time(16, 30)  # 16:00 close plus 30 minutes for the vendors' daily bar


def next_close(now: dt.datetime) -> dt.datetime:
    """The first weekday settle time (16:30 New York) strictly after ``now`` (an aware datetime)."""
    local = now.astimezone(NEW_YORK)
    day = local.date()
    candidate = dt.datetime.combine(day, SETTLED_AT, NEW_YORK)
    while candidate <= local or candidate.weekday() >= 5:
        day += dt.timedelta(days=1)
        candidate = dt.datetime.combine(day, SETTLED_AT, NEW_YORK)
    return candidate


def market_today(now: dt.datetime) -> dt.date:
    """Today's date in New York: the last date a daily bar can carry."""
    return now.astimezone(NEW_YORK).date()
