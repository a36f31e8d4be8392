"""A workspace's signals (the predefined ones and its own) and their readings on full price history.

What ``/signal``, ``/alert``, the Home tab, the digest and the watcher share: which signals a team has,
the closes a set of rules reads (all the history the data has, outer-joined by date), and their
evaluation with every distinct series computed once, and kept while the closes are unchanged
(``readings``, ``CloseMemo``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.rules import PREDEFINED, Evaluation, Level, Rule, SeriesMemo, evaluate
from analysis.windows import EARLIEST
from errors import BadRequest, DataUnavailable, TiltError, UnknownTicker
from handlers.common.format import percent
from handlers.common.prices import adj_closes, bars_to_last_close
from handlers.common.rule_grammar import parse_rule
from handlers.common.services import Services
from store.teamdata import Owner


@dataclass(frozen=True)
class TeamSignal:
    """A signal as a workspace has it: ``author`` empty for a predefined one (nobody may delete it)."""

    name: str
    rule: Rule
    author: str = ""
    channel: str = ""
    created_at: float = 0.0
    note: str = ""

    @classmethod
    def stored(cls, record: dict[str, Any]) -> "TeamSignal":
        return cls(name=record["name"], rule=parse_rule(record["rule"]), author=record["author"],
                   channel=record["channel"], created_at=record["created_at"], note=record.get("note", ""))


def team_signals(services: Services, owner: Owner) -> list[TeamSignal]:
    """The predefined signals, then the workspace's own, oldest first."""
    own = [TeamSignal.stored(record) for record in services.store.signals(owner)]
    return [*(TeamSignal(name, rule) for name, rule in PREDEFINED.items()), *own]


def find(services: Services, owner: Owner, name: str) -> TeamSignal:
    """The signal ``name`` of the workspace; ``BadRequest`` naming the ones it has when there is none."""
    if name in PREDEFINED:
        return TeamSignal(name, PREDEFINED[name])
    record = services.store.signal(owner, name)
    if record is None:
        known = ", ".join(s.name for s in team_signals(services, owner))
        raise BadRequest(f"There is no signal `{name[:32]}` here. Known: {known}.")
    return TeamSignal.stored(record)


def history(services: Services, tickers: list[str]) -> pd.DataFrame:
    """Adj Close of ``tickers`` over all the history the data has, to the last close any of them has, a column
    per ticker (NaN where one has no close).  ``UnknownTicker`` / ``DataUnavailable`` for a ticker without prices."""
    bars = _all_bars(services, tickers)
    empty = [t for t in tickers if bars[t].empty]
    if empty:
        raise DataUnavailable(f"No prices for {', '.join(empty)}, so I can't read a rule on them.")
    return adj_closes(bars, tickers, common=False)


def _all_bars(services: Services, tickers: list[str]) -> dict[str, pd.DataFrame]:
    """Every bar the data has, to the last close any of the tickers has (``UnknownTicker`` for unknown ones)."""
    return bars_to_last_close(services, tickers, lambda day: (EARLIEST, day), common=False)


def read(rule: Rule, closes: pd.DataFrame, memo: SeriesMemo | None = None) -> Evaluation:
    """``rule`` on ``closes``; ``DataUnavailable`` when the data is too short for it to have a state."""
    evaluation = evaluate(rule, closes, memo)
    if not evaluation.known:
        raise DataUnavailable(f"There is not enough history for `{rule}` to have a reading yet.")
    return evaluation


def reading(services: Services, rule: Rule) -> Evaluation:
    """``rule`` on the latest prices, over full history."""
    return read(rule, history(services, list(rule.tickers)))


class CloseMemo:
    """What was computed on one set of closes (each series, each rule's evaluation), kept while those closes are
    unchanged: the watcher ticks many times between two closes, and each distinct series is computed once
    per close."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self.series: SeriesMemo = {}
        self.evaluations: dict[Rule, Evaluation] = {}

    def on(self, closes: pd.DataFrame) -> "CloseMemo":
        """This memo, emptied first if ``closes`` differ from the ones it was filled on."""
        key = (tuple(closes.columns), closes.index[-1], int(pd.util.hash_pandas_object(closes).sum()))
        if key != self._key:
            self._key, self.series, self.evaluations = key, {}, {}
        return self


def readings(services: Services, rules: list[Rule], memo: CloseMemo | None = None) -> dict[Rule, Evaluation | str]:
    """Each distinct rule on the latest prices (one fetch, each distinct series once), or why it has no reading."""
    distinct = list(dict.fromkeys(rules))
    if not distinct:
        return {}
    tickers = list(dict.fromkeys(t for rule in distinct for t in rule.tickers))
    try:
        closes, missing = available_history(services, tickers)
    except TiltError as error:
        return {rule: str(error) for rule in distinct}
    kept = (memo or CloseMemo()).on(closes) if len(closes) else CloseMemo()
    found: dict[Rule, Evaluation | str] = {}
    for rule in distinct:
        lacking = [t for t in rule.tickers if t in missing]
        try:
            if lacking:
                raise DataUnavailable(f"No prices for {', '.join(lacking)}.")
            if rule not in kept.evaluations:
                kept.evaluations[rule] = read(rule, closes, kept.series)
            found[rule] = kept.evaluations[rule]
        except TiltError as error:
            found[rule] = str(error)
    return found


def available_history(services: Services, tickers: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """``history`` of the tickers that have prices, and the ones left out (unknown, or without prices)."""
    try:
        bars = _all_bars(services, tickers)
    except UnknownTicker as error:
        known = [t for t in tickers if t not in error.tickers]
        if not known:
            return pd.DataFrame(), list(tickers)
        closes, missing = available_history(services, known)
        return closes, [*error.tickers, *missing]
    present = [t for t in tickers if not bars[t].empty]
    if not present:
        return pd.DataFrame(), list(tickers)
    return adj_closes(bars, present, common=False), [t for t in tickers if bars[t].empty]


def state_word(state: bool) -> str:
    return "true" if state else "false"


def distance(evaluation: Evaluation) -> str:
    """Where the quantity stands against its threshold on the last close, in the rule's own terms:
    "the ratio IWM/SPY is 3.2% above its 200-day simple average", "SMH's 14-day RSI is 49.1, 19.1 points above 30"."""
    rule, gap = evaluation.rule, evaluation.gap
    quantity = float(evaluation.quantities[-1])
    what = rule.quantity_words()
    threshold = rule.threshold.words()
    if rule.unit == "price":
        shown = percent(abs(gap))
        if shown == percent(0.0):
            return f"{what} is at {threshold} (within 0.05%)"
        level = f" at {_value(quantity)}" if isinstance(rule.threshold, Level) else ""
        return f"{what}{level} is {shown} {'above' if gap > 0 else 'below'} {threshold}"
    if rule.unit == "percent":
        value, points = percent(quantity, signed=True), f"{abs(gap) * 100:.1f}"
    else:
        value, points = f"{quantity:.1f}", f"{abs(gap):.1f}"
    if points == "0.0":
        return f"{what} is {value}, at {threshold}"
    return f"{what} is {value}, {points} points {'above' if gap > 0 else 'below'} {threshold}"


def _value(value: float) -> str:
    """A price as shown beside a level: 2 decimals, 4 significant figures for a ratio below 10."""
    return f"{value:,.2f}" if value >= 10 else f"{value:.4g}"


def flips_line(evaluation: Evaluation) -> str:
    flips = evaluation.last_flips()
    if not flips:
        return f"No flip since {evaluation.since} (the first close with a reading)."
    return "Last flips: " + " · ".join(f"{day} → {state_word(state)}" for day, state in reversed(flips))
