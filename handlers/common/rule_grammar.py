"""The rule grammar ``/signal define`` and ``/alert`` read: text into an ``analysis.rules.Rule``.

    X above|below sma200|ema50           price against its average
    X sma50|ema50 above|below sma200     a cross of two averages
    X above|below 600                    price against a level
    X momentum 6m above|below 0%         total return over 1w-52w, 1m-24m or 1y-10y
    X drawdown below -20%                from the highest close so far
    X rsi14 above|below 30               Wilder's RSI, 0 to 100

``X`` is a ticker (``SMH``) or a ratio of two (``IWM/SPY``).  Words are read case-insensitively; tickers
are upper-cased.  Whether the tickers have prices is the handler's check (the grammar knows no market).
"""

from __future__ import annotations

import math
import re

from analysis.rules import Drawdown, Ema, Indicator, Level, Momentum, Price, Rsi, Rule, Sma, Subject
from errors import BadRequest
from handlers.common.parse import parse_ticker

# Plain text (no code spans): it is shown inside the usage line, which renderers put in a code span of its own.
GRAMMAR = ("rules: X above|below sma200|ema50 · X sma50 above|below sma200 · X above|below 600 · "
           "X momentum 6m above|below 0% · X drawdown below -20% · X rsi14 above|below 30 "
           "(X: a ticker like SMH or a ratio like IWM/SPY)")
MAX_NOTE = 200  # characters of the note a signal or an alert may carry after its rule
SIGNAL_NAME = re.compile(r"^[a-z0-9-]{1,32}$")  # what names a signal (/signal define, /backtest tactical)
MIN_DAYS, MAX_DAYS = 2, 1000  # an average or RSI of 1 day is the price; over 1000 days is barely an average
LIMITS = {"w": 52, "m": 24, "y": 10}  # the longest momentum period per unit

_AVERAGE = re.compile(r"^(sma|ema)(\d{1,6})$")
_RSI = re.compile(r"^rsi(\d{1,6})$")
_PERIOD = re.compile(r"^(\d{1,4})([wmy])$")
_INDICATORISH = re.compile(r"^[a-z]+\d*$")
DIRECTIONS = ("above", "below")


def parse_rule(text: str) -> Rule:
    """``"IWM/SPY above sma200"`` -> ``Rule``; ``BadRequest`` says what is wrong (the router adds the grammar)."""
    rule, rest = parse_rule_and_note(text)
    if rest:
        raise BadRequest(f"I don't understand `{rest[:40]}` at the end of the rule.")
    return rule


def parse_rule_and_note(text: str) -> tuple[Rule, str]:
    """A rule and the words after it (a note, as people write with a TradingView alert), as typed; ``BadRequest``
    for a note over ``MAX_NOTE`` characters."""
    words = text.split()
    if not words:
        raise BadRequest("Give a rule, e.g. `IWM/SPY above sma200`.")
    rule, used = _rule(_subject(words[0]), [w.lower() for w in words[1:]])
    note = " ".join(words[used:])
    if len(note) > MAX_NOTE:
        raise BadRequest(f"A note after the rule holds at most {MAX_NOTE} characters; this one has {len(note)}.")
    return rule, note


def _rule(subject: Subject, rest: list[str]) -> tuple[Rule, int]:
    """The rule ``rest`` spells after its subject, and how many words of the text it took (subject included)."""
    if not rest:
        raise BadRequest(f"`{subject}` needs a condition after it, e.g. `{subject} above sma200`.")
    head, tail = rest[0], rest[1:]
    if head in DIRECTIONS:
        return _finish(subject, Price(), head, tail, threshold=_price_threshold), 3
    if head == "momentum":
        if not tail:
            raise BadRequest("Say over which period, e.g. `momentum 6m above 0%`.")
        return _finish(subject, _momentum(tail[0]), _direction(tail[1:]), tail[2:], threshold=_percent), 5
    if head == "drawdown":
        rule = _finish(subject, Drawdown(), _direction(tail), tail[1:], threshold=_percent)
        if rule.direction != "below" or not -100 < rule.threshold.value < 0:
            raise BadRequest("A drawdown rule reads `drawdown below -P%` with P between 0 and 100, e.g. "
                             "`XSD drawdown below -20%`.")
        return rule, 4
    if _RSI.match(head):
        return _finish(subject, _rsi(head), _direction(tail), tail[1:], threshold=_rsi_level), 4
    if _AVERAGE.match(head):
        return _finish(subject, _average(head), _direction(tail), tail[1:], threshold=_cross_threshold), 4
    raise BadRequest(_unknown_indicator(head))


