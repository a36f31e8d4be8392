"""What the tests wrap around real providers (never in place of our own code): a recording of every call, a
source that can be switched off, a clock the test moves, and a poster that records what watchers post."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from errors import DataUnavailable
from handlers.common.reply import Reply
from market.calendar import NEW_YORK
from market.csvdir import CsvFolderProvider
from store.teamdata import Owner


class Recording:
    """A provider that passes calls to ``inner`` and records ``(method, tickers, start, end)``."""

    def __init__(self, inner: CsvFolderProvider) -> None:
        self.inner = inner
        self.name, self.key, self.is_demo, self.bills = inner.name, inner.key, inner.is_demo, inner.bills
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


def evening(day: str) -> dt.datetime:
    """18:00 in New York on ``day``: after that day's close."""
    d = dt.date.fromisoformat(day)
    return dt.datetime(d.year, d.month, d.day, 18, 0, tzinfo=NEW_YORK)


class Poster:
    """Records what a watcher posts as (channel, thread ts, reply); slow (``delay``), so two watchers racing
    overlap, and failing its first ``failures`` posts, as a channel Tilt was removed from does."""

    def __init__(self, delay: float = 0.2, failures: int = 0) -> None:
        self.posts: list[tuple[str, str | None, Reply]] = []
        self.delay, self.failures, self.attempts = delay, failures, 0
        self._lock = threading.Lock()

    def __call__(self, team: Owner, channel: str, thread_ts: str | None, reply: Reply) -> None:
        time.sleep(self.delay)
        with self._lock:
            self.attempts += 1
            if self.attempts <= self.failures:
                raise PermissionError("not_in_channel")
            self.posts.append((channel, thread_ts, reply))


def tick_together(watchers: Sequence[Any]) -> list:
    """What ``watchers`` (``schedule.watch.Watcher``) followed up on, ticking at the same moment, as two
    schedulers racing do."""
    start = threading.Barrier(len(watchers))

    def tick(watcher: Any) -> list:
        start.wait()
        return watcher.tick()

    with ThreadPoolExecutor(max_workers=len(watchers)) as pool:
        return [followed for each in pool.map(tick, watchers) for followed in each]
