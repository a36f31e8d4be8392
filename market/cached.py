"""A provider wrapped in the Redis cache, fetching only what it does not have.

Daily bars are cached per ticker as one entry holding the bars, the first date
the cache covers (``first``: the earliest start ever fetched, which may lie
before the ticker's first bar), ``fresh_until``, the next market close after
the last fetch that reached today, and ``final_to``, the last day fetched
whose bar was already final (any day before today in New York).  A request is
then served in at most two small fetches:

* **older history** (``start < first``): fetch ``start .. first cached bar``;
* **newer bars**: fetch ``last cached bar .. end`` when a window reaching today
  is asked past ``fresh_until``, or a window ending earlier ends after ``final_to``
  (a past window the cache has fetched is never fetched again).

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

Tilt runs as several processes around one Redis, and the source is fetched
for all of them together (``market.coordination`` does the waiting):

* **Batches.**  Each span to fetch goes into the *open batch* of its end date
  (per source), a Redis hash of ticker -> earliest start.  The first process to
  wait for the batch leads it: it leaves the batch open for ``batch_window``
  seconds (``BATCH_WINDOW_SECONDS`` for a remote source; none for a local one,
  which batching would only slow down) so requests from other processes can
  join, closes it, and fetches all
  its tickers in one ``provider.bars`` call from the earliest start.  Spans that
  differ only in their start are merged this way: a ticker then gets a few more
  old bars than it asked for, and its ``first`` says so.  Each ticker's bars are
  stitched into its cache entry as above, and the waiters read them from there.
* **Identical fetches.**  A ticker being fetched is *claimed* by its batch until
  the batch ends; a request that needs it from that start or later waits for that
  batch instead of fetching it again.
* **Failures.**  Tickers the source does not know are left out of a second call
  so the rest of the batch still arrives; each requester gets ``UnknownTicker``
  for its own unknown tickers only.  Any other failure reaches every waiter as the
  same ``DataUnavailable`` (then the stale fallback above applies to each).  A
  leader that dies loses its lease, and a waiter fetches the batch instead.

The rate limit and the breaker count real provider calls only, so a batch is one
call whichever process makes it.

A ticker the source does not know is remembered as unknown for
``UNKNOWN_TICKER_SECONDS`` (an hour): asking again about a mistyped ticker
does not reach the source, so repeating it costs Yahoo nothing.  An hour,
because a mistyped ticker stays mistyped while a real one Yahoo did not know
yet (a listing on its first day) should not be refused for long.  Only a ticker
with nothing cached is looked up there: one with bars is known.

Fundamentals are cached for 24 hours.  Any Redis failure degrades to the
uncached provider (see ``market.cache``), fetching in the requesting process
as if it were the only one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Callable, TypeVar

import pandas as pd

from errors import DataUnavailable, UnknownTicker
from market.cache import Cache
from market.calendar import market_today, next_close
from market.codec import bars_from_bytes, bars_to_bytes
from market.coordination import OUTCOME_SECONDS, Flight, Outcome
from market.protection import Breaker, RateLimit
from market.provider import Fundamentals, Provider, empty_bars
from metrics import CACHE_REQUESTS, DATA_SOURCE_ERRORS

FUNDAMENTALS_TTL_SECONDS = 24 * 3600
UNKNOWN_TICKER_SECONDS = 3600
# A ticker nobody asked about for a month is dropped from the cache (and fetched again if asked).
BARS_TTL_SECONDS = 30 * 24 * 3600
# How long a batch stays open for other processes' tickers: short next to a download, long next to a request's
# own Redis round trips, so requests arriving together share one call.
BATCH_WINDOW_SECONDS = 0.03

Span = tuple[dt.date, dt.date]

# KEYS: the open batch's id for one source and end date, that date's claims (ticker -> batch fetching it), the
# prefix of batches' members (ticker -> earliest start).  ARGV: an id for a new batch, milliseconds a batch may stay
# open, seconds to keep claims and members, then ticker, start pairs.  Returns the batch to wait for, per ticker:
# the one already fetching it from early enough, else the open one (opened if need be).  ISO dates compare as text.
_JOIN = """
local open = redis.call('GET', KEYS[1])
local batches = {}
for i = 4, #ARGV, 2 do
  local ticker, start = ARGV[i], ARGV[i + 1]
  local claim = redis.call('HGET', KEYS[2], ticker)
  local claimed = claim and claim ~= open and redis.call('HGET', KEYS[3] .. claim, ticker)
  if claimed and claimed <= start then
    table.insert(batches, claim)
  else
    if not open then
      open = ARGV[1]
      redis.call('SET', KEYS[1], open, 'PX', ARGV[2])
    end
    local members = KEYS[3] .. open
    local known = redis.call('HGET', members, ticker)
    if not known or start < known then redis.call('HSET', members, ticker, start) end
    redis.call('EXPIRE', members, ARGV[3])
    redis.call('HSET', KEYS[2], ticker, open)
    table.insert(batches, open)
  end
