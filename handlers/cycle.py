"""/cycle: how tickers did against a benchmark in each phase of the business and rate cycle.

    /cycle TICKER [TICKER ...] [vs BENCH]        e.g. /cycle IWM IJR vs SPY · /cycle SMH SOXX

The phases and their figures are ``analysis.cycle``'s; the dated events behind them (with the NBER and FOMC
announcements they cite) are ``analysis.cycle_phases``.  The benchmark is SPY unless named.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd

from analysis.charts import ChartLabels
from analysis.cycle import (
    PHASE_TYPES,
    CycleFigures,
    Episode,
    PhaseType,
    cycle_figures,
    episodes,
    most_consistent,
    window_returns,
)
from analysis.cycle_chart import cycle_chart
from analysis.cycle_phases import EVENTS
from analysis.windows import LOOKBACK_MARGIN
from errors import BadRequest
from handlers.common.caller import Caller
from handlers.common.command import BENCHMARK, TICKERS, Command
from handlers.common.format import percent
from handlers.common.parse import CycleRequest, TickerSet, parse_cycle
from handlers.common.plots import bars
from handlers.common.prices import adj_closes, bars_to_last_close
from handlers.common.reply import Action, Chart, Reply, Table
from handlers.common.reply_cache import cached_reply
from handlers.common.services import Services

USAGE = "/cycle TICKER [TICKER ...] [vs BENCH]"
PHASES = episodes(EVENTS)
FIRST_DAY = min(e.first_day for e in PHASES)
LAST_DAY = max(e.last_day for e in PHASES)
# The phase table's fingerprint joins the cache key: after a reviewed change to the table, replies built on
# the old one are not served.
TABLE_VERSION = hashlib.sha256(repr(EVENTS).encode()).hexdigest()[:12]
METHOD_NOTE = ("Relative return per episode: (1 + r) / (1 + r_{bench}) - 1, total returns with dividends "
               "reinvested. A window opens at the last close before the phase's first day and ends at the last close "
               "on or before its last day. '(2 of 3)': the ticker beat {bench} in 2 of the 3 "
               "episodes with a figure, its hit rate. Past phases only: no forecast.")
PHASES_NOTE = ("Recession: NBER peak month to trough month. Early recovery: the 12 months after the trough month. "
               "Late expansion: the 12 months before the peak month. Rate cuts and hikes: from the day of the FOMC "
               "statement announcing a cycle's first move, for 6 or 12 months.")


def handle(text: str, services: Services, caller: Caller) -> Reply:
    request = parse_cycle(text)
    return cached_reply(services, f"{request.key}|{TABLE_VERSION}", lambda: build(request, services))


def build(request: CycleRequest, services: Services) -> Reply:
    symbols = request.symbols
    prices = cycle_prices(services, symbols.all)
    figures = cycle_figures(prices, symbols.benchmark, PHASES)
    refuse_tickers_without_phases(figures, prices)
    as_of = prices[symbols.benchmark].last_valid_index()
    names = " ".join(symbols.tickers)
    source = services.source_label()
    labels = ChartLabels(title=f"{names} vs {symbols.benchmark} through the cycle", as_of=f"{as_of:%Y-%m-%d}",
                         source=source, demo=services.market.is_demo)
    phases = [p for p in PHASE_TYPES if any(e.phase == p for e in PHASES)]
    medians = figures.summary["median"].unstack("ticker")
    return Reply(
        text=f"*{names} vs {symbols.benchmark} through the cycle*: median return relative to {symbols.benchmark} "
             f"in each phase type, and in how many of its episodes each beat {symbols.benchmark}"
             + (" (demo data, not real prices)" if services.market.is_demo else ""),
        table=summary_table(figures),
        takeaway=takeaway(figures),
        more_tables=(episode_table(figures),),
        # Gaps first: where a platform cuts a long reply (Discord with many tickers), it cuts the definitions.
        notes=(*missing_notes(figures, prices, as_of), METHOD_NOTE.format(bench=symbols.benchmark), sources_note(),
               PHASES_NOTE),
        footer=f"phases {FIRST_DAY} → {LAST_DAY} · as of {as_of:%Y-%m-%d} · source: {source}",
        chart=Chart(
            png=cycle_chart(figures, labels),
            filename=f"cycle-{'-'.join(symbols.all)}.png".replace("^", ""),
            title=labels.title,
            alt_text=f"Bars: median return of {names} relative to {symbols.benchmark} in late expansions, "
                     f"recessions, early recoveries, the first 6 and 12 months of rate cuts and the first 12 months "
                     f"of hikes; dots: each episode, from {FIRST_DAY} to {LAST_DAY}.",
        ),
        actions=drill_downs(symbols),
        plots=bars(f"Median vs {symbols.benchmark} by phase", [p.label for p in phases],
                   {t: medians.loc[[p.key for p in phases], t] for t in symbols.tickers}, y_label="%", scale=100),
    )


def cycle_prices(services: Services, tickers: list[str]) -> pd.DataFrame:
    """Adj Close of ``tickers`` from before the first phase to the last close the data has, on the dates any of
    them traded (NaN for the others); ``UnknownTicker`` for a ticker the source does not know."""
    def span(day: dt.date) -> tuple[dt.date, dt.date]:
        return FIRST_DAY - LOOKBACK_MARGIN, day

    return adj_closes(bars_to_last_close(services, tickers, span, common=False), tickers, common=False)


def refuse_tickers_without_phases(figures: CycleFigures, prices: pd.DataFrame) -> None:
    """``BadRequest`` naming the benchmark, or the tickers, with prices in no phase at all."""
    counts = figures.summary["count"].groupby(level="ticker").sum()
    bench = figures.benchmark
    empty = [bench] if figures.benchmark_return.isna().all() else [t for t in counts.index if counts[t] == 0]
    if not empty:
        return
    spans = "; ".join(f"{t} {history(prices[t])}" for t in empty)
    role = "the benchmark " if empty == [bench] else ""
    raise BadRequest(f"No phase can be measured for {role}{', '.join(empty)} ({spans}): the phases run "
                     f"{FIRST_DAY} to {LAST_DAY}, and a phase needs a close before it begins and prices through its end. "
                     "Pick a ticker with a longer history.")


def history(closes: pd.Series) -> str:
    """Where a ticker's prices run, in words."""
    known = closes.dropna()
    if known.empty:
        return "has no prices"
    return f"has prices from {known.index[0]:%Y-%m-%d} to {known.index[-1]:%Y-%m-%d}"


