"""Signal rules a team defines (``/signal define``, ``/alert``), in typed form, evaluated over full history.

A rule compares a **quantity** with a **threshold** on every close of its **subject**::

    Rule(subject, quantity, direction, threshold)

* ``subject``: a ticker's daily ``Adj Close`` (dividends reinvested), or a ratio ``A/B`` of two tickers'
  ``Adj Close`` on the closes both have (``R_t = A_t / B_t``).
* ``quantity`` and an indicator ``threshold`` are indicators of the subject's series ``P``:

  - ``Price``: ``P_t`` itself.
  - ``Sma(N)``: the simple average of the last ``N`` closes, today included; undefined before the ``N``-th close.
  - ``Ema(N)``: ``E_t = a P_t + (1 - a) E_{t-1}``, ``a = 2 / (N + 1)``, seeded with the first close
    (``E_0 = P_0``); undefined before the ``N``-th close, while the seed still weighs heavily.
  - ``Momentum(k, unit)``: total return over ``k`` weeks, months or years, ``P_t / P_s - 1`` where ``s`` is the
    last close on or before the calendar date ``t - k units`` (as every trailing period in Tilt); undefined
    while ``t - k units`` is before the first close.  A fraction (``0.05`` is 5%).
  - ``Drawdown``: ``P_t / max(P_0..P_t) - 1``, from the highest close the data has so far (never above 0).
  - ``Rsi(N)``: Wilder's relative strength index.  With ``U_t = max(P_t - P_{t-1}, 0)`` and
    ``D_t = max(P_{t-1} - P_t, 0)``, the averages are seeded with the simple mean of the first ``N`` changes
    (defined on the ``N+1``-th close) and then smoothed as ``G_t = G_{t-1} + (U_t - G_{t-1}) / N`` (the same for
    ``L_t`` with ``D_t``); ``RSI = 100 - 100 / (1 + G / L)``, which is 100 when ``L = 0 < G`` and 50 when both
    are 0 (no change at all).
* ``threshold`` is an indicator above or a fixed ``Level`` (a price, a percentage for momentum and drawdown,
  RSI points).
* ``direction``: ``above`` is true on a close where ``quantity > threshold`` strictly, ``below`` where
  ``quantity < threshold``; a tie is false either way.  Closes where either side is undefined have no state.

A **flip** is a close whose state differs from the state on the previous close with one.  Each close's state
uses closes up to that close only, so a backtest may trade on it at the next close.  Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, Union

import numpy as np
import pandas as pd

Direction = Literal["above", "below"]
Unit = Literal["price", "percent", "points"]  # what a quantity is measured in: how a gap to the threshold is read
FLIPS_SHOWN = 5


@dataclass(frozen=True)
class Subject:
    """A ticker (``b`` empty) or the ratio ``a/b``."""

    a: str
    b: str = ""

    @property
    def tickers(self) -> tuple[str, ...]:
        return (self.a, self.b) if self.b else (self.a,)

    def __str__(self) -> str:
        return f"{self.a}/{self.b}" if self.b else self.a

    def words(self) -> str:
        return f"the ratio {self.a}/{self.b}" if self.b else self.a

    def series(self, closes: pd.DataFrame) -> pd.Series:
        """The subject's closes from ``closes`` (a column per ticker, NaN where a ticker has no close)."""
        if self.b:
            return (closes[self.a] / closes[self.b]).dropna()
        return closes[self.a].dropna()


@dataclass(frozen=True)
class Price:
    unit: Unit = field(default="price", init=False)

    def __str__(self) -> str:
        return "price"

    def words(self) -> str:
        return "the price"

    def compute(self, series: pd.Series) -> pd.Series:
        return series


@dataclass(frozen=True)
class Sma:
    days: int
    unit: Unit = field(default="price", init=False)

    def __str__(self) -> str:
        return f"sma{self.days}"

    def words(self) -> str:
        return f"its {self.days}-day simple average"

    def compute(self, series: pd.Series) -> pd.Series:
        return series.rolling(self.days, min_periods=self.days).mean()


@dataclass(frozen=True)
class Ema:
    days: int
    unit: Unit = field(default="price", init=False)

    def __str__(self) -> str:
        return f"ema{self.days}"

    def words(self) -> str:
        return f"its {self.days}-day exponential average"

    def compute(self, series: pd.Series) -> pd.Series:
        average = series.ewm(span=self.days, adjust=False).mean()
        return average.where(np.arange(len(series)) >= self.days - 1)


