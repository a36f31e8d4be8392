"""The /backtest grammar: portfolios, a rebalancing schedule, a period and a benchmark.

    /backtest SPY 70 IJR 20 SMH 10 [rebalance weekly|monthly|quarterly|yearly|none] [PERIOD] [vs SPY]
    /backtest SPY:70 IJR:20 SMH:10 quarterly 2015-10-30..2025-10-31
    /backtest SPY 70 IJR 30 weekly cost 10bp band 5 fees add 1000 monthly vs SPY 60 AGG 40
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
* How it is traded (``Execution``), anywhere, once each: ``cost 10bp`` (``10 bp``,
  ``0.1%``) paid on the value traded; ``band 5``
  (``5%``): a scheduled rebalance only when a weight is 5 points or more off
  target; ``fees``: each holding's expense ratio taken daily; ``add 1000 monthly``
  (``$1,000``, ``quarterly``, ``yearly``): money added to a $10,000 start.
  ``cost`` needs its unit: ``cost 10`` is the ticker COST with a weight of 10.
* ``csv`` attaches the daily values and monthly returns (``handlers.common.export``).
* ``vs SPY 60 AGG 40``: a blended benchmark, rebalanced on the portfolios' schedule
  (paying their trading cost; no fees, bands or contributions); its weights add up to 100.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

from analysis.backtest import Rebalance
from analysis.rules import Rule
from analysis.windows import Period
from errors import BadRequest
from handlers.common.command import Kind, Option
from handlers.common.export import take_csv
from handlers.common.parse import DEFAULT_BENCHMARK, DEFAULT_PERIOD, parse_ticker, split_period
from handlers.common.portfolios import TACTICAL_LEGS, Mix, Portfolio, Tactical
from handlers.common.rule_grammar import SIGNAL_NAME

MAX_PORTFOLIOS = 4
MAX_COST_BP = 200.0
MAX_BAND = 50.0
MAX_ADD = 1e9
# Contributions are measured against this starting amount (the growth chart's $10,000).
STARTING_AMOUNT = 10_000.0
MAX_HOLDINGS = 10
DEFAULT_REBALANCE: Rebalance = "quarterly"
SCHEDULES: dict[str, Rebalance] = {
    "weekly": "weekly", "monthly": "monthly", "quarterly": "quarterly", "yearly": "yearly", "annually": "yearly", "annual": "yearly",
    "none": "none", "never": "none",
}
# The schedule as Discord asks for it (in /backtest and /tilt alike).
REBALANCE = Option("rebalance", Kind.CHOICE, "How often weights go back to target (default: quarterly)",
                   prefix="rebalance", choices=tuple((word, "never" if word == "none" else word)
                                                     for word in ("weekly", "monthly", "quarterly", "yearly", "none")))
# Words that can only be meant as a schedule ("weekly", "daily", "semiannually"), refused with the list of schedules.
_SCHEDULE_LIKE = re.compile(r"^[a-z-]{2,}(ly|ually)$")
_WEIGHT = re.compile(r"^(\d+(?:\.\d+)?)%?$")
_PAIR = re.compile(r"^([^:]+):(.+)$")
_COST = re.compile(r"^(\d+(?:\.\d+)?)(bps?|%)?$")
_BAND = re.compile(r"^(\d+(?:\.\d+)?)(%|pts?|points?)?$")
_AMOUNT = re.compile(r"^\$?(\d+(?:\.\d+)?)(k)?$")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
ADD_SCHEDULES: dict[str, Rebalance] = {"monthly": "monthly", "quarterly": "quarterly", "yearly": "yearly",
                                       "annually": "yearly", "annual": "yearly"}
# Weights are entered in percent; a sum within this of 100 is taken as 100 (people type 33.33 three times).
SUM_TOLERANCE = 0.05




@dataclass(frozen=True)
class Execution:
    """How the portfolios are traded: ``cost_bp`` basis points of the value traded, ``band`` points of drift
    before a scheduled rebalance trades (0: always), expense ratios taken daily when ``fees``, and ``add``
    dollars on each ``add_schedule`` date on top of ``STARTING_AMOUNT``."""

    cost_bp: float = 0.0
    band: float = 0.0
    fees: bool = False
    add: float = 0.0
    add_schedule: Rebalance = "none"

    @property
    def spelled(self) -> str:
        """The words that ask for this, empty for the frictionless default."""
        return " ".join(
            ([f"cost {self.cost_bp:g}bp"] if self.cost_bp else []) + ([f"band {self.band:g}"] if self.band else [])
            + (["fees"] if self.fees else []) + ([f"add {self.add:g} {self.add_schedule}"] if self.add else []))


FRICTIONLESS = Execution()


@dataclass(frozen=True)
class BacktestRequest:
    portfolios: tuple[Portfolio, ...]
    rebalance: Rebalance
    period: Period
    benchmark: str
    execution: Execution = FRICTIONLESS
    blend: Mix | None = None  # a blended benchmark (``benchmark`` is then its name)
    csv: bool = False  # attach the daily values and monthly returns

    @property
    def tickers(self) -> list[str]:
        """Every ticker whose prices the backtest needs, the benchmark's last."""
        benchmark = self.blend.tickers if self.blend else (self.benchmark,)
        held = (t for p in self.portfolios for t in p.tickers if t not in benchmark)
        return [*dict.fromkeys(held), *benchmark]

    @property
    def spelled(self) -> str:
        """The request as a command's arguments, normalised: equal for every spelling of the same question."""
        portfolios = " ; ".join(p.spelled for p in self.portfolios)
        execution = f" {self.execution.spelled}" if self.execution.spelled else ""
        benchmark = self.blend.spelled if self.blend else self.benchmark
        return f"{portfolios} rebalance {self.rebalance}{execution} vs {benchmark}" + (" csv" if self.csv else "")

    @property
    def key(self) -> str:
        """The question, as the reply cache knows it: a workspace's signal is named by its rule."""
        rules = "|".join(str(rule) for p in self.portfolios for rule in p.rules.values())
        return f"backtest|{self.spelled}|{self.period.label}" + (f"|{rules}" if rules else "")


