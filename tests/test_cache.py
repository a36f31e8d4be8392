"""The Redis cache in front of a provider, on a real Redis.

A ``Recording`` provider wraps a real CSV-folder provider and notes every
call, so the tests can see which spans were fetched.  Data changes over time
(a new trading day, a dividend that re-scales history) are played by
rewriting a CSV folder in ``tmp_path`` from the shared real prices.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import pytest
import redis as redis_py
from prometheus_client import REGISTRY

from errors import DataUnavailable, UnknownTicker
from market.cache import Cache, connect
from market.cached import CachedMarket, reset_stale, served_stale, stitch
from market.calendar import NEW_YORK, next_close
from market.csvdir import CsvFolderProvider
from market.protection import RateLimit
from market.provider import Fundamentals
from market.redis_server import EmbeddedRedis
from tests.doubles import Clock, Flaky, Recording


def at_new_york(day: str, hour: int = 18) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), NEW_YORK)


def write_folder(folder: Path, source: Path, ticker: str, last_day: str, scale_before: tuple[str, float] | None = None) -> pd.DataFrame:
    """Write ``ticker``'s shared prices up to ``last_day`` into ``folder``; optionally scale Adj Close before a date
    (what a dividend paid on that date does to a whole adjusted history)."""
    frame = pd.read_csv(source / f"{ticker}.csv", index_col="Date", parse_dates=["Date"]).loc[:last_day]
    if scale_before is not None:
        day, factor = scale_before
        frame.loc[frame.index < day, "Adj Close"] *= factor
    folder.mkdir(exist_ok=True)
    frame.to_csv(folder / f"{ticker}.csv")
    return frame


@pytest.fixture
def shared_market(prices_dir: Path, cache: Cache) -> tuple[CachedMarket, Recording, Clock]:
    provider = Recording(CsvFolderProvider(prices_dir))
    clock = Clock(at_new_york("2026-07-15", 9))
    return CachedMarket(provider, cache, now=clock), provider, clock


def test_longer_window_fetches_only_the_missing_older_span(shared_market, prices_dir: Path) -> None:
    market, provider, _ = shared_market
    one_year = market.bars(["SPY", "IJR"], dt.date(2025, 7, 1), dt.date(2026, 7, 15))
    assert provider.calls == [("bars", ("SPY", "IJR"), dt.date(2025, 7, 1), dt.date(2026, 7, 15))]
    ten_years = market.bars(["SPY", "IJR"], dt.date(2016, 7, 1), dt.date(2026, 7, 15))
    first_cached_bar = one_year["SPY"].index[0].date()
    assert provider.calls[1:] == [("bars", ("SPY", "IJR"), dt.date(2016, 7, 1), first_cached_bar)]
    direct = CsvFolderProvider(prices_dir).bars(["SPY", "IJR"], dt.date(2016, 7, 1), dt.date(2026, 7, 15))
    for ticker in ("SPY", "IJR"):
        pd.testing.assert_frame_equal(ten_years[ticker], direct[ticker], check_freq=False)
    market.bars(["SPY", "IJR"], dt.date(2016, 7, 1), dt.date(2026, 7, 15))
    assert len(provider.calls) == 2  # fetching older history left the newest bars as fresh as they were


def test_a_repeated_request_is_served_from_redis(shared_market, cache: Cache) -> None:
    market, provider, _ = shared_market
    first = market.bars(["SMH"], dt.date(2020, 1, 1), dt.date(2026, 7, 15))
    again = CachedMarket(provider, cache, now=market._now).bars(["SMH"], dt.date(2021, 1, 1), dt.date(2026, 7, 15))
    assert len(provider.calls) == 1
    pd.testing.assert_frame_equal(again["SMH"], first["SMH"].loc["2021-01-01":], check_freq=False)


def friday_evening_market(tmp_path: Path, prices_dir: Path, cache: Cache, ticker: str,
                          since: dt.date) -> tuple[Path, Recording, Clock, CachedMarket]:
    """``ticker`` up to Friday 2026-07-10 in a folder of its own, fetched into the cache from ``since`` that evening."""
    folder = tmp_path / "prices"
    write_folder(folder, prices_dir, ticker, "2026-07-10")
    provider = Recording(CsvFolderProvider(folder))
    clock = Clock(at_new_york("2026-07-10", 18))
    market = CachedMarket(provider, cache, now=clock)
    market.bars([ticker], since, dt.date(2026, 7, 10))
    return folder, provider, clock, market


@pytest.fixture
def friday_market(tmp_path: Path, prices_dir: Path, cache: Cache) -> tuple[Path, Recording, Clock, CachedMarket]:
    return friday_evening_market(tmp_path, prices_dir, cache, "IWM", dt.date(2026, 1, 1))


def test_a_new_trading_day_fetches_only_the_new_bars(friday_market, prices_dir: Path) -> None:
    folder, provider, clock, market = friday_market
    full = write_folder(folder, prices_dir, "IWM", "2026-07-13")
    clock.when = at_new_york("2026-07-13", 18)
    result = market.bars(["IWM"], dt.date(2026, 1, 1), dt.date(2026, 7, 13))
    assert provider.calls[1:] == [("bars", ("IWM",), dt.date(2026, 7, 10), dt.date(2026, 7, 13))]
    assert result["IWM"]["Adj Close"].tolist() == full.loc["2026-01-01":, "Adj Close"].tolist()


def test_before_the_next_close_nothing_is_refetched(friday_market) -> None:
    _, provider, clock, market = friday_market
    clock.when = at_new_york("2026-07-13", 15)  # Monday before the close: Friday's data is still the latest
    market.bars(["IWM"], dt.date(2026, 1, 1), dt.date(2026, 7, 13))
    assert len(provider.calls) == 1


def test_a_dividend_rescales_the_cached_history(tmp_path: Path, prices_dir: Path, cache: Cache) -> None:
    """After a dividend the source re-scales all older adjusted closes; the stitched series must match it."""
    folder, provider, clock, market = friday_evening_market(tmp_path, prices_dir, cache, "SPY", dt.date(2025, 1, 1))

    refreshed = write_folder(folder, prices_dir, "SPY", "2026-07-14", scale_before=("2026-07-13", 0.9871))
    clock.when = at_new_york("2026-07-14", 18)
    result = market.bars(["SPY"], dt.date(2025, 1, 1), dt.date(2026, 7, 14))["SPY"]["Adj Close"]
    assert provider.calls[1][2] == dt.date(2026, 7, 10)  # only the new span was fetched
    expected = refreshed.loc["2025-01-01":, "Adj Close"]
    np.testing.assert_allclose(result.to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_fundamentals_are_cached_for_a_day(shared_market, redis_client: redis_py.Redis, cache: Cache) -> None:
    market, provider, _ = shared_market
    first = market.fundamentals(["IJR", "SPY"])
    second = market.fundamentals(["SPY", "IJR"])
    assert [c for c in provider.calls if c[0] == "fundamentals"] == [("fundamentals", ("IJR", "SPY"))]
    assert second == {"SPY": first["SPY"], "IJR": first["IJR"]}
    assert first["IJR"] == Fundamentals(ticker="IJR", name="iShares Core S&P Small-Cap ETF", quote_type="ETF",
                                        currency="USD", trailing_pe=15.9, as_of=dt.date(2025, 10, 31),
                                        source=provider.name)
    ttl = redis_client.ttl(f"{cache.prefix}fundamentals:{provider.key}:IJR")
    assert 86_000 < ttl <= 86_400


def test_an_unreachable_redis_degrades_to_uncached_with_one_warning(prices_dir: Path, caplog) -> None:
    dead = Cache(connect("redis://127.0.0.1:1"), retry_after=0.0)  # nothing listens on port 1
    provider = Recording(CsvFolderProvider(prices_dir))
    market = CachedMarket(provider, dead, now=Clock(at_new_york("2026-07-15", 9)))
    with caplog.at_level(logging.WARNING, logger="market.cache"):
        for _ in range(3):
            result = market.bars(["SPY"], dt.date(2026, 1, 1), dt.date(2026, 7, 14))
    assert len(result["SPY"]) > 100
    assert provider.calls == [("bars", ("SPY",), dt.date(2026, 1, 1), dt.date(2026, 7, 14))] * 3  # nothing cached
    assert len([r for r in caplog.records if "unreachable" in r.message]) == 1
    assert not dead.available


def test_next_close_skips_weekends_and_follows_new_york_time() -> None:
    friday_evening = at_new_york("2026-07-10", 18)
    assert next_close(friday_evening) == dt.datetime(2026, 7, 13, 16, 30, tzinfo=NEW_YORK)
    monday_morning_utc = dt.datetime(2026, 7, 13, 12, 0, tzinfo=dt.timezone.utc)
    assert next_close(monday_morning_utc) == dt.datetime(2026, 7, 13, 16, 30, tzinfo=NEW_YORK)
    # Across the November clock change 16:30 stays 16:30 in New York (21:30 UTC, no longer 20:30).
    assert next_close(at_new_york("2026-11-02", 9)).astimezone(dt.timezone.utc).hour == 21
    # Holidays and early closes: Thanksgiving is closed, the Friday after closes at 13:00.
    assert next_close(at_new_york("2026-11-25", 18)) == dt.datetime(2026, 11, 27, 13, 30, tzinfo=NEW_YORK)
    # Between the close and the settle time the day's bar is not final yet.
    assert next_close(at_new_york("2026-11-24", 16) + dt.timedelta(minutes=10)) == dt.datetime(2026, 11, 24, 16, 30, tzinfo=NEW_YORK)


def test_counters_count_within_their_window(cache: Cache, redis_client: redis_py.Redis) -> None:
    assert [cache.count(("hits",), 60) for _ in range(3)] == [[1], [2], [3]]
    assert cache.count(("hits", "misses"), 60) == [4, 1]
    assert 55 < redis_client.ttl(f"{cache.prefix}hits") <= 60
    assert Cache(connect("redis://127.0.0.1:1")).count(("hits",), 60) is None


def test_first_time_is_true_once_per_key(cache: Cache) -> None:
    assert [cache.first("event:1", 60), cache.first("event:1", 60), cache.first("event:2", 60)] == [True, False, True]
    assert Cache(connect("redis://127.0.0.1:1")).first("event:1", 60) is True  # Redis down: answer rather than drop


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_cached_market_speaks_for_its_source_and_counts_what_it_serves(prices_dir: Path, cache: Cache,
                                                                           redis_client: redis_py.Redis,
                                                                           caplog) -> None:
    provider = Flaky(CsvFolderProvider(prices_dir))
    clock = Clock(at_new_york("2026-07-14", 18))
    market = CachedMarket(provider, cache, now=clock)
    assert (market.name, market.key, market.is_demo, market.bills) == (provider.name, provider.key, False, "BIL")
    assert market.now() == clock.when and market.fresh_until() == dt.datetime(2026, 7, 15, 16, 30, tzinfo=NEW_YORK)

    def requests(kind: str) -> tuple[float, float]:
        return tuple(counted("tilt_cache_requests_total", kind=kind, result=r) for r in ("hit", "miss"))

    bars, facts = requests("bars"), requests("fundamentals")
    market.bars(["SPY", "IJR"], dt.date(2026, 1, 1), dt.date(2026, 7, 14))
    market.bars(["SPY", "IJR", "SMH"], dt.date(2026, 1, 1), dt.date(2026, 7, 14))
    assert requests("bars") == (bars[0] + 2, bars[1] + 3)  # two misses, then two hits and SMH's miss
    market.fundamentals(["SPY"])
    market.fundamentals(["SPY", "IJR"])
    assert requests("fundamentals") == (facts[0] + 1, facts[1] + 2)
    # A month without a request drops a ticker's bars.
    assert 30 * 86_400 - 60 < redis_client.ttl(f"{cache.prefix}bars:{provider.key}:SPY") <= 30 * 86_400

    # A failing source is counted by source and error, and the stale answer is logged and flagged.
    errors = counted("tilt_data_source_errors_total", source="csv", error="DataUnavailable")
    provider.down = True
    clock.when = at_new_york("2026-07-16", 18)
    reset_stale()
    assert served_stale() is False
    with caplog.at_level(logging.WARNING, logger="market.cached"):
        market.bars(["SPY", "IJR"], dt.date(2026, 1, 1), dt.date(2026, 7, 16))
    assert served_stale() is True
    assert counted("tilt_data_source_errors_total", source="csv", error="DataUnavailable") == errors + 1
    assert [r.getMessage() for r in caplog.records if r.name == "market.cached"] == [
        f"{provider.name} failed (Yahoo Finance did not answer (timed out); try again shortly.); "
        "serving cached bars for SPY, IJR"]
    reset_stale()
    assert served_stale() is False
    with pytest.raises(DataUnavailable):
        market.bars(["XLU"], dt.date(2026, 1, 1), dt.date(2026, 7, 16))  # never cached: nothing to fall back on


def test_a_past_window_once_fetched_is_not_fetched_again_on_later_days(shared_market, prices_dir: Path) -> None:
    market, provider, clock = shared_market
    first = market.bars(["SPY", "IJR"], dt.date(2025, 1, 2), dt.date(2025, 6, 30))
    clock.when = at_new_york("2026-07-17", 9)  # two closes later: a window reaching today would be refreshed
    again = market.bars(["SPY", "IJR"], dt.date(2025, 3, 3), dt.date(2025, 6, 30))
    market.bars(["SPY"], dt.date(2024, 7, 1), dt.date(2025, 6, 30))  # older history only: still final to June
    market.bars(["SPY"], dt.date(2024, 7, 1), dt.date(2025, 6, 30))
    assert provider.calls == [("bars", ("SPY", "IJR"), dt.date(2025, 1, 2), dt.date(2025, 6, 30)),
                              ("bars", ("SPY",), dt.date(2024, 7, 1), dt.date(2025, 1, 2))]
    direct = CsvFolderProvider(prices_dir).bars(["SPY", "IJR"], dt.date(2025, 3, 3), dt.date(2025, 6, 30))
    for ticker in ("SPY", "IJR"):
        pd.testing.assert_frame_equal(again[ticker], direct[ticker], check_freq=False)
        assert first[ticker].index[-1] == pd.Timestamp("2025-06-30")


def test_an_entry_stored_before_final_days_were_kept_is_read_and_brought_up_to_date(
        shared_market, cache: Cache, redis_client: redis_py.Redis) -> None:
    market, provider, clock = shared_market
    market.bars(["SPY"], dt.date(2025, 1, 2), dt.date(2025, 6, 30))
    redis_client.hdel(f"{cache.prefix}bars:{market.key}:SPY", "final_to")  # as the code before it stored entries
    clock.when = at_new_york("2026-07-17", 9)
    again = market.bars(["SPY"], dt.date(2025, 1, 2), dt.date(2025, 6, 30))["SPY"]
    assert provider.calls[1:] == [("bars", ("SPY",), dt.date(2025, 6, 30), dt.date(2025, 6, 30))]
    assert (again.index[0], again.index[-1]) == (pd.Timestamp("2025-01-02"), pd.Timestamp("2025-06-30"))
    market.bars(["SPY"], dt.date(2025, 1, 2), dt.date(2025, 6, 30))
    assert len(provider.calls) == 2  # kept as final this time


def test_bars_fetched_up_to_a_past_day_are_brought_up_to_date_later(shared_market, prices_dir: Path) -> None:
    market, provider, _ = shared_market
    market.bars(["SPY"], dt.date(2025, 1, 2), dt.date(2025, 6, 30))
    to_date = market.bars(["SPY"], dt.date(2025, 1, 2), dt.date(2026, 7, 14))["SPY"]
    assert provider.calls[1] == ("bars", ("SPY",), dt.date(2025, 6, 30), dt.date(2026, 7, 14))
    direct = CsvFolderProvider(prices_dir).bars(["SPY"], dt.date(2025, 1, 2), dt.date(2026, 7, 14))["SPY"]
    pd.testing.assert_frame_equal(to_date, direct, check_freq=False)


def test_new_bars_without_a_bar_in_common_are_fetched_afresh(tmp_path: Path, prices_dir: Path, cache: Cache,
                                                              redis_client: redis_py.Redis) -> None:
    folder, provider, clock, market = friday_evening_market(tmp_path, prices_dir, cache, "SPY", dt.date(2026, 1, 1))
    # The source now has no bar for Friday, the cache's last: nothing to align the adjustments on.
    refreshed = write_folder(folder, prices_dir, "SPY", "2026-07-14", scale_before=("2026-07-13", 0.98))
    refreshed.drop(pd.Timestamp("2026-07-10")).to_csv(folder / "SPY.csv")
    clock.when = at_new_york("2026-07-14", 18)
    limit = RateLimit(cache, "afresh", rate=1e-6, burst=100)
    market = CachedMarket(provider, cache, now=clock, rate_limit=limit)
    result = market.bars(["SPY"], dt.date(2026, 1, 1), dt.date(2026, 7, 14))["SPY"]
    assert provider.calls[1:] == [("bars", ("SPY",), dt.date(2026, 7, 10), dt.date(2026, 7, 14)),
                                  ("bars", ("SPY",), dt.date(2026, 1, 1), dt.date(2026, 7, 14))]
    expected = refreshed.drop(pd.Timestamp("2026-07-10")).loc["2026-01-01":, "Adj Close"]
    assert result["Adj Close"].tolist() == pytest.approx(expected.tolist(), rel=1e-12)
    tokens = float(redis_client.hget(f"{cache.prefix}ratelimit:afresh", "tokens"))
    assert tokens == pytest.approx(98, abs=1e-3)  # one ticker's newer bars, then its whole span: one request each


def test_every_source_call_is_charged_its_tickers_and_unknown_ones_are_left_out(prices_dir: Path, cache: Cache,
                                                                                redis_client: redis_py.Redis) -> None:
    provider = Recording(CsvFolderProvider(prices_dir))
    limit = RateLimit(cache, "charged", rate=1e-6, burst=100)
    market = CachedMarket(provider, cache, now=Clock(at_new_york("2026-07-15", 9)), rate_limit=limit)
    start, end = dt.date(2026, 6, 1), dt.date(2026, 7, 15)  # to today: the bars fetched stay fresh until its close

    def spent() -> float:
        return 100 - float(redis_client.hget(f"{cache.prefix}ratelimit:charged", "tokens"))

    with pytest.raises(UnknownTicker) as refused:
        market.bars(["SPY", "NOPE"], start, end)
    assert list(refused.value.tickers) == ["NOPE"]
    # The source refused the batch for NOPE, so the rest of it is asked again without it: 2 + 1 requests.
    assert provider.calls == [("bars", ("SPY", "NOPE"), start, end), ("bars", ("SPY",), start, end)]
    assert spent() == pytest.approx(3, abs=1e-3)
    assert not market.bars(["SPY"], start, end)["SPY"].empty and len(provider.calls) == 2  # SPY's bars were kept
    with pytest.raises(UnknownTicker):
        market.bars(["NADA"], start, end)
    assert provider.calls[2:] == [("bars", ("NADA",), start, end)]  # nothing known left to ask again for
    assert spent() == pytest.approx(4, abs=1e-3)
    market.fundamentals(["SPY", "IJR"])
    assert spent() == pytest.approx(6, abs=1e-3)


def test_stitching_puts_cached_bars_on_the_fresh_basis_of_a_split_and_a_dividend() -> None:
    columns = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
    days = pd.bdate_range("2026-07-06", periods=4)
    cached = pd.DataFrame([[99, 101, 98, 100, 90.0, 1000], [101, 103, 100, 102, 91.8, 1100],
                           [103, 105, 102, 104, 93.6, 1200]], index=days[:3], columns=columns, dtype="float64")
    # A 2-for-1 split (closes halve) and a dividend (adjusted closes fall a little more) since the cache was filled.
    fresh = pd.DataFrame([[51.5, 52.5, 51, 52, 45.0, 2400], [52, 54, 51, 53, 46.0, 2500]], index=days[2:],
                         columns=columns, dtype="float64")
    adjust = 45.0 / 93.6
    expected = pd.DataFrame([[49.5, 50.5, 49, 50, 90.0 * adjust, 2000], [50.5, 51.5, 50, 51, 91.8 * adjust, 2200],
                             *fresh.to_numpy().tolist()], index=days, columns=columns)
    pd.testing.assert_frame_equal(stitch(cached, fresh), expected, check_freq=False)
    # A source without raw closes: only the adjusted closes can be aligned; volumes stay as they were.
    no_closes = cached.assign(Close=float("nan"))
    stitched = stitch(no_closes, fresh.assign(Close=float("nan")))
    assert stitched["Volume"].tolist() == [1000, 1100, 2400, 2500]
    assert stitched["Open"].tolist() == [99, 101, 51.5, 52]
    assert stitched["Adj Close"].tolist() == pytest.approx([90.0 * adjust, 91.8 * adjust, 45.0, 46.0], rel=1e-12)


def test_a_remembered_unknown_ticker_is_refused_in_the_sources_name(shared_market) -> None:
    market, provider, _ = shared_market
    for _ in range(2):
        with pytest.raises(UnknownTicker, match=f"I can't find the ticker NOPE in {provider.name}\\."):
            market.bars(["NOPE"], dt.date(2026, 1, 1), dt.date(2026, 7, 15))
    assert len(provider.calls) == 1  # the second time from the remembered answer


def test_a_window_inside_the_cached_bars_ends_where_asked(shared_market) -> None:
    market, provider, _ = shared_market
    market.bars(["SPY"], dt.date(2025, 7, 1), dt.date(2026, 7, 15))
    half = market.bars(["SPY"], dt.date(2025, 7, 1), dt.date(2025, 12, 31))["SPY"]
    assert (half.index[0], half.index[-1], len(provider.calls)) == (pd.Timestamp("2025-07-01"), pd.Timestamp("2025-12-31"), 1)


def test_an_empty_weekend_is_cached_until_the_next_close_and_widened_from_where_it_began(prices_dir: Path,
                                                                                          cache: Cache) -> None:
    provider = Recording(CsvFolderProvider(prices_dir))
    clock = Clock(at_new_york("2026-07-12", 12))  # a Sunday: no bar yet this weekend
    market = CachedMarket(provider, cache, now=clock)
    for _ in range(2):
        assert market.bars(["SPY"], dt.date(2026, 7, 11), dt.date(2026, 7, 12))["SPY"].empty
    assert len(provider.calls) == 1  # nothing there, and nothing new before Monday's close
    clock.when = at_new_york("2026-07-15", 9)
    later = market.bars(["SPY"], dt.date(2026, 7, 12), dt.date(2026, 7, 15))["SPY"]
    assert provider.calls[1] == ("bars", ("SPY",), dt.date(2026, 7, 11), dt.date(2026, 7, 15))
    assert [d.date() for d in later.index] == [dt.date(2026, 7, 13), dt.date(2026, 7, 14)]


@pytest.mark.parametrize("asked", [
    next_close(at_new_york("2026-07-14", 15)),  # the very instant the bars were fresh until: stale at the close
    at_new_york("2026-07-15", 9),  # the next morning: 14 July is a past day, and its bar was not final when fetched
])
def test_a_provisional_last_bar_is_fetched_again_once_final(tmp_path: Path, prices_dir: Path, cache: Cache,
                                                            asked: dt.datetime) -> None:
    folder = tmp_path / "prices"
    day = write_folder(folder, prices_dir, "SPY", "2026-07-14")
    provisional = day.copy()
    provisional.loc["2026-07-14", "Adj Close"] *= 0.99  # the source's bar in the afternoon, before the close
    provisional.to_csv(folder / "SPY.csv")
    provider = Recording(CsvFolderProvider(folder))
    clock = Clock(at_new_york("2026-07-14", 15))
    market = CachedMarket(provider, cache, now=clock)
    market.bars(["SPY"], dt.date(2026, 7, 1), dt.date(2026, 7, 14))
    day.to_csv(folder / "SPY.csv")  # the final close
    clock.when = asked
    for _ in range(2):  # fetched once, then kept
        final = market.bars(["SPY"], dt.date(2026, 7, 1), dt.date(2026, 7, 14))["SPY"]
        assert final["Adj Close"].iloc[-1] == day.loc["2026-07-14", "Adj Close"]
    assert provider.calls[1:] == [("bars", ("SPY",), dt.date(2026, 7, 14), dt.date(2026, 7, 14))]


def test_without_a_clock_the_market_reads_the_real_time_in_utc(prices_dir: Path, cache: Cache) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    now = CachedMarket(CsvFolderProvider(prices_dir), cache).now()
    assert now.tzinfo is not None and before <= now <= dt.datetime.now(dt.timezone.utc)


@pytest.mark.parametrize("cached_to, asked_from, missing", [
    ("2026-07-01", "2026-01-02", "2026-07-01"),  # newer bars, the cache's last one gone from the source
    ("2026-07-14", "2025-06-02", "2026-01-02"),  # older history, the cache's first one gone from the source
])
def test_spans_without_a_bar_in_common_are_fetched_afresh_to_the_last_bar_of_either(
        tmp_path: Path, prices_dir: Path, cache: Cache, cached_to: str, asked_from: str, missing: str) -> None:
    folder = tmp_path / "prices"
    write_folder(folder, prices_dir, "SPY", cached_to)
    provider = Recording(CsvFolderProvider(folder))
    clock = Clock(at_new_york(cached_to, 18))
    market = CachedMarket(provider, cache, now=clock)
    market.bars(["SPY"], dt.date(2026, 1, 2), dt.date.fromisoformat(cached_to))
    source = write_folder(folder, prices_dir, "SPY", "2026-07-14").drop(pd.Timestamp(missing))
    source.to_csv(folder / "SPY.csv")
    clock.when = at_new_york("2026-07-14", 18)
    result = market.bars(["SPY"], dt.date.fromisoformat(asked_from), dt.date(2026, 7, 14))["SPY"]
    assert result["Adj Close"].tolist() == source.loc[asked_from:, "Adj Close"].tolist()


# --- Redis failing in the middle of a request ---------------------------------------------------


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of the test's own, which it turns read-only or stops."""
    server = EmbeddedRedis(tmp_path / "redis")
    yield server
    server.close()


