"""Yahoo Finance, through yfinance, as a market-data source.

Bars come from ``yf.Ticker(t).history(...)``, one call per ticker, run
concurrently.  ``yf.download`` does the same thing internally (it calls
``Ticker.history`` per ticker in threads) but turns every per-ticker failure
into a log line and an empty frame, so an unknown ticker, a timeout and a
rate limit all look alike; we need typed errors, so we make those calls
ourselves and let them raise.

Conventions:

* ``start`` and ``end`` are inclusive; yfinance's ``end`` is exclusive, so we
  ask for ``end + 1 day``.
* ``auto_adjust=False`` keeps ``Adj Close`` (and leaves Open/High/Low/Close
  adjusted for splits only, as Yahoo publishes them); ``repair=False`` keeps
  Yahoo's figures instead of yfinance's heuristic rewrites.
* Errors: a symbol Yahoo does not know -> one ``UnknownTicker`` naming every
  such ticker of the call; a known symbol with no bars in the window -> an
  empty frame; HTTP 429 -> retried ``retries`` times after
  ``backoff * 2**attempt`` seconds, then ``RateLimited``; anything else
  (timeout, connection, malformed answer) -> ``DataUnavailable``.  No other
  exception leaves ``bars`` or ``fundamentals``.
* Fundamentals come from ``Ticker.info``; for funds, ``Ticker.funds_data``
  fills P/E, P/B and the expense ratio when ``info`` lacks them.  Its "Total
  Net Assets" is not used: Yahoo does not document its unit (published
  samples look like millions), while ``totalAssets`` is in dollars.

yfinance keeps process-wide state, which this provider sets or works around:

* ``yf.config.debug.hide_exceptions`` is switched off.  Otherwise yfinance
  swallows a failed timezone lookup (it runs before every dated chart call)
  and reports a timeout or a garbled answer as ``YFTzMissingError``, i.e. as
  an unknown ticker.  This is also what ``history(raise_errors=True)``, now
  deprecated, stands for.
* ``yf.set_tz_cache_location(cache_dir)`` moves the timezone and cookie
  caches; yfinance binds them on first use, so only the first location set
  in a process takes effect.
* yfinance's ``YfData`` is a singleton: the session of the latest
  ``yf.Ticker(..., session=...)`` is the one every ticker uses, so two
  providers with different ``api_url`` must not run at the same time.
* ``YfData.cache_get`` memoises answers for past windows, failed ones too;
  we clear it after a failure so that "try again shortly" can succeed.

``api_url`` names a Yahoo-compatible mirror (a corporate proxy, or the test
stand-in): every request yfinance makes to a ``*.yahoo.com`` host (cookie,
crumb, chart, quoteSummary...) is sent there with the same path and query.
Without it yfinance uses its own session (curl_cffi, browser-like).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import peewee
import requests
import yfinance as yf
from requests.adapters import HTTPAdapter
from requests.utils import should_bypass_proxies
from yfinance.data import YfData
from yfinance.exceptions import YFPricesMissingError, YFRateLimitError, YFTzMissingError

from errors import DataUnavailable, RateLimited, TiltError, UnknownTicker
from market.provider import Fundamentals, empty_bars, normalise_bars

log = logging.getLogger(__name__)

T = TypeVar("T")
Timeout = float | tuple[float | None, float | None] | None

_MAX_WORKERS = 8
_FUND_TYPES = frozenset({"ETF", "MUTUALFUND"})
_RATE_LIMITED = "Yahoo Finance is rate-limiting us; try again in a minute."

# Starts of Yahoo's chart.error descriptions, as yfinance passes them on in
# ``YFPricesMissingError.yahoo_reason`` (it keeps no error code).
_UNKNOWN_SYMBOL = "No data found"  # HTTP 404 "Not Found": "No data found, symbol may be delisted"
_NOTHING_IN_WINDOW = "Data doesn't exist"  # HTTP 400 for a window before the first bar


class YahooProvider:
    """Daily bars and fundamentals from Yahoo Finance; see the module docstring."""

    name = "Yahoo Finance"
    is_demo = False
    bills = "^IRX"

    def __init__(
        self,
        *,
        api_url: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 1.0,
        cache_dir: Path | None = None,
    ) -> None:
        self.api_url = api_url
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        # A mirror may serve other figures than Yahoo, so it gets its own cache namespace.
        self.key = "yahoo" if api_url is None else f"yahoo:{api_url}"
        self._session = None if api_url is None else _mirror_session(api_url, timeout)
        if cache_dir is not None:
            yf.set_tz_cache_location(str(cache_dir))
        yf.config.debug.hide_exceptions = False

    def bars(self, tickers: list[str], start: dt.date, end: dt.date) -> dict[str, pd.DataFrame]:
        """Daily bars for ``start..end`` (both inclusive) per ticker, fetched concurrently."""
        return self._gather(tickers, lambda ticker: self._bars_one(ticker, start, end))

    def fundamentals(self, tickers: list[str]) -> dict[str, Fundamentals]:
        """Valuation and fund facts per ticker, as of today; figures Yahoo lacks stay ``None``."""
        return self._gather(tickers, self._fundamentals_one)

    def _gather(self, tickers: list[str], fetch: Callable[[str], T]) -> dict[str, T]:
        """Run ``fetch`` for each ticker in threads, then raise the failures: all unknown tickers first, in one error."""
        unique = list(dict.fromkeys(tickers))
        workers = max(1, min(len(unique), _MAX_WORKERS))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="yahoo") as pool:
            outcomes = dict(zip(unique, pool.map(lambda ticker: _capture(fetch, ticker), unique)))
        unknown = [ticker for ticker, outcome in outcomes.items() if isinstance(outcome, UnknownTicker)]
        if unknown:
            raise UnknownTicker(unknown, source=self.name)
        for outcome in outcomes.values():
            if isinstance(outcome, TiltError):
                raise outcome
        return cast(dict[str, T], outcomes)

    def _bars_one(self, ticker: str, start: dt.date, end: dt.date) -> pd.DataFrame:
        options = dict(
            start=start, end=end + dt.timedelta(days=1), interval="1d",
            auto_adjust=False, actions=True, repair=False, timeout=self.timeout,
        )
        try:
            return normalise_bars(self._call(ticker, lambda yt: yt.history(**options)))
        except YFPricesMissingError as error:
            # No reason given: Yahoo answered with a result that has no bars.
            if error.yahoo_reason is None or error.yahoo_reason.startswith(_NOTHING_IN_WINDOW):
                return empty_bars()
            raise self._translate(ticker, error) from error
        except Exception as error:
            raise self._translate(ticker, error) from error

    def _fundamentals_one(self, ticker: str) -> Fundamentals:
        try:
            info = self._call(ticker, lambda yt: dict(yt.info or {}))
        except Exception as error:
            raise self._translate(ticker, error) from error
        if not info.get("quoteType"):
            # Every symbol Yahoo knows has a quoteType; an answer without one describes nothing.
            raise UnknownTicker(ticker, source=self.name)
        if info["quoteType"] in _FUND_TYPES:
            info = {**self._fund_facts(ticker), **info}
        return Fundamentals.from_info(ticker, info, as_of=dt.date.today(), source=self.name)

    def _fund_facts(self, ticker: str) -> dict[str, Any]:
        """Fund figures from ``funds_data`` under their ``info`` names; ``{}`` when Yahoo has none.

        They only fill gaps in ``info``, so a failure here leaves fields ``None`` rather than failing the call.
        """
        try:
            holdings, operations = self._call(ticker, _fund_tables)
        except Exception:
            return {}
        facts = {
            "trailingPE": holdings.get("Price/Earnings"),
            "priceToBook": holdings.get("Price/Book"),
            "annualReportExpenseRatio": operations.get("Annual Report Expense Ratio"),
        }
        return {key: value for key, value in facts.items() if pd.notna(value)}

    def _call(self, ticker: str, action: Callable[[yf.Ticker], T]) -> T:
        """``action`` on a fresh ``yf.Ticker``, retrying with exponential backoff what passes: rate limits,
        and yfinance's on-disk caches (SQLite files, via peewee) being busy in another process.

        Fresh, because yfinance marks a failed ``info`` fetch as done: the same object would answer ``None``.
        """
        attempt = 0
        while True:
            try:
                return action(yf.Ticker(ticker, session=self._session))
            except (YFRateLimitError, peewee.OperationalError) as error:
                if attempt >= self.retries:
                    raise
                if isinstance(error, peewee.OperationalError):
                    # Every web process and work horse opens the same cache files (timezones, cookies).
                    log.warning("yfinance's cache was busy (%s); trying %s again", error, ticker)
                time.sleep(self.backoff * 2**attempt)
                attempt += 1

    def _translate(self, ticker: str, error: Exception) -> TiltError:
        """The typed error for a failed yfinance call about ``ticker``."""
        if isinstance(error, YFRateLimitError):
            return RateLimited(_RATE_LIMITED)
        if _says_unknown_symbol(error):
            return UnknownTicker(ticker, source=self.name)
        # yfinance memoises past-window answers, failed ones too: forget them so that a retry asks Yahoo again.
        YfData().cache_get.cache_clear()
        return DataUnavailable(f"Yahoo Finance did not answer ({_short_reason(error)}); try again shortly.")


def _capture(fetch: Callable[[str], T], ticker: str) -> T | TiltError:
    try:
        return fetch(ticker)
    except TiltError as error:
        return error


def _fund_tables(yt: yf.Ticker) -> tuple[pd.Series, pd.Series]:
    """The fund's column of ``equity_holdings`` and of ``fund_operations`` (both are named after the symbol)."""
    funds = yt.funds_data
    return funds.equity_holdings[yt.ticker], funds.fund_operations[yt.ticker]


