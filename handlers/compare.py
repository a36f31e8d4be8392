"""/compare: returns, risk and relative performance of tickers against a benchmark."""

from __future__ import annotations

from analysis.charts import ChartLabels, compare_chart
from analysis.compare import Comparison, compare
from analysis.returns import years_between
from handlers.common.caller import Caller
from handlers.common.command import BENCHMARK, PERIOD, TICKERS, Command
from handlers.common.format import percent, ratio, years
from handlers.common.odds import odds_table
from handlers.common.parse import CompareRequest, parse_compare
from handlers.common.plots import bars, growth_plot
from handlers.common.prices import named_window, prices_for_period, window_notes
from handlers.common.reply import Action, Chart, Plot, Reply, Table
from handlers.common.reply_cache import cached_reply
from handlers.common.risk_free import risk_free
from handlers.common.services import Services
from handlers.common.takeaway import compare_takeaway

USAGE = "/compare TICKER [TICKER ...] [vs BENCH] [PERIOD]"

# The periods offered as one-click follow-ups under a result.
FOLLOW_UP_PERIODS = ("1y", "5y", "10y", "max")

COLUMNS = ("Ticker", "Total", "CAGR", "Vol", "Max DD", "Sharpe", "Beta", "Corr", "Excess/yr")
# Under a year nothing is annualised: no CAGR, and the excess is the gap in total return.
SHORT_COLUMNS = ("Ticker", "Total", "Vol", "Max DD", "Sharpe", "Beta", "Corr", "Excess")


def handle(text: str, services: Services, caller: Caller) -> Reply:
    request = parse_compare(text)
    return cached_reply(services, request.key, lambda: build(request, services))


def build(request: CompareRequest, services: Services) -> Reply:
    symbols = request.symbols
    aligned, window = prices_for_period(services, symbols.all, request.period)
    prices = aligned.prices.loc[window.start:window.end]
    named = named_window(services, symbols.all, request.period, window)
    rate = risk_free(services, window)
    comparison = compare(prices, symbols.benchmark, rate.rate)
    source = services.source_label()
    names = " ".join(symbols.tickers)
    labels = ChartLabels(
        title=f"{names} vs {symbols.benchmark} · {named.label}",
        as_of=f"{window.end:%Y-%m-%d}", source=source, demo=services.market.is_demo,
    )
    return Reply(
        text=f"*{names} vs {symbols.benchmark}*, {named.label}, total return with dividends reinvested"
        + (" (demo data, not real prices)" if services.market.is_demo else ""),
        table=metrics_table(comparison),
        takeaway=compare_takeaway(comparison, named.phrase),
        more_tables=odds_table(prices, symbols.benchmark),
        notes=tuple(window_notes(aligned, request.period, window)),
        footer=(f"{window.start:%Y-%m-%d} → {window.end:%Y-%m-%d} ({years(years_between(window.start, window.end))})"
                f" · as of {window.end:%Y-%m-%d} · source: {source} · {rate.said}"),
        chart=Chart(
            png=compare_chart(prices, symbols.benchmark, labels),
            filename=f"compare-{'-'.join(symbols.all)}-{request.period.label.replace(' ', '-')}.png".replace("^", ""),
            title=labels.title,
            alt_text=f"Growth of $10,000, drawdowns and relative strength of {names} against {symbols.benchmark} "
                     f"from {window.start:%Y-%m-%d} to {window.end:%Y-%m-%d}.",
        ),
        actions=tuple(Action(period, f"/compare {names} vs {symbols.benchmark} {period}")
                      for period in FOLLOW_UP_PERIODS if period != request.period.label),
        plots=(growth_plot(prices[[*symbols.tickers[:5], symbols.benchmark]], f"Growth of $10,000 · {named.label}"),
               *return_and_risk_bars(comparison)),
    )


def return_and_risk_bars(comparison: Comparison) -> tuple[Plot, ...]:
    """CAGR and volatility per ticker; under a year total return instead of CAGR, as the table shows."""
    name, returns = ("CAGR", comparison.table.cagr) if comparison.annualised else \
        ("Total return", comparison.table.total_return)
    return bars(f"{name} and volatility", list(comparison.table.index),
                {name: returns, "Volatility": comparison.table.volatility}, y_label="%", scale=100)


def metrics_table(comparison: Comparison) -> Table:
    """The figures people scan first, one row per ticker, benchmark last; CAGR and excess a year only over a
    window of a year or more, total return and its gap to the benchmark over a shorter one."""
    table = comparison.table
    long = comparison.annualised
    excess = table["excess_return"] if long else comparison.excess_total()
    rows = tuple(
        (ticker,
         (percent(row.total_return, 0 if long else 1), row.total_return),
         *(((percent(row.cagr), row.cagr),) if long else ()),
         (percent(row.volatility), row.volatility), (percent(row.max_drawdown, 0), row.max_drawdown),
         (ratio(row.sharpe), row.sharpe), (ratio(row.beta), row.beta), (ratio(row.correlation), row.correlation),
         ("—", None) if ticker == comparison.benchmark else (percent(excess[ticker], signed=True), excess[ticker]))
        for ticker, row in table.iterrows()
    )
    return Table.of(COLUMNS if long else SHORT_COLUMNS, rows)


COMMAND = Command(
    name="compare",
    summary="Returns, risk and drawdowns of ETFs or stocks against a benchmark, with a chart",
    usage=USAGE,
    examples=("/compare SMH SPY 10y", "/compare IJR IWM vs SPY since 2020", "/compare QQQ ytd"),
    guide=(
        'Total return (dividends reinvested), CAGR, volatility, max drawdown, Sharpe, beta, '
        'correlation and excess return per year against a benchmark, with a chart. Under a year '
        'nothing is annualised: total return and its gap to the benchmark, no CAGR.\n'
        'The benchmark is the ticker after `vs`; else SPY if you list it; else the last ticker; a '
        'lone ticker is compared with SPY. Up to 8 tickers.\n'
        'Periods: 1w 2w mtd 1m qtd 3m 6m ytd 1y 3y 5y 10y max (any 1-52w, 1-24m or 1-50y; `18 months`, '
        '`5 years`), a year such as `2022`, `since 2020`, `from 2020-03-23`, `2015-01-01..2025-09-30`, '
        '`from 2020-01-01 to 2022-12-31`. Default 10y. Tickers: `$SPY` and `BRK.B` work too.'
    ),
    handle=handle,
    options=(
        TICKERS,
        BENCHMARK,
        PERIOD,
    ),
    shortcuts=tuple(Action(text.removeprefix("/compare "), text)
                    for text in ("/compare SMH vs SPY 10y", "/compare IWM vs SPY 5y", "/compare QQQ vs SPY 3y")),
)
