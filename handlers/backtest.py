"""/backtest: what a tilt away from the benchmark would have done (grammar in ``handlers.common.backtest_request``).

Fixed-weight portfolios drift between rebalances on a schedule; tactical ones
switch legs on the close after their signal changes (``analysis.backtest``).
The reply: one row of figures per portfolio against the benchmark, calendar-year
returns, each holding's contribution, and the chart (growth of $10,000 on a log
scale, drawdowns, rolling 3-year CAGR).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

from analysis.backtest import Simulation, annual_turnover
from analysis.charts import ChartLabels
from analysis.compare import Comparison, compare
from analysis.drawdown import MaxDrawdown
from analysis.monthly_chart import backtest_monthly_chart
from analysis.returns import calendar_year_returns, years_between
from analysis.rules import Rule, evaluate
from analysis.tearsheet import monthly_returns
from analysis.windows import Window
from errors import DataUnavailable
from handlers.common.backtest_request import REBALANCE, STARTING_AMOUNT, BacktestRequest, parse_backtest, with_signals
from handlers.common.caller import Caller
from handlers.common.command import BENCHMARK, PERIOD, Command, Kind, Option
from handlers.common.execution import benchmark_value, execution_notes, net_of_fees, trading
from handlers.common.export import values_csv
from handlers.common.format import money, percent, points, ratio, years
from handlers.common.odds import odds_table, tearsheet_tables
from handlers.common.plots import MAX_BARS, bars, growth_plot
from handlers.common.portfolios import Mix, Portfolio
from handlers.common.prices import named_window, prices_for_period, window_notes
from handlers.common.reply import Action, Cell, Chart, Plot, Reply, Table
from handlers.common.reply_cache import cached_reply
from handlers.common.risk_free import risk_free
from handlers.common.services import Services
from handlers.common.takeaway import compare_takeaway
from handlers.common.team_signals import find, history
from handlers.compare import FOLLOW_UP_PERIODS

USAGE = ("/backtest TICKER WEIGHT ... [; TICKER WEIGHT ...] [weekly|monthly|quarterly|yearly|none] [PERIOD] "
         "[vs BENCH | vs TICKER WEIGHT ...] [cost Nbp] [band N] [fees] [add N monthly|quarterly|yearly] [csv]"
         " · /backtest tactical SIGNAL [hold X else Y]")


@dataclass(frozen=True)
class Result:
    """One portfolio's backtest and the name it goes by in tables and on the chart."""

    name: str
    portfolio: Portfolio
    simulation: Simulation


def handle(text: str, services: Services, caller: Caller) -> Reply:
    request = with_signals(parse_backtest(text), lambda name: find(services, caller.owner, name).rule)
    return cached_reply(services, request.key, lambda: build(request, services))


