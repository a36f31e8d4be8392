"""Typed errors that end up in front of a person.

Every error a user can cause or meet (bad input, unknown ticker, a data source
that is down) is one of these.  Each carries the sentence the person sees;
``handlers.common.router`` is the one place that turns them into an ephemeral reply,
so no other module formats error messages or lets a traceback through.
"""

from __future__ import annotations


class TiltError(Exception):
    """Base class: ``str(error)`` is a complete, friendly sentence for chat."""


class BadRequest(TiltError):
    """The command text could not be understood (bad period, too many tickers...)."""


class UnknownTicker(TiltError):
    """A ticker that the data source does not know."""

    def __init__(self, tickers: str | list[str] | tuple[str, ...], source: str = "") -> None:
        self.tickers = (tickers,) if isinstance(tickers, str) else tuple(tickers)
        names = ", ".join(self.tickers)
        where = f" in {source}" if source else ""
        plural = "s" if len(self.tickers) > 1 else ""
        super().__init__(f"I can't find the ticker{plural} {names}{where}. Check the spelling (e.g. BRK-B, ^IRX, 7203.T).")


class DataUnavailable(TiltError):
    """The data source failed, timed out or has no data for the window asked."""


class RateLimited(DataUnavailable):
    """The data source told us to slow down (HTTP 429) and retries ran out."""


class StorageUnavailable(TiltError):
    """Team data (watchlists, schedules) cannot be read or saved because Redis is unreachable."""

    def __init__(self) -> None:
        super().__init__("I can't reach my storage right now, so nothing was read or changed. Try again in a minute.")
