"""The data source fetched once for every Tilt process: single flight and batching, on a real Redis.

Every market here has a Redis client and ``Cache`` of its own, as separate Tilt
processes do (one test uses real processes).  ``Counting`` wraps the real CSV
folder provider and records each ``bars`` call; it can sleep, to widen the race
the coordination has to win, and fail on demand.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import redis as redis_py

from errors import DataUnavailable, UnknownTicker
from handlers.common.reply import Reply, Table
from handlers.common.reply_cache import cached_reply, reply_key
from handlers.common.services import Services
from market.cache import Cache, connect
from market.cached import CachedMarket
from market.coordination import MAX_WAIT_SECONDS, Flight, lease_key
from market.csvdir import CsvFolderProvider
from tests.conftest import services_for
from tests.servers import PATIENCE

T = TypeVar("T")

NOW = dt.datetime(2026, 7, 15, 9, 0, tzinfo=ZoneInfo("America/New_York"))
START, END = dt.date(2016, 7, 1), dt.date(2026, 7, 15)
# Long enough that threads released together all join one batch, however the GIL schedules them.
WIDE_WINDOW = 0.3


class Counting:
    """A provider over the CSV folder that records each ``bars`` call's tickers (thread-safe)."""

    def __init__(self, folder: Path, *, delay: float = 0.0, down: bool = False) -> None:
        self.inner = CsvFolderProvider(folder)
        self.name, self.key, self.is_demo, self.bills = self.inner.name, self.inner.key, self.inner.is_demo, "BIL"
        self.delay, self.down = delay, down
        self.calls: list[tuple[str, ...]] = []
        self.started = threading.Event()
        self._lock = threading.Lock()

    def bars(self, tickers, start, end):
        with self._lock:
            self.calls.append(tuple(tickers))
        self.started.set()
        time.sleep(self.delay)
        if self.down:
            raise DataUnavailable("The test's data source is down.")
        return self.inner.bars(tickers, start, end)

    def fundamentals(self, tickers):
        return self.inner.fundamentals(tickers)


def own_cache(redis_url: str, key_prefix: str) -> Cache:
    """A ``Cache`` with a Redis client of its own, on the test's keys: what another process would have."""
    return Cache(connect(redis_url), prefix=f"{key_prefix}cache:")


def markets(provider: Counting, redis_url: str, key_prefix: str, count: int, **options) -> list[CachedMarket]:
    return [CachedMarket(provider, own_cache(redis_url, key_prefix), now=lambda: NOW, **options) for _ in range(count)]