def build(request: BacktestRequest, services: Services) -> Reply:
    aligned, window = prices_for_period(services, request.tickers, request.period)
    notes = window_notes(aligned, request.period, window)
    rules = {name: rule for p in request.portfolios for name, rule in p.rules.items()}
    readings = {name: signal_history(services, rule) for name, rule in sorted(rules.items())}
    window, late = _start_when_signals_known(window, aligned.prices.index, readings)
    if late:
        notes.append(f"The {late} signal has its first reading on {readings[late].index[0]:%Y-%m-%d}, "
                     f"so the backtest starts {window.start:%Y-%m-%d}.")
    prices = aligned.prices.loc[window.start:window.end]
    held = [t for p in request.portfolios for t in p.tickers if t in prices]
    traded, fee_notes = net_of_fees(services, prices, list(dict.fromkeys(held)), request.execution)
    results = [Result(name, p, p.simulate(traded, request.rebalance, readings, trading(request.execution)))
               for name, p in zip(_names(request.portfolios), request.portfolios)]
    values = pd.DataFrame({r.name: r.simulation.value for r in results})
    if request.benchmark not in values:
        values[request.benchmark] = benchmark_value(prices, request.blend or Mix(((request.benchmark, 100.0),)),
                                                    request.rebalance, request.execution)
    notes += fee_notes + execution_notes({r.name: r.simulation for r in results}, request.execution)
    rate = risk_free(services, window)
    comparison = compare(values, request.benchmark, rate.rate)
    source = services.source_label()
    named = named_window(services, request.tickers, request.period, window)
    title = f"Backtest vs {request.benchmark} · {named.label}"
    demo = " (demo data, not real prices)" if services.market.is_demo else ""
    return Reply(
        text=f"*Backtest vs {request.benchmark}*, {named.label}, {_schedule(request)}, "
             f"total return with dividends reinvested{demo}",
        table=metrics_table(comparison, results),
        takeaway=compare_takeaway(comparison, named.phrase),
        more_tables=(calendar_table(values), contribution_table(results), *odds_table(values, request.benchmark),
                     *tearsheet_tables(values, request.benchmark)),
        plots=(growth_plot(values, f"Growth of $10,000 · {named.label}"), *calendar_bars(values)),
        # Window notes first: a shortened window matters more than anything below it (Slack shows 10 notes).
        notes=(*notes, *_descriptions(results), _drawdown_dates(comparison)),
        footer=(f"{window.start:%Y-%m-%d} → {window.end:%Y-%m-%d} ({years(years_between(window.start, window.end))})"
                f" · as of {window.end:%Y-%m-%d} · source: {source} · {_frictions(request)} · {rate.said}"),
        chart=Chart(
            png=backtest_monthly_chart(values, request.benchmark,
                                       ChartLabels(title=title, as_of=f"{window.end:%Y-%m-%d}", source=source,
                                                   demo=services.market.is_demo,
                                                   basis=f"Adj Close: dividends reinvested, {_frictions(request)}"),
                                       monthly_returns(values[results[0].name]),
                                       f"{results[0].name} monthly returns (%)"),
            # Named after the question, so two backtests saved side by side (the console keeps charts) never collide.
            filename=f"backtest-{hashlib.sha1(request.key.encode()).hexdigest()[:10]}.png",
            title=title,
            alt_text=f"Growth of $10,000, drawdowns and rolling returns of {', '.join(r.name for r in results)} "
                     f"against {request.benchmark} from {window.start:%Y-%m-%d} to {window.end:%Y-%m-%d}, "
                     f"and a heatmap of {results[0].name}'s monthly returns.",
        ),
        actions=tuple(Action(period, f"/backtest {request.spelled} {period}")
                      for period in FOLLOW_UP_PERIODS if period != request.period.label),
        attachment=values_csv(values, request.key, "backtest") if request.csv else None,
    )


def signal_history(services: Services, rule: Rule) -> pd.Series:
    """A signal's rule on every close it has a reading (1.0 true, 0.0 false), over all the history the data has
    (a drawdown's peak may be years back); each close's reading uses closes up to it only."""
    return evaluate(rule, history(services, list(rule.tickers))).state.astype("float64")


def _start_when_signals_known(window: Window, dates: pd.DatetimeIndex,
                              readings: dict[str, pd.Series]) -> tuple[Window, str]:
    """The window, moved later if a signal is not known on the session before it starts; and that signal's name."""
    late = ""
    start = window.start
    for name, reading in readings.items():
        known = reading.dropna().index
        if known.empty:
            raise DataUnavailable(f"There is not enough history to read the {name} signal in that window.")
        # The first day held is decided on the session before it: start on the first date after a known reading.
        first = dates[dates > known[0]]
        if first.empty or first[0] >= window.end:
            raise DataUnavailable(f"There is not enough history to read the {name} signal in that window.")
        if first[0] > start:
            start, late = first[0], name
    return Window(start=start, end=window.end, truncated=window.truncated or bool(late)), late


def _names(portfolios: tuple[Portfolio, ...]) -> list[str]:
    """Each portfolio's name, made unique: weights that differ beyond the decimal shown get a number."""
    names = [p.name() for p in portfolios]
    return [f"{n} ({names[:i].count(n) + 1})" if names.count(n) > 1 else n for i, n in enumerate(names)]


