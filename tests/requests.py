"""Requests people could type, per command, as hypothesis strategies: each command's own vocabulary (tickers
known and unknown, every period form, dates before, inside and after the shared data, weights, separators,
schedules, universes, signal names) mixed with garbage (unicode, empty, huge numbers, mentions).

Shared by the property tests (tests/test_every_request.py) and the longer campaign (bench/fuzz.py).
``REQUESTS`` maps every routed command to the strategy of its argument text.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

# A few of the shared CSV folder's tickers (every kind: ETFs with long and short histories, stocks, a T-bill ETF).
KNOWN = ("SPY", "QQQ", "IWM", "IJR", "SMH", "SOXX", "XLK", "XLE", "SGOV", "BIL", "BRK-B", "TLT", "NVDA", "XLC")
# Tickers the data does not have, spelled every way people spell them (cashtags, Yahoo's dot, indices, FX).
UNKNOWN = ("ZZZZ", "BRK.B", "$SPY", "$smh", "brk-b", "^IRX", "EURUSD=X", "7203.T", "A", "SPYY", "mtd", "1.5y")
MENTIONS = ("<@U024BE7LH>", "<!channel>", "<!here>", "@here", "<#C024BE7LR|general>", "<@&123>", "@everyone",
            "\u2063TILT\u2063", "`", "*", "_", "~", ":warning:", "```", "> quote")
HUGE = ("9" * 30, "1e308", "-1", "0", "00", "-0", "1" * 400, "NaN", "inf", "3.5", "1_000")

# Dates around the data (2000s to 2026-07-14) and outside it on both sides; mostly near the data's end.
YEARS = st.one_of(st.integers(min_value=1990, max_value=2028), st.integers(min_value=1890, max_value=2040))
DATES = st.one_of(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2027, 12, 31)),
                  st.dates(min_value=dt.date(1890, 1, 1), max_value=dt.date(2040, 12, 31)))
DATE_TEXT = DATES.map(lambda d: d.isoformat())


def often(common: st.SearchStrategy, rare: st.SearchStrategy) -> st.SearchStrategy:
    """``common`` five times in six: requests that get past the parser reach the code that computes."""
    return st.one_of(common, common, common, common, common, rare)


garbage = st.one_of(
    st.text(max_size=40),
    st.sampled_from(("", " ", "\n", "\t", ";", ";;", ",", "..", "vs", "to", "since", "from", "rebalance")),
    st.sampled_from(MENTIONS), st.sampled_from(HUGE),
)
ticker = often(st.sampled_from(KNOWN), st.one_of(st.sampled_from(KNOWN).map(str.lower), st.sampled_from(UNKNOWN),
                                                 st.from_regex(r"\A[A-Z]{1,5}\Z")))
number = often(st.integers(min_value=1, max_value=60),
               st.one_of(st.integers(min_value=-10, max_value=10 ** 6), st.sampled_from(HUGE))).map(str)
trailing = st.builds(lambda n, u: f"{n}{u}", number, often(st.sampled_from(("m", "y")),
                                                          st.sampled_from(("w", "d", "Y", "M", "q", "mo"))))
period = often(
    st.one_of(
        trailing,
        st.sampled_from(("ytd", "max", "mtd", "qtd", "1w", "2w", "5 years", "18 months", "1 year", "YTD", "10 Years")),
        st.builds(lambda word, y: f"{word} {y}", st.sampled_from(("since", "from")), YEARS),
        st.builds(lambda word, d: f"{word} {d}", st.sampled_from(("since", "from")), DATE_TEXT),
        st.builds(lambda a, b: f"{a}..{b}", DATE_TEXT, DATE_TEXT),
        st.builds(lambda a, b: f"{a} to {b}", DATE_TEXT, DATE_TEXT),
        st.builds(lambda a, b: f"from {a} to {b}", DATE_TEXT, DATE_TEXT),
        YEARS.map(str),
    ),
    st.one_of(
        st.sampled_from(("1.5y", "5 yrs", "all", "1d", "0m", "since", "to", "..")),
        st.builds(lambda n, u: f"{n} {u}", number, st.sampled_from(("years", "months", "weeks", "year", "month"))),
        DATE_TEXT,
    ),
)
separator = st.sampled_from((" ", "  ", ", ", ",", " , "))


def joined(parts: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
    """Words joined by separators people use (spaces, commas)."""
    return st.tuples(parts, separator).map(lambda p: p[1].join(p[0]))


def maybe(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), strategy)


def words(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The parts in order, empty ones dropped, one space apart."""
    return st.tuples(*parts).map(lambda p: " ".join(w for w in p if w))