def parse_backtest(text: str) -> BacktestRequest:
    """``BacktestRequest`` for the command text, or ``BadRequest`` saying what to fix."""
    words, execution = take_execution(words_of(text))
    words, csv = take_csv(words)
    words, period = split_period(words)
    words, rebalance = take_schedule(words)
    words, benchmark = _take_benchmark(words)
    segments = " ".join(words).split(";")
    if len(segments) > MAX_PORTFOLIOS:
        raise BadRequest(f"That is {len(segments)} portfolios; I backtest at most {MAX_PORTFOLIOS} side by side.")
    portfolios = tuple(_portfolio(segment.split()) for segment in segments)
    if len(set(portfolios)) < len(portfolios):
        raise BadRequest("Two of those portfolios are the same; give each one once.")
    blend = benchmark if isinstance(benchmark, Mix) and len(benchmark.holdings) > 1 else None
    name = blend_name(blend) if blend else (benchmark.tickers[0] if benchmark else DEFAULT_BENCHMARK)
    return BacktestRequest(portfolios=portfolios, rebalance=rebalance or DEFAULT_REBALANCE,
                           period=period or DEFAULT_PERIOD, benchmark=name, execution=execution, blend=blend, csv=csv)


def words_of(text: str) -> list[str]:
    """The command's words: commas are spaces, except in amounts (``$1,000``)."""
    return _THOUSANDS.sub("", text).replace(",", " ").split()


def blend_name(blend: Mix) -> str:
    """``SPY/AGG 60/40``: a blended benchmark's name in tables and on charts."""
    return f"{'/'.join(blend.tickers)} {'/'.join(f'{w:g}' for _, w in blend.holdings)}"


def take_execution(words: list[str]) -> tuple[list[str], Execution]:
    """Take ``cost N``, ``band N``, ``fees`` and ``add N SCHEDULE`` out of ``words`` (before the period is read:
    ``10bp`` would look like a period)."""
    rest: list[str] = []
    found: dict[str, object] = {}
    position = 0
    while position < len(words):
        word = words[position].lower()
        following = [w.lower() for w in words[position + 1:position + 3]]
        if word in found:
            raise BadRequest(f"Give `{word}` once.")
        if word == "cost" and not _is_costco(following):
            found["cost"], used = _cost(following)
        elif word == "band":
            found["band"], used = _band(following), 1
        elif word == "fees":
            found["fees"], used = True, 0
        elif word == "add":
            (found["add"], found["add_schedule"]), used = _add(following)
        else:
            rest.append(words[position])
            used = 0
        position += 1 + used
    return rest, Execution(cost_bp=found.get("cost", 0.0), band=found.get("band", 0.0), fees=found.get("fees", False),
                           add=found.get("add", 0.0), add_schedule=found.get("add_schedule", "none"))