def _frictions(request: BacktestRequest) -> str:
    execution = request.execution
    words = ([f"costs {execution.cost_bp:g}bp"] if execution.cost_bp else ["no trading costs"]) \
        + (["expense ratios taken daily"] if execution.fees else []) + ["no taxes"]
    return ", ".join(words)


def _schedule(request: BacktestRequest) -> str:
    """How the portfolios trade: the fixed mixes' rebalancing, the tactical ones' switching, or neither."""
    ways = []
    if any(p.rebalanced for p in request.portfolios):
        ways.append("bought and held" if request.rebalance == "none" else f"rebalanced {request.rebalance}")
    if any(p.rules for p in request.portfolios):
        ways.append("tactical ones switching on their signal")
    return ", ".join(ways) or "one holding each, no rebalancing needed"


METRIC_COLUMNS = ("Portfolio", "Total", "CAGR", "Vol", "Max DD", "Sharpe", "Sortino", "Beta", "Corr", "Excess/yr",
                  "Turnover/yr")
# Under a year: no CAGR, and the excess and turnover are over the window, not a year.
SHORT_COLUMNS = ("Portfolio", "Total", "Vol", "Max DD", "Sharpe", "Sortino", "Beta", "Corr", "Excess", "Turnover")


def metrics_table(comparison: Comparison, results: list[Result]) -> Table:
    """One row per portfolio, the benchmark last; a window under a year shows total returns only (no CAGR)."""
    long = comparison.annualised
    turnover = {r.name: (annual_turnover(r.simulation) if long else float(r.simulation.turnover.sum()))
                for r in results if r.name != comparison.benchmark}
    excess = comparison.table["excess_return"] if long else comparison.excess_total()
    rows = [
        (name,
         (percent(row.total_return, 0 if long else 1), row.total_return),
         *(((percent(row.cagr), row.cagr),) if long else ()),
         (percent(row.volatility), row.volatility), (percent(row.max_drawdown, 0), row.max_drawdown),
         (ratio(row.sharpe), row.sharpe), (ratio(row.sortino), row.sortino),
         (ratio(row.beta), row.beta), (ratio(row.correlation), row.correlation),
         ("—", None) if name == comparison.benchmark else (percent(excess[name], signed=True), excess[name]),
         (percent(turnover[name], 0), turnover[name]) if name in turnover else ("—", None))
        for name, row in comparison.table.iterrows()
    ]
    return Table.of(METRIC_COLUMNS if long else SHORT_COLUMNS, rows)


def calendar_table(values: pd.DataFrame) -> Table:
    """Each calendar year's return per portfolio; a year the window covers only in part is starred.

    The first year runs from the window's first close, so it is always partial
    (and left out when that close is its year's last date in the window: a year
    of no returns); the last year is whole when the window ends in the last
    days of December, where every year's last trading day falls.
    """
    yearly = calendar_year_returns(values)
    first, last = values.index[0], values.index[-1]
    if (values.index.year == first.year).sum() == 1:
        yearly = yearly.drop(index=first.year)
    partial = {first.year, *([] if (last.month, last.day) >= (12, 28) else [last.year])}
    rows = [(f"{year}*" if year in partial else str(year), *((percent(v), v) for v in yearly.loc[year]))
            for year in yearly.index]
    return Table.of(("Year", *values.columns), rows, title="Calendar-year returns (* part of the year)")


def calendar_bars(values: pd.DataFrame) -> tuple[Plot, ...]:
    """Calendar-year returns as grouped bars, the latest ``MAX_BARS`` years."""
    yearly = calendar_year_returns(values).iloc[-MAX_BARS:]
    return bars("Calendar-year returns", [str(year) for year in yearly.index],
                {name: yearly[name].to_numpy() for name in yearly.columns}, y_label="%", scale=100)


