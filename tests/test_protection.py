"""The shared rate limit and circuit breaker in front of a data source, on a real Redis."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis as redis_py

from errors import DataUnavailable, RateLimited, UnknownTicker
from handlers.common import router
from handlers.common.budget import Budget
from handlers.common.caller import Caller
from handlers.common.services import Services
from market.cache import Cache, connect
from market.cached import UNKNOWN_TICKER_SECONDS, CachedMarket, reset_stale, served_stale
from market.csvdir import CsvFolderProvider
from market.protection import Breaker, RateLimit
from store.teamdata import MAX_WATCHLIST, TeamStore
from tests.doubles import Flaky, Recording
from tests.servers import wait_until

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


def test_without_redis_the_limit_lets_calls_through(cache: Cache) -> None:
    # With Redis, a bucket of 1 refilling once in 1000 s refuses the second call; without Redis it fails open.
    on_redis = RateLimit(cache, "Yahoo Finance", rate=0.001, burst=1, max_wait=0.1)
    on_redis.take()
    with pytest.raises(RateLimited):
        on_redis.take()
    limit = RateLimit(Cache(connect("redis://127.0.0.1:1")), "Yahoo Finance", rate=0.001, burst=1, max_wait=0.1)
    taken = 0
    for _ in range(3):
        limit.take()
        taken += 1
    assert taken == 3


def test_a_quiet_spell_refills_the_bucket_to_its_burst_and_no_further(cache: Cache, redis_client: redis_py.Redis,
                                                                    key_prefix: str) -> None:
    limit = RateLimit(cache, "Yahoo Finance", rate=1.0, burst=3, max_wait=0.5)
    key = f"{key_prefix}cache:ratelimit:Yahoo Finance"
    limit.take()  # one token unless told
    assert 2.0 <= float(redis_client.hget(key, "tokens")) < 2.5
    limit.take(2)
    redis_client.hset(key, "at", str(time.time() - 3600))  # the last take an hour ago: 3600 tokens' worth of quiet
    limit.take(3)  # the full bucket: 3 at once
    assert float(redis_client.hget(key, "tokens")) < 1.0
    with pytest.raises(RateLimited, match="pacing"):
        limit.take()  # the 4th waits a second for its token: longer than max_wait


def test_an_empty_cached_frame_is_no_stale_fallback(prices_dir: Path, cache: Cache) -> None:
    provider = Flaky(CsvFolderProvider(prices_dir))
    clock = {"now": NOW}
    market = CachedMarket(provider, cache, now=lambda: clock["now"])
    assert market.bars(["SPY"], dt.date(2026, 7, 11), dt.date(2026, 7, 12))["SPY"].empty  # a weekend: cached empty
    provider.down = True
    clock["now"] = NOW + dt.timedelta(days=2)
    # The cache holds no bar of the week asked for: the source's failure is the answer, not an empty table.
    reset_stale()  # a new request, as the router starts each one
    with pytest.raises(DataUnavailable, match="did not answer"):
        market.bars(["SPY"], dt.date(2026, 7, 11), dt.date(2026, 7, 17))
    assert not served_stale()


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
    wait_until(lambda: cache.get("breaker:CSV:open") is None, what="the 1-second cool-down to end")
    # Cool-down over: the source is tried again.
    provider.down = False
    market.bars(["SPY"], dt.date(2025, 1, 1), dt.date(2026, 7, 17))
    assert len(provider.calls) == calls + 1


def test_breaker_failures_count_within_their_window_only(cache: Cache, redis_client: redis_py.Redis,
                                                          key_prefix: str) -> None:
    breaker = Breaker(cache, "CSV", threshold=3, window=60, cool_down=30)
    breaker.failed()
    # The failures counted so far are forgotten a window after the first: sparse failures never open it.
    assert 0 < redis_client.ttl(f"{key_prefix}cache:breaker:CSV:failures") <= 60
    breaker.failed()
    breaker.check()  # 2 of 3: still closed
    breaker.failed()
    with pytest.raises(DataUnavailable, match="has been failing"):
        breaker.check()


def test_without_redis_the_breaker_never_opens() -> None:
    breaker = Breaker(Cache(connect("redis://127.0.0.1:1")), "CSV", threshold=1)
    let_through = 0
    for _ in range(3):
        breaker.failed()  # counted nowhere, and no error of its own
        breaker.check()  # fails open: the source is still asked
        let_through += 1
    assert let_through == 3


def test_a_batch_larger_than_the_burst_is_charged_in_full(cache: Cache, redis_client: redis_py.Redis,
                                                          key_prefix: str) -> None:
    limit = RateLimit(cache, "Yahoo Finance", rate=2.0, burst=10, max_wait=5.0)
    limit.take(50)  # a full bucket lets a 50-ticker batch go at once, owing 40 tokens
    tokens = float(redis_client.hget(f"{key_prefix}cache:ratelimit:Yahoo Finance", "tokens"))
    assert -40.0 <= tokens < -39.0
    with pytest.raises(RateLimited, match="pacing"):
        limit.take()  # the debt takes 20 s to repay at 2 a second: longer than anyone waits


def test_a_50_ticker_watchlist_add_costs_50_requests(prices_dir: Path, cache: Cache, store: TeamStore,
                                                     redis_client: redis_py.Redis, key_prefix: str) -> None:
    tickers = sorted(p.stem for p in prices_dir.glob("*.csv") if p.stem.isalpha())[:MAX_WATCHLIST]
    burst, rate = 10, 2.0
    limit = RateLimit(cache, "CSV", rate=rate, burst=burst, max_wait=5.0)
    services = Services(market=CachedMarket(CsvFolderProvider(prices_dir), cache, now=lambda: NOW, rate_limit=limit),
                        cache=cache, team_store=store)
    answer = router.run(f"/watchlist add {' '.join(tickers)}", services, Caller("slack", "T1", "C1", "U1"))
    assert answer.text.startswith(f"Added {tickers[0]}")
    tokens = float(redis_client.hget(f"{key_prefix}cache:ratelimit:CSV", "tokens"))
    assert burst - len(tickers) <= tokens < burst - len(tickers) + 5 * rate  # charged 50, less what refilled since


def test_an_unknown_ticker_is_remembered_for_an_hour(prices_dir: Path, cache: Cache, redis_client: redis_py.Redis,
                                                     key_prefix: str) -> None:
    provider = Recording(CsvFolderProvider(prices_dir))
    market = CachedMarket(provider, cache, now=lambda: NOW)
    window = (dt.date(2026, 6, 1), dt.date(2026, 7, 14))
    for _ in range(3):
        with pytest.raises(UnknownTicker) as error:
            market.bars(["NOPE", "SPY"], *window)
        assert list(error.value.tickers) == ["NOPE"]
    assert [c[1] for c in provider.calls if "NOPE" in c[1]] == [("NOPE", "SPY")]  # asked once, then remembered
    key = f"{key_prefix}cache:unknown:{provider.key}:NOPE"
    assert UNKNOWN_TICKER_SECONDS - 60 <= redis_client.ttl(key) <= UNKNOWN_TICKER_SECONDS
    redis_client.delete(key)  # the hour is over: the source is asked again
    with pytest.raises(UnknownTicker):
        market.bars(["NOPE"], *window)
    assert len([c for c in provider.calls if "NOPE" in c[1]]) == 2


def test_a_refused_command_names_the_budget_it_is_over(cache: Cache) -> None:
    budget = Budget(cache, per_user=2, per_team=3)
    assert [budget.refusal("T1", "alice") for _ in range(2)] == [None, None]
    assert "2 commands a minute per person" in budget.refusal("T1", "alice")
    assert budget.refusal("T1", "bob") is None  # alice's refused third cost the workspace nothing: 3 of 3 counted
    refused = budget.refusal("T1", "carol")
    assert "this workspace has asked for more than 3 commands this minute" in refused and "per person" not in refused
    assert budget.refusal("T2", "carol") is None  # another workspace has budgets of its own