PERIOD_UNITS = {"w": "week", "m": "month", "y": "year"}


@dataclass(frozen=True)
class Momentum:
    count: int
    period: Literal["w", "m", "y"]
    unit: Unit = field(default="percent", init=False)

    def __str__(self) -> str:
        return f"momentum {self.count}{self.period}"

    def words(self) -> str:
        return f"its {self.count}-{PERIOD_UNITS[self.period]} total return"

    def offset(self) -> pd.DateOffset:
        if self.period == "w":
            return pd.DateOffset(weeks=self.count)
        return pd.DateOffset(months=self.count * (12 if self.period == "y" else 1))

    def compute(self, series: pd.Series) -> pd.Series:
        dates = series.index
        targets = dates - self.offset()
        start = dates.searchsorted(targets, side="right") - 1  # the last close on or before each target date
        values = series.to_numpy()
        base = np.where(start >= 0, values[np.maximum(start, 0)], np.nan)
        return pd.Series(values / base - 1.0, index=dates)


@dataclass(frozen=True)
class Drawdown:
    unit: Unit = field(default="percent", init=False)

    def __str__(self) -> str:
        return "drawdown"

    def words(self) -> str:
        return "its drawdown from the highest close so far"

    def compute(self, series: pd.Series) -> pd.Series:
        return series / series.cummax() - 1.0


@dataclass(frozen=True)
class Rsi:
    days: int
    unit: Unit = field(default="points", init=False)

    def __str__(self) -> str:
        return f"rsi{self.days}"

    def words(self) -> str:
        return f"its {self.days}-day RSI"

    def compute(self, series: pd.Series) -> pd.Series:
        change = series.diff()
        gain = _wilder(change.clip(lower=0.0), self.days)
        loss = _wilder((-change).clip(lower=0.0), self.days)
        with np.errstate(divide="ignore", invalid="ignore"):
            rsi = 100.0 - 100.0 / (1.0 + gain / loss)
        rsi = rsi.mask(loss.eq(0.0) & gain.gt(0.0), 100.0).mask(loss.eq(0.0) & gain.eq(0.0), 50.0)
        return rsi.where(gain.notna())


def _wilder(moves: pd.Series, days: int) -> pd.Series:
    """Wilder's average of ``moves`` (``moves[0]`` is the undefined first change): seeded on position ``days``
    with the mean of ``moves[1..days]``, then ``G_t = G_{t-1} + (m_t - G_{t-1}) / days``."""
    if len(moves) <= days:
        return pd.Series(np.nan, index=moves.index)
    seeded = moves.copy()
    seeded.iloc[:days] = np.nan
    seeded.iloc[days] = moves.iloc[1:days + 1].mean()
    return seeded.ewm(alpha=1.0 / days, adjust=False).mean()


Indicator = Union[Price, Sma, Ema, Momentum, Drawdown, Rsi]


@dataclass(frozen=True)
class Level:
    """A fixed threshold as written: a price (``600``), a percentage (``-20`` with ``percent``), RSI points."""

    value: float
    percent: bool = False

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{self.value:g}"

    def words(self) -> str:
        return str(self)

    @property
    def amount(self) -> float:
        """The level in the quantity's own terms (a percentage as a fraction)."""
        return self.value / 100.0 if self.percent else self.value


@dataclass(frozen=True)
class Rule:
    """``subject``'s ``quantity`` is ``direction`` ``threshold`` (see the module docstring)."""

    subject: Subject
    quantity: Indicator
    direction: Direction
    threshold: Indicator | Level

    def __str__(self) -> str:
        """The rule in the grammar ``/signal define`` reads: ``IWM/SPY above sma200``, ``SMH rsi14 below 30``."""
        measured = "" if isinstance(self.quantity, Price) else f" {self.quantity}"
        return f"{self.subject}{measured} {self.direction} {self.threshold}"

    def words(self) -> str:
        """The rule in a sentence: "SOXX's 50-day simple average is above its 200-day simple average"."""
        if isinstance(self.quantity, Price):
            what = self.subject.words()
        else:
            what = self.quantity.words().replace("its ", f"{self.subject}'s ", 1)
        return f"{what} is {self.direction} {self.threshold.words()}"

    @property
    def tickers(self) -> tuple[str, ...]:
        return self.subject.tickers

    @property
    def unit(self) -> Unit:
        return self.quantity.unit


SeriesMemo = dict[tuple[Subject, Indicator | None], pd.Series]


