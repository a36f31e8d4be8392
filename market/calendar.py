"""The New York Stock Exchange's calendar: trading days, and when daily data goes stale.

A daily bar is final once the market has closed and the data vendors have
settled it, so cached daily data (and replies built on it) stay valid until
the next exchange close plus a settling delay.  Holidays and early closes
(the day after Thanksgiving closes at 13:00) come from ``exchange_calendars``
(XNYS), the same calendar that decides whether a digest is due.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import pandas as pd

NEW_YORK = ZoneInfo("America/New_York")
SETTLE = dt.timedelta(minutes=30)  # vendors publish the daily bar a little after the close


@functools.cache
def _xnys():
    import exchange_calendars  # imported on first use: it takes half a second

    return exchange_calendars.get_calendar("XNYS")


def next_close(now: dt.datetime) -> dt.datetime:
    """The first settled close (exchange close + 30 minutes) strictly after ``now`` (an aware datetime)."""
    close = _xnys().next_close(pd.Timestamp(now - SETTLE).tz_convert("UTC"))
    return (close.to_pydatetime() + SETTLE).astimezone(NEW_YORK)


def is_trading_day(day: dt.date) -> bool:
    """Whether the exchange is open on ``day``."""
    return bool(_xnys().is_session(pd.Timestamp(day)))


def market_today(now: dt.datetime) -> dt.date:
    """Today's date in New York: the last date a daily bar can carry."""
    return now.astimezone(NEW_YORK).date()