def together(calls: list[Callable[[], T]]) -> list[T | Exception]:
    """Run each call in a thread of its own, all released at once: each one's result or error."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | Exception:
        barrier.wait()
        try:
            return call()
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def csv_bars(prices_dir: Path, ticker: str, start: dt.date = START) -> pd.DataFrame:
    return CsvFolderProvider(prices_dir).bars([ticker], start, END)[ticker]


# --- single flight of identical fetches ---------------------------------------------------------


def test_a_cold_ticker_asked_by_many_processes_at_once_is_fetched_once(prices_dir: Path, redis_url: str,
                                                                         key_prefix: str) -> None:
    provider = Counting(prices_dir, delay=0.3)
    results = together([lambda m=m: m.bars(["XLE"], START, END)["XLE"]
                        for m in markets(provider, redis_url, key_prefix, 8)])
    assert provider.calls == [("XLE",)]
    for frame in results:
        pd.testing.assert_frame_equal(frame, csv_bars(prices_dir, "XLE"), check_freq=False)


def _ask_in_a_process(redis_url: str, prefix: str, prices_dir: Path, ticker: str, barrier, results) -> None:
    """A Tilt process of its own (spawned): its own provider, Redis client and market, asking once."""
    provider = Counting(prices_dir, delay=0.3)
    market = CachedMarket(provider, Cache(connect(redis_url), prefix=prefix), now=lambda: NOW)
    barrier.wait()
    frame = market.bars([ticker], START, END)[ticker]
    results.put((len(provider.calls), frame))


def test_real_processes_asking_for_the_same_ticker_make_one_call(prices_dir: Path, redis_url: str,
                                                                 key_prefix: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(3), context.Queue()
    processes = [context.Process(target=_ask_in_a_process,
                                 args=(redis_url, f"{key_prefix}cache:", prices_dir, "XLU", barrier, results))
                 for _ in range(3)]
    for process in processes:
        process.start()
    answers = [results.get(timeout=PATIENCE) for _ in processes]
    for process in processes:
        process.join(timeout=PATIENCE)
    assert sum(calls for calls, _ in answers) == 1
    for _, frame in answers:
        pd.testing.assert_frame_equal(frame, csv_bars(prices_dir, "XLU"), check_freq=False)


def test_a_request_arriving_during_the_download_waits_for_it(prices_dir: Path, redis_url: str,
                                                             key_prefix: str) -> None:
    provider = Counting(prices_dir, delay=0.5)
    first, late = markets(provider, redis_url, key_prefix, 2)
    with ThreadPoolExecutor(max_workers=1) as pool:
        leading = pool.submit(first.bars, ["SMH"], START, END)
        assert provider.started.wait(timeout=PATIENCE)  # the batch is closed and its call under way
        waited = late.bars(["SMH"], START, END)["SMH"]
        led = leading.result()["SMH"]
    assert provider.calls == [("SMH",)]
    pd.testing.assert_frame_equal(waited, led)


def test_a_request_that_reaches_a_batch_after_it_ended_takes_its_outcome(prices_dir: Path, redis_url: str,
                                                                       key_prefix: str) -> None:
    """The late request joins XLV's batch while it is at the source, then leads a batch of its own for XLP, which
    takes longer: by the time it comes to XLV's, that batch has ended, and its kept outcome answers (XLV's bars are
    in the cache), rather than a second fetch."""
    first, second = Counting(prices_dir, delay=0.5), Counting(prices_dir, delay=1.0)
    (leading,), (late,) = markets(first, redis_url, key_prefix, 1), markets(second, redis_url, key_prefix, 1)
    with ThreadPoolExecutor(max_workers=1) as pool:
        led = pool.submit(leading.bars, ["XLV"], START, END)
        assert first.started.wait(timeout=PATIENCE)  # XLV's batch is closed and its call under way
        both = late.bars(["XLP", "XLV"], START, END)
        pd.testing.assert_frame_equal(led.result()["XLV"], csv_bars(prices_dir, "XLV"), check_freq=False)
    assert (first.calls, second.calls) == ([("XLV",)], [("XLP",)])
    for ticker in ("XLP", "XLV"):
        pd.testing.assert_frame_equal(both[ticker], csv_bars(prices_dir, ticker), check_freq=False)


# --- batching -----------------------------------------------------------------------------------


def test_tickers_asked_within_the_window_share_one_call(prices_dir: Path, redis_url: str, key_prefix: str) -> None:
    provider = Counting(prices_dir, delay=0.1)
    tickers = ["SPY", "IJR", "XLE", "SMH"]
    asking = markets(provider, redis_url, key_prefix, len(tickers), batch_window=WIDE_WINDOW)
    results = together([lambda m=m, t=t: m.bars([t], START, END) for m, t in zip(asking, tickers)])
    assert len(provider.calls) == 1 and sorted(provider.calls[0]) == sorted(tickers)
    for ticker, result in zip(tickers, results):
        assert list(result) == [ticker]
        pd.testing.assert_frame_equal(result[ticker], csv_bars(prices_dir, ticker), check_freq=False)


def test_spans_differing_in_start_share_one_call_from_the_earliest(prices_dir: Path, redis_url: str,
                                                                   key_prefix: str) -> None:
    provider = Counting(prices_dir)
    one_year, ten_years, later = markets(provider, redis_url, key_prefix, 3, batch_window=WIDE_WINDOW)
    recent = dt.date(2025, 7, 1)
    short, long = together([lambda: one_year.bars(["IWM"], recent, END)["IWM"],
                            lambda: ten_years.bars(["IWM"], START, END)["IWM"]])
    pd.testing.assert_frame_equal(short, csv_bars(prices_dir, "IWM", recent), check_freq=False)
    pd.testing.assert_frame_equal(long, csv_bars(prices_dir, "IWM"), check_freq=False)
    later.bars(["IWM"], START, END)  # the cache knows it holds ten years now
    assert provider.calls == [("IWM",)]


# --- failures -----------------------------------------------------------------------------------


def test_a_failing_source_fails_every_waiter_with_a_typed_error(prices_dir: Path, redis_url: str,
                                                               key_prefix: str) -> None:
    provider = Counting(prices_dir, delay=0.2, down=True)
    started = time.monotonic()
    results = together([lambda m=m: m.bars(["XLB"], START, END) for m in markets(provider, redis_url, key_prefix, 5)])
    assert time.monotonic() - started < MAX_WAIT_SECONDS  # told the source's error, not left to give up waiting
    assert provider.calls == [("XLB",)]
    assert all(type(r) is DataUnavailable and str(r) == "The test's data source is down." for r in results)


def test_an_unknown_ticker_fails_only_its_own_requester(prices_dir: Path, redis_url: str, key_prefix: str) -> None:
    provider = Counting(prices_dir)
    tickers = ["SPY", "NOPE", "XLU", "ZZZZ"]
    asking = markets(provider, redis_url, key_prefix, len(tickers), batch_window=WIDE_WINDOW)
    spy, nope, xlu, zzzz = together([lambda m=m, t=t: m.bars([t], START, END) for m, t in zip(asking, tickers)])
    assert isinstance(nope, UnknownTicker) and nope.tickers == ("NOPE",) and "ZZZZ" not in str(nope)
    assert isinstance(zzzz, UnknownTicker) and zzzz.tickers == ("ZZZZ",) and "NOPE" not in str(zzzz)
    pd.testing.assert_frame_equal(spy["SPY"], csv_bars(prices_dir, "SPY"), check_freq=False)
    pd.testing.assert_frame_equal(xlu["XLU"], csv_bars(prices_dir, "XLU"), check_freq=False)
    assert sorted(provider.calls[0]) == sorted(tickers) and [sorted(call) for call in provider.calls[1:]] == [["SPY", "XLU"]]


def _lead_and_hang(redis_url: str, prefix: str, prices_dir: Path, started) -> None:
    """A process that leads a batch and then hangs in the provider, until the test kills it."""
    provider = Counting(prices_dir, delay=3600)
    flight = Flight(Cache(connect(redis_url), prefix=prefix), lease_seconds=0.5)
    market = CachedMarket(provider, flight.cache, now=lambda: NOW, flight=flight)
    provider.started = started
    market.bars(["XLK"], START, END)


def test_a_leader_that_dies_is_taken_over_after_its_lease(prices_dir: Path, redis_url: str, key_prefix: str) -> None:
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    leader = context.Process(target=_lead_and_hang, args=(redis_url, f"{key_prefix}cache:", prices_dir, started))
    leader.start()
    try:
        assert started.wait(timeout=PATIENCE)
    finally:
        leader.kill()
        leader.join(timeout=10)
    provider = Counting(prices_dir)
    (waiter,) = markets(provider, redis_url, key_prefix, 1)
    began = time.monotonic()
    result = waiter.bars(["XLK"], START, END)["XLK"]
    # It waited for the dead leader's lease (0.5 s) to lapse, then took over (rather than giving up waiting).
    assert 0.1 < time.monotonic() - began < MAX_WAIT_SECONDS
    assert provider.calls == [("XLK",)]
    pd.testing.assert_frame_equal(result, csv_bars(prices_dir, "XLK"), check_freq=False)


# --- replies ------------------------------------------------------------------------------------


SAMPLE = Reply(text="SPY vs XLE", table=Table(("Ticker", "CAGR"), (("SPY", "12.0%"),)), footer="test")


class Builder:
    """A reply's build step that counts its runs and takes a while, or fails with ``error``."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.runs = 0
        self._lock = threading.Lock()

    def __call__(self) -> Reply:
        with self._lock:
            self.runs += 1
        time.sleep(0.3)
        if self.error is not None:
            raise self.error
        return SAMPLE


