"""Suggestions while someone types an option (chat platforms' autocomplete): tickers and periods.

Tickers come from a small curated list.

The list is the broad-market, size, style, factor, sector, bond and commodity
ETFs and the mega-cap stocks that tilt questions are usually about, most
asked-about first.  It is a typing aid, not a universe: any valid ticker can
still be typed in full.  Matching is case-insensitive: tickers that start with
what was typed come first (in list order), then tickers whose name contains it
("semi" finds SMH, SOXX, XSD and PSI).  No I/O, so it answers well inside any
platform's autocomplete deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.common.command import Kind


@dataclass(frozen=True)
class Suggestion:
    """A value to offer and the words shown beside it."""

    value: str
    name: str


COMMON: tuple[Suggestion, ...] = tuple(Suggestion(ticker, name) for ticker, name in (
    ("SPY", "SPDR S&P 500 ETF Trust"),
    ("QQQ", "Invesco QQQ Trust (Nasdaq-100)"),
    ("VOO", "Vanguard S&P 500 ETF"),
    ("IVV", "iShares Core S&P 500 ETF"),
    ("VTI", "Vanguard Total Stock Market ETF"),
    ("RSP", "Invesco S&P 500 Equal Weight ETF"),
    ("DIA", "SPDR Dow Jones Industrial Average ETF"),
    ("IWB", "iShares Russell 1000 ETF"),
    ("IWM", "iShares Russell 2000 ETF"),
    ("IWN", "iShares Russell 2000 Value ETF"),
    ("IWO", "iShares Russell 2000 Growth ETF"),
    ("IJR", "iShares Core S&P Small-Cap ETF"),
    ("IJH", "iShares Core S&P Mid-Cap ETF"),
    ("MDY", "SPDR S&P MidCap 400 ETF"),
    ("VB", "Vanguard Small-Cap ETF"),
    ("VBR", "Vanguard Small-Cap Value ETF"),
    ("VBK", "Vanguard Small-Cap Growth ETF"),
    ("SLYV", "SPDR S&P 600 Small Cap Value ETF"),
    ("SLYG", "SPDR S&P 600 Small Cap Growth ETF"),
    ("VTV", "Vanguard Value ETF"),
    ("VUG", "Vanguard Growth ETF"),
    ("MTUM", "iShares MSCI USA Momentum Factor ETF"),
    ("QUAL", "iShares MSCI USA Quality Factor ETF"),
    ("VLUE", "iShares MSCI USA Value Factor ETF"),
    ("USMV", "iShares MSCI USA Min Vol Factor ETF"),
    ("SPLV", "Invesco S&P 500 Low Volatility ETF"),
    ("SMH", "VanEck Semiconductor ETF"),
    ("SOXX", "iShares Semiconductor ETF"),
    ("XSD", "SPDR S&P Semiconductor ETF"),
    ("PSI", "Invesco Semiconductors ETF"),
    ("IGV", "iShares Expanded Tech-Software Sector ETF"),
    ("VGT", "Vanguard Information Technology ETF"),
    ("XLK", "Technology Select Sector SPDR Fund"),
    ("XLC", "Communication Services Select Sector SPDR Fund"),
    ("XLY", "Consumer Discretionary Select Sector SPDR Fund"),
    ("XLP", "Consumer Staples Select Sector SPDR Fund"),
    ("XLE", "Energy Select Sector SPDR Fund"),
    ("XLF", "Financial Select Sector SPDR Fund"),
    ("XLV", "Health Care Select Sector SPDR Fund"),
    ("XLI", "Industrial Select Sector SPDR Fund"),
    ("XLB", "Materials Select Sector SPDR Fund"),
    ("XLRE", "Real Estate Select Sector SPDR Fund"),
    ("XLU", "Utilities Select Sector SPDR Fund"),
    ("EFA", "iShares MSCI EAFE ETF (developed markets)"),
    ("VEA", "Vanguard FTSE Developed Markets ETF"),
    ("EEM", "iShares MSCI Emerging Markets ETF"),
    ("VWO", "Vanguard FTSE Emerging Markets ETF"),
    ("AGG", "iShares Core US Aggregate Bond ETF"),
    ("BND", "Vanguard Total Bond Market ETF"),
    ("TLT", "iShares 20+ Year Treasury Bond ETF"),
    ("IEF", "iShares 7-10 Year Treasury Bond ETF"),
    ("SHY", "iShares 1-3 Year Treasury Bond ETF"),
    ("BIL", "SPDR Bloomberg 1-3 Month T-Bill ETF"),
    ("SGOV", "iShares 0-3 Month Treasury Bond ETF"),
    ("GLD", "SPDR Gold Shares"),
    ("SLV", "iShares Silver Trust"),
    ("DBC", "Invesco DB Commodity Index Tracking Fund"),
    ("USO", "United States Oil Fund"),
    ("AAPL", "Apple"),
    ("MSFT", "Microsoft"),
    ("NVDA", "NVIDIA"),
    ("AMZN", "Amazon"),
    ("GOOGL", "Alphabet (Class A)"),
    ("META", "Meta Platforms"),
    ("AVGO", "Broadcom"),
    ("TSLA", "Tesla"),
    ("BRK-B", "Berkshire Hathaway (Class B)"),
    ("JPM", "JPMorgan Chase"),
))


PERIODS: tuple[Suggestion, ...] = tuple(Suggestion(value, name) for value, name in (
    ("1w", "1 week"), ("mtd", "month to date"), ("1m", "1 month"), ("qtd", "quarter to date"), ("3m", "3 months"),
    ("6m", "6 months"), ("ytd", "year to date"), ("1y", "1 year"), ("3y", "3 years"), ("5y", "5 years"), ("10y", "10 years"), ("15y", "15 years"), ("20y", "20 years"),
    ("max", "all history"), ("since 2020", "from the last close of 2019"),
    ("2015-10-30 to 2025-10-31", "between two dates"),
))


def suggest(typed: str, limit: int = 25) -> list[Suggestion]:
    """At most ``limit`` suggestions for the partly typed ticker or name ``typed`` (all of them, in order, for "")."""
    query = typed.strip().upper()
    by_ticker = [s for s in COMMON if s.value.startswith(query)]
    by_name = [s for s in COMMON if query in s.name.upper() and s not in by_ticker]
    return (by_ticker + by_name)[:limit]


def suggest_period(typed: str, limit: int = 25) -> list[Suggestion]:
    """What was typed (as typed: the grammar decides), then the common periods that start with it."""
    query = typed.strip().lower()
    known = [s for s in PERIODS if s.value.startswith(query)]
    as_typed = [] if not query or any(s.value == query for s in known) else [Suggestion(query, "as typed")]
    return (as_typed + known)[:limit]


def for_option(kind: Kind, typed: str, limit: int = 25) -> list[Suggestion]:
    """Suggestions for an option of ``kind`` being typed: in a list of tickers, for its last word (the words
    before it are kept in each value)."""
    if kind is Kind.PERIOD:
        return suggest_period(typed, limit)
    if kind is Kind.TICKERS:
        earlier, _, last = typed.rpartition(" ")
        before = f"{earlier.strip()} " if earlier.strip() else ""
        return [Suggestion(before + s.value, s.name) for s in suggest(last.strip(), limit)]
    if kind in (Kind.TICKER, Kind.BENCHMARK):
        return suggest(typed.strip(), limit)
    return []