end
redis.call('EXPIRE', KEYS[2], ARGV[3])
return batches
"""

# KEYS: the open batch's id, this batch's members.  ARGV: this batch's id.  No ticker can join once this has run.
_CLOSE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return redis.call('HGETALL', KEYS[2])
"""

# KEYS: the claims of the batch's end date, the batch's members.  ARGV: the batch's id.  Claims taken over by a
# later batch stay with it.
_RELEASE = """
for _, ticker in ipairs(redis.call('HKEYS', KEYS[2])) do
  if redis.call('HGET', KEYS[1], ticker) == ARGV[1] then redis.call('HDEL', KEYS[1], ticker) end
end
return 'ok'
"""

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


def _final_to(end: dt.date, now: dt.datetime) -> dt.date:
    """The last day of a fetch through ``end`` at ``now`` whose bar was final: every day before today in New
    York (its close has settled), never today (the bar may still move until ``fresh_until``)."""
    return min(end, market_today(now) - dt.timedelta(days=1))


@dataclass(frozen=True)
class _Entry:
    """One ticker's cached bars; ``first`` is the earliest date the cache has asked the source for."""

    bars: pd.DataFrame
    first: dt.date
    fresh_until: float
    final_to: dt.date  # the last day fetched whose bar was final then (see ``_final_to``)


