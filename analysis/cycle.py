"""How tickers did against a benchmark in each phase of the business and rate cycle.

Phases come from the dated events of ``analysis.cycle_phases`` (NBER turning points by month, the FOMC's
first cut or hike of a cycle by day):

* **recession**: the first day of the peak month to the last day of the trough month;
* **early recovery**: the 12 calendar months after the trough month (from the day after it ends);
* **late expansion**: the 12 calendar months before the peak month (to the day before it begins);
* **rate cuts, first 6 / 12 months** and **hikes, first 12 months**: from the day of the FOMC statement to
  the day before the same date 6 or 12 months later (``2024-09-18`` + 12 months: ``2024-09-18..2025-09-17``),
  so the statement day's own move counts.

Each phase is measured with the window rule of every other command (``analysis.windows``): its window opens
at the last close **before** its first day and ends at the last close **on or before** its last day, on the
dates the ticker and the benchmark both traded.  Returns are total returns on ``Adj Close`` (dividends
reinvested), ``r = P_end / P_open - 1``, and the figure per episode is the return relative to the benchmark,
``(1 + r) / (1 + r_bench) - 1``: what a dollar in the ticker ended at per dollar in the benchmark, minus one.

An episode is n/a for a ticker (left out of its median, hit rate and count) when the pair has no close before
the phase's first day (the fund did not exist yet), or when the data's last close comes before the phase's
last day (the phase is not over in the data, so its figure would not be comparable with full phases).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.cycle_phases import EVENTS, Event


@dataclass(frozen=True)
class PhaseType:
    """A kind of phase: ``label`` for tables, ``short`` for chart axes, ``plural`` for sentences."""

    key: str
    label: str
    short: str
    plural: str


LATE_EXPANSION = PhaseType("late_expansion", "Late expansion", "Late\nexpansion", "late expansions")
RECESSION = PhaseType("recession", "Recession", "Recession", "recessions")
EARLY_RECOVERY = PhaseType("early_recovery", "Early recovery", "Early\nrecovery", "early recoveries")
CUTS_6M = PhaseType("cuts_6m", "Rate cuts, first 6m", "Rate cuts\nfirst 6m", "rate-cut cycles (first 6 months)")
CUTS_12M = PhaseType("cuts_12m", "Rate cuts, first 12m", "Rate cuts\nfirst 12m", "rate-cut cycles (first 12 months)")
HIKES_12M = PhaseType("hikes_12m", "Hikes, first 12m", "Hikes\nfirst 12m", "hiking cycles (first 12 months)")
# The business cycle in its order, then the rate cycle.
PHASE_TYPES = (LATE_EXPANSION, RECESSION, EARLY_RECOVERY, CUTS_6M, CUTS_12M, HIKES_12M)
AROUND_TURNS_MONTHS = 12
# Fed cycles measured from the first move: (phase, months, which move).
FED_PHASES = ((CUTS_6M, 6, "first_cut"), (CUTS_12M, 12, "first_cut"), (HIKES_12M, 12, "first_hike"))


@dataclass(frozen=True)
class Episode:
    """One dated phase: ``first_day`` to ``last_day`` inclusive."""

    phase: PhaseType
    first_day: dt.date
    last_day: dt.date


@dataclass(frozen=True)
class CycleFigures:
    """``relative``: one row per episode (in ``episodes`` order), one column per ticker, NaN where n/a.
    ``benchmark_return``: the benchmark's own total return per episode (NaN where n/a).
    ``summary``: one row per (phase key, ticker): ``median`` relative return, ``hits`` (episodes where the ticker
    beat the benchmark), ``lags`` (where it trailed), ``count`` (episodes with a figure)."""

    episodes: tuple[Episode, ...]
    benchmark: str
    relative: pd.DataFrame
    benchmark_return: pd.Series
    summary: pd.DataFrame


def episodes(events: tuple[Event, ...] = EVENTS) -> tuple[Episode, ...]:
    """Every phase the events define, by phase type (``PHASE_TYPES`` order) then date."""
    peaks = sorted((e for e in events if e.kind == "peak"), key=lambda e: e.date)
    troughs = sorted((e for e in events if e.kind == "trough"), key=lambda e: e.date)
    found = []
    for peak in peaks:
        peak_month = pd.Period(peak.date, freq="M")
        found.append(Episode(LATE_EXPANSION, _first_day(peak_month - AROUND_TURNS_MONTHS),
                             _first_day(peak_month) - dt.timedelta(days=1)))
        trough = next((t for t in troughs if t.date > peak.date), None)
        if trough is not None:
            found.append(Episode(RECESSION, _first_day(peak_month), _last_day(pd.Period(trough.date, freq="M"))))
    for trough in troughs:
        trough_month = pd.Period(trough.date, freq="M")
        found.append(Episode(EARLY_RECOVERY, _first_day(trough_month + 1),
                             _last_day(trough_month + AROUND_TURNS_MONTHS)))
    for phase, months, kind in FED_PHASES:
        for move in (e for e in events if e.kind == kind):
            day = dt.date.fromisoformat(move.date)
            found.append(Episode(phase, day, (pd.Timestamp(day) + pd.DateOffset(months=months)).date()
                                 - dt.timedelta(days=1)))
    order = {phase.key: i for i, phase in enumerate(PHASE_TYPES)}
    return tuple(sorted(found, key=lambda e: (order[e.phase.key], e.first_day)))


def _first_day(month: pd.Period) -> dt.date:
    return month.start_time.date()


def _last_day(month: pd.Period) -> dt.date:
    return month.end_time.date()


def episode_windows(dates: pd.DatetimeIndex, phases: tuple[Episode, ...]) -> pd.DataFrame:
    """Each episode's window on the sorted trading ``dates``: columns ``start`` (the last close before its first
    day) and ``end`` (the last close on or before its last day), both NaT where the episode is n/a on these dates
    (no close before it begins, or the dates end before it does)."""
    first = pd.DatetimeIndex([pd.Timestamp(e.first_day) for e in phases])
    last = pd.DatetimeIndex([pd.Timestamp(e.last_day) for e in phases])
    opens = dates.searchsorted(first, side="left") - 1
    closes = dates.searchsorted(last, side="right") - 1
    over = np.asarray(last <= dates[-1]) if len(dates) else np.zeros(len(phases), dtype=bool)
    known = (opens >= 0) & (closes > opens) & over
    picked = dates.append(pd.DatetimeIndex([pd.NaT]))  # position -1 of the padded index: NaT
    return pd.DataFrame({"start": picked[np.where(known, opens, -1)], "end": picked[np.where(known, closes, -1)]})


def window_returns(prices: pd.DataFrame, phases: tuple[Episode, ...]) -> pd.DataFrame:
    """Total return of each column over each episode's window on ``prices``' dates (which every column has:
    no NaN), ``P_end / P_open - 1``; one row per episode, NaN where it is n/a (see ``episode_windows``)."""
    windows = episode_windows(prices.index, phases)
    opening = prices.reindex(windows["start"]).to_numpy(dtype="float64")
    closing = prices.reindex(windows["end"]).to_numpy(dtype="float64")
    return pd.DataFrame(closing / opening - 1.0, columns=prices.columns)


def cycle_figures(prices: pd.DataFrame, benchmark: str, phases: tuple[Episode, ...]) -> CycleFigures:
    """Relative returns of every column of ``prices`` but ``benchmark`` in each of ``phases``, and their summary.

    ``prices``: Adj Close per ticker on the dates any of them traded (NaN where one did not).  Each ticker is
    measured on the dates it and the benchmark both have, so a young fund does not shorten another's history.
    """
    tickers = [t for t in prices.columns if t != benchmark]
    relative = pd.DataFrame({
        ticker: _relative(window_returns(prices[[ticker, benchmark]].dropna(), phases), ticker, benchmark)
        for ticker in tickers
    }, index=range(len(phases)), columns=tickers)
    bench = window_returns(prices[[benchmark]].dropna(), phases)[benchmark]
    return CycleFigures(episodes=phases, benchmark=benchmark, relative=relative, benchmark_return=bench,
                        summary=summarise(relative, phases))


def _relative(returns: pd.DataFrame, ticker: str, benchmark: str) -> pd.Series:
    return (1.0 + returns[ticker]) / (1.0 + returns[benchmark]) - 1.0


def summarise(relative: pd.DataFrame, phases: tuple[Episode, ...]) -> pd.DataFrame:
    """Per (phase key, ticker), over the episodes with a figure: ``median``, ``hits`` (> 0), ``lags`` (< 0),
    ``count``; phases in ``PHASE_TYPES`` order, tickers in column order.  A phase where a ticker has no figure
    has count 0 and a NaN median."""
    long = relative.assign(phase=[e.phase.key for e in phases]).melt(
        id_vars="phase", var_name="ticker", value_name="relative")
    long["hit"] = long["relative"] > 0
    long["lag"] = long["relative"] < 0
    summary = long.groupby(["phase", "ticker"]).agg(
        median=("relative", "median"), hits=("hit", "sum"), lags=("lag", "sum"), count=("relative", "count"))
    present = [p.key for p in PHASE_TYPES if any(e.phase == p for e in phases)]
    order = pd.MultiIndex.from_product([present, list(relative.columns)], names=["phase", "ticker"])
    return summary.reindex(order)


def most_consistent(summary: pd.DataFrame, side: str) -> tuple[str, str] | None:
    """The (phase key, ticker) whose episodes most often went one way, ``side`` being ``"hits"`` (beat the
    benchmark) or ``"lags"`` (trailed it), when that is a majority of its episodes; ties go to more episodes,
    then to the larger median gap.  ``None`` when no phase went one way in most episodes for any ticker."""
    counted = summary[summary["count"] > 0]
    # Ranked before the majority is picked: assigning Series to an empty frame would take their (non-majority) rows.
    ranked = counted.assign(share=counted[side] / counted["count"], gap=counted["median"].abs())
    majority = ranked[ranked["share"] > 0.5].sort_values(["share", "count", "gap"], ascending=False)
    return majority.index[0] if len(majority) else None