def read_only(server: EmbeddedRedis) -> Callable[[], object]:
    """Turns ``server`` into a replica of a primary that is gone, as a failover leaves the old primary: reads are
    answered, writes refused."""
    return lambda: redis_py.Redis.from_url(server.url).replicaof("127.0.0.1", 1)  # nothing listens on port 1


def writable(server: EmbeddedRedis) -> Callable[[], object]:
    return lambda: redis_py.Redis.from_url(server.url).replicaof("NO", "ONE")


class Meanwhile(Recording):
    """Records every call and, before answering each, does the next of ``happenings`` to Redis (if any is left)."""

    def __init__(self, inner: CsvFolderProvider, happenings: list[Callable[[], object]]) -> None:
        super().__init__(inner)
        self.happenings = happenings

    def bars(self, tickers, start, end):
        if self.happenings:
            self.happenings.pop(0)()
        return super().bars(tickers, start, end)


def test_bars_a_batch_fetched_but_could_not_store_are_fetched_again_and_kept_fresh(
        tmp_path: Path, prices_dir: Path, own_redis: EmbeddedRedis, cache: Cache, redis_client: redis_py.Redis) -> None:
    """Redis turns read-only while a batch fetches Monday's bar, and writable again by the next call: the request
    must not answer from Friday's entry, which is due for a refresh at the very instant asked, but fetch the bar
    itself, store it and serve the next request from the cache."""
    folder = tmp_path / "prices"
    write_folder(folder, prices_dir, "SPY", "2026-07-10")
    provider = Meanwhile(CsvFolderProvider(folder), [])
    clock = Clock(at_new_york("2026-07-10", 18))
    limit = RateLimit(cache, "failover", rate=1e-6, burst=100)  # its bucket in the session's Redis, which stays up
    market = CachedMarket(provider, Cache(connect(own_redis.url), retry_after=0.0), now=clock, rate_limit=limit)
    market.bars(["SPY"], dt.date(2026, 1, 2), dt.date(2026, 7, 10))
    source = write_folder(folder, prices_dir, "SPY", "2026-07-13")
    provider.happenings = [read_only(own_redis), writable(own_redis)]
    clock.when = next_close(at_new_york("2026-07-10", 18))  # Monday's close: the instant Friday's bars went stale
    for _ in range(2):
        result = market.bars(["SPY"], dt.date(2026, 1, 2), dt.date(2026, 7, 13))["SPY"]
        assert result["Adj Close"].tolist() == source.loc["2026-01-02":, "Adj Close"].tolist()
    monday = ("bars", ("SPY",), dt.date(2026, 7, 10), dt.date(2026, 7, 13))
    assert provider.calls[1:] == [monday, monday]  # the batch's, then the request's own; the repeat from the cache
    tokens = float(redis_client.hget(f"{cache.prefix}ratelimit:failover", "tokens"))
    assert tokens == pytest.approx(97, abs=1e-3)  # each of the three calls charged its one ticker


