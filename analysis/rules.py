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
        values = closes[self.a].to_numpy(dtype="float64")
        if self.b:
            values = values / closes[self.b].to_numpy(dtype="float64")
        known = ~np.isnan(values)
        return pd.Series(values[known], index=closes.index[known])


@dataclass(frozen=True)
class Price:
    unit: Unit = field(default="price", init=False)

    def __str__(self) -> str:
        return "price"

    def words(self) -> str:
        return "the price"

    def compute(self, series: pd.Series) -> np.ndarray:
        return series.to_numpy()


@dataclass(frozen=True)
class Sma:
    days: int
    unit: Unit = field(default="price", init=False)

    def __str__(self) -> str:
        return f"sma{self.days}"

    def words(self) -> str:
        return f"its {self.days}-day simple average"

    def compute(self, series: pd.Series) -> np.ndarray:
        return pd.Series(series.to_numpy()).rolling(self.days, min_periods=self.days).mean().to_numpy()


@dataclass(frozen=True)
class Ema:
    days: int
    unit: Unit = field(default="price", init=False)

    def __str__(self) -> str:
        return f"ema{self.days}"

    def words(self) -> str:
        return f"its {self.days}-day exponential average"

    def compute(self, series: pd.Series) -> np.ndarray:
        average = pd.Series(series.to_numpy()).ewm(span=self.days, adjust=False).mean().to_numpy(copy=True)
        average[:self.days - 1] = np.nan
        return average


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

    def start_dates(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """``t - k units`` for every close ``t``, as days: a month back from 31 March is 28 (or 29) February."""
        days = dates.to_numpy().astype("datetime64[D]")
        if self.period == "w":
            return days - np.timedelta64(7 * self.count, "D")
        months = days.astype("datetime64[M]")
        target = months - np.timedelta64(self.count * (12 if self.period == "y" else 1), "M")
        month_length = (target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")
        day_of_month = days - months.astype("datetime64[D]")
        return target.astype("datetime64[D]") + np.minimum(day_of_month, month_length - np.timedelta64(1, "D"))

    def compute(self, series: pd.Series) -> np.ndarray:
        days = series.index.to_numpy().astype("datetime64[D]")
        start = days.searchsorted(self.start_dates(series.index), side="right") - 1  # last close on or before
        values = series.to_numpy()
        base = np.where(start >= 0, values[np.maximum(start, 0)], np.nan)
        return values / base - 1.0


@dataclass(frozen=True)
class Drawdown:
    unit: Unit = field(default="percent", init=False)

    def __str__(self) -> str:
        return "drawdown"

    def words(self) -> str:
        return "its drawdown from the highest close so far"

    def compute(self, series: pd.Series) -> np.ndarray:
        values = series.to_numpy()
        return values / np.maximum.accumulate(values) - 1.0


@dataclass(frozen=True)
class Rsi:
    days: int
    unit: Unit = field(default="points", init=False)

    def __str__(self) -> str:
        return f"rsi{self.days}"

    def words(self) -> str:
        return f"its {self.days}-day RSI"

    def compute(self, series: pd.Series) -> np.ndarray:
        change = np.diff(series.to_numpy(), prepend=np.nan)
        gain = _wilder(np.where(change > 0, change, 0.0), self.days)
        loss = _wilder(np.where(change < 0, -change, 0.0), self.days)
        with np.errstate(divide="ignore", invalid="ignore"):
            rsi = 100.0 - 100.0 / (1.0 + gain / loss)
        # Before the first average (NaN gain and loss) the division is NaN already, and stays so.
        return np.where(loss == 0.0, np.where(gain > 0.0, 100.0, 50.0), rsi)


def _wilder(moves: np.ndarray, days: int) -> np.ndarray:
    """Wilder's average of ``moves`` (``moves[0]``, the first close's change, is ignored): seeded on position
    ``days`` with the mean of ``moves[1..days]``, then ``G_t = G_{t-1} + (m_t - G_{t-1}) / days``."""
    if len(moves) <= days:
        return np.full(len(moves), np.nan)
    seeded = moves.astype("float64", copy=True)
    seeded[:days] = np.nan
    seeded[days] = moves[1:days + 1].mean()
    return pd.Series(seeded).ewm(alpha=1.0 / days, adjust=False).mean().to_numpy()


Indicator = Union[Price, Sma, Ema, Momentum, Drawdown, Rsi]


@dataclass(frozen=True)
class Level:
    """A fixed threshold as written: a price (``600``), a percentage (``-20`` with ``percent``), RSI points."""

    value: float
    percent: bool = False

    def __str__(self) -> str:
        """As written, in its shortest form that reads back as the same number (``600``, ``0.8512``, ``-20%``)."""
        number = repr(self.value).removesuffix(".0")  # repr is already the shortest text that reads back
        return f"{number}%" if self.percent else number

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
        return f"{self.quantity_words()} is {self.direction} {self.threshold.words()}"

    def quantity_words(self) -> str:
        """What the rule measures: "the ratio IWM/SPY", "SMH's 14-day RSI"."""
        if isinstance(self.quantity, Price):
            return self.subject.words()
        return self.quantity.words().replace("its ", f"{self.subject}'s ", 1)

    @property
    def tickers(self) -> tuple[str, ...]:
        return self.subject.tickers

    @property
    def unit(self) -> Unit:
        return self.quantity.unit


# A subject's series (key ``(subject, None)``), and each indicator of it as an array on the same closes.
SeriesMemo = dict[tuple[Subject, Indicator | None], "pd.Series | np.ndarray"]


@dataclass(frozen=True, eq=False)
class Evaluation:
    """A rule on every close where its quantity and threshold are both defined: ``dates``, and per date the
    quantity, the threshold and the state (arrays; ``quantity``, ``threshold`` and ``state`` as Series)."""

    rule: Rule
    dates: pd.DatetimeIndex
    quantities: np.ndarray
    thresholds: np.ndarray
    states: np.ndarray

    @property
    def quantity(self) -> pd.Series:
        return pd.Series(self.quantities, index=self.dates)

    @property
    def threshold(self) -> pd.Series:
        return pd.Series(self.thresholds, index=self.dates)

    @property
    def state(self) -> pd.Series:
        return pd.Series(self.states, index=self.dates)

    @property
    def known(self) -> bool:
        """Whether the rule has a state on any close (enough history for its indicators)."""
        return len(self.states) > 0

    @property
    def as_of(self) -> dt.date:
        return self.dates[-1].date()

    @property
    def now(self) -> bool:
        """The state on the last close."""
        return bool(self.states[-1])

    @property
    def flip_positions(self) -> np.ndarray:
        """Positions of the closes whose state differs from the previous close's."""
        return np.flatnonzero(self.states[1:] != self.states[:-1]) + 1

    @property
    def flips(self) -> pd.Series:
        """The new state on every close where it flipped, indexed by that close."""
        where = self.flip_positions
        return pd.Series(self.states[where], index=self.dates[where])

    @property
    def since(self) -> dt.date:
        """The first close of the current run: the last flip, or the first close with a state if it never
        flipped (then the run may be longer than the data)."""
        return self.dates[self._run_start].date()

    @property
    def sessions(self) -> int:
        """Closes in the current run, its first and last included."""
        return int(len(self.states) - self._run_start)

    @property
    def _run_start(self) -> int:
        where = self.flip_positions
        return int(where[-1]) if where.size else 0

    @property
    def gap(self) -> float:
        """How far the quantity is from its threshold on the last close: ``quantity / threshold - 1`` for a price
        or an average (the move that would meet it, as a fraction), ``quantity - threshold`` otherwise
        (percentage points as a fraction for momentum and drawdown, RSI points)."""
        quantity, threshold = float(self.quantities[-1]), float(self.thresholds[-1])
        return quantity / threshold - 1.0 if self.rule.unit == "price" else quantity - threshold

    def last_flips(self, count: int = FLIPS_SHOWN) -> list[tuple[dt.date, bool]]:
        """The last ``count`` flips, oldest first: (close, new state)."""
        return [(self.dates[i].date(), bool(self.states[i])) for i in self.flip_positions[-count:]]

    def flip_count(self, after: dt.date) -> int:
        """Flips on closes after ``after``."""
        return int((self.dates[self.flip_positions] > pd.Timestamp(after)).sum())

    def first_held_after(self, day: dt.date) -> dt.date | None:
        """The first close after ``day`` on which the rule held, if any (an alert set on ``day`` fires there)."""
        start = int(self.dates.searchsorted(pd.Timestamp(day), side="right"))
        held = np.flatnonzero(self.states[start:])
        return self.dates[start + held[0]].date() if held.size else None

    def since_date(self, start: pd.Timestamp) -> "Evaluation":
        """The closes from ``start`` on."""
        keep = slice(int(self.dates.searchsorted(start)), None)
        return Evaluation(rule=self.rule, dates=self.dates[keep], quantities=self.quantities[keep],
                          thresholds=self.thresholds[keep], states=self.states[keep])


def evaluate(rule: Rule, closes: pd.DataFrame, memo: SeriesMemo | None = None) -> Evaluation:
    """``rule`` on every close in ``closes`` (a column per ticker of ``rule.tickers``, NaN where a ticker has no
    close).  ``memo`` keeps each subject's series and each (subject, indicator) array across calls, so rules
    that share them compute them once; pass the same dict only with the same ``closes``."""
    memo = {} if memo is None else memo
    series = _subject(rule.subject, closes, memo)
    q = _indicator(rule.subject, rule.quantity, closes, memo)
    if isinstance(rule.threshold, Level):
        t = np.full(len(q), rule.threshold.amount)
    else:
        t = _indicator(rule.subject, rule.threshold, closes, memo)
    known = ~np.isnan(q) & ~np.isnan(t)
    first = int(known.argmax()) if known.any() else len(known)
    # Indicators are undefined only before enough history, so the defined closes are usually one tail: a slice.
    keep: slice | np.ndarray = slice(first, None) if known[first:].all() else known
    q, t = q[keep], t[keep]
    return Evaluation(rule=rule, dates=series.index[keep], quantities=q, thresholds=t,
                      states=q > t if rule.direction == "above" else q < t)


def evaluate_all(rules: list[Rule], closes: pd.DataFrame) -> dict[Rule, Evaluation]:
    """Every distinct rule in ``rules`` once, sharing each distinct series (subject, or subject and indicator)."""
    memo: SeriesMemo = {}
    return {rule: evaluate(rule, closes, memo) for rule in dict.fromkeys(rules)}


def _subject(subject: Subject, closes: pd.DataFrame, memo: SeriesMemo) -> pd.Series:
    if (subject, None) not in memo:
        memo[(subject, None)] = subject.series(closes)
    return memo[(subject, None)]


def _indicator(subject: Subject, indicator: Indicator, closes: pd.DataFrame, memo: SeriesMemo) -> np.ndarray:
    key = (subject, indicator)
    if key not in memo:
        memo[key] = indicator.compute(_subject(subject, closes, memo))
    return memo[key]


def ratio_rule(a: str, b: str, days: int = 200) -> Rule:
    """``A/B above smaN``: the ratio leads while above its average (the built-in signals)."""
    return Rule(Subject(a, b), Price(), "above", Sma(days))


# The built-in signals every workspace has: predefined entries of the same kind as the ones teams define.
PREDEFINED: dict[str, Rule] = {
    "smallcaps": ratio_rule("IWM", "SPY"),
    "semis": ratio_rule("SMH", "SPY"),
}
