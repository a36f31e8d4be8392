"""/tilt: how much to tilt. Moves 0, 10, 20... points from one holding into one or two others and shows what each
size did against the holding it came from (grammar in ``handlers.common.tilt_request``).

Every row is the /backtest of the same weights, traded the same way (``handlers.common.execution``), measured
against FROM held alone (paying the same trading costs): CAGR, volatility, max drawdown, excess return a year,
tracking error, information ratio, and the rolling 3-year windows (``analysis.rolling``): the share won, the worst
and the best.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from analysis.charts import ChartLabels
from analysis.compare import compare
from analysis.returns import spans_a_year, years_between
from analysis.rolling import rolling_excess, win_share
from analysis.tilt_chart import sweep_grid_chart, sweep_line_chart
from errors import BadRequest
from handlers.common.backtest_request import REBALANCE
from handlers.common.caller import Caller
from handlers.common.command import PERIOD, Command, Kind, Option
from handlers.common.execution import benchmark_value, execution_notes, net_of_fees, trading
from handlers.common.export import values_csv
from handlers.common.format import percent, ratio, years
from handlers.common.portfolios import Mix
from handlers.common.prices import named_window, prices_for_period, window_notes
from handlers.common.reply import Action, Cell, Chart, Reply, Table
from handlers.common.reply_cache import cached_reply
from handlers.common.risk_free import risk_free
from handlers.common.services import Services
from handlers.common.tilt_request import TiltRequest, parse_tilt
from handlers.compare import FOLLOW_UP_PERIODS

USAGE = ("/tilt FROM TO LOW-HIGH [TO LOW-HIGH] [step N] [PERIOD] [weekly|monthly|quarterly|yearly|none] "
         "[cost Nbp] [band N] [fees] [csv]   e.g. /tilt SPY IJR 0-40 · /tilt SPY IJR 0-30 SMH 0-20 step 10 10y")
ROLLING_YEARS = 3
# Annual tracking error below which a row is FROM itself (a portfolio of FROM alone: floating-point noise).
SAME_AS_SOURCE = 1e-10
COLUMNS = ("Portfolio", "CAGR", "Vol", "Max DD", "Excess/yr", "TE", "IR", "Won 3y", "Worst 3y", "Best 3y")


def handle(text: str, services: Services, caller: Caller) -> Reply:
    request = parse_tilt(text)
    return cached_reply(services, request.key, lambda: build(request, services))


def build(request: TiltRequest, services: Services) -> Reply:
    aligned, window = prices_for_period(services, request.tickers, request.period)
    if not spans_a_year(window.start, window.end):
        raise BadRequest(f"/tilt compares figures a year; {request.period.label} is under a year of data. "
                         "Give a period of a year or more, e.g. `5y`.")
    notes = window_notes(aligned, request.period, window)
    named = named_window(services, request.tickers, request.period, window)
    rate = risk_free(services, window)
    prices = aligned.prices.loc[window.start:window.end]
    traded, fee_notes = net_of_fees(services, prices, request.tickers, request.execution)
    # Each size is the /backtest portfolio of the same weights, simulated the same way.
    simulations = {request.label(cell): request.mix(cell).simulate(traded, request.rebalance, {},
                                                                   trading(request.execution))
                   for cell in request.cells}
    source = request.source
    values = pd.DataFrame({name: s.value for name, s in simulations.items()})
    values[source] = benchmark_value(prices, Mix(((source, 100.0),)), request.rebalance, request.execution)
    table = compare(values, source, rate.rate).table.drop(index=source)
    rolling = rolling_excess(values, source, ROLLING_YEARS)
    # A row that is FROM itself (size 0, no fees) differs from it by rounding noise only: no active figures.
    itself = table.index[table["tracking_error"] < SAME_AS_SOURCE]
    table.loc[itself, ["excess_return", "tracking_error"]] = 0.0
    table.loc[itself, "information_ratio"] = np.nan
    rolling = rolling.drop(columns=itself)
    rows = [_row(name, t, rolling.get(name), name in itself) for name, t in table.iterrows()]
    largest = request.label(request.cells[-1])
    period_words = f"{years(years_between(window.start, window.end))}, {_schedule(request)}"
    title = f"Tilting {source} into {' and '.join(d.ticker for d in request.destinations)} · {named.label}"
    execution = request.execution
    basis = ", ".join(["Adj Close: dividends reinvested",
                       f"costs {execution.cost_bp:g}bp" if execution.cost_bp else "no trading costs",
                       *(["expense ratios taken daily"] if execution.fees else [])])
    labels = ChartLabels(title=title, as_of=f"{window.end:%Y-%m-%d}", source=services.source_label(),
                         demo=services.market.is_demo, basis=basis)
    demo = " (demo data, not real prices)" if services.market.is_demo else ""
    return Reply(
        text=f"*How much to tilt {source} into {' and '.join(d.ticker for d in request.destinations)}*, "
             f"{named.label}, {_schedule(request)}, each size against {source}{demo}",
        table=Table.of(COLUMNS, rows),
        takeaway=takeaway(request, table),
        notes=(*notes, *fee_notes, *execution_notes({largest: simulations[largest]}, request.execution),
               _rolling_note(source, len(rolling), request)),
        footer=(f"{window.start:%Y-%m-%d} → {window.end:%Y-%m-%d} ({period_words}) · as of {window.end:%Y-%m-%d}"
                f" · source: {services.source_label()} · benchmark {source} · {rate.said}"),
        chart=Chart(png=_chart(request, table, rolling, labels, pd.DatetimeIndex([window.start, window.end])),
                    filename=f"tilt-{hashlib.sha1(request.key.encode()).hexdigest()[:10]}.png", title=title,
                    alt_text=f"Excess return and tracking error against {source} for each size of the tilt, "
                             f"{window.start:%Y-%m-%d} to {window.end:%Y-%m-%d}."),
        actions=tuple(Action(period, f"/tilt {request.spelled} {period}")
                      for period in FOLLOW_UP_PERIODS if period != request.period.label),
        attachment=values_csv(values, request.key, "tilt") if request.csv else None,
    )


def _row(name: str, t: pd.Series, rolling: pd.Series | None, itself: bool) -> tuple[Cell, ...]:
    if itself:
        return (name, (percent(t.cagr), t.cagr), (percent(t.volatility), t.volatility),
                (percent(t.max_drawdown, 0), t.max_drawdown), ("—", 0.0), ("—", 0.0), *(("—", None),) * 4)
    won = win_share(rolling.to_frame()).iloc[0] if rolling is not None and rolling.notna().any() else None
    worst, best = (rolling.min(), rolling.max()) if won is not None else (None, None)
    return (name, (percent(t.cagr), t.cagr), (percent(t.volatility), t.volatility),
            (percent(t.max_drawdown, 0), t.max_drawdown), (_signed(t.excess_return), t.excess_return),
            (percent(t.tracking_error), t.tracking_error),
            (ratio(_unsigned_zero(t.information_ratio, 2)), t.information_ratio),
            (percent(won, 0), won) if won is not None else ("—", None),
            (_signed(worst), worst) if worst is not None else ("—", None),
            (_signed(best), best) if best is not None else ("—", None))


def _signed(value: float) -> str:
    """``+1.2%``; a value that rounds to zero is ``+0.0%``, never ``-0.0%``."""
    return percent(_unsigned_zero(value * 100) / 100, signed=True)


def _unsigned_zero(points: float, digits: int = 1) -> float:
    """``points`` rounded to ``digits``, with -0.0 made 0.0 (so it prints without a minus)."""
    return round(points, digits) + 0.0


def takeaway(request: TiltRequest, table: pd.DataFrame) -> str:
    """The size with the best information ratio, and what each 10 points added to the excess return a year
    (differences of the rounded figures the table shows, so the words match it)."""
    source = request.source
    tilted = table["information_ratio"].dropna()
    if tilted.empty:
        return f"No size moved away from {source}, so there is nothing to compare."
    best = tilted.idxmax()
    row = table.loc[best]
    figures = (f"{best} ({ratio(_unsigned_zero(row.information_ratio, 2))}: {_unsigned_zero(row.excess_return * 100):+.1f} pts a year "
               f"of excess return for {row.tracking_error * 100:.1f} pts of tracking error)")
    if _unsigned_zero(row.information_ratio, 2) > 0:
        lead = f"Best information ratio: {figures}."
    else:
        lead = f"No size beat {source} over {request.period.label}; the least bad information ratio: {figures}."
    shown = (table["excess_return"] * 100).round(1)
    per_ten = 10.0 / request.step
    if len(request.destinations) == 1:
        steps = [f"{_unsigned_zero((b - a) * per_ten):+.1f}" for a, b in zip(shown.iloc[:-1], shown.iloc[1:])]
        ticker = request.destinations[0].ticker
        return f"{lead} Each 10 points into {ticker} added, in turn: {', '.join(steps)} pts of excess a year."
    grid = shown.to_numpy().reshape([len(d.sizes(request.step)) for d in request.destinations])
    slopes = [np.diff(grid, axis=axis).mean() * per_ten if grid.shape[axis] > 1 else np.nan for axis in (0, 1)]
    parts = [f"into {d.ticker} {_unsigned_zero(s):+.1f} pts" for d, s in zip(request.destinations, slopes)
             if np.isfinite(s)]
    return f"{lead} Each 10 points added, on average over the grid: {', '.join(parts)} of excess a year."


def _schedule(request: TiltRequest) -> str:
    return "bought and held" if request.rebalance == "none" else f"rebalanced {request.rebalance}"


def _rolling_note(source: str, windows: int, request: TiltRequest) -> str:
    if not windows:
        return f"Rolling {ROLLING_YEARS}-year windows need {ROLLING_YEARS} years of data: the last three columns are blank."
    return (f"Won {ROLLING_YEARS}y: share of the {windows:,} rolling {ROLLING_YEARS}-year windows (one ending each "
            f"trading day) in which the portfolio beat {source}; a tie is not a win. Worst and best {ROLLING_YEARS}y: "
            f"the excess a year of the worst and best window. Each portfolio holds {source} for the points not "
            f"moved; {source}'s own line pays the same trading costs (its opening purchase), not expense ratios, "
            f"so with fees its 0 row trails it.")


def _chart(request: TiltRequest, table: pd.DataFrame, rolling: pd.DataFrame, labels: ChartLabels,
           dates: pd.DatetimeIndex) -> bytes:
    names = list(table.index)
    if len(request.destinations) == 1:
        destination = request.destinations[0]
        sizes = [f"{s:g}" for s in destination.sizes(request.step)]
        # FROM itself never differs from FROM: its spread is the line at 0.
        spreads = [rolling[name].dropna().to_numpy() if name in rolling else np.zeros(1 if len(rolling) else 0)
                   for name in names]
        return sweep_line_chart(sizes, table["excess_return"].to_numpy(), table["tracking_error"].to_numpy(),
                                spreads, f"Points in {destination.ticker}", labels, dates)
    first, second = request.destinations
    shape = (len(first.sizes(request.step)), len(second.sizes(request.step)))
    return sweep_grid_chart([f"{s:g}" for s in first.sizes(request.step)],
                            [f"{s:g}" for s in second.sizes(request.step)],
                            table["excess_return"].to_numpy().reshape(shape),
                            table["information_ratio"].to_numpy().reshape(shape),
                            f"Points in {first.ticker}", f"Points in {second.ticker}", labels, dates)


COMMAND = Command(
    name="tilt",
    summary="How much to tilt: each size from 0 to N points into another holding, against the one it left",
    usage=USAGE,
    examples=("/tilt SPY IJR 0-40", "/tilt SPY IJR 0-30 SMH 0-20 step 10 10y", "/tilt SPY SMH 0-30 step 5 monthly"),
    guide=("Moves points from FROM into one or two holdings, every step of the range (default 10), and shows for each "
           "size CAGR, volatility, max drawdown, excess return a year, tracking error and information ratio against "
           "FROM, with the share of rolling 3-year windows won and the worst and best of them. Every row is the "
           "/backtest of the same weights. `cost 10bp`, `band 5`, `fees` and the schedule work as in /backtest. "
           "On Slack, `/tilt compare SMH` still runs /compare: a first word that names a command runs it."),
    handle=handle,
    options=(
        Option("sweep", Kind.TEXT, "FROM, then each destination and its range: SPY IJR 0-40 or SPY IJR 0-30 SMH 0-20",
               required=True),
        Option("step", Kind.INTEGER, "Points between sizes (default: 10)", prefix="step"),
        PERIOD,
        REBALANCE,
    ),
)
