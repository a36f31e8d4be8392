"""/valuation: P/E side by side and each ticker's discount or premium to the benchmark."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from analysis.valuation import valuation_gaps
from handlers.common.caller import Caller
from handlers.common.command import BENCHMARK, TICKERS, Command
from handlers.common.format import NOT_AVAILABLE, money, multiple, percent
from handlers.common.parse import ValuationRequest, parse_valuation
from handlers.common.plots import bars
from handlers.common.reply import Cell, Reply, Table
from handlers.common.reply_cache import cached_reply
from handlers.common.services import Services
from handlers.common.takeaway import valuation_takeaway
from market.provider import Fundamentals

USAGE = "/valuation TICKER [TICKER ...] [vs BENCH] · /valuation smallcaps"
# The index each well-known ETF stands for, named beside its ticker; the figures stay the ETF's.
INDEXES = {"SPY": "S&P 500", "IVV": "S&P 500", "VOO": "S&P 500", "IJR": "S&P 600", "IWM": "Russell 2000",
           "QQQ": "Nasdaq 100", "MDY": "S&P 400", "IJH": "S&P 400", "DIA": "Dow Jones"}

COLUMNS = ("Ticker", "P/E", "Fwd P/E", "Earn. yield", "P/E vs bench", "Fwd vs bench", "Yield", "Expense", "Assets")


def handle(text: str, services: Services, caller: Caller) -> Reply:
    request = parse_valuation(text)
    return cached_reply(services, request.key, lambda: build(request, services))


def build(request: ValuationRequest, services: Services) -> Reply:
    symbols = request.symbols
    facts = services.market.fundamentals(symbols.all)
    gaps = valuation_gaps(
        pd.Series({t: _or_nan(f.trailing_pe) for t, f in facts.items()}),
        pd.Series({t: _or_nan(f.forward_pe) for t, f in facts.items()}),
        symbols.benchmark,
    )
    return Reply(
        text=f"*Valuation: {', '.join(map(_named, symbols.tickers))} vs {_named(symbols.benchmark)}*"
        + (" (demo data, not real figures)" if services.market.is_demo else ""),
        table=Table.of(COLUMNS, (_row(t, facts[t], gaps.loc[t], symbols.benchmark) for t in symbols.all)),
        takeaway=valuation_takeaway(gaps, symbols.benchmark),
        footer=_footer(facts.values()),
        plots=bars("P/E, trailing and forward", list(gaps.index),
                   {"P/E": gaps.trailing_pe, "Fwd P/E": gaps.forward_pe}, y_label="P/E (x)"),
    )


def _row(ticker: str, facts: Fundamentals, gap: pd.Series, benchmark: str) -> tuple[Cell, ...]:
    is_bench = ticker == benchmark
    return (
        ticker, (multiple(gap.trailing_pe), gap.trailing_pe), (multiple(gap.forward_pe), gap.forward_pe),
        (percent(gap.earnings_yield), gap.earnings_yield),
        ("—", None) if is_bench else (percent(gap.trailing_vs_benchmark, 0, signed=True), gap.trailing_vs_benchmark),
        ("—", None) if is_bench else (percent(gap.forward_vs_benchmark, 0, signed=True), gap.forward_vs_benchmark),
        (percent(facts.dividend_yield, 2), facts.dividend_yield), (percent(facts.expense_ratio, 2), facts.expense_ratio),
        (money(facts.total_assets), facts.total_assets),
    )


def _footer(facts: Iterable[Fundamentals]) -> str:
    """Source and as-of date of the figures; several when they differ."""
    stamps = sorted({f"{f.source}, as of {f.as_of or NOT_AVAILABLE}" for f in facts})
    return "Figures as published by the source, n/a where it has none · " + "; ".join(f"source: {s}" for s in stamps)


def _named(ticker: str) -> str:
    return f"{INDEXES[ticker]} ({ticker})" if ticker in INDEXES else ticker


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else value


COMMAND = Command(
    name="valuation",
    summary="P/E and earnings yield: discount or premium to a benchmark",
    usage=USAGE,
    examples=("/valuation IJR IWM SPY", "/valuation IJR IWM QQQ vs SPY", "/valuation smallcaps"),
    guide=(
        "Trailing and forward P/E side by side, earnings yield, and each ticker's discount (-) or "
        'premium (+) to the benchmark, with yield, expense ratio and assets. Missing figures show as '
        'n/a.'
    ),
    handle=handle,
    options=(
        TICKERS,
        BENCHMARK,
    ),
)
