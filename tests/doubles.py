"""What the tests wrap around real providers (never in place of our own code): a recording of every call, a
source that can be switched off, and a clock the test moves."""

from __future__ import annotations

import datetime as dt

from errors import DataUnavailable
from market.csvdir import CsvFolderProvider


class Recording:
    """A provider that passes calls to ``inner`` and records ``(method, tickers, start, end)``."""

    def __init__(self, inner: CsvFolderProvider) -> None:
        self.inner = inner
        self.name, self.key, self.is_demo = inner.name, inner.key, inner.is_demo
        self.calls: list[tuple] = []

    def bars(self, tickers, start, end):
        self.calls.append(("bars", tuple(tickers), start, end))
        return self.inner.bars(tickers, start, end)

    def fundamentals(self, tickers):
        self.calls.append(("fundamentals", tuple(tickers)))
        return self.inner.fundamentals(tickers)


class Flaky(Recording):
    """A provider that can be switched off, as Yahoo sometimes is."""

    down = False

    def bars(self, tickers, start, end):
        if self.down:
            self.calls.append(("bars", tuple(tickers), start, end))
            raise DataUnavailable("Yahoo Finance did not answer (timed out); try again shortly.")
        return super().bars(tickers, start, end)


class Clock:
    """``now`` for the code under test: ``when``, which the test sets."""

    def __init__(self, when: dt.datetime) -> None:
        self.when = when

    def __call__(self) -> dt.datetime:
        return self.when
