"""A provider wrapped in the Redis cache, fetching only what it does not have.

Daily bars are cached per ticker as one entry holding the bars, the first date
the cache covers (``first``: the earliest start ever fetched, which may lie
before the ticker's first bar) and ``fresh_until``, the next market close
after the last fetch.  A request is then served in at most two small fetches:

* **older history** (``start < first``): fetch ``start .. first cached bar``;
* **newer bars** (now past ``fresh_until``): fetch ``last cached bar .. end``.

Both fetches overlap the cache by one bar.  Adjusted prices are rescaled
backwards whenever a dividend or split is paid, so the overlap bar is used to
put the cached bars on the fresh data's basis (``Adj Close`` by the ratio of
adjusted closes, ``Open/High/Low/Close`` by the ratio of closes and
``Volume`` inversely): the stitched series then has exactly the returns of a
full re-download.  Without an overlap bar the entry is fetched afresh.

When the source fails while refreshing bars the cache already holds (Yahoo
down, rate limits), the cached bars are served as they are, up to their last
date, and ``served_stale()`` tells the caller so it can say it; only data the
cache never had makes the request fail.

Fundamentals are cached for 24 hours.  Any Redis failure degrades to the
uncached provider (see ``market.cache``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable, TypeVar

import pandas as pd

from errors import DataUnavailable
from market.cache import Cache
from market.calendar import market_today, next_close
from market.codec import bars_from_bytes, bars_to_bytes
from market.protection import Breaker, RateLimit
from market.provider import Fundamentals, Provider, empty_bars
from metrics import CACHE_REQUESTS, DATA_SOURCE_ERRORS

FUNDAMENTALS_TTL_SECONDS = 24 * 3600
# A ticker nobody asked about for a month is dropped from the cache (and fetched again if asked).
BARS_TTL_SECONDS = 30 * 24 * 3600

T = TypeVar("T")

log = logging.getLogger(__name__)

# Set when this context (a request, in its thread) was answered from stale bars because the source failed.
_stale: ContextVar[bool] = ContextVar("tilt_served_stale", default=False)


def served_stale() -> bool:
    """Whether bars served in the current context were stale because the source failed to refresh them."""
    return _stale.get()


def reset_stale() -> None:
    """Start a new request: forget earlier staleness in this context."""
    _stale.set(False)


@dataclass(frozen=True)
class _Entry:
    """One ticker's cached bars; ``first`` is the earliest date the cache has asked the source for."""

    bars: pd.DataFrame
    first: dt.date
    fresh_until: float