def contribution_table(results: list[Result]) -> Table:
    """Each holding's share of each portfolio's profit, and trading costs when any were paid: in percentage points
    of the starting value, or in dollars of the $10,000 start when money was added (points of a start that is
    later outgrown by contributions mean little); blank where a portfolio never held the ticker."""
    contributions = pd.DataFrame({r.name: r.simulation.contribution for r in results})
    costs = pd.Series({r.name: r.simulation.costs.sum() for r in results})
    if costs.any():
        contributions.loc["Trading costs"] = -costs
    in_dollars = any(not r.simulation.flows.empty for r in results)

    def cell(value: float, digits: int = 1) -> Cell:
        if pd.isna(value):
            return "", None
        if not in_dollars:
            return points(value, digits), value
        dollars = value * STARTING_AMOUNT
        return ("-" if dollars < 0 else "") + money(abs(dollars)), dollars

    # Costs are small: two decimals, so 10bp a year shows as more than nothing.
    rows = [(holding, *(cell(v, 2 if holding == "Trading costs" else 1) for v in contributions.loc[holding]))
            for holding in contributions.index]
    total = ("Total", *(cell(v) for v in contributions.sum()))
    title = ("Profit by holding ($, money added excluded)" if in_dollars
             else "Contribution to total return (percentage points)")
    return Table.of(("Holding", *contributions.columns), [*rows, total], title=title)


def _descriptions(results: list[Result]) -> list[str]:
    """Each tactical portfolio's rule, trades and time in each leg (a mix's name says what it holds)."""
    return [note for r in results if (note := r.portfolio.describe(r.name, r.simulation))]


def _drawdown_dates(comparison: Comparison) -> str:
    """Every maximum drawdown's depth, peak, trough and recovery, in one line."""
    def one(name: str, drawdown: MaxDrawdown) -> str:
        recovered = f"recovered {drawdown.recovery:%Y-%m-%d}" if drawdown.recovery is not None else "not recovered"
        return (f"{name} {percent(drawdown.depth)} {drawdown.peak:%Y-%m-%d} → {drawdown.trough:%Y-%m-%d}, "
                f"{recovered}")

    return "Max drawdowns (peak → trough): " + "; ".join(one(n, d) for n, d in comparison.drawdowns.items())


COMMAND = Command(
    name="backtest",
    summary="What a tilt away from SPY would have done: weights, rebalancing or a tactical rule",
    usage=USAGE,
    examples=(
        "/backtest SPY 70 IJR 20 SMH 10 quarterly 10y",
        "/backtest SPY 100 ; SPY 60 IWM 20 SOXX 20 monthly 5y",
        "/backtest tactical smallcaps IJR since 2010",
    ),
    guide=(
        'What a portfolio would have done against a benchmark (SPY unless `vs`): total return, CAGR, '
        'volatility, max drawdown with its dates, Sharpe, Sortino, beta, correlation, excess return '
        "and turnover; calendar-year returns; each holding's contribution; a chart of growth of "
        '$10,000, drawdowns and rolling 3-year CAGR.\n'
        'Weights in percent adding up to 100 (`SPY 70 IJR 30` or `SPY:70 IJR:30`), up to 10 holdings;'
        ' up to 4 portfolios side by side, separated by `;`. Weights drift between rebalances on the '
        'last trading day of each month, quarter (the default) or year, or never (`none`). `tactical '
        'smallcaps` holds IWM (or IJR) while the /signal smallcaps rule says small caps lead, else '
        'SPY; `tactical semis` the same with SMH; `tactical NAME [hold X else Y]` trades any of the '
        "workspace's own signals (a ratio A/B holds A, else B). A signal seen on a close is traded on "
        'the next close. Any /compare period, or `from 2020-03-23`, `2015-10-30 to 2025-10-31`. Default 10y. '
        'No fees or taxes.'
    ),
    handle=handle,
    options=(
        Option("portfolios", Kind.TEXT, "e.g. SPY 70 IJR 20 SMH 10 ; SPY 100 (up to 4, split by ;) or tactical smallcaps",
               required=True),
        REBALANCE,
        PERIOD,
        BENCHMARK,
    ),
    shortcuts=(
        Action("SPY 70 · IJR 20 · SMH 10", "/backtest SPY 100 ; SPY 70 IJR 20 SMH 10 quarterly 10y"),
        Action("Tactical small caps", "/backtest tactical smallcaps 10y"),
        Action("Tactical semis", "/backtest tactical semis 10y"),
    ),
)
