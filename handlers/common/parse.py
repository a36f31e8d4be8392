"""Turn command text into typed requests, or a ``BadRequest`` that says what to fix.

Grammar shared by the market commands (case-insensitive, commas count as spaces)::

    TICKER [TICKER ...] [vs BENCH] [PERIOD]

* A ticker matches ``^\\^?[A-Z0-9][A-Z0-9.=-]{0,14}$`` after upper-casing
  (``BRK-B``, ``^IRX``, ``EURUSD=X``, ``7203.T``); a cashtag's ``$`` is dropped
  (``$SPY`` is SPY; ``$MTD`` is a ticker where ``mtd`` is a period) and a share class written with a dot is Yahoo's dash
  (``BRK.B`` is BRK-B; exchange suffixes such as ``VOD.L`` or ``7203.T`` stay).
* The benchmark is the ticker after ``vs``; otherwise SPY when it is among the
  tickers (so ``SMH SPY`` and ``SPY SMH`` both mean SMH against the market);
  otherwise the last ticker when two or more are given; a lone ticker is
  compared with SPY.
* PERIOD is ``Nw`` (1-52 weeks), ``Nm`` (1-24 months), ``Ny`` (1-50 years),
  each also spelled out (``2 weeks``, ``18 months``, ``5 years``), ``mtd``,
  ``qtd``, ``ytd``, ``max``, a calendar year (``2022``), ``since YYYY``,
  ``since YYYY-MM-DD`` (``from`` means the same as ``since``),
  ``YYYY-MM-DD..YYYY-MM-DD``, ``YYYY-MM-DD to YYYY-MM-DD`` or
  ``from YYYY-MM-DD to YYYY-MM-DD``.
* Words that can only be meant as a period (``mtd``, ``qtd``, ``ytd``, ``max``,
  ``since``, ``from``, ``to``, a number with a unit such as ``1w``, ``1.5y`` or
  ``100y``, a bare date) are never tickers: when they do not make a period they
  are refused with a period error, not looked up as a ticker.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from analysis.windows import TO_DATE, Period
from errors import BadRequest

TICKER = re.compile(r"^\^?[A-Z0-9][A-Z0-9.=-]{0,14}$")
MAX_TICKERS = 8
DEFAULT_BENCHMARK = "SPY"
DEFAULT_PERIOD = Period.trailing(years=10)

_WEEKS = re.compile(r"^(\d{1,4})w$")
_MONTHS = re.compile(r"^(\d{1,4})m$")
_YEARS = re.compile(r"^(\d{1,4})y$")
# A calendar year on its own ("2022"): four digits from the 1900s to the 2100s (weights and counts are smaller).
_YEAR = re.compile(r"^(19|20|21)\d{2}$")
# Units spelled out after a number ("5 years", "18 months", "2 weeks"), as the short unit letter.
_UNITS = {"year": "y", "years": "y", "yr": "y", "yrs": "y", "month": "m", "months": "m", "mo": "m", "mos": "m",
          "week": "w", "weeks": "w", "wk": "w", "wks": "w"}
_CASHTAG = re.compile(r"^\$(?=[A-Za-z^])")
# A share class after a dot (BRK.B, BF.B): Yahoo writes it with a dash; one-letter exchange suffixes (.L, .T) stay.
_SHARE_CLASS = re.compile(r"^([A-Z]+)\.([ABC])$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A number with a unit ("1w", "100y", "3d"): meant as a period even when it is not one we take.
_PERIODISH = re.compile(r"^\d+(\.\d+)?[a-z]+$")
PERIOD_HELP = ("Periods: 1w-52w, 1m-24m, 1y-50y (or `5 years`, `18 months`), mtd, qtd, ytd, max, a year like 2022, "
               "since 2020, from 2020-03-23, 2015-01-01..2025-09-30 or from 2015-01-01 to 2025-09-30.")


@dataclass(frozen=True)
class TickerSet:
    """Tickers to look at (sorted, without the benchmark) and the benchmark they are measured against."""

    tickers: tuple[str, ...]
    benchmark: str

    @property
    def all(self) -> list[str]:
        return [*self.tickers, self.benchmark]

    @property
    def key(self) -> str:
        return f"{','.join(self.tickers)}|{self.benchmark}"


@dataclass(frozen=True)
class CompareRequest:
    symbols: TickerSet
    period: Period

    @property
    def key(self) -> str:
        """The normalised request: equal for every spelling of the same question."""
        return f"compare|{self.symbols.key}|{self.period.label}"


@dataclass(frozen=True)
class ValuationRequest:
    symbols: TickerSet

    @property
    def key(self) -> str:
        return f"valuation|{self.symbols.key}"


def parse_compare(text: str) -> CompareRequest:
    tickers, benchmark, period = _parse(text)
    return CompareRequest(symbols=_ticker_set(tickers, benchmark), period=period or DEFAULT_PERIOD)


# Built-in valuation views: the ETFs that stand for each index, against the benchmark.
VALUATION_VIEWS = {"smallcaps": TickerSet(tickers=("IJR", "IWM"), benchmark="SPY")}


def parse_valuation(text: str) -> ValuationRequest:
    view = text.strip().lower()
    if view in VALUATION_VIEWS:
        return ValuationRequest(symbols=VALUATION_VIEWS[view])
    tickers, benchmark, period = _parse(text)
    if period is not None:
        raise BadRequest("Valuations are today's figures; leave out the period.")
    return ValuationRequest(symbols=_ticker_set(tickers, benchmark))


@dataclass(frozen=True)
class CycleRequest:
    symbols: TickerSet

    @property
    def key(self) -> str:
        return f"cycle|{self.symbols.key}"


def parse_cycle(text: str) -> CycleRequest:
    """``TICKER [TICKER ...] [vs BENCH]``: the phases carry their own dates, so no period; the benchmark is SPY
    unless named, since the question is how a tilt did against the market (``SMH SOXX``: both against SPY)."""
    tickers, benchmark, period = _parse(text)
    if period is not None:
        raise BadRequest(f"The phases have their own dates; leave out `{period.label}`.")
    benchmark = benchmark or DEFAULT_BENCHMARK
    # Up to 8 tickers typed before `vs`: the benchmark, often not typed at all, does not count against them.
    measured = {t for t in tickers if t != benchmark}
    if len(measured) > MAX_TICKERS:
        raise BadRequest(f"That is {len(measured)} tickers; /cycle measures at most {MAX_TICKERS} against {benchmark}.")
    return CycleRequest(symbols=_ticker_set(tickers, benchmark, most=MAX_TICKERS + 1))


def _parse(text: str) -> tuple[list[str], str | None, Period | None]:
    words, period = split_period(text.replace(",", " ").split())
    tickers: list[str] = []
    benchmark: str | None = None
    position = 0
    while position < len(words):
        if words[position].lower() in ("vs", "vs.", "versus"):
            if benchmark is not None:
                raise BadRequest("Give one benchmark after `vs`.")
            if position + 1 >= len(words):
                raise BadRequest("Name a benchmark after `vs`, e.g. `vs SPY`.")
            benchmark = parse_ticker(words[position + 1])
            position += 2
            continue
        tickers.append(parse_ticker(words[position]))
        position += 1
    return tickers, benchmark, period


def split_period(tokens: list[str]) -> tuple[list[str], Period | None]:
    """Take the period out of ``tokens``: the other words (in order) and the period, ``None`` if there is none.

    ``BadRequest`` for two periods, or for a word that can only be meant as a period but is not a valid one.
    """
    rest: list[str] = []
    period: Period | None = None
    position = 0
    while position < len(tokens):
        word = tokens[position].lower()
        following = tokens[position + 1].lower() if position + 1 < len(tokens) else None
        if word in ("since", "from"):
            if following is None:
                raise BadRequest(f"Give a year or date after `{word}`, e.g. `{word} 2020`.")
            if position + 2 < len(tokens) and tokens[position + 2].lower() in ("to", "until"):
                if position + 3 >= len(tokens):
                    raise BadRequest(f"Give the end date after `{word} {following} to`, e.g. "
                                     f"`from 2020-01-01 to 2022-12-31`.")
                found, position = _range(following, tokens[position + 3].lower()), position + 4
            else:
                found, position = _since(word, following), position + 2
        elif word.isdigit() and following in _UNITS:
            found, position = parse_period(f"{word}{_UNITS[following]}"), position + 2
        elif _DATE.match(word) and following == "to":
            if position + 2 >= len(tokens):
                raise BadRequest(f"Give the end date after `{word} to`, e.g. `{word} to 2025-10-31`.")
            found, position = _range(word, tokens[position + 2].lower()), position + 3
        else:
            found, position = parse_period(word), position + 1
            if found is None:
                _refuse_periodish(word)
                rest.append(tokens[position - 1])
                continue
        if period is not None:
            raise BadRequest(f"Give one period, not both `{period.label}` and `{found.label}`.")
        period = found
    return rest, period


def _refuse_periodish(word: str) -> None:
    """A period error for a word that is no period we take but could not be meant as a ticker either."""
    if word in ("to", "until"):
        raise BadRequest(f"`{word}` needs dates around it, e.g. `2015-10-30 to 2025-10-31`. {PERIOD_HELP}")
    if _DATE.match(word):
        raise BadRequest(f"`{word}` on its own is not a period: say `since {word}` or `{word} to YYYY-MM-DD`. "
                         f"{PERIOD_HELP}")
    if _PERIODISH.match(word):
        whole = " Use whole units: `18m` is a year and a half." if "." in word else ""
        raise BadRequest(f"`{word}` is not a period I know.{whole} {PERIOD_HELP}")


def parse_ticker(word: str) -> str:
    """The ticker ``word`` names, in Yahoo's spelling (``$spy`` -> ``SPY``, ``BRK.B`` -> ``BRK-B``)."""
    ticker = _SHARE_CLASS.sub(r"\1-\2", _CASHTAG.sub("", word).upper())
    if not TICKER.match(ticker):
        shown = word if len(word) <= 20 else word[:20] + "..."
        raise BadRequest(f"`{shown}` is not a ticker (letters, digits and . = - ^, e.g. SMH, BRK-B, ^IRX).")
    return ticker