@pytest.fixture
def failover_on_tuesday(tmp_path: Path, prices_dir: Path,
                        own_redis: EmbeddedRedis) -> tuple[CachedMarket, Meanwhile, pd.DataFrame]:
    """SPY cached from 2 March to Thursday 9 July; now Tuesday 14 July's evening, and Redis turns read-only during
    the next source call (and writable again by the one after).  The market, its provider, the source's prices."""
    folder = tmp_path / "prices"
    source = write_folder(folder, prices_dir, "SPY", "2026-07-14")
    provider = Meanwhile(CsvFolderProvider(folder), [])
    clock = Clock(at_new_york("2026-07-09", 18))
    market = CachedMarket(provider, Cache(connect(own_redis.url), retry_after=0.0), now=clock)
    market.bars(["SPY"], dt.date(2026, 3, 2), dt.date(2026, 7, 9))
    provider.happenings = [read_only(own_redis), writable(own_redis)]
    clock.when = at_new_york("2026-07-14", 18)
    return market, provider, source


def test_a_batch_redis_fails_to_close_is_fetched_by_the_request_and_a_past_window_stays_due(
        failover_on_tuesday: tuple[CachedMarket, Meanwhile, pd.DataFrame]) -> None:
    """One request, two batches: SPY's older history (to its first cached bar) and its newer bars (to Monday, a
    past day).  Redis turns read-only while the first fetches, so the second can't even be closed; the request
    fetches both spans itself (Redis writable again by then) and stores them, still due for a refresh: Tuesday's
    bar is fetched when asked for."""
    market, provider, source = failover_on_tuesday
    to_monday = market.bars(["SPY"], dt.date(2026, 1, 2), dt.date(2026, 7, 13))["SPY"]
    assert to_monday["Adj Close"].tolist() == source.loc["2026-01-02":"2026-07-13", "Adj Close"].tolist()
    older, newer = ("bars", ("SPY",), dt.date(2026, 1, 2), dt.date(2026, 3, 2)), \
        ("bars", ("SPY",), dt.date(2026, 7, 9), dt.date(2026, 7, 13))
    assert provider.calls[1:] == [older, older, newer]  # the first batch's, then the request's own two
    to_tuesday = market.bars(["SPY"], dt.date(2026, 1, 2), dt.date(2026, 7, 14))["SPY"]
    assert to_tuesday["Adj Close"].tolist() == source.loc["2026-01-02":, "Adj Close"].tolist()
    assert provider.calls[4:] == [("bars", ("SPY",), dt.date(2026, 7, 13), dt.date(2026, 7, 14))]