def summary_table(figures: CycleFigures) -> Table:
    """One row per phase type, one column per ticker: the median relative return, then in how many of the
    episodes with a figure the ticker beat the benchmark ("+6.6% (3 of 3)"); the number behind it the median."""
    tickers = list(figures.relative.columns)
    summary = figures.summary
    cells = {key: (percent(row.median, signed=True) + (f" ({row.hits:.0f} of {row.count:.0f})" if row.count else ""),
                   row.median)
             for key, row in zip(summary.index, summary.itertuples(index=False))}
    phases = [p for p in PHASE_TYPES if (p.key, tickers[0]) in cells]
    return Table.of(("Phase", *tickers), ((p.label, *(cells[(p.key, t)] for t in tickers)) for p in phases))


def episode_table(figures: CycleFigures) -> Table:
    """Every episode with its dates, each ticker's relative return and the benchmark's own total return."""
    bench = figures.benchmark
    tickers = list(figures.relative.columns)
    rows = (
        (episode.phase.label, f"{episode.first_day}", f"{episode.last_day}",
         *((percent(value, signed=True), value) for value in (*relative, bench_return)))
        for episode, relative, bench_return in zip(figures.episodes, figures.relative[tickers].to_numpy(),
                                                   figures.benchmark_return.to_numpy())
    )
    return Table.of(("Phase", "From", "To", *tickers, f"{bench} total"), rows,
                    title=f"Every episode: return relative to {bench}, and {bench}'s own total return")


