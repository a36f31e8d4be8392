"""Tilt vs quantstats on the full /compare metric set: 20 tickers x 10 years of real prices, benchmark SPY.

Both sides get the same aligned ``Adj Close`` frame (the 20 tickers and SPY on
their common dates, the last 10 years by Tilt's window convention) and produce
the same table: one row per column (20 tickers + SPY), one column per name in
``analysis.compare.METRICS``.  Tilt computes it with ``analysis.compare.compare``;
quantstats the way a quantstats user would, one ticker at a time with
``qs.stats.*`` (beta from ``greeks``, correlation from pandas, tracking error
from the std of active returns, information ratio annualised with sqrt(252) as
Tilt reports it).

quantstats memoises ``_prepare_returns`` across calls keyed on a hash of the
data; the memo is cleared before every timed repetition, so each repetition is
what one request would pay (calls inside one repetition still share it).  The
"memo warm" line shows the figure with the memo left full.

Prints figures only; it asserts nothing about timings.  Data: ``../shared/data/prices``
(or ``$TILT_SHARED_DIR/data/prices``), read in place.

    .venv/bin/python bench/analysis.py
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, sys.path[0] is bench/, where this very file would shadow the ``analysis`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

warnings.simplefilter("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import quantstats as qs  # noqa: E402
import quantstats.utils as qs_utils  # noqa: E402

from analysis.compare import METRICS, compare  # noqa: E402
from analysis.windows import Period, resolve_window  # noqa: E402
from bench.shared import PRICES_DIR, require_prices  # noqa: E402

BENCHMARK = "SPY"
# 20 tickers with more than 10 years of history: sectors, size, bonds, gold, single stocks.
TICKERS = (
    "SMH", "QQQ", "IWM", "IJR", "IJH", "MDY", "XLK", "XLF", "XLE", "XLV",
    "XLU", "XLP", "XLY", "XLI", "XLB", "TLT", "IEF", "GLD", "MSFT", "NVDA",
)
YEARS = 10
WARMUP = 3
REPEATS = 20
TRADING_DAYS = 252
TARGET_RATIO = 10.0


def load_prices() -> pd.DataFrame:
    """Adj Close of ``TICKERS`` + SPY on their common dates, cut to the last ``YEARS`` years."""
    require_prices()
    columns = {}
    for ticker in (*TICKERS, BENCHMARK):
        frame = pd.read_csv(PRICES_DIR / f"{ticker}.csv", index_col="Date", parse_dates=["Date"])
        columns[ticker] = frame["Adj Close"].astype("float64")
    prices = pd.concat(columns, axis=1, join="inner").sort_index()
    window = resolve_window(Period.trailing(years=YEARS), prices.index)
    if window.truncated:
        short = [t for t, s in columns.items() if s.index[0] > window.start]
        sys.exit(f"less than {YEARS}y of common history (short: {', '.join(short)})")
    return prices.loc[window.start:window.end]


def tilt_table(prices: pd.DataFrame) -> pd.DataFrame:
    return compare(prices, BENCHMARK).table


def quantstats_table(prices: pd.DataFrame) -> pd.DataFrame:
    """The same table with quantstats, one ticker at a time."""
    bench_returns = prices[BENCHMARK].pct_change().dropna()
    bench_cagr = qs.stats.cagr(bench_returns)
    rows = {}
    for ticker in prices.columns:
        ticker_prices = prices[ticker]
        returns = ticker_prices.pct_change().dropna()
        active = returns - bench_returns
        growth = qs.stats.cagr(returns)
        rows[ticker] = {
            "total_return": qs.stats.comp(returns),
            "cagr": growth,
            "volatility": qs.stats.volatility(returns),
            "max_drawdown": qs.stats.max_drawdown(ticker_prices),
            "sharpe": qs.stats.sharpe(returns),
            "sortino": qs.stats.sortino(returns),
            "beta": qs.stats.greeks(returns, bench_returns)["beta"],
            "correlation": returns.corr(bench_returns),
            "excess_return": growth - bench_cagr,
            "tracking_error": active.std() * np.sqrt(TRADING_DAYS),
            "information_ratio": qs.stats.information_ratio(returns, bench_returns) * np.sqrt(TRADING_DAYS),
        }
    return pd.DataFrame.from_dict(rows, orient="index")[list(METRICS)]


def clear_quantstats_memo() -> None:
    with qs_utils._cache_lock:
        qs_utils._PREPARE_RETURNS_CACHE.clear()


def timings(function, prices: pd.DataFrame, before=None) -> np.ndarray:
    """Seconds per call over ``REPEATS`` calls, after ``WARMUP`` untimed ones; ``before`` runs untimed before each."""
    for _ in range(WARMUP):
        if before:
            before()
        function(prices)
    seconds = []
    for _ in range(REPEATS):
        if before:
            before()
        started = time.perf_counter()
        function(prices)
        seconds.append(time.perf_counter() - started)
    return np.array(seconds)


def max_relative_difference(ours: pd.Series, theirs: pd.Series) -> float:
    both = pd.concat([ours, theirs], axis=1).dropna()
    a, b = both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy()
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


def main() -> None:
    prices = load_prices()
    print(f"Tilt vs quantstats, full /compare metric set ({len(METRICS)} metrics)")
    print(f"data: {len(TICKERS)} tickers + {BENCHMARK}, {prices.index[0]:%Y-%m-%d} -> {prices.index[-1]:%Y-%m-%d}, "
          f"{len(prices)} common closes, from {PRICES_DIR}")
    print(f"timing: best / median of {REPEATS} runs after {WARMUP} warm-up runs, time.perf_counter")
    print()

    tilt = timings(tilt_table, prices)
    quant = timings(quantstats_table, prices, before=clear_quantstats_memo)
    quant_warm = timings(quantstats_table, prices)

    rows = [
        ("Tilt analysis.compare.compare", tilt),
        ("quantstats, per-ticker loop", quant),
        ("quantstats, memo warm", quant_warm),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'':{width}}  {'best ms':>9}  {'median ms':>9}  {'per ticker ms':>13}")
    for name, seconds in rows:
        print(f"{name:{width}}  {seconds.min() * 1e3:9.2f}  {np.median(seconds) * 1e3:9.2f}  "
              f"{np.median(seconds) * 1e3 / prices.shape[1]:13.3f}")
    ratio_best = quant.min() / tilt.min()
    ratio_median = np.median(quant) / np.median(tilt)
    verdict = "met" if ratio_median >= TARGET_RATIO else "MISSED"
    print(f"{'speed-up (quantstats / Tilt)':{width}}  {ratio_best:8.1f}x  {ratio_median:8.1f}x  "
          f"target >= {TARGET_RATIO:.0f}x: {verdict}")
    print(f"{'speed-up vs memo-warm quantstats':{width}}  {quant_warm.min() / tilt.min():8.1f}x  "
          f"{np.median(quant_warm) / np.median(tilt):8.1f}x")
    print()

    ours, theirs = tilt_table(prices), quantstats_table(prices)
    tickers = [t for t in prices.columns if t != BENCHMARK]  # active figures are undefined for SPY vs itself
    print(f"agreement, max relative difference over the {len(tickers)} tickers (Tilt vs quantstats):")
    notes = {
        "cagr": "conventions differ: Tilt calendar days/365.25, qs count/252",
        "excess_return": "follows CAGR",
    }
    name_width = max(len(m) for m in METRICS)
    for metric in METRICS:
        difference = max_relative_difference(ours.loc[tickers, metric], theirs.loc[tickers, metric])
        note = notes.get(metric, "")
        print(f"  {metric:{name_width}}  {difference:9.2e}  {note}".rstrip())


if __name__ == "__main__":
    main()
