"""A local stand-in for Yahoo Finance's JSON API, so ``market.yahoo`` can be tested end to end through yfinance.

``YahooProvider(api_url=standin.url)`` sends every ``*.yahoo.com`` request
here with its path and query, so one server answers for all of Yahoo's hosts:

* ``GET /`` (fc.yahoo.com): 200 with an ``A3`` cookie for ``.yahoo.com``.
* ``GET /v1/test/getcrumb``: a crumb.
* ``GET /v8/finance/chart/{T}?period1=&period2=`` (or ``range=1d``, which
  yfinance uses to look up the timezone): chart JSON built from
  ``<data_dir>/<T>.csv`` (yfinance's column names), bars stamped at 09:30
  New York time.  As Yahoo answers: an unknown symbol is HTTP 404 "Not
  Found" / "No data found, symbol may be delisted", for the timezone lookup
  and for a window alike (so yfinance, finding no timezone, stops at the
  lookup, as with Yahoo); a window that ends before the first bar is HTTP 400
  "Data doesn't exist ..."; a window without bars is a result with ``meta``
  and empty ``indicators``.
* ``GET /v10/finance/quoteSummary/{T}?modules=``: the requested modules that
  ``quote_summaries[T]`` holds (modules Yahoo lacks are left out); a symbol
  with a CSV but no entry has a bare ``quoteType`` module; any other symbol
  is HTTP 404 "Quote not found".
* ``GET /v7/finance/quote`` and ``/ws/fundamentals-timeseries/...``, which
  ``Ticker.info`` also calls: minimal valid answers.

Knobs, for the chart endpoint (set them on the instance): ``rate_limited``
(the next N chart requests get HTTP 429), ``delay`` (seconds before each
chart answer), ``malformed`` and ``empty`` (symbols whose chart is truncated
JSON, or a result without bars), ``delisted`` (symbols whose chart now answers
as an unknown symbol's: yfinance, which cached their timezone while they were
listed, skips the lookup and meets Yahoo's "No data found" on the window itself),
and per symbol: ``throttled`` (symbols whose
every chart request gets HTTP 429) and ``slow`` (symbol -> seconds before its
chart answers).  ``requests`` records every request's path and query in
arrival order.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from fractions import Fraction
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Mapping
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import pandas as pd

from tests.servers import QuietHandler

NEW_YORK = ZoneInfo("America/New_York")
_CRUMB = "standin-crumb"
_SYMBOL = re.compile(r"^[A-Z0-9.^=-]{1,20}$")
_VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]
_A3_COOKIE = "A3=d=AQABBStandIn&S=AQAAAStandIn; Max-Age=31557600; Domain=.yahoo.com; Path=/; SameSite=None; Secure; HttpOnly"

Answer = tuple[int, str, str]  # status, content type, body


def market_open(day: dt.date) -> int:
    """Yahoo's timestamp for a daily bar: the 09:30 New York open of that day, in UTC seconds."""
    return int(dt.datetime.combine(day, dt.time(9, 30), tzinfo=NEW_YORK).timestamp())


