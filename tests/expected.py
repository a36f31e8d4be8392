"""Independent expectations for reply figures, computed from the CSV text with the standard library only."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path


def closes(folder: Path, ticker: str) -> dict[dt.date, float]:
    with open(folder / f"{ticker}.csv", newline="") as handle:
        return {dt.date.fromisoformat(r["Date"]): float(r["Adj Close"]) for r in csv.DictReader(handle)}


def trailing_cagrs(folder: Path, ticker: str, benchmark: str, years: int) -> tuple[dt.date, dt.date, float, float]:
    """Window and CAGRs of ``ticker`` and ``benchmark`` over ``years`` trailing years on their common dates."""
    asset, bench = closes(folder, ticker), closes(folder, benchmark)
    common = sorted(set(asset) & set(bench))
    end = common[-1]
    start = max(d for d in common if d <= end.replace(year=end.year - years))
    span = (end - start).days / 365.25
    return start, end, (asset[end] / asset[start]) ** (1 / span) - 1, (bench[end] / bench[start]) ** (1 / span) - 1