def services_on(cache: Cache, prices_dir: Path) -> Services:
    return services_for(CsvFolderProvider(prices_dir), cache)


def test_a_reply_asked_in_two_processes_at_once_is_built_once(prices_dir: Path, redis_url: str,
                                                              key_prefix: str) -> None:
    build = Builder()
    both = [services_on(own_cache(redis_url, key_prefix), prices_dir) for _ in range(2)]
    replies = together([lambda s=s: cached_reply(s, "compare:SPY,XLE:1y", build) for s in both])
    assert build.runs == 1
    assert replies == [SAMPLE, SAMPLE]


def test_a_failing_reply_fails_its_waiters_with_the_same_error(prices_dir: Path, redis_url: str,
                                                              key_prefix: str) -> None:
    build = Builder(UnknownTicker(["NOPE"], source="CSV folder prices"))
    both = [services_on(own_cache(redis_url, key_prefix), prices_dir) for _ in range(2)]
    errors = together([lambda s=s: cached_reply(s, "compare:NOPE:1y", build) for s in both])
    assert build.runs == 1
    assert all(isinstance(e, UnknownTicker) and e.tickers == ("NOPE",) and str(e) == str(build.error) for e in errors)


def test_a_reply_whose_builder_died_is_built_after_its_lease(prices_dir: Path, cache: Cache,
                                                             redis_client: redis_py.Redis) -> None:
    services = services_on(cache, prices_dir)
    dead_lease = cache.prefix + lease_key(reply_key(services, "compare:SPY,XLE:1y"))
    redis_client.set(dead_lease, "a process that died", px=400)
    build = Builder()
    began = time.monotonic()
    reply = cached_reply(services, "compare:SPY,XLE:1y", build)
    assert 0.35 < time.monotonic() - began < MAX_WAIT_SECONDS  # the dead lease lapsed, then it built
    assert build.runs == 1 and reply == SAMPLE


# --- without Redis ------------------------------------------------------------------------------


@pytest.mark.parametrize("redis_down", [None, "redis://127.0.0.1:1"], ids=["no Redis", "closed port"])
def test_without_redis_every_request_is_still_answered(prices_dir: Path, redis_down: str | None) -> None:
    cache = Cache(connect(redis_down) if redis_down else None, retry_after=0.0)
    provider = Counting(prices_dir)
    market = CachedMarket(provider, cache, now=lambda: NOW)
    services = Services(market=market, cache=cache)
    build = Builder()
    began = time.monotonic()
    frames = together([lambda: market.bars(["SPY"], START, END)["SPY"]] * 3)
    replies = together([lambda: cached_reply(services, "compare:SPY,XLE:1y", build)] * 2)
    assert time.monotonic() - began < MAX_WAIT_SECONDS  # nobody waited out a lease nobody holds
    for frame in frames:
        pd.testing.assert_frame_equal(frame, csv_bars(prices_dir, "SPY"), check_freq=False)
    assert len(provider.calls) == 3  # each request fetched for itself, as before Tilt had several processes
    assert replies == [SAMPLE, SAMPLE] and build.runs == 1  # single flight within the process remains