def takeaway(figures: CycleFigures) -> str:
    """The phase type where a ticker most consistently beat the benchmark, and where one most consistently
    lagged it, each only when that was most of its episodes; with the counts and medians the table shows."""
    summary, bench = figures.summary, figures.benchmark
    plurals = {p.key: p.plural for p in PHASE_TYPES}
    best, worst = most_consistent(summary, "hits"), most_consistent(summary, "lags")
    if best is None and worst is None:
        return f"No ticker beat or lagged {bench} in most episodes of any phase type."
    parts = []
    if best is not None:
        row = summary.loc[best]
        parts.append(f"{best[1]} beat {bench} in {row.hits:.0f} of {row['count']:.0f} {plurals[best[0]]} "
                     f"(median {percent(row['median'], signed=True)})")
    if worst is not None:
        row = summary.loc[worst]
        counted = (f"in {row.lags:.0f} of {row['count']:.0f} {plurals[worst[0]]} "
                   f"(median {percent(row['median'], signed=True)})")
        if best is None:
            parts.append(f"{worst[1]} lagged {bench} {counted}")
        elif worst[1] == best[1]:
            parts.append(f"and lagged {counted}")
        else:
            parts.append(f"while {worst[1]} lagged it {counted}")
    return ", ".join(parts) + "."


def sources_note() -> str:
    """The dated events the phases come from, by announcing body (each row's citation is in the phase table)."""
    def dates(kind: str) -> str:
        return ", ".join(sorted(e.date for e in EVENTS if e.kind == kind))

    return (f"Dates: NBER Business Cycle Dating Committee announcements (peaks {dates('peak')}; troughs "
            f"{dates('trough')}) and FOMC statements (first cuts {dates('first_cut')}; first hikes "
            f"{dates('first_hike')}).")


def missing_notes(figures: CycleFigures, prices: pd.DataFrame, as_of: pd.Timestamp) -> list[str]:
    """Why figures are n/a: phases not over at the last close, and series whose prices do not cover a phase."""
    unfinished = [e for e in figures.episodes if pd.Timestamp(e.last_day) > as_of]
    notes = [f"Not over at the last close ({as_of:%Y-%m-%d}), so n/a and left out: "
             + "; ".join(f"{e.phase.label} {e.first_day} to {e.last_day}" for e in unfinished)] if unfinished else []
    short = []
    for ticker in [*figures.relative.columns, figures.benchmark]:
        count = int(window_returns(prices[[ticker]].dropna(), figures.episodes)[ticker].isna().sum()) - len(unfinished)
        if count > 0:
            whom = ", for every ticker" if ticker == figures.benchmark else ""
            short.append(f"{ticker} {history(prices[ticker])}: n/a in {count} episode{'s' if count > 1 else ''}{whom}")
    if short:
        notes.append("Prices that do not cover a phase make it n/a, left out of the median and the count: "
                     + "; ".join(short) + ".")
    return notes


def drill_downs(symbols: TickerSet) -> tuple[Action, ...]:
    """/compare over the latest episode of each phase type, for a closer look at one."""
    latest: dict[PhaseType, Episode] = {e.phase: e for e in PHASES}
    names = " ".join(symbols.tickers)
    return tuple(Action(f"{phase.label} {episode.first_day.year}",
                        f"/compare {names} vs {symbols.benchmark} {episode.first_day}..{episode.last_day}")
                 for phase, episode in latest.items())


COMMAND = Command(
    name="cycle",
    summary="How tickers did vs a benchmark in recessions, recoveries, late expansions, rate cuts and hikes",
    usage=USAGE,
    examples=("/cycle IWM IJR vs SPY", "/cycle SMH SOXX", "/cycle XSD"),
    guide=("Each ticker's return relative to the benchmark, (1 + r) / (1 + r_bench) - 1, in every dated phase of "
           "the business and rate cycle: late expansions (the 12 months before an NBER peak month), recessions (NBER "
           "peak month to trough month), early recoveries (the 12 months after the trough month), the first 6 and 12 "
           "months from the Fed's first cut of a cycle, and the first 12 months from its first hike. Per phase type: "
           "the median and in how many episodes the ticker beat the benchmark, over the episodes with prices (n/a "
           "otherwise); every episode in a second table; a chart. The benchmark is SPY unless you add `vs`. Up to 8 "
           "tickers besides the benchmark."),
    handle=handle,
    options=(TICKERS, BENCHMARK),
    shortcuts=(Action("IWM IJR vs SPY through the cycle", "/cycle IWM IJR vs SPY"),),
)
