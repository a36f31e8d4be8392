"""The /backtest grammar: portfolios, a rebalancing schedule, a period and a benchmark.

    /backtest SPY 70 IJR 20 SMH 10 [rebalance monthly|quarterly|yearly|none] [PERIOD] [vs SPY]
    /backtest SPY:70 IJR:20 SMH:10 quarterly 2015-10-30..2025-10-31
    /backtest SPY 100 ; SPY 70 IJR 20 SMH 10 ; SPY 60 IWM 20 SOXX 20      (up to 4, side by side)
    /backtest tactical smallcaps [IJR]      IWM (or IJR) while small caps lead SPY, else SPY
    /backtest tactical semis                SMH while semiconductors lead SPY, else SPY
    /backtest tactical NAME [hold X else Y] any of the workspace's signals (/signal): a ratio A/B holds A
                                            while it is true, else B; a one-ticker rule needs hold/else

* Weights are percentages (``70``, ``70%``, ``12.5``) and must add up to 100;
  a portfolio of one ticker may leave its weight out (100).
* Options may stand anywhere, once: ``rebalance`` before the schedule is
  optional (``quarterly`` alone is enough), ``annually`` means ``yearly`` and
  ``never`` means ``none``; PERIOD is any period /compare takes, including
  ``from D`` and ``D to D`` (default 10y); the benchmark defaults to SPY.
* Default schedule: quarterly, the usual choice of institutional policy portfolios.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

from analysis.backtest import Rebalance
from analysis.rules import Rule
from analysis.windows import Period
from errors import BadRequest
from handlers.common.parse import DEFAULT_BENCHMARK, DEFAULT_PERIOD, parse_ticker, split_period
from handlers.common.portfolios import TACTICAL_LEGS, Mix, Portfolio, Tactical
from handlers.common.rule_grammar import SIGNAL_NAME

MAX_PORTFOLIOS = 4
MAX_HOLDINGS = 10
DEFAULT_REBALANCE: Rebalance = "quarterly"
SCHEDULES: dict[str, Rebalance] = {
    "monthly": "monthly", "quarterly": "quarterly", "yearly": "yearly", "annually": "yearly", "annual": "yearly",
    "none": "none", "never": "none",
}
# Words that can only be meant as a schedule ("weekly", "daily", "semiannually"), refused with the list of schedules.
_SCHEDULE_LIKE = re.compile(r"^[a-z-]{2,}(ly|ually)$")
_WEIGHT = re.compile(r"^(\d+(?:\.\d+)?)%?$")
_PAIR = re.compile(r"^([^:]+):(.+)$")
# Weights are entered in percent; a sum within this of 100 is taken as 100 (people type 33.33 three times).
SUM_TOLERANCE = 0.05




@dataclass(frozen=True)
class BacktestRequest:
    portfolios: tuple[Portfolio, ...]
    rebalance: Rebalance
    period: Period
    benchmark: str

    @property
    def tickers(self) -> list[str]:
        """Every ticker whose prices the backtest needs, the benchmark last."""
        held = (t for p in self.portfolios for t in p.tickers if t != self.benchmark)
        return [*dict.fromkeys(held), self.benchmark]

    @property
    def spelled(self) -> str:
        """The request as a command's arguments, normalised: equal for every spelling of the same question."""
        portfolios = " ; ".join(p.spelled for p in self.portfolios)
        return f"{portfolios} rebalance {self.rebalance} vs {self.benchmark}"

    @property
    def key(self) -> str:
        """The question, as the reply cache knows it: a workspace's signal is named by its rule."""
        rules = "|".join(str(p.rule) for p in self.portfolios if isinstance(p, Tactical))
        return f"backtest|{self.spelled}|{self.period.label}" + (f"|{rules}" if rules else "")


def parse_backtest(text: str) -> BacktestRequest:
    """``BacktestRequest`` for the command text, or ``BadRequest`` saying what to fix."""
    words, period = split_period(text.replace(",", " ").split())
    words, rebalance = _take_schedule(words)
    words, benchmark = _take_benchmark(words)
    segments = " ".join(words).split(";")
    if len(segments) > MAX_PORTFOLIOS:
        raise BadRequest(f"That is {len(segments)} portfolios; I backtest at most {MAX_PORTFOLIOS} side by side.")
    portfolios = tuple(_portfolio(segment.split()) for segment in segments)
    if len(set(portfolios)) < len(portfolios):
        raise BadRequest("Two of those portfolios are the same; give each one once.")
    return BacktestRequest(portfolios=portfolios, rebalance=rebalance or DEFAULT_REBALANCE,
                           period=period or DEFAULT_PERIOD, benchmark=benchmark or DEFAULT_BENCHMARK)


def _take_schedule(words: list[str]) -> tuple[list[str], Rebalance | None]:
    rest: list[str] = []
    found: list[Rebalance] = []
    known = ", ".join(f"`{name}`" for name in SCHEDULES)
    for word in words:
        lowered = word.lower()
        if lowered in SCHEDULES:
            found.append(SCHEDULES[lowered])
        elif _SCHEDULE_LIKE.match(lowered):
            raise BadRequest(f"`{word}` is not a rebalancing schedule I know; the schedules are {known}.")
        elif lowered != "rebalance":
            rest.append(word)
    if "rebalance" in (w.lower() for w in words) and not found:
        raise BadRequest(f"Say how often to rebalance: `rebalance` and one of {known}.")
    if len(found) > 1:
        raise BadRequest(f"Give one rebalancing schedule: one of {known}.")
    return rest, found[0] if found else None


