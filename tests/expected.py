"""Independent expectations for reply figures, computed from the CSV text with the standard library only."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import json
from pathlib import Path


def closes(folder: Path, ticker: str) -> dict[dt.date, float]:
    with open(folder / f"{ticker}.csv", newline="") as handle:
        return {dt.date.fromisoformat(r["Date"]): float(r["Adj Close"]) for r in csv.DictReader(handle)}


def trailing_pe(folder: Path, ticker: str) -> float:
    """The trailing P/E that ``fundamentals.json`` in the prices folder gives ``ticker``."""
    return float(json.loads((folder / "fundamentals.json").read_text())[ticker]["trailingPE"])


def trailing_cagrs(folder: Path, ticker: str, benchmark: str, years: int) -> tuple[dt.date, dt.date, float, float]:
    """Window and CAGRs of ``ticker`` and ``benchmark`` over ``years`` trailing years on their common dates."""
    asset, bench = closes(folder, ticker), closes(folder, benchmark)
    common = sorted(set(asset) & set(bench))
    end = common[-1]
    start = max(d for d in common if d <= end.replace(year=end.year - years))
    span = (end - start).days / 365.25
    return start, end, (asset[end] / asset[start]) ** (1 / span) - 1, (bench[end] / bench[start]) ** (1 / span) - 1


def common_window(folder: Path, tickers: list[str], start_target: dt.date, end: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The window on the tickers' common dates: the last common date (on or before ``end``), and the last common
    date on or before ``start_target``."""
    series = [closes(folder, t) for t in tickers]
    common = sorted(set.intersection(*(set(s) for s in series)))
    last = max(d for d in common if end is None or d <= end)
    return max(d for d in common if d <= start_target), last


def total_returns(folder: Path, tickers: list[str], start: dt.date, end: dt.date) -> dict[str, float]:
    """Total return of each ticker from the close of ``start`` to the close of ``end``."""
    return {t: (s := closes(folder, t))[end] / s[start] - 1 for t in tickers}


def months_back(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier, clamped to the end of a shorter month."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def expected_score(prices_dir: Path, ticker: str) -> float:
    """Average of the 1, 3, 6 and 12-month total returns from the ticker's last close (last close on or before)."""
    series = closes(prices_dir, ticker)
    days = sorted(series)
    end = days[-1]
    returns = []
    for months in (1, 3, 6, 12):
        target = end.replace(year=end.year - 1) if months == 12 else months_back(end, months)
        base = max(d for d in days if d <= target)
        returns.append(series[end] / series[base] - 1)
    return sum(returns) / 4