@dataclass(frozen=True, eq=False)
class Evaluation:
    """A rule on every close: ``quantity``, ``threshold`` and ``state`` (bool), on the closes where both are
    defined."""

    rule: Rule
    quantity: pd.Series
    threshold: pd.Series
    state: pd.Series

    @property
    def known(self) -> bool:
        """Whether the rule has a state on any close (enough history for its indicators)."""
        return not self.state.empty

    @property
    def as_of(self) -> dt.date:
        return self.state.index[-1].date()

    @property
    def now(self) -> bool:
        """The state on the last close."""
        return bool(self.state.iloc[-1])

    @property
    def flips(self) -> pd.Series:
        """The new state on every close where it flipped, indexed by that close."""
        flags = self.state.to_numpy()
        changed = np.flatnonzero(flags[1:] != flags[:-1]) + 1
        return self.state.iloc[changed]

    @property
    def since(self) -> dt.date:
        """The first close of the current run: the last flip, or the first close with a state if it never
        flipped (then the run may be longer than the data)."""
        flips = self.flips
        return (flips.index[-1] if len(flips) else self.state.index[0]).date()

    @property
    def sessions(self) -> int:
        """Closes in the current run, its first and last included."""
        return int(len(self.state) - self.state.index.searchsorted(pd.Timestamp(self.since)))

    @property
    def gap(self) -> float:
        """How far the quantity is from its threshold on the last close: ``quantity / threshold - 1`` for a price
        or an average (the move that would meet it, as a fraction), ``quantity - threshold`` otherwise
        (percentage points as a fraction for momentum and drawdown, RSI points)."""
        quantity, threshold = float(self.quantity.iloc[-1]), float(self.threshold.iloc[-1])
        return quantity / threshold - 1.0 if self.rule.unit == "price" else quantity - threshold

    def last_flips(self, count: int = FLIPS_SHOWN) -> list[tuple[dt.date, bool]]:
        """The last ``count`` flips, oldest first: (close, new state)."""
        return [(day.date(), bool(state)) for day, state in self.flips.iloc[-count:].items()]

    def flip_count(self, after: dt.date) -> int:
        """Flips on closes after ``after``."""
        flips = self.flips
        return int((flips.index > pd.Timestamp(after)).sum())


def evaluate(rule: Rule, closes: pd.DataFrame, memo: SeriesMemo | None = None) -> Evaluation:
    """``rule`` on every close in ``closes`` (a column per ticker of ``rule.tickers``, NaN where a ticker has no
    close).  ``memo`` keeps each subject's series and each (subject, indicator) series across calls, so rules
    that share them compute them once; pass the same dict only with the same ``closes``."""
    memo = {} if memo is None else memo
    quantity = _indicator(rule.subject, rule.quantity, closes, memo)
    if isinstance(rule.threshold, Level):
        threshold = pd.Series(rule.threshold.amount, index=quantity.index)
    else:
        threshold = _indicator(rule.subject, rule.threshold, closes, memo)
    known = quantity.notna().to_numpy() & threshold.notna().to_numpy()
    q, t = quantity[known], threshold[known]
    state = q > t if rule.direction == "above" else q < t
    return Evaluation(rule=rule, quantity=q, threshold=t, state=state)


def evaluate_all(rules: list[Rule], closes: pd.DataFrame) -> dict[Rule, Evaluation]:
    """Every distinct rule in ``rules`` once, sharing each distinct series (subject, or subject and indicator)."""
    memo: SeriesMemo = {}
    return {rule: evaluate(rule, closes, memo) for rule in dict.fromkeys(rules)}


def _indicator(subject: Subject, indicator: Indicator, closes: pd.DataFrame, memo: SeriesMemo) -> pd.Series:
    key = (subject, indicator)
    if key not in memo:
        if (subject, None) not in memo:
            memo[(subject, None)] = subject.series(closes)
        memo[key] = indicator.compute(memo[(subject, None)])
    return memo[key]


def ratio_rule(a: str, b: str, days: int = 200) -> Rule:
    """``A/B above smaN``: the ratio leads while above its average (the built-in signals)."""
    return Rule(Subject(a, b), Price(), "above", Sma(days))


# The built-in signals every workspace has: predefined entries of the same kind as the ones teams define.
PREDEFINED: dict[str, Rule] = {
    "smallcaps": ratio_rule("IWM", "SPY"),
    "semis": ratio_rule("SMH", "SPY"),
}