def _says_unknown_symbol(error: Exception) -> bool:
    if isinstance(error, YFTzMissingError):
        return True  # every listed symbol has an exchange timezone
    if isinstance(error, YFPricesMissingError):
        return (error.yahoo_reason or "").startswith(_UNKNOWN_SYMBOL)
    # quoteSummary's "Quote not found"; history reaches it too, when the timezone lookup falls back to ``info``.
    return "HTTPError" in _class_names(error) and _http_status(error) == 404


def _short_reason(error: Exception) -> str:
    """A few words on why a call failed, for the person reading the reply."""
    names = _class_names(error)
    if names & {"Timeout", "TimeoutError"}:
        return "timed out"
    if "ConnectionError" in names:
        return "connection failed"
    if "HTTPError" in names:
        return f"HTTP {_http_status(error)}"
    if isinstance(error, YFPricesMissingError) and error.yahoo_reason:
        return error.yahoo_reason
    if isinstance(error, ValueError):  # JSONDecodeError is one
        return "malformed answer"
    return f"unexpected answer: {type(error).__name__}"


def _class_names(error: Exception) -> set[str]:
    # By name, so that requests' and curl_cffi's exception classes both match.
    return {cls.__name__ for cls in type(error).__mro__}


def _http_status(error: Exception) -> int | None:
    return getattr(getattr(error, "response", None), "status_code", None)