def parse_period(word: str) -> Period | None:
    """The period ``word`` names, ``None`` if it does not look like one, ``BadRequest`` if out of range."""
    word = word.lower()
    if word in TO_DATE:
        return {"ytd": Period.ytd, "qtd": Period.qtd, "mtd": Period.mtd}[word]()
    if word == "max":
        return Period.max()
    if _YEAR.match(word):
        return Period.calendar_year(int(word))
    if match := _WEEKS.match(word):
        weeks = int(match[1])
        if not 1 <= weeks <= 52:
            raise BadRequest(f"`{word}` is out of range: use 1w to 52w, or months like 18m.")
        return Period.trailing(weeks=weeks)
    if match := _MONTHS.match(word):
        months = int(match[1])
        if not 1 <= months <= 24:
            raise BadRequest(f"`{word}` is out of range: use 1m to 24m, or years like 5y.")
        return Period.trailing(months=months)
    if match := _YEARS.match(word):
        years = int(match[1])
        if not 1 <= years <= 50:
            raise BadRequest(f"`{word}` is out of range: use 1y to 50y, or `max`.")
        return Period.trailing(years=years)
    if match := _RANGE.match(word):
        return _range(match[1], match[2])
    return None


def _range(first_text: str, last_text: str) -> Period:
    first, last = _date(first_text), _date(last_text)
    if first >= last:
        raise BadRequest(f"In `{first_text}..{last_text}` the first date must come before the second.")
    return Period.between(first, last)