def _finish(subject: Subject, quantity: Indicator, direction: str, tail: list[str], *, threshold) -> Rule:
    if not tail:
        raise BadRequest(f"Say what `{direction}` compares with, e.g. `{subject} {direction} sma200`.")
    return Rule(subject, quantity, direction, threshold(tail[0]))  # type: ignore[arg-type]


def _subject(word: str) -> Subject:
    a, slash, b = word.partition("/")
    if slash and (not a or not b or "/" in b):
        raise BadRequest(f"`{word}` is not a ticker or a ratio: write a ratio as `IWM/SPY`.")
    first = parse_ticker(a)
    if not slash:
        return Subject(first)
    second = parse_ticker(b)
    if first == second:
        raise BadRequest(f"A ratio needs two different tickers, not `{word}`.")
    return Subject(first, second)


def _direction(tail: list[str]) -> str:
    if not tail or tail[0] not in DIRECTIONS:
        got = f"`{tail[0]}`" if tail else "nothing"
        raise BadRequest(f"Expected `above` or `below` there, got {got}.")
    return tail[0]


def _days(word: str, count: str) -> int:
    days = int(count)
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise BadRequest(f"`{word}`: the number of days must be between {MIN_DAYS} and {MAX_DAYS}.")
    return days


def _average(word: str) -> Sma | Ema:
    kind, count = _AVERAGE.match(word).groups()
    days = _days(word, count)
    return Sma(days) if kind == "sma" else Ema(days)


def _rsi(word: str) -> Rsi:
    return Rsi(_days(word, _RSI.match(word).group(1)))


def _momentum(word: str) -> Momentum:
    found = _PERIOD.match(word)
    if not found:
        raise BadRequest(f"`{word}` is not a momentum period: use weeks, months or years like 4w, 6m, 1y.")
    count, unit = int(found.group(1)), found.group(2)
    if not 1 <= count <= LIMITS[unit]:
        raise BadRequest(f"`{word}`: momentum periods go up to 52w, 24m or 10y.")
    return Momentum(count, unit)  # type: ignore[arg-type]


def _number(word: str, what: str) -> float:
    try:
        value = float(word.replace(",", ""))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadRequest(f"`{word[:20]}` is not a number; {what}.")
    return value + 0.0  # -0 is 0


def _price_threshold(word: str) -> Sma | Ema | Level:
    """After ``X above``: an average (``sma200``) or a price level (``600``)."""
    if _AVERAGE.match(word):
        return _average(word)
    if not re.match(r"^[-+.,\d]", word) and _INDICATORISH.match(word):
        raise BadRequest(_unknown_indicator(word))
    level = _number(word, "a level is a price like `600` or `0.85` for a ratio")
    if level <= 0:
        raise BadRequest(f"`{word}`: a price level must be above 0.")
    return Level(level)


def _cross_threshold(word: str) -> Sma | Ema:
    if not _AVERAGE.match(word):
        raise BadRequest(f"An average crosses another average: `{word[:20]}` is not one (e.g. `sma200`, `ema50`).")
    return _average(word)


def _percent(word: str) -> Level:
    if not word.endswith("%"):
        raise BadRequest(f"`{word[:20]}` is not a percentage: write it with %, e.g. `0%` or `-20%`.")
    value = _number(word[:-1], "write a percentage like `5%` or `-20%`")
    if abs(value) > 10_000:
        raise BadRequest(f"`{word[:20]}` is beyond any return a price can make.")
    return Level(value, percent=True)


def _rsi_level(word: str) -> Level:
    value = _number(word, "an RSI level is between 0 and 100, e.g. `30`")
    if not 0 <= value <= 100:
        raise BadRequest(f"`{word[:20]}`: an RSI level is between 0 and 100.")
    return Level(value)


def _unknown_indicator(word: str) -> str:
    shown = word if len(word) <= 20 else word[:20] + "..."
    return (f"`{shown}` is not an indicator I know: use above/below, smaN, emaN, rsiN, momentum or drawdown "
            f"(N between {MIN_DAYS} and {MAX_DAYS} days).")