class YahooStandIn:
    """A context manager running the stand-in on 127.0.0.1 (free port); see the module docstring."""

    def __init__(self, data_dir: Path, quote_summaries: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.quote_summaries = dict(quote_summaries or {})
        self.requests: list[str] = []
        self.rate_limited = 0
        self.delay = 0.0
        self.malformed: set[str] = set()
        self.empty: set[str] = set()
        self.delisted: set[str] = set()
        self.throttled: set[str] = set()
        self.slow: dict[str, float] = {}
        self.answered_429 = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the stand-in is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def chart_requests(self, symbol: str) -> list[str]:
        return [r for r in self.requests if urlsplit(r).path == f"/v8/finance/chart/{symbol}"]

    def __enter__(self) -> "YahooStandIn":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        # Not daemons, so that server_close() joins every handler: nothing outlives the stand-in.
        self._server.daemon_threads = False
        self._server.stand_in = self  # type: ignore[attr-defined]
        # A short poll keeps shutdown() quick: it waits for the serving loop's next poll.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="yahoo-standin", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        assert self._server is not None and self._thread is not None
        self._stopping.set()  # releases handlers still sitting in a delay
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def answer(self, path_and_query: str) -> Answer | None:
        """The answer to a GET, or ``None`` when the server stops before answering."""
        with self._lock:
            self.requests.append(path_and_query)
        parts = urlsplit(path_and_query)
        path, query = unquote(parts.path), parse_qs(parts.query)
        if path == "/":
            return 200, "text/html", "<html>cookie set</html>"
        if path == "/v1/test/getcrumb":
            return 200, "text/plain", _CRUMB
        if path.startswith("/v8/finance/chart/"):
            return self._chart(path.rsplit("/", 1)[1], query)
        if path.startswith("/v10/finance/quoteSummary/"):
            return self._quote_summary(path.rsplit("/", 1)[1], query)
        if path == "/v7/finance/quote":
            return self._quote(query)
        if path.startswith("/ws/fundamentals-timeseries/"):
            return _json(200, {"timeseries": {"result": [], "error": None}})
        return 404, "text/plain", "Not Found"

    def _chart(self, symbol: str, query: dict[str, list[str]]) -> Answer | None:
        with self._lock:
            throttled = self.rate_limited > 0
            if throttled:
                self.rate_limited -= 1
            throttled = throttled or symbol in self.throttled
            if throttled:
                self.answered_429 += 1
        if throttled:
            return 429, "text/plain", "Too Many Requests"
        delay = max(self.delay, self.slow.get(symbol, 0.0))
        if delay and self._stopping.wait(delay):
            return None
        bars = self._bars(symbol)
        if bars is None or symbol in self.delisted:
            return _json(404, _chart_error("Not Found", "No data found, symbol may be delisted"))
        if symbol in self.malformed:
            return 200, "application/json", '{"chart":{"result":[{"meta":{"currency":"USD","symb'
        if "range" in query:
            window = bars.iloc[-1:]
        else:
            period1, period2 = int(query["period1"][0]), int(query["period2"][0])
            if period2 <= market_open(bars.index[0].date()):
                return _json(400, _chart_error(
                    "Bad Request", f"Data doesn't exist for startDate = {period1}, endDate = {period2}"))
            stamps = bars.index.map(lambda day: market_open(day.date()))
            window = bars[(stamps >= period1) & (stamps < period2)]
        if symbol in self.empty:
            window = bars.iloc[:0]
        return _json(200, {"chart": {"result": [_chart_result(symbol, bars, window)], "error": None}})

    def _bars(self, symbol: str) -> pd.DataFrame | None:
        path = self.data_dir / f"{symbol}.csv"
        if not _SYMBOL.match(symbol) or not path.is_file():
            return None
        return pd.read_csv(path, index_col="Date", parse_dates=["Date"])

    def _knows(self, symbol: str) -> bool:
        return symbol in self.quote_summaries or self._bars(symbol) is not None

    def _quote_summary(self, symbol: str, query: dict[str, list[str]]) -> Answer:
        if not self._knows(symbol):
            return _json(404, {"quoteSummary": {"result": None, "error": {
                "code": "Not Found", "description": f"Quote not found for symbol: {symbol}"}}})
        modules = self.quote_summaries.get(symbol, {"quoteType": {"symbol": symbol, "quoteType": "ETF"}})
        wanted = query.get("modules", [""])[0].split(",")
        return _json(200, {"quoteSummary": {"result": [{m: modules[m] for m in wanted if m in modules}], "error": None}})

    def _quote(self, query: dict[str, list[str]]) -> Answer:
        symbols = query.get("symbols", [""])[0].split(",")
        found = [{"symbol": s} for s in symbols if self._knows(s)]
        return _json(200, {"quoteResponse": {"result": found, "error": None}})


class _Handler(QuietHandler):
    # HTTP/1.0: one request per connection, so no handler thread lingers on a kept-alive socket.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        answer = self.server.stand_in.answer(self.path)  # type: ignore[attr-defined]
        if answer is None:
            return
        status, content_type, body = answer
        try:
            self.respond(status, body.encode(), f"{content_type};charset=utf-8",
                         {"Set-Cookie": _A3_COOKIE} if self.path == "/" else None)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped waiting (a timeout test)


def _json(status: int, payload: Any) -> Answer:
    return status, "application/json", json.dumps(payload)


def _chart_error(code: str, description: str) -> dict[str, Any]:
    return {"chart": {"result": None, "error": {"code": code, "description": description}}}


def _chart_result(symbol: str, bars: pd.DataFrame, window: pd.DataFrame) -> dict[str, Any]:
    """One chart result: ``meta`` always; bars, events and indicators only for a window with bars."""
    result: dict[str, Any] = {"meta": _meta(symbol, bars, window)}
    if window.empty:
        result["indicators"] = {"quote": [{}], "adjclose": [{}]}
        return result
    stamps = [market_open(day.date()) for day in window.index]
    result["timestamp"] = stamps
    result["events"] = _events(window, stamps)
    result["indicators"] = {
        "quote": [{
            "open": window["Open"].tolist(),
            "high": window["High"].tolist(),
            "low": window["Low"].tolist(),
            "close": window["Close"].tolist(),
            "volume": [int(v) for v in window["Volume"]],
        }],
        "adjclose": [{"adjclose": window["Adj Close"].tolist()}],
    }
    return result


def _meta(symbol: str, bars: pd.DataFrame, window: pd.DataFrame) -> dict[str, Any]:
    last_day = bars.index[-1].date()
    before = bars[bars.index < window.index[0]] if not window.empty else bars
    return {
        "currency": "USD",
        "symbol": symbol,
        "exchangeName": "PCX",
        "instrumentType": "ETF",
        "firstTradeDate": market_open(bars.index[0].date()),
        "regularMarketTime": market_open(last_day) + 6 * 3600 + 1800,
        "gmtoffset": -14400,
        "timezone": "EDT",
        "exchangeTimezoneName": "America/New_York",
        "regularMarketPrice": float(bars["Close"].iloc[-1]),
        "chartPreviousClose": float(before["Close"].iloc[-1]) if not before.empty else None,
        "priceHint": 2,
        "dataGranularity": "1d",
        "range": "",
        "validRanges": _VALID_RANGES,
    }


def _events(window: pd.DataFrame, stamps: list[int]) -> dict[str, Any]:
    """Dividends and splits keyed by timestamp, as Yahoo sends them; absent kinds are left out."""
    events: dict[str, Any] = {}
    dividends = {
        str(ts): {"amount": float(amount), "date": ts}
        for ts, amount in zip(stamps, window["Dividends"]) if amount > 0
    }
    splits = {}
    for ts, ratio in zip(stamps, window["Stock Splits"]):
        if ratio > 0:  # NaN (files without a splits column) compares False
            fraction = Fraction(float(ratio)).limit_denominator(1000)
            splits[str(ts)] = {"date": ts, "numerator": fraction.numerator, "denominator": fraction.denominator,
                               "splitRatio": f"{fraction.numerator}:{fraction.denominator}"}
    if dividends:
        events["dividends"] = dividends
    if splits:
        events["splits"] = splits
    return events