def test_a_past_window_whose_batch_did_not_reach_the_cache_is_fetched_by_the_request_to_its_end(
        failover_on_tuesday: tuple[CachedMarket, Meanwhile, pd.DataFrame]) -> None:
    """SPY is cached to Thursday.  On Tuesday evening a request to Monday joins a batch for Thursday..Monday,
    and Redis turns read-only while it fetches: the entry still ends on Thursday, so the request fetches the
    span itself rather than answer three days short without saying so."""
    market, provider, source = failover_on_tuesday
    to_monday = market.bars(["SPY"], dt.date(2026, 3, 2), dt.date(2026, 7, 13))["SPY"]
    assert to_monday["Adj Close"].tolist() == source.loc["2026-03-02":"2026-07-13", "Adj Close"].tolist()
    newer = ("bars", ("SPY",), dt.date(2026, 7, 9), dt.date(2026, 7, 13))
    assert provider.calls[1:] == [newer, newer]  # the batch's, lost, then the request's own
    market.bars(["SPY"], dt.date(2026, 3, 2), dt.date(2026, 7, 13))
    assert len(provider.calls) == 3  # stored by the request: the repeat comes from the cache


def test_redis_stopping_while_a_batch_fetches_leaves_every_ticker_answered(prices_dir: Path,
                                                                          own_redis: EmbeddedRedis) -> None:
    """IJR is read from the cache, SPY's batch is at the source when Redis stops: IJR is answered from what was
    read, SPY from the source, asked again by the request itself."""
    provider = Meanwhile(CsvFolderProvider(prices_dir), [])
    market = CachedMarket(provider, Cache(connect(own_redis.url)), now=Clock(at_new_york("2026-07-15", 9)))
    window = (dt.date(2026, 1, 2), dt.date(2026, 7, 15))
    market.bars(["IJR"], *window)
    provider.happenings = [own_redis.close]
    result = market.bars(["IJR", "SPY"], *window)
    direct = CsvFolderProvider(prices_dir).bars(["IJR", "SPY"], *window)
    for ticker in ("IJR", "SPY"):
        pd.testing.assert_frame_equal(result[ticker], direct[ticker], check_freq=False)
    assert provider.calls[1:] == [("bars", ("SPY",), *window)] * 2


