"""/help: what each command does, with examples."""

from __future__ import annotations

from errors import BadRequest
from handlers import backtest, calls, compare, digest, rotation, signal, tilt, valuation, watchlist
from handlers.common.caller import Caller
from handlers.common.reply import Reply
from handlers.common.services import Services

USAGE = "/help [command]"

GUIDES = {
    "compare": (
        compare.USAGE,
        "Total return (dividends reinvested), CAGR, volatility, max drawdown, Sharpe, beta, correlation and "
        "excess return per year against a benchmark, with a chart. Under a year nothing is annualised: total "
        "return and its gap to the benchmark, no CAGR.\n"
        "The benchmark is the ticker after `vs`; else SPY if you list it; else the last ticker; a lone ticker "
        "is compared with SPY. Up to 8 tickers.\n"
        "Periods: 1m 3m 6m ytd 1y 2y 3y 5y 10y 15y 20y max (any 1-24m or 1-50y), `since 2020`, `from 2020-03-23`, "
        "`2015-01-01..2025-09-30`, `2015-01-01 to 2025-09-30`. Default 10y.\n"
        "Examples: `/compare SMH SPY 10y` · `/compare IJR IWM vs SPY since 2020` · `/compare QQQ ytd`",
    ),
    "backtest": (
        backtest.USAGE,
        "What a portfolio would have done against a benchmark (SPY unless `vs`): total return, CAGR, volatility, "
        "max drawdown with its dates, Sharpe, Sortino, beta, correlation, excess return and turnover; calendar-year "
        "returns; each holding's contribution; a chart of growth of $10,000, drawdowns and rolling 3-year CAGR.\n"
        "Weights in percent adding up to 100 (`SPY 70 IJR 30` or `SPY:70 IJR:30`), up to 10 holdings; up to 4 "
        "portfolios side by side, separated by `;`. Weights drift between rebalances on the last trading day of "
        "each month, quarter (the default) or year, or never (`none`). `tactical smallcaps` holds IWM (or IJR) "
        "while the /signal smallcaps rule says small caps lead, else SPY; `tactical semis` the same with SMH. "
        "A signal seen on a close is traded on the next close. Any /compare period, or `from 2020-03-23`, "
        "`2015-10-30 to 2025-10-31`. Default 10y. No fees or taxes.\n"
        "Examples: `/backtest SPY 70 IJR 20 SMH 10` · `/backtest SPY 100 ; SPY 60 IWM 20 SOXX 20 monthly 5y` · "
        "`/backtest tactical smallcaps IJR since 2010`",
    ),
    "tilt": (tilt.USAGE, tilt.COMMAND.guide + "\nExamples: " + " · ".join(f"`{e}`" for e in tilt.COMMAND.examples)),
    "valuation": (
        valuation.USAGE,
        "Trailing and forward P/E side by side, earnings yield, and each ticker's discount (-) or premium (+) "
        "to the benchmark, with yield, expense ratio and assets. Missing figures show as n/a.\n"
        "Examples: `/valuation IJR SPY` · `/valuation IJR IWM QQQ vs SPY`",
    ),
    "watchlist": (
        watchlist.USAGE,
        "The conversation's tickers to follow (a channel's, or your own in a direct message), up to 50, "
        "with 1d, 1w, 1m, 3m, YTD and 1y total returns and a 3-month chart.\n"
        "Examples: `/watchlist add SMH SOXX IWM` · `/watchlist remove SOXX` · `/watchlist`",
    ),
    "digest": (
        digest.USAGE,
        "A market digest posted here on a schedule: SPY, QQQ, IWM, IJR, SMH and the watchlist, movers, "
        "52-week highs and lows, moving-average crosses, relative strength turns and valuation gaps. "
        "Daily digests skip days the New York Stock Exchange is closed; times follow the time zone's clock "
        "through daylight-saving changes.\n"
        "Examples: `/digest daily 08:30 America/New_York` · `/digest weekly mon 08:00 Europe/London` · "
        "`/digest status` · `/digest now` · `/digest off`",
    ),
    "rotation": (
        rotation.USAGE,
        "Ranks a universe by composite momentum (the average of 1, 3, 6 and 12-month total returns), with each "
        "ticker's distance from its 200-day average and 6-month relative strength vs SPY; for `size`, whether "
        "small caps (IWM, IJR) lead SPY and for how many sessions. Universes: size (SPY QQQ IWM IJR VB), sectors "
        "(the 11 Select Sector SPDRs), semis (SMH SOXX XSD), or your team's own.\n"
        "Examples: `/rotation` · `/rotation sectors 6m` · `/rotation set megacaps AAPL MSFT NVDA` · `/rotation list`",
    ),
    "signal": (
        signal.USAGE,
        "Posts a signal card: whether the signal is leading or lagging and since when, a chart, and Agree / "
        "Disagree buttons (one vote per person; click the other to change it; the card shows the tally). "
        "`smallcaps` is IWM vs SPY, `semis` SMH vs SPY: leading while the ratio is above its 200-day average. "
        "Discuss in the card's thread; Tilt replies there when the signal flips.\n"
        "Examples: `/signal smallcaps` · `/signal semis`",
    ),
    "call": (
        calls.USAGE,
        "Records a team call with today's closes as entry and you as author: A to beat B (SPY if left out) until "
        "the date. It resolves itself after that day's close (a hit if A's total return beat B's) and Tilt posts "
        "the result in the call's thread. Open calls appear in the digest. Its author may withdraw an open call with "
        "`/call cancel N`: it is then not resolved or counted in hit rates.\n"
        "Examples: `/call IWM over SPY until 2026-12-31 small caps catch up` · `/call SMH until 2027-03-31` · "
        "`/call cancel 3`",
    ),
    "calls": (
        calls.LIST_USAGE,
        "Open and closed calls with the relative return since entry (to the expiry close once closed), and each "
        "author's hit rate on closed calls.",
    ),
    "help": (USAGE, "This message. `/help compare` shows one command in detail."),
}


def handle(text: str, services: Services, caller: Caller) -> Reply:
    topic = text.strip().lstrip("/").lower()
    if not topic:
        lines = [f"`{usage}`" for usage, _ in GUIDES.values()]
        return Reply(text="*Tilt* compares ETFs and stocks against the market.", notes=tuple(lines),
                     footer="`/help compare` for periods, benchmarks and examples.", ephemeral=True)
    if topic not in GUIDES:
        raise BadRequest(f"There is no command `{topic}`; try {', '.join(f'`{c}`' for c in GUIDES)}.")
    usage, detail = GUIDES[topic]
    return Reply(text=f"`{usage}`", notes=(detail,), ephemeral=True)