def _mirror_session(api_url: str, timeout: float) -> requests.Session:
    session = requests.Session()
    adapter = _MirrorAdapter(api_url, timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class _MirrorAdapter(HTTPAdapter):
    """Sends every request for a ``*.yahoo.com`` host to the mirror, keeping path and query.

    The mirror is a transport detail: the response keeps Yahoo's URL, so cookies,
    redirects and yfinance's own checks behave as with Yahoo.  Every timeout is
    capped at the provider's, because yfinance hard-codes 10 to 30 seconds for
    its cookie, crumb and timezone calls.
    """

    def __init__(self, api_url: str, timeout: float) -> None:
        super().__init__()
        mirror = urlsplit(api_url)
        self._scheme, self._netloc, self._prefix = mirror.scheme, mirror.netloc, mirror.path.rstrip("/")
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = _capped(kwargs.get("timeout"), self._timeout)
        target = urlsplit(request.url)
        host = target.hostname or ""
        if host != "yahoo.com" and not host.endswith(".yahoo.com"):
            return super().send(request, **kwargs)
        routed = request.copy()
        routed.url = urlunsplit((self._scheme, self._netloc, self._prefix + target.path, target.query, ""))
        # requests chose proxies for the Yahoo host; NO_PROXY may exempt the mirror.
        if should_bypass_proxies(routed.url, no_proxy=None):
            kwargs["proxies"] = {}
        response = super().send(routed, **kwargs)
        response.url, response.request = request.url, request
        return response


def _capped(timeout: Timeout, cap: float) -> Timeout:
    if isinstance(timeout, tuple):
        return tuple(cap if part is None else min(part, cap) for part in timeout)
    return cap if timeout is None else min(timeout, cap)