def shuffled(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The parts in any order (options may stand anywhere)."""
    return st.tuples(*parts).flatmap(lambda p: st.permutations([w for w in p if w])).map(" ".join)


def with_garbage(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Mostly the grammar, sometimes with garbage inserted, sometimes garbage alone."""
    spliced = st.tuples(strategy, garbage, st.booleans()).map(lambda t: f"{t[1]} {t[0]}" if t[2] else f"{t[0]} {t[1]}")
    return st.one_of(strategy, strategy, strategy, strategy, strategy, spliced, garbage)


benchmark = maybe(st.builds(lambda word, t: f"{word} {t}", st.sampled_from(("vs", "VS", "vs.", "versus")), ticker))
tickers = joined(often(st.lists(ticker, min_size=1, max_size=3), st.lists(ticker, min_size=0, max_size=10)))
weight = st.one_of(number, st.sampled_from(("70", "20", "10", "33.3333", "33.33", "50%", "12.5", "100", "0")))
holding = st.one_of(st.builds(lambda t, w: f"{t} {w}", ticker, weight), st.builds(lambda t, w: f"{t}:{w}", ticker, weight),
                    ticker)


def _adding_up(pair: tuple[list[str], int]) -> str:
    """Holdings whose weights add up to 100 (the last takes the rest), so most mixes get past the parser."""
    names, seed = pair
    names = list(dict.fromkeys(names))
    cuts = [(seed * (i + 3)) % 40 + 1 for i in range(len(names) - 1)]
    weights = [*cuts, 100 - sum(cuts)] if sum(cuts) < 100 else [100 // len(names)] * len(names)
    return " ".join(f"{t} {w}" for t, w in zip(names, weights))


valid_mix = st.tuples(st.lists(st.sampled_from(KNOWN), min_size=1, max_size=4), st.integers(0, 1000)).map(_adding_up)
mix = often(valid_mix, st.lists(holding, min_size=1, max_size=11).map(" ".join))
tactical = st.builds(lambda s, leg: f"tactical {s} {leg}".strip(), st.sampled_from(("smallcaps", "semis", "momentum", "")),
                     maybe(st.sampled_from(("IWM", "IJR", "SMH", "SOXX", "SPY"))))
portfolios = st.lists(st.one_of(mix, mix, tactical), min_size=1, max_size=5).map(
    lambda p: " ; ".join(dict.fromkeys(p)))
schedule = maybe(st.builds(lambda r, s: f"{r} {s}".strip(), st.sampled_from(("", "rebalance", "Rebalance")),
                           st.sampled_from(("monthly", "quarterly", "yearly", "annually", "none", "never", "weekly",
                                            "daily", "biweekly", ""))))
clock = st.one_of(st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 30), st.integers(0, 70)),
                  st.sampled_from(("8am", "08:00", "8:00", "24:00", "noon")))
zone = maybe(st.sampled_from(("UTC", "Europe/London", "America/New_York", "Mars/Olympus", "utc", "EST", "+02:00")))
day = st.sampled_from(("mon", "Monday", "fri", "sun", "funday", "TUE"))
universe = st.sampled_from(("size", "sectors", "semis", "mine", "SIZE", "list", "set", "nothing"))
signal_name = st.sampled_from(("smallcaps", "semis", "SmallCaps", "momentum", "", "list", "golden", "a-b"))
size_range = often(st.sampled_from(("0-40", "0-30", "10-20", "0-20")),
                   st.sampled_from(("0-100", "-10-20", "0-101", "40-0", "0-35", "0", "x-y", "0-", "100-100")))
