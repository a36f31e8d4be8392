"""The kinds of portfolio /backtest runs, each knowing how it is simulated, named and described.

A kind provides what the backtest needs of it: the tickers it may hold, the named signals it reads,
its simulation over a window's prices, the name it goes by and the note that describes it.  A new kind
is one new class here and a word in the grammar.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Protocol

import pandas as pd

from analysis.backtest import NO_FRICTION, Rebalance, Simulation, Trading, fixed_mix, switching, time_on
from analysis.rules import Rule
from errors import BadRequest
from handlers.common.format import percent, short_weight

# Legs a tactical portfolio may hold while its signal is on (the first is the default); off, it holds the signal's b.
TACTICAL_LEGS: dict[str, tuple[str, ...]] = {"smallcaps": ("IWM", "IJR"), "semis": ("SMH", "SOXX")}


class Portfolio(Protocol):
    @property
    def tickers(self) -> tuple[str, ...]:
        """Every ticker whose prices it needs (those it holds, and those its signal reads)."""

    @property
    def spelled(self) -> str:
        """How the command spells it, normalised (part of the cache key)."""

    @property
    def rules(self) -> dict[str, Rule]:
        """The signals it reads: each one's rule, by the signal's name."""

    @property
    def rebalanced(self) -> bool:
        """Whether the rebalancing schedule applies to it."""

    def resolved(self, rule_of: Callable[[str], Rule]) -> Portfolio:
        """Itself with the signals it names looked up (``rule_of(name)`` raises for an unknown one)."""

    def name(self) -> str:
        """What it goes by in tables, legends and notes: what it holds or does, in short form."""

    def simulate(self, prices: pd.DataFrame, rebalance: Rebalance, readings: dict[str, pd.Series],
                 trading: Trading = NO_FRICTION) -> Simulation:
        """Its value over ``prices`` (one column per ticker), given each signal's reading on every session and
        what trading costs (costs, drift bands, money added)."""

    def describe(self, name: str, simulation: Simulation) -> str:
        """The note that says what ``name`` holds and did; empty when its name says it all."""


@dataclass(frozen=True)
class Mix:
    """Fixed weights in percent, largest first (ties by ticker), adding up to 100."""

    holdings: tuple[tuple[str, float], ...]

    @property
    def tickers(self) -> tuple[str, ...]:
        return tuple(ticker for ticker, _ in self.holdings)

    @property
    def spelled(self) -> str:
        """``SPY 70 IJR 20 SMH 10``: how the command spells it (and how the cache key does)."""
        return " ".join(f"{ticker} {weight:g}" for ticker, weight in self.holdings)

    @property
    def rules(self) -> dict[str, Rule]:
        return {}

    def resolved(self, rule_of: Callable[[str], Rule]) -> Mix:
        return self

    @property
    def rebalanced(self) -> bool:
        return len(self.holdings) > 1

    def name(self) -> str:
        """Its holdings in short form (``SPY70 IJR20 SMH10``, ``SPY33.3``); a one-ticker portfolio its ticker."""
        if len(self.holdings) == 1:
            return self.holdings[0][0]
        return " ".join(f"{ticker}{short_weight(weight)}" for ticker, weight in self.holdings)

    def simulate(self, prices: pd.DataFrame, rebalance: Rebalance, readings: dict[str, pd.Series],
                 trading: Trading = NO_FRICTION) -> Simulation:
        return fixed_mix(prices, pd.Series(dict(self.holdings)) / 100.0, rebalance, trading)

    def describe(self, name: str, simulation: Simulation) -> str:
        return ""  # its name says what it holds


@dataclass(frozen=True)
class Tactical:
    """All in ``on`` while the workspace's signal ``signal`` holds, else all in ``off``.

    As parsed, ``on`` and ``off`` are what the text says ("" when left to the signal) and ``rule`` is
    ``None``; ``backtest_request.with_signals`` fills them from the signal's rule (a ratio A/B: A, else B).
    """

    signal: str
    on: str = ""
    off: str = ""
    rule: Rule | None = field(default=None, compare=False)

    @property
    def tickers(self) -> tuple[str, ...]:
        assert self.rule is not None, "resolve the signal first (with_signals)"
        return tuple(dict.fromkeys((self.on, self.off, *self.rule.tickers)))

    @property
    def spelled(self) -> str:
        default = (self.rule.subject.a, self.rule.subject.b) if self.rule is not None else ("", "")
        if (self.on, self.off) == default:
            return f"tactical {self.signal}"
        if self.off == default[1] and self.on in TACTICAL_LEGS.get(self.signal, ()):
            return f"tactical {self.signal} {self.on}"
        return f"tactical {self.signal} hold {self.on} else {self.off}"

    @property
    def rules(self) -> dict[str, Rule]:
        assert self.rule is not None, "resolve the signal first (with_signals)"
        return {self.signal: self.rule}

    @property
    def rebalanced(self) -> bool:
        return False

    def resolved(self, rule_of: Callable[[str], Rule]) -> Tactical:
        """With its signal's rule, and its legs filled in: a ratio A/B holds A while it holds, else B (unless
        said otherwise); a one-ticker rule must say what to hold."""
        rule = rule_of(self.signal)
        a, b = rule.subject.a, rule.subject.b
        if not b and not self.off:
            raise BadRequest(f"`{self.signal}` reads one ticker (`{rule}`): say what to hold, e.g. "
                             f"`tactical {self.signal} hold {a} else SPY`.")
        return replace(self, on=self.on or a, off=self.off or b, rule=rule)

    def name(self) -> str:
        return self.spelled

    def simulate(self, prices: pd.DataFrame, rebalance: Rebalance, readings: dict[str, pd.Series],
                 trading: Trading = NO_FRICTION) -> Simulation:
        signal = readings[self.signal]
        return switching(prices, signal.loc[:prices.index[-1]].dropna().astype(bool), self.on, self.off, trading.cost)

    def describe(self, name: str, simulation: Simulation) -> str:
        assert self.rule is not None, "resolve the signal first (with_signals)"
        return (f"{name}: {self.on} while {self.rule.words()} (the /signal {self.signal} rule), else {self.off}; "
                f"decided on the close, traded on the next close. {simulation.trades} trades; "
                f"{percent(time_on(simulation, self.on), 0)} of the time in {self.on}, "
                f"{percent(time_on(simulation, self.off), 0)} in {self.off}")