class CachedMarket:
    """Implements ``Provider`` on top of another provider and a ``Cache``."""

    def __init__(self, provider: Provider, cache: Cache, *, now: Callable[[], dt.datetime] | None = None,
                 rate_limit: RateLimit | None = None, breaker: Breaker | None = None) -> None:
        self.provider = provider
        self.cache = cache
        self.rate_limit = rate_limit
        self.breaker = breaker
        self.name = provider.name
        self.key = provider.key
        self.is_demo = provider.is_demo
        self._now = now or (lambda: dt.datetime.now(dt.timezone.utc))

    def now(self) -> dt.datetime:
        return self._now()

    def fresh_until(self) -> dt.datetime:
        """When data fetched now goes stale: the next market close."""
        return next_close(self._now())

    # --- bars ---------------------------------------------------------------------------------

    def bars(self, tickers: list[str], start: dt.date, end: dt.date) -> dict[str, pd.DataFrame]:
        """Bars for ``start..end`` (inclusive) per ticker, fetching only the spans the cache lacks."""
        now = self._now()
        today = market_today(now)
        entries = {t: self._load(t) for t in tickers}
        plans = {t: self._plan(entries[t], start, min(end, today), now) for t in tickers}
        try:
            fetched = self._fetch_grouped(plans)
        except DataUnavailable as error:
            if not all(self._covered(entries[t], start) for t, spans in plans.items() if spans):
                raise
            log.warning("%s failed (%s); serving cached bars for %s", self.name, error, ", ".join(tickers))
            _stale.set(True)
            plans, fetched = {t: [] for t in tickers}, {}
        result = {}
        for ticker in tickers:
            entry = entries[ticker]
            if plans[ticker]:
                fresh = [fetched[(ticker, *span)] for span in plans[ticker]]
                reaches_today = any(span_end >= today for _, span_end in plans[ticker])
                entry = self._update(ticker, entry, fresh, start, now if reaches_today else None)
            result[ticker] = entry.bars.loc[pd.Timestamp(start):pd.Timestamp(end)]
        return result

    @staticmethod
    def _covered(entry: _Entry | None, start: dt.date) -> bool:
        """Whether the cache holds bars from ``start`` on, if perhaps not the newest ones."""
        return entry is not None and not entry.bars.empty and start >= entry.first

    @staticmethod
    def _plan(entry: _Entry | None, start: dt.date, end: dt.date, now: dt.datetime) -> list[tuple[dt.date, dt.date]]:
        """The spans to fetch for one ticker: none when the cache already answers."""
        stale = entry is None or now.timestamp() >= entry.fresh_until
        if entry is None or entry.bars.empty:
            needed = entry is None or stale or start < entry.first
            return [(min(start, entry.first) if entry else start, end)] if needed else []
        first_bar, last_bar = entry.bars.index[0].date(), entry.bars.index[-1].date()
        spans = []
        if start < entry.first:
            spans.append((start, first_bar))
        if stale and end >= last_bar:
            spans.append((last_bar, end))
        return spans

    def _fetch_grouped(self, plans: dict[str, list[tuple[dt.date, dt.date]]]) -> dict[tuple[str, dt.date, dt.date], pd.DataFrame]:
        """One provider call per distinct span, so a cold request for many tickers is one batch."""
        by_span: dict[tuple[dt.date, dt.date], list[str]] = {}
        for ticker, spans in plans.items():
            for span in spans:
                by_span.setdefault(span, []).append(ticker)
        CACHE_REQUESTS.labels("bars", "hit").inc(sum(1 for spans in plans.values() if not spans))
        CACHE_REQUESTS.labels("bars", "miss").inc(sum(1 for spans in plans.values() if spans))
        fetched = {}
        for (span_start, span_end), tickers in by_span.items():
            for ticker, frame in self._from_source(self.provider.bars, tickers, span_start, span_end, cost=len(tickers)).items():
                fetched[(ticker, span_start, span_end)] = frame
        return fetched

    def _from_source(self, method: Callable[..., T], *args: object, cost: int) -> T:
        """Call the provider behind its breaker and rate limit, counting its failures for /metrics."""
        if self.breaker is not None:
            self.breaker.check()
        if self.rate_limit is not None:
            self.rate_limit.take(cost)
        try:
            result = method(*args)
        except DataUnavailable as error:  # not UnknownTicker: then the source answered, the ticker is wrong
            DATA_SOURCE_ERRORS.labels(self.key.split(":")[0], type(error).__name__).inc()
            if self.breaker is not None:
                self.breaker.failed()
            raise
        if self.breaker is not None:
            self.breaker.succeeded()
        return result

    def _update(self, ticker: str, entry: _Entry | None, fresh: list[pd.DataFrame], start: dt.date,
                fetched_to_today_at: dt.datetime | None) -> _Entry:
        """Stitch freshly fetched spans into the entry and store it."""
        first = min(start, entry.first) if entry else start
        bars = entry.bars if entry else empty_bars()
        for frame in fresh:
            stitched = stitch(bars, frame)
            if stitched is None:
                # No common bar to align adjustments on: take the whole span afresh.
                last = max(bars.index[-1], frame.index[-1]).date()
                stitched = self._from_source(self.provider.bars, [ticker], first, last, cost=1)[ticker]
            bars = stitched
        if fetched_to_today_at is not None:
            fresh_until = next_close(fetched_to_today_at).timestamp()
        else:
            fresh_until = entry.fresh_until if entry else 0.0
        updated = _Entry(bars=bars, first=first, fresh_until=fresh_until)
        self._store(ticker, updated)
        return updated

    def _bars_key(self, ticker: str) -> str:
        return f"bars:{self.key}:{ticker}"

    def _load(self, ticker: str) -> _Entry | None:
        fields = self.cache.get_hash(self._bars_key(ticker))
        if not fields:
            return None
        return _Entry(
            bars=bars_from_bytes(fields[b"bars"]),
            first=dt.date.fromisoformat(fields[b"first"].decode()),
            fresh_until=float(fields[b"fresh_until"]),
        )

    def _store(self, ticker: str, entry: _Entry) -> None:
        self.cache.set_hash(self._bars_key(ticker), {
            "bars": bars_to_bytes(entry.bars),
            "first": entry.first.isoformat(),
            "fresh_until": repr(entry.fresh_until),
        }, ttl_seconds=BARS_TTL_SECONDS)

    # --- fundamentals -------------------------------------------------------------------------

    def fundamentals(self, tickers: list[str]) -> dict[str, Fundamentals]:
        """Fundamentals per ticker, from the cache when fetched in the last 24 hours."""
        found = {t: self.cache.get(f"fundamentals:{self.key}:{t}") for t in tickers}
        result = {t: Fundamentals.from_json(json.loads(raw)) for t, raw in found.items() if raw is not None}
        missing = [t for t in tickers if t not in result]
        CACHE_REQUESTS.labels("fundamentals", "hit").inc(len(result))
        CACHE_REQUESTS.labels("fundamentals", "miss").inc(len(missing))
        if missing:
            for ticker, facts in self._from_source(self.provider.fundamentals, missing, cost=len(missing)).items():
                self.cache.set(f"fundamentals:{self.key}:{ticker}", json.dumps(facts.to_json()).encode(),
                               ttl_seconds=FUNDAMENTALS_TTL_SECONDS)
                result[ticker] = facts
        return {t: result[t] for t in tickers}


PRICE_COLUMNS = ["Open", "High", "Low", "Close"]


def stitch(cached: pd.DataFrame, fresh: pd.DataFrame) -> pd.DataFrame | None:
    """Join ``fresh`` bars onto ``cached`` ones, rescaling ``cached`` to ``fresh``'s adjustment basis.

    Returns ``None`` when both have bars but none in common (nothing to align on).
    Where both have a bar for the same date, ``fresh`` wins.
    """
    if cached.empty:
        return fresh
    if fresh.empty:
        return cached
    common = cached.index.intersection(fresh.index)
    if common.empty:
        return None
    anchor = common[-1]
    adj_ratio = fresh.at[anchor, "Adj Close"] / cached.at[anchor, "Adj Close"]
    close_ratio = fresh.at[anchor, "Close"] / cached.at[anchor, "Close"]
    close_ratio = 1.0 if pd.isna(close_ratio) else close_ratio  # a source without raw closes
    scaled = cached.copy()
    scaled["Adj Close"] *= adj_ratio
    scaled[PRICE_COLUMNS] *= close_ratio
    scaled["Volume"] /= close_ratio
    kept = scaled[~scaled.index.isin(fresh.index)]
    return pd.concat([kept, fresh]).sort_index()