subject = often(ticker, st.one_of(st.builds(lambda a, b: f"{a}/{b}", ticker, ticker), st.just("SPY/SPY")))
indicator = st.sampled_from(("sma200", "ema50", "sma0", "sma5000", "rsi14", "rsi", "sma", "600", "-5", "nan", "inf",
                             "1e400", "%", "/", "-"))
rule = st.one_of(
    words(subject, st.sampled_from(("above", "below", "over")), indicator),
    words(subject, st.sampled_from(("sma50", "sma20", "ema10")), st.sampled_from(("above", "below")), indicator),
    words(subject, st.just("momentum"), period, st.sampled_from(("above", "below")), st.sampled_from(("0%", "5%", "x"))),
    words(subject, st.just("drawdown below"), st.sampled_from(("-20%", "20%", "-0.5%", "-"))),
)
note = maybe(st.text(max_size=60))

# Requests as most people type them: known tickers, a period from the grammar; they reach the figures and charts.
plain_tickers = st.lists(st.sampled_from(KNOWN), min_size=2, max_size=4, unique=True).map(" ".join)
plain = words(plain_tickers, maybe(st.sampled_from(KNOWN).map(lambda t: f"vs {t}")), maybe(period))

REQUESTS: dict[str, st.SearchStrategy[str]] = {
    "compare": often(plain, with_garbage(shuffled(tickers, benchmark, maybe(period)))),
    "cycle": often(words(plain_tickers, maybe(st.sampled_from(KNOWN).map(lambda t: f"vs {t}"))),
                   with_garbage(shuffled(tickers, benchmark, maybe(period)))),
    "valuation": often(words(plain_tickers, maybe(st.sampled_from(KNOWN).map(lambda t: f"vs {t}"))),
                       with_garbage(st.one_of(shuffled(tickers, benchmark, maybe(period)), st.just("smallcaps")))),
    "backtest": often(words(st.lists(st.one_of(valid_mix, tactical), min_size=1, max_size=4).map(
                                 lambda p: " ; ".join(dict.fromkeys(p))), schedule, maybe(period)),
                      with_garbage(shuffled(portfolios, schedule, maybe(period), benchmark))),
    "watchlist": with_garbage(words(st.sampled_from(("", "show", "add", "remove", "ADD", "delete")), maybe(tickers))),
    "digest": with_garbage(st.one_of(
        st.sampled_from(("", "status", "off", "now", "now please")),
        words(st.sampled_from(("daily", "weekdays", "Daily")), clock, zone),
        words(st.just("weekly"), maybe(day), clock, zone),
    )),
    "rotation": with_garbage(st.one_of(
        shuffled(maybe(universe), maybe(period)),
        words(st.just("set"), st.sampled_from(("mine", "size", "x" * 40, "")), maybe(tickers)),
        st.just("list"),
    )),
    "signal": with_garbage(st.one_of(signal_name, words(st.just("define"), signal_name, rule, note),
                                     words(st.sampled_from(("delete", "list")), signal_name))),
    "tilt": with_garbage(words(ticker, ticker, size_range, maybe(words(ticker, size_range)),
                              maybe(st.builds(lambda n: f"step {n}", st.sampled_from(("5", "10", "7", "0", "-1", "x")))),
                              maybe(period), schedule)),
    "alert": with_garbage(st.one_of(words(rule, note), st.sampled_from(("list", "cancel 1", "cancel x", "cancel")))),
    "call": with_garbage(st.one_of(
        words(ticker, maybe(st.builds(lambda t: f"over {t}", ticker)), often(st.just("until"), st.just("by")),
              often(st.dates(dt.date(2026, 7, 16), dt.date(2032, 1, 1)).map(str), maybe(DATE_TEXT)), note),
        words(st.just("cancel"), maybe(st.one_of(number, st.just("#1")))),
    )),
    "calls": with_garbage(st.just("")),
    "help": with_garbage(st.sampled_from(("", "compare", "backtest", "/rotation", "signal", "nope", "calls", "vote"))),
    "vote": with_garbage(words(st.from_regex(r"\A[0-9a-f]{10}\Z"), st.sampled_from(("agree", "disagree", "maybe")))),
}
