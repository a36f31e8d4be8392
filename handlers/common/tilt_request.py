"""The /tilt grammar: how many points to move from one holding into one or two others.

    /tilt FROM TO RANGE [TO RANGE] [step N] [PERIOD] [weekly|monthly|quarterly|yearly|none]
          [cost Nbp] [band N] [fees] [add N monthly|quarterly|yearly]
    /tilt SPY IJR 0-40                 SPY 100, SPY 90 IJR 10, ... SPY 60 IJR 40
    /tilt SPY IJR 0-30 SMH 0-20 step 10 10y    every cell of the 4 x 3 grid

* A RANGE is ``LOW-HIGH`` in percentage points, ``0 <= LOW < HIGH <= 100`` (``20`` alone is one size);
  the step (default 10) must divide every range.
* FROM is the benchmark and holds what the TOs don't, so the largest sizes together are at most 100.
* At most ``MAX_CELLS`` portfolios in all; the other words are /backtest's (``backtest_request``).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from analysis.backtest import Rebalance
from analysis.windows import Period
from errors import BadRequest
from handlers.common.backtest_request import (
    DEFAULT_REBALANCE,
    FRICTIONLESS,
    Execution,
    Mix,
    take_execution,
    take_schedule,
    words_of,
)
from handlers.common.export import take_csv
from handlers.common.parse import DEFAULT_PERIOD, parse_ticker, split_period

DEFAULT_STEP = 10.0
MAX_CELLS = 25
MAX_DESTINATIONS = 2
_NUMBER = r"-?\d+(?:\.\d+)?"
_RANGE = re.compile(rf"^({_NUMBER})(?:(?:-|\.\.|–)({_NUMBER}))?%?$")
# Sizes are percentages: two within this of each other are equal (0.1 + 0.2 is not 0.3 in floating point).
EPSILON = 1e-9


@dataclass(frozen=True)
class Destination:
    """A ticker the sweep moves points into, and the sizes it tries (percentage points, increasing)."""

    ticker: str
    low: float
    high: float

    def sizes(self, step: float) -> tuple[float, ...]:
        count = round((self.high - self.low) / step)
        return tuple(round(self.low + i * step, 6) for i in range(count + 1))

    @property
    def spelled(self) -> str:
        return f"{self.ticker} {self.low:g}-{self.high:g}"


@dataclass(frozen=True)
class TiltRequest:
    source: str
    destinations: tuple[Destination, ...]
    step: float
    period: Period
    rebalance: Rebalance
    execution: Execution = FRICTIONLESS
    csv: bool = False  # attach every size's daily values and monthly returns

    @property
    def tickers(self) -> list[str]:
        return [*(d.ticker for d in self.destinations), self.source]

    @property
    def cells(self) -> list[tuple[float, ...]]:
        """Every combination of sizes, the first destination's changing slowest."""
        return list(itertools.product(*(d.sizes(self.step) for d in self.destinations)))

    def mix(self, sizes: tuple[float, ...]) -> Mix:
        """The portfolio of one cell, spelled as /backtest would take it (FROM holds the rest)."""
        held = [(self.source, round(100.0 - sum(sizes), 6)),
                *((d.ticker, size) for d, size in zip(self.destinations, sizes))]
        return Mix(tuple(sorted(((t, w) for t, w in held if w > EPSILON), key=lambda h: (-h[1], h[0]))))

    def label(self, sizes: tuple[float, ...]) -> str:
        """``SPY 70 IJR 10 SMH 20``: a cell's portfolio, FROM first and the destinations in the order given."""
        held = [(self.source, 100.0 - sum(sizes)), *((d.ticker, s) for d, s in zip(self.destinations, sizes))]
        return " ".join(f"{t} {round(w, 6):g}" for t, w in held if w > EPSILON)

    @property
    def spelled(self) -> str:
        execution = f" {self.execution.spelled}" if self.execution.spelled else ""
        return (f"{self.source} {' '.join(d.spelled for d in self.destinations)} step {self.step:g} "
                f"rebalance {self.rebalance}{execution}" + (" csv" if self.csv else ""))

    @property
    def key(self) -> str:
        return f"tilt|{self.spelled}|{self.period.label}"


