"""One plain-English sentence that sums up a table of figures."""

from __future__ import annotations

import math

import pandas as pd

from analysis.compare import Comparison


def compare_takeaway(comparison: Comparison, period_phrase: str) -> str:
    """Who beat the benchmark, by how much, and at what cost in drawdown.

    Over a window of a year or more (``Comparison.annualised``): the ticker with
    the highest CAGR other than the benchmark and the annualised gap in
    percentage points a year.  Over a shorter window: the highest total return
    and the plain gap in total return, never annualised.  Both maximum
    drawdowns follow.
    """
    table = comparison.table
    bench = comparison.benchmark
    basis, name, unit = ("cagr", "CAGR", "pts a year") if comparison.annualised else ("total_return", "total return", "pts")
    others = table.drop(index=bench)
    best = others[basis].idxmax()
    gap = (table.at[best, basis] - table.at[bench, basis]) * 100
    verb = "beat" if gap >= 0 else "trailed"
    deeper = table.at[best, "max_drawdown"] < table.at[bench, "max_drawdown"]
    lead = f"{best} {verb} {bench} by {abs(gap):.1f} {unit} {period_phrase}"
    if len(others) > 1:
        lead = f"Best of the group: {lead}"
    return (
        f"{lead} ({name} {_pct(table.at[best, basis])} vs {_pct(table.at[bench, basis])}), "
        f"with {'deeper' if deeper else 'shallower'} drawdowns "
        f"({_pct(table.at[best, 'max_drawdown'], 0)} vs {_pct(table.at[bench, 'max_drawdown'], 0)})."
    )


def valuation_takeaway(gaps: pd.DataFrame, benchmark: str) -> str:
    """The cheapest ticker on trailing P/E relative to the benchmark, or why there is none."""
    others = gaps.drop(index=benchmark)["trailing_vs_benchmark"].dropna()
    if others.empty or math.isnan(gaps.at[benchmark, "trailing_pe"]):
        return f"Not enough trailing P/E data to compare with {benchmark}."
    cheapest = others.idxmin()
    gap = others[cheapest]
    side = "discount" if gap < 0 else "premium"
    return (
        f"{cheapest} trades at {gaps.at[cheapest, 'trailing_pe']:.1f}x trailing earnings vs "
        f"{gaps.at[benchmark, 'trailing_pe']:.1f}x for {benchmark}: a {abs(gap) * 100:.0f}% {side}."
    )


def _pct(value: float, digits: int = 1) -> str:
    return f"{value * 100:.{digits}f}%"