def _since(keyword: str, word: str) -> Period:
    if re.fullmatch(r"\d{4}", word):
        return Period.since(_date(f"{word}-01-01"))
    if _DATE.match(word):
        return Period.since(_date(word))
    raise BadRequest(f"`{keyword} {word}` needs a year or a date, e.g. `{keyword} 2020` or `{keyword} 2020-03-23`.")


def _date(text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"`{text}` is not a date (use YYYY-MM-DD).") from None
    if day.year < 1900:
        raise BadRequest(f"`{text}` is too early: market data starts in the 1900s at best.")
    return day


def _ticker_set(tickers: list[str], benchmark: str | None, most: int = MAX_TICKERS) -> TickerSet:
    """The tickers and their benchmark (see the module docstring); ``BadRequest`` past ``most`` tickers in all."""
    unique = list(dict.fromkeys(tickers))
    if not unique:
        raise BadRequest("Name at least one ticker, e.g. `SMH`.")
    if benchmark is None:
        if len(unique) == 1:
            benchmark = DEFAULT_BENCHMARK
        elif DEFAULT_BENCHMARK in unique:
            benchmark = DEFAULT_BENCHMARK
        else:
            benchmark = unique[-1]
    others = tuple(sorted(t for t in unique if t != benchmark))
    if not others:
        raise BadRequest(f"Compare {benchmark} with something other than itself, e.g. `{benchmark} vs QQQ`.")
    if len(others) + 1 > most:
        raise BadRequest(f"That is {len(others) + 1} tickers; I compare at most {most} at a time.")
    return TickerSet(tickers=others, benchmark=benchmark)
