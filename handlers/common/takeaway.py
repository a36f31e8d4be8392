"""One plain-English sentence that sums up a table of figures.

The words are decided on the figures as the sentence shows them (``handlers.common.format``): two drawdowns
that both read -34% are "about as deep", never "deeper", and "matched" when both read the same.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.compare import Comparison
from handlers.common.format import multiple, percent, same_when_shown


def compare_takeaway(comparison: Comparison, period_phrase: str) -> str:
    """Who beat the benchmark, by how much, and at what cost in drawdown.

    Over a window of a year or more (``Comparison.annualised``): the ticker with
    the highest CAGR other than the benchmark and the annualised gap in
    percentage points a year.  Over a shorter window: the highest total return
    and the plain gap in total return, never annualised.  Both maximum
    drawdowns follow.  With nothing but the benchmark, its own figures.
    """
    table = comparison.table
    bench = comparison.benchmark
    basis, name, unit = ("cagr", "CAGR", "pts a year") if comparison.annualised else ("total_return", "total return", "pts")
    others = table.drop(index=bench)
    if others.empty:
        return (f"{bench} on its own {period_phrase}: {name} {percent(table.at[bench, basis])}, "
                f"max drawdown {percent(table.at[bench, 'max_drawdown'], 0)}; nothing else was asked for to compare "
                f"it with.")
    best = others[basis].idxmax()
    shown_best, shown_bench = percent(table.at[best, basis]), percent(table.at[bench, basis])
    # The gap itself is the table's excess column; the verb follows the two figures as the sentence shows them.
    gap = (table.at[best, basis] - table.at[bench, basis]) * 100
    if shown_best == shown_bench:
        lead = f"{best} matched {bench} {period_phrase}"
    else:
        by = f"{abs(gap):.1f}" if round(abs(gap), 1) > 0 else "less than 0.1"
        lead = f"{best} {'beat' if gap > 0 else 'trailed'} {bench} by {by} {unit} {period_phrase}"
    if len(others) > 1:
        lead = f"Best of the group: {lead}"
    depth_best, depth_bench = table.at[best, "max_drawdown"], table.at[bench, "max_drawdown"]
    if same_when_shown(depth_best, depth_bench, 0):
        depth = "drawdowns about as deep"
    else:
        depth = f"{'deeper' if depth_best < depth_bench else 'shallower'} drawdowns"
    return (f"{lead} ({name} {shown_best} vs {shown_bench}), with {depth} "
            f"({percent(depth_best, 0)} vs {percent(depth_bench, 0)}).")


def valuation_takeaway(gaps: pd.DataFrame, benchmark: str) -> str:
    """The cheapest ticker on trailing P/E relative to the benchmark, or why there is none."""
    others = gaps.drop(index=benchmark)["trailing_vs_benchmark"].dropna()
    if others.empty or math.isnan(gaps.at[benchmark, "trailing_pe"]):
        return f"Not enough trailing P/E data to compare with {benchmark}."
    cheapest = others.idxmin()
    gap = others[cheapest]
    shown = percent(abs(gap), 0)
    relation = "in line with" if shown == "0%" else f"a {shown} {'discount' if gap < 0 else 'premium'} to"
    return (
        f"{cheapest} trades at {multiple(gaps.at[cheapest, 'trailing_pe'])} trailing earnings vs "
        f"{multiple(gaps.at[benchmark, 'trailing_pe'])} for {benchmark}: {relation} {benchmark}."
    )