def _take_benchmark(words: list[str]) -> tuple[list[str], str | None]:
    marks = [i for i, w in enumerate(words) if w.lower() in ("vs", "vs.", "versus")]
    if not marks:
        return words, None
    if len(marks) > 1:
        raise BadRequest("Give one benchmark after `vs`.")
    at = marks[0]
    if at + 1 >= len(words) or words[at + 1] == ";":
        raise BadRequest("Name a benchmark after `vs`, e.g. `vs SPY`.")
    return words[:at] + words[at + 2:], parse_ticker(words[at + 1])


def _portfolio(words: list[str]) -> Portfolio:
    if not words:
        raise BadRequest("Give each portfolio as tickers and weights, e.g. `SPY 70 IJR 20 SMH 10`.")
    if words[0].lower() == "tactical":
        return _tactical(words[1:])
    return _mix(words)


def _tactical(words: list[str]) -> Tactical:
    """``NAME``, ``NAME TICKER`` (the built-ins' other leg: IJR, SOXX) or ``NAME hold X else Y``."""
    if not words or not SIGNAL_NAME.match(words[0].lower()):
        raise BadRequest("Name the signal to trade on, e.g. `tactical smallcaps` or `tactical soxx-cross hold SOXX "
                         "else SPY` (`/signal list` shows the workspace's).")
    signal, rest = words[0].lower(), [w.lower() for w in words[1:]]
    if not rest:
        return Tactical(signal=signal)
    if len(rest) == 4 and rest[0] == "hold" and rest[2] == "else":
        on, off = parse_ticker(words[2]), parse_ticker(words[4])
        if on == off:
            raise BadRequest(f"Hold two different tickers, not {on} both ways.")
        return Tactical(signal=signal, on=on, off=off)
    legs = TACTICAL_LEGS.get(signal)
    if legs is None or len(rest) != 1:
        raise BadRequest(f"Say what to hold: `tactical {signal} hold SMH else SPY`.")
    on = parse_ticker(words[1])
    if on not in legs:
        raise BadRequest(f"`tactical {signal}` holds one of {', '.join(legs)} while the signal is on, not {on}; "
                         f"or say `tactical {signal} hold {on} else SPY`.")
    return Tactical(signal=signal, on=on)


def with_signals(request: BacktestRequest, rule_of: Callable[[str], Rule]) -> BacktestRequest:
    """``request`` with each tactical portfolio's signal looked up (``rule_of(name)``, which raises for an unknown
    one) and its legs filled in: a ratio A/B holds A while the signal holds, else B (unless said otherwise)."""
    def resolved(portfolio: Portfolio) -> Portfolio:
        if not isinstance(portfolio, Tactical):
            return portfolio
        rule = rule_of(portfolio.signal)
        a, b = rule.subject.a, rule.subject.b
        if not b and not portfolio.off:
            raise BadRequest(f"`{portfolio.signal}` reads one ticker (`{rule}`): say what to hold, e.g. "
                             f"`tactical {portfolio.signal} hold {a} else SPY`.")
        return replace(portfolio, on=portfolio.on or a, off=portfolio.off or b, rule=rule)

    portfolios = tuple(resolved(p) for p in request.portfolios)
    if len(set(portfolios)) < len(portfolios):
        raise BadRequest("Two of those portfolios are the same; give each one once.")
    return replace(request, portfolios=portfolios)


def _mix(words: list[str]) -> Mix:
    pairs = _pairs(words)
    tickers = [ticker for ticker, _ in pairs]
    if len(tickers) > MAX_HOLDINGS:
        raise BadRequest(f"That portfolio has {len(tickers)} holdings; I take at most {MAX_HOLDINGS}.")
    repeated = sorted({t for t in tickers if tickers.count(t) > 1})
    if repeated:
        raise BadRequest(f"{', '.join(repeated)} appears more than once in a portfolio; give each holding once.")
    total = sum(weight for _, weight in pairs)
    if abs(total - 100.0) > SUM_TOLERANCE:
        raise BadRequest(f"The weights of `{' '.join(words)}` add up to {total:g}%, not 100%.")
    scale = 100.0 / total
    holdings = sorted(((t, round(w * scale, 4)) for t, w in pairs if w > 0), key=lambda h: (-h[1], h[0]))
    return Mix(holdings=tuple(holdings))


def _pairs(words: list[str]) -> list[tuple[str, float]]:
    """``SPY 70 IJR 30`` or ``SPY:70 IJR:30`` -> ``[("SPY", 70.0), ("IJR", 30.0)]``; a lone ticker is 100."""
    tokens = [part for word in words for part in (_PAIR.match(word).groups() if _PAIR.match(word) else (word,))]
    if len(tokens) == 1:
        return [(parse_ticker(tokens[0]), 100.0)]
    if len(tokens) % 2:
        raise BadRequest(f"Give every holding a weight, e.g. `SPY 70 IJR 30` (I read `{' '.join(words)}`).")
    return [(parse_ticker(ticker), _weight(ticker, weight)) for ticker, weight in zip(tokens[::2], tokens[1::2])]


def _weight(ticker: str, text: str) -> float:
    if text.startswith("-"):
        raise BadRequest(f"Weights can't be negative (`{ticker} {text}`): Tilt backtests long-only portfolios.")
    match = _WEIGHT.match(text)
    if not match:
        raise BadRequest(f"`{text}` is not a weight for {ticker.upper()}: give a percentage, e.g. `{ticker.upper()} 70`.")
    return float(match[1])