def _is_costco(following: list[str]) -> bool:
    """``COST 10`` is a weight of Costco; ``cost 10 bp`` is a trading cost."""
    return bool(following) and bool(_WEIGHT.match(following[0])) and not following[0].endswith("%") \
        and following[1:2] not in (["bp"], ["bps"])


def _cost(following: list[str]) -> tuple[float, int]:
    """``cost 10bp``, ``cost 10 bp`` or ``cost 0.1%``: basis points and the words used.  (``cost 10`` is the
    ticker COST with a weight of 10, so the unit is needed.)"""
    match = _COST.match(following[0]) if following else None
    unit = (match[2] or (following[1] if len(following) > 1 and following[1] in ("bp", "bps") else "")) if match \
        else ""
    if not unit:
        raise BadRequest("Give the trading cost in basis points of the value traded, e.g. `cost 10bp`.")
    basis_points = float(match[1]) * (100.0 if unit == "%" else 1.0)
    if not 0 < basis_points <= MAX_COST_BP:
        raise BadRequest(f"A trading cost is more than 0 and at most {MAX_COST_BP:g}bp, not {basis_points:g}bp.")
    return basis_points, 2 if unit and not match[2] else 1


def _band(following: list[str]) -> float:
    match = _BAND.match(following[0]) if following else None
    if not match:
        raise BadRequest("Give the band in percentage points of drift, e.g. `band 5`: rebalance only when a weight "
                         "is 5 points or more off its target.")
    points = float(match[1])
    if not 0 < points <= MAX_BAND:
        raise BadRequest(f"A band is more than 0 and at most {MAX_BAND:g} points, not {points:g}.")
    return points


def _add(following: list[str]) -> tuple[tuple[float, Rebalance], int]:
    match = _AMOUNT.match(following[0]) if following else None
    if not match:
        raise BadRequest("Give the amount and how often, e.g. `add 1000 monthly` (added to a $10,000 start).")
    amount = float(match[1]) * (1000.0 if match[2] else 1.0)
    if not 0 < amount <= MAX_ADD:
        raise BadRequest(f"Add more than $0 and at most ${MAX_ADD:,.0f} at a time, not ${amount:,.0f}.")
    if len(following) < 2 or following[1] not in ADD_SCHEDULES:
        raise BadRequest(f"Say how often to add ${amount:,.0f}: `add {following[0]} monthly`, `quarterly` or `yearly`.")
    return (amount, ADD_SCHEDULES[following[1]]), 2


def take_schedule(words: list[str]) -> tuple[list[str], Rebalance | None]:
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


def _take_benchmark(words: list[str]) -> tuple[list[str], Mix | None]:
    """The benchmark after ``vs``: one ticker, or tickers and weights adding up to 100 (a blend)."""
    marks = [i for i, w in enumerate(words) if w.lower() in ("vs", "vs.", "versus")]
    if not marks:
        return words, None
    if len(marks) > 1:
        raise BadRequest("Give one benchmark after `vs`.")
    at = marks[0]
    if at + 1 >= len(words) or words[at + 1] == ";":
        raise BadRequest("Name a benchmark after `vs`, e.g. `vs SPY` or `vs SPY 60 AGG 40`.")
    end = at + 2
    # A blend: ticker weight pairs for as long as every second word is a weight.
    while end < len(words) and _looks_like_weight(words[end]):
        end += 2
    taken = words[at + 1:min(end, len(words))]
    if len(taken) == 1:
        return words[:at] + words[end:], Mix(((parse_ticker(taken[0]), 100.0),))
    pairs = _pairs(taken)
    total = sum(weight for _, weight in pairs)
    if abs(total - 100.0) > SUM_TOLERANCE:
        raise BadRequest(f"The blended benchmark `{' '.join(taken)}` adds up to {total:g}%, not 100%.")
    return words[:at] + words[end:], _mix(taken)


def _looks_like_weight(word: str) -> bool:
    return bool(_WEIGHT.match(word)) or word.startswith("-")


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
    portfolios = tuple(p.resolved(rule_of) for p in request.portfolios)
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