def parse_tilt(text: str) -> TiltRequest:
    """``TiltRequest`` for the command text, or ``BadRequest`` saying what to fix."""
    words, execution = take_execution(words_of(text))
    words, csv = take_csv(words)
    words, step = _take_step(words)
    words, period = split_period(words)
    words, rebalance = take_schedule(words)
    if len(words) < 3:
        raise BadRequest("Give the holding to move from, then where to and how many points, e.g. `SPY IJR 0-40`.")
    source = parse_ticker(words[0])
    pairs = words[1:]
    if len(pairs) % 2:
        raise BadRequest(f"Give each destination a range of points, e.g. `IJR 0-40` (I read `{' '.join(pairs)}`).")
    destinations = tuple(_destination(ticker, spelled) for ticker, spelled in zip(pairs[::2], pairs[1::2]))
    if len(destinations) > MAX_DESTINATIONS:
        raise BadRequest(f"I sweep at most {MAX_DESTINATIONS} destinations at once (a grid), not {len(destinations)}.")
    tickers = [d.ticker for d in destinations]
    if source in tickers:
        raise BadRequest(f"{source} is what the points move from; it can't also be where they go.")
    if len(set(tickers)) < len(tickers):
        raise BadRequest(f"{tickers[0]} appears twice; give each destination once.")
    if sum(d.high for d in destinations) > 100.0 + EPSILON:
        raise BadRequest(f"The largest sizes add up to {sum(d.high for d in destinations):g} points; {source} can give "
                         "at most 100.")
    for d in destinations:
        span = d.high - d.low
        if abs(span / step - round(span / step)) > EPSILON:
            raise BadRequest(f"A step of {step:g} doesn't divide {d.spelled} ({span:g} points); "
                             f"choose a step such as {_divisor(span):g}.")
    request = TiltRequest(source=source, destinations=destinations, step=step, period=period or DEFAULT_PERIOD,
                          rebalance=rebalance or DEFAULT_REBALANCE, execution=execution, csv=csv)
    if len(request.cells) > MAX_CELLS:
        raise BadRequest(f"That is {len(request.cells)} portfolios; I sweep at most {MAX_CELLS}. "
                         "Use a larger step or narrower ranges.")
    return request


def _take_step(words: list[str]) -> tuple[list[str], float]:
    marks = [i for i, w in enumerate(words) if w.lower() == "step"]
    if not marks:
        return words, DEFAULT_STEP
    if len(marks) > 1:
        raise BadRequest("Give one step.")
    at = marks[0]
    following = words[at + 1] if at + 1 < len(words) else ""
    if not re.fullmatch(r"\d+(?:\.\d+)?%?", following) or not 0 < float(following.rstrip("%")) <= 100:
        raise BadRequest("Give the step in percentage points after `step`, e.g. `step 10` (more than 0, at most 100).")
    return words[:at] + words[at + 2:], float(following.rstrip("%"))


def _destination(ticker: str, spelled: str) -> Destination:
    match = _RANGE.match(spelled.lower())
    if not match:
        raise BadRequest(f"`{spelled}` is not a range of points for {ticker.upper()}: give e.g. `{ticker.upper()} 0-40`.")
    low = float(match[1])
    high = float(match[2]) if match[2] else low
    if low < 0 or high < 0:
        raise BadRequest(f"Sizes can't be below 0 (`{spelled}`): /tilt moves points from one holding into others.")
    if low > 100 or high > 100:
        raise BadRequest(f"Sizes are at most 100 points (`{spelled}`).")
    if high < low:
        raise BadRequest(f"Give the smaller size first, e.g. `{ticker.upper()} {high:g}-{low:g}`.")
    return Destination(parse_ticker(ticker), low, high)


def _divisor(span: float) -> float:
    """A step that divides ``span``: the largest of 10, 5, 2, 1 that does (else the span itself)."""
    return next((s for s in (10.0, 5.0, 2.0, 1.0) if abs(span / s - round(span / s)) < EPSILON), span)
