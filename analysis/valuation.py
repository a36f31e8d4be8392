"""Valuation gaps between tickers and a benchmark.

Conventions: P/E figures are taken as given by the source (trailing = last
twelve months' earnings, forward = next twelve months' estimates); a missing
figure stays NaN and every figure derived from it is NaN too, never guessed.
A P/E of zero or below (a loss) has no meaning as a multiple and counts as missing.

* discount/premium to the benchmark: ``pe / pe_benchmark - 1`` (negative = cheaper);
* earnings yield: ``1 / pe`` (trailing).
"""

from __future__ import annotations

import pandas as pd


def valuation_gaps(trailing_pe: pd.Series, forward_pe: pd.Series, benchmark: str) -> pd.DataFrame:
    """One row per ticker: P/E, forward P/E, earnings yield and both discounts to ``benchmark``."""
    trailing = trailing_pe.astype("float64").where(trailing_pe > 0)
    forward = forward_pe.astype("float64").where(forward_pe > 0)
    return pd.DataFrame({
        "trailing_pe": trailing,
        "forward_pe": forward,
        "earnings_yield": 1.0 / trailing,
        "trailing_vs_benchmark": trailing / trailing[benchmark] - 1.0,
        "forward_vs_benchmark": forward / forward[benchmark] - 1.0,
    })