class CachedMarket:
    """Implements ``Provider`` on top of another provider and a ``Cache``."""

    def __init__(self, provider: Provider, cache: Cache, *, now: Callable[[], dt.datetime] | None = None,
                 rate_limit: RateLimit | None = None, breaker: Breaker | None = None, flight: Flight | None = None,
                 batch_window: float = 0.0) -> None:
        """``batch_window``: how long a batch stays open for others to join (``BATCH_WINDOW_SECONDS`` for a
        source worth protecting).  ``flight`` (its lease and waits) is injectable so tests can play dying
        leaders."""
        self.provider = provider
        self.cache = cache
        self.rate_limit = rate_limit
        self.breaker = breaker
        self.flight = flight or Flight(cache)
        self.batch_window = batch_window
        self.name = provider.name
        self.key = provider.key
        self.is_demo = provider.is_demo
        self.bills = provider.bills
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
        unknown = [t for t in tickers if entries[t] is None and self.cache.get(self._unknown_key(t)) is not None]
        if unknown:
            raise UnknownTicker(unknown, source=self.name)
        plans = {t: self._plan(entries[t], start, min(end, today), now) for t in tickers}
        CACHE_REQUESTS.labels("bars", "hit").inc(sum(1 for spans in plans.values() if not spans))
        CACHE_REQUESTS.labels("bars", "miss").inc(sum(1 for spans in plans.values() if spans))
        try:
            entries, plans = self._fetch_together(entries, plans, start, min(end, today), now)
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
                entry = self._update(ticker, entry, fresh, start, max(e for _, e in plans[ticker]), now)
            result[ticker] = entry.bars.loc[pd.Timestamp(start):pd.Timestamp(end)]
        return result

    @staticmethod
    def _covered(entry: _Entry | None, start: dt.date) -> bool:
        """Whether the cache holds bars from ``start`` on, if perhaps not the newest ones."""
        return entry is not None and not entry.bars.empty and start >= entry.first

    @staticmethod
    def _plan(entry: _Entry | None, start: dt.date, end: dt.date, now: dt.datetime) -> list[Span]:
        """The spans to fetch for one ticker: none when the cache already answers."""
        if entry is None:
            return [(start, end)]
        # Newer bars are due for a window reaching today once the entry is stale, for one ending earlier when it
        # ends after the last final day fetched.
        due = now.timestamp() >= entry.fresh_until if end >= market_today(now) else end > entry.final_to
        if entry.bars.empty:
            return [(min(start, entry.first), end)] if due or start < entry.first else []
        first_bar, last_bar = entry.bars.index[0].date(), entry.bars.index[-1].date()
        spans = []
        if start < entry.first:
            spans.append((start, first_bar))
        if due and end >= last_bar:
            spans.append((last_bar, end))
        return spans

    # --- fetching together with every process --------------------------------------------------

    def _fetch_together(self, entries: dict[str, _Entry | None], plans: dict[str, list[Span]], start: dt.date,
                        end: dt.date, now: dt.datetime) -> tuple[dict[str, _Entry | None], dict[str, list[Span]]]:
        """Have the planned spans fetched into the cache in shared batches (see the module docstring).

        Returns the entries as the cache now holds them and what is left to fetch here: nothing, unless
        Redis is down (then every plan, as without it) or a batch's bars did not reach the cache.
        """
        batches = self._join_batches(plans) if any(plans.values()) else None
        if batches is None:
            return entries, plans
        unknown: set[str] = set()
        for (batch_id, span_end), tickers in batches.items():
            outcome = self.flight.run(f"bars:{batch_id}", partial(self._download, batch_id, span_end), once=True)
            unknown.update(set(json.loads(outcome["unknown"])) & set(tickers))
        if unknown:
            raise UnknownTicker([t for t in plans if t in unknown], source=self.name)
        # What a batch's bars did not bring into the cache (Redis failed under it) is left to fetch here.
        entries = {t: self._load(t) if spans else entries[t] for t, spans in plans.items()}
        left = {t: self._plan(entries[t], start, end, now) for t in plans}
        return entries, left

    def _join_batches(self, plans: dict[str, list[Span]]) -> dict[tuple[str, dt.date], list[str]] | None:
        """Put each planned span into a batch for its end date: the batch to wait for, with this request's tickers
        in it, per (batch id, end date); ``None`` when Redis is down."""
        wanted: dict[dt.date, dict[str, dt.date]] = {}
        for ticker, spans in plans.items():
            for span_start, span_end in spans:
                members = wanted.setdefault(span_end, {})
                members[ticker] = min(span_start, members.get(ticker, span_start))
        batches: dict[tuple[str, dt.date], list[str]] = {}
        open_ms = int(self.flight.lease_seconds * 1000)  # a batch whose leader died before closing it closes itself
        for span_end, members in wanted.items():
            pairs = [part for ticker, first in members.items() for part in (ticker, first.isoformat())]
            ids = self.cache.eval(_JOIN, self._batch_keys(span_end), [uuid.uuid4().hex, open_ms, OUTCOME_SECONDS, *pairs])
            if ids is None:
                return None
            for ticker, batch_id in zip(members, ids):
                batches.setdefault((batch_id.decode(), span_end), []).append(ticker)
        return batches

    def _download(self, batch_id: str, end: dt.date) -> Outcome:
        """Lead a batch: let other processes join for the window, close it, fetch all its tickers in one call
        and store each one's bars.  The outcome lists the tickers the source does not know."""
        time.sleep(self.batch_window)
        open_key, claims_key, members_prefix = self._batch_keys(end)
        fields = self.cache.eval(_CLOSE, [open_key, members_prefix + batch_id], [batch_id]) or []
        members = {ticker.decode(): dt.date.fromisoformat(first.decode()) for ticker, first in zip(fields[::2], fields[1::2])}
        try:
            if not members:  # Redis failed under us, or the batch is long gone: each requester fetches its own
                return {"unknown": b"[]"}
            start = min(members.values())
            # In the order the tickers joined (Redis keeps a small hash in insertion order): a lone request's own order.
            frames, unknown = self._known_bars(list(members), start, end)
            now = self._now()
            for ticker, frame in frames.items():
                self._update(ticker, self._load(ticker), [frame], start, end, now)
            for ticker in unknown:
                self.cache.set(self._unknown_key(ticker), b"1", ttl_seconds=UNKNOWN_TICKER_SECONDS)
            return {"unknown": json.dumps(unknown).encode()}
        finally:
            self.cache.eval(_RELEASE, [claims_key, members_prefix + batch_id], [batch_id])

    def _known_bars(self, tickers: list[str], start: dt.date, end: dt.date) -> tuple[dict[str, pd.DataFrame], list[str]]:
        """Bars of a batch's tickers, and those the source does not know: fetched again without them, so that one
        mistyped ticker does not fail everyone else's request."""
        try:
            return self._from_source(self.provider.bars, tickers, start, end, cost=len(tickers)), []
        except UnknownTicker as error:
            unknown = [t for t in tickers if t in error.tickers]
            known = [t for t in tickers if t not in error.tickers]
            if not unknown:
                raise
            return (self._from_source(self.provider.bars, known, start, end, cost=len(known)) if known else {}), unknown

    def _batch_keys(self, end: dt.date) -> list[str]:
        """For one end date: the open batch's id, the claims (ticker -> batch fetching it), the members' prefix."""
        where = f"batch:{self.key}:{end.isoformat()}"
        return [f"{where}:open", f"{where}:claims", "batch:members:"]

    def _fetch_grouped(self, plans: dict[str, list[Span]]) -> dict[tuple[str, dt.date, dt.date], pd.DataFrame]:
        """One provider call per distinct span, so a cold request for many tickers is one batch (without Redis)."""
        by_span: dict[Span, list[str]] = {}
        for ticker, spans in plans.items():
            for span in spans:
                by_span.setdefault(span, []).append(ticker)
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

    def _update(self, ticker: str, entry: _Entry | None, fresh: list[pd.DataFrame], start: dt.date, end: dt.date,
                now: dt.datetime) -> _Entry:
        """Stitch freshly fetched spans (fetched at ``now``, the last ending on ``end``) into the entry and store it."""
        first = min(start, entry.first) if entry else start
        bars = entry.bars if entry else empty_bars()
        for frame in fresh:
            stitched = stitch(bars, frame)
            if stitched is None:
                # No common bar to align adjustments on: take the whole span afresh.
                last = max(bars.index[-1], frame.index[-1]).date()
                stitched = self._from_source(self.provider.bars, [ticker], first, last, cost=1)[ticker]
            bars = stitched
        if end >= market_today(now):
            fresh_until = next_close(now).timestamp()
        else:
            fresh_until = entry.fresh_until if entry else 0.0
        final_to = max(entry.final_to, _final_to(end, now)) if entry else _final_to(end, now)
        updated = _Entry(bars=bars, first=first, fresh_until=fresh_until, final_to=final_to)
        self._store(ticker, updated)
        return updated

    def _bars_key(self, ticker: str) -> str:
        return f"bars:{self.key}:{ticker}"

    def _unknown_key(self, ticker: str) -> str:
        return f"unknown:{self.key}:{ticker}"

    def _load(self, ticker: str) -> _Entry | None:
        fields = self.cache.get_hash(self._bars_key(ticker))
        if not fields:
            return None
        return _Entry(
            bars=bars_from_bytes(fields[b"bars"]),
            first=dt.date.fromisoformat(fields[b"first"].decode()),
            fresh_until=float(fields[b"fresh_until"]),
            # Entries stored before ``final_to`` existed: nothing known final, so past windows are fetched as before.
            final_to=dt.date.fromisoformat(fields[b"final_to"].decode()) if b"final_to" in fields else dt.date.min,
        )

    def _store(self, ticker: str, entry: _Entry) -> None:
        self.cache.set_hash(self._bars_key(ticker), {
            "bars": bars_to_bytes(entry.bars),
            "first": entry.first.isoformat(),
            "fresh_until": repr(entry.fresh_until),
            "final_to": entry.final_to.isoformat(),
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