# --- batches by end date ------------------------------------------------------------------------


def test_a_tickers_older_history_and_newer_bars_ending_on_one_day_are_one_call(shared_market, prices_dir: Path) -> None:
    market, provider, clock = shared_market
    clock.when = at_new_york("2026-07-14", 15)
    market.bars(["SPY"], dt.date(2026, 7, 14), dt.date(2026, 7, 14))  # before its close: due for a refresh later
    clock.when = at_new_york("2026-07-15", 9)
    result = market.bars(["SPY"], dt.date(2026, 7, 1), dt.date(2026, 7, 14))["SPY"]
    assert provider.calls[1:] == [("bars", ("SPY",), dt.date(2026, 7, 1), dt.date(2026, 7, 14))]
    direct = CsvFolderProvider(prices_dir).bars(["SPY"], dt.date(2026, 7, 1), dt.date(2026, 7, 14))["SPY"]
    pd.testing.assert_frame_equal(result, direct, check_freq=False)


def test_spans_ending_on_different_days_are_fetched_each_to_its_own_end(shared_market, prices_dir: Path) -> None:
    market, provider, _ = shared_market
    market.bars(["SPY"], dt.date(2026, 1, 2), dt.date(2026, 7, 15))
    start, end = dt.date(2025, 7, 1), dt.date(2026, 6, 30)
    result = market.bars(["SPY", "IJR"], start, end)  # SPY lacks history to its first bar, IJR all of it to June
    assert provider.calls[1:] == [("bars", ("SPY",), start, dt.date(2026, 1, 2)), ("bars", ("IJR",), start, end)]
    direct = CsvFolderProvider(prices_dir).bars(["SPY", "IJR"], start, end)
    for ticker in ("SPY", "IJR"):
        pd.testing.assert_frame_equal(result[ticker], direct[ticker], check_freq=False)
