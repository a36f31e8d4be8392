"""The one interface every market-data source implements.

A provider answers two questions:

* ``bars(tickers, start, end)``: daily bars per ticker, a DataFrame indexed by
  a tz-naive ``DatetimeIndex`` of trading dates (ascending, unique) with the
  columns of ``BAR_COLUMNS`` (yfinance's names).  Only ``Adj Close`` is
  guaranteed to hold numbers; any other column may be all-NaN when the source
  does not have it.  ``start`` and ``end`` are both inclusive calendar dates.
* ``fundamentals(tickers)``: one ``Fundamentals`` per ticker; any field may be
  ``None`` (shown as "n/a", never invented).

Errors are typed: a ticker the source does not know raises ``UnknownTicker``
(all unknown tickers of the call at once), a source that fails raises
``DataUnavailable``.  A ticker that exists but has no bars inside the window
comes back as an empty frame; deciding what that means is the caller's job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import Any, Mapping, Protocol

import pandas as pd

BAR_COLUMNS: tuple[str, ...] = (
    "Open", "High", "Low", "Close", "Adj Close", "Volume", "Dividends", "Stock Splits",
)


@dataclass(frozen=True)
class Fundamentals:
    """Valuation and fund facts for one ticker, as of ``as_of``; ``None`` means unknown.

    Yields and the expense ratio are fractions (0.0009 is 0.09%); total assets in the fund's currency.
    """

    ticker: str
    name: str | None = None
    quote_type: str | None = None
    currency: str | None = None
    trailing_pe: float | None = None
    forward_pe: float | None = None
    price_to_book: float | None = None
    dividend_yield: float | None = None
    expense_ratio: float | None = None
    total_assets: float | None = None
    as_of: dt.date | None = None
    source: str = ""

    # yfinance ``info`` names of the fields above, first found wins, with the factor that turns each into
    # our units: Yahoo gives ``netExpenseRatio`` and ``dividendYield`` in percent, ``yield`` and
    # ``annualReportExpenseRatio`` as fractions.
    INFO_KEYS = {
        "name": (("longName", 1), ("shortName", 1)),
        "quote_type": (("quoteType", 1),),
        "currency": (("currency", 1),),
        "trailing_pe": (("trailingPE", 1),),
        "forward_pe": (("forwardPE", 1),),
        "price_to_book": (("priceToBook", 1),),
        "dividend_yield": (("yield", 1), ("dividendYield", 0.01)),
        "expense_ratio": (("annualReportExpenseRatio", 1), ("netExpenseRatio", 0.01)),
        "total_assets": (("totalAssets", 1),),
    }
    TEXT_FIELDS = ("name", "quote_type", "currency")

    @classmethod
    def from_info(cls, ticker: str, info: Mapping[str, Any], *, as_of: dt.date | None, source: str) -> "Fundamentals":
        """Build from a yfinance-style ``info`` mapping; non-numeric or missing figures become ``None``."""
        values: dict[str, Any] = {}
        for field, keys in cls.INFO_KEYS.items():
            key, scale = next(((k, f) for k, f in keys if info.get(k) is not None), (None, 1))
            raw = info.get(key) if key else None
            if field in cls.TEXT_FIELDS:
                values[field] = raw
            else:
                number = _number_or_none(raw)
                values[field] = None if number is None else number * scale
        return cls(ticker=ticker, as_of=as_of, source=source, **values)

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["as_of"] = self.as_of.isoformat() if self.as_of else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Fundamentals":
        as_of = data.get("as_of")
        return cls(**{**data, "as_of": dt.date.fromisoformat(as_of) if as_of else None})


def _number_or_none(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


class Provider(Protocol):
    """A market-data source.

    ``name`` labels figures in replies ("Yahoo Finance"); ``key`` is a stable
    identifier that namespaces the cache, so two sources never share entries;
    ``bills`` names its T-bill series (``handlers.common.risk_free``).
    """

    name: str
    key: str
    is_demo: bool
    # The source's T-bill series that risk-free rates come from ("^IRX", a yield in percent; "BIL", a fund), or "".
    bills: str

    def bars(self, tickers: list[str], start: dt.date, end: dt.date) -> dict[str, pd.DataFrame]: ...

    def fundamentals(self, tickers: list[str]) -> dict[str, Fundamentals]: ...


def empty_bars() -> pd.DataFrame:
    """A bars frame with no rows, for a ticker with nothing in the window."""
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in BAR_COLUMNS},
                        index=pd.DatetimeIndex([], dtype="datetime64[ns]", name="Date"))


def normalise_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a source's frame to the contract: tz-naive sorted unique dates, every column, floats.

    Rows without an ``Adj Close`` are dropped: a bar we cannot price is no bar.
    """
    frame = frame.copy()
    index = pd.DatetimeIndex(pd.to_datetime(frame.index))
    if index.tz is not None:
        index = index.tz_localize(None)
    # One resolution for every source, so frames from the cache and from a source compare equal.
    frame.index = index.normalize().astype("datetime64[ns]").rename("Date")
    frame = frame.reindex(columns=list(BAR_COLUMNS)).astype("float64")
    frame = frame[~frame.index.duplicated(keep="last")].sort_index()
    return frame.dropna(subset=["Adj Close"])
