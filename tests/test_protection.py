"""The shared rate limit and circuit breaker in front of a data source, on a real Redis."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from errors import DataUnavailable, RateLimited
from market.cache import Cache, connect
from market.cached import CachedMarket, served_stale
from market.csvdir import CsvFolderProvider
from market.protection import Breaker, RateLimit
from tests.test_commands import Flaky

NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=ZoneInfo("America/New_York"))


def test_the_bucket_is_shared_and_refills_at_its_rate(cache: Cache) -> None:
    first, second = (RateLimit(cache, "Yahoo Finance", rate=10.0, burst=5, max_wait=2.0) for _ in range(2))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda limit: limit.take(), [first, second] * 7))  # 14 tokens from one bucket of 5
    elapsed = time.monotonic() - started
    # 5 from the full bucket, 9 more at 10 a second: at least 0.9 s, whichever process takes them.  (A slower
    # refill would have a take wait beyond max_wait and raise; no upper bound on time: CI may be loaded.)
    assert 0.85 <= elapsed


def test_a_caller_that_would_wait_too_long_is_told_to_slow_down(cache: Cache) -> None:
    limit = RateLimit(cache, "Yahoo Finance", rate=1.0, burst=2, max_wait=0.3)
    limit.take(2)
    with pytest.raises(RateLimited, match="pacing"):
        limit.take()


def test_without_redis_the_limit_lets_calls_through() -> None:
    limit = RateLimit(Cache(connect("redis://127.0.0.1:1")), "Yahoo Finance", rate=0.001, burst=1, max_wait=0.1)
    for _ in range(3):
        limit.take()


def test_the_breaker_opens_after_repeated_failures_and_serves_cached_prices(prices_dir: Path, cache: Cache) -> None:
    provider = Flaky(CsvFolderProvider(prices_dir))
    clock = {"now": NOW}
    breaker = Breaker(cache, "CSV", threshold=3, window=60, cool_down=1)
    market = CachedMarket(provider, cache, now=lambda: clock["now"], breaker=breaker)
    market.bars(["SPY"], dt.date(2025, 1, 1), dt.date(2026, 7, 15))
    provider.down = True
    clock["now"] = NOW + dt.timedelta(days=2)
    for _ in range(3):
        market.bars(["SPY"], dt.date(2025, 1, 1), dt.date(2026, 7, 17))  # each fails, each answered from cache
    calls = len(provider.calls)
    answer = market.bars(["SPY"], dt.date(2025, 1, 1), dt.date(2026, 7, 17))
    assert len(provider.calls) == calls  # open: the source was not asked at all
    assert answer["SPY"].index[-1] == dt.datetime(2026, 7, 14) and served_stale()
    with pytest.raises(DataUnavailable, match="has been failing"):
        market.bars(["XLU"], dt.date(2025, 1, 1), dt.date(2026, 7, 17))  # nothing cached to fall back on
    time.sleep(1.1)  # cool-down over: the source is tried again
    provider.down = False
    market.bars(["SPY"], dt.date(2025, 1, 1), dt.date(2026, 7, 17))
    assert len(provider.calls) == calls + 1
