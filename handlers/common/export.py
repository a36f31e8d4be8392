"""The ``csv`` word: a backtest's daily values and monthly returns as one CSV file.

Columns: ``Date``, then each line's value (growth of $10,000 from the window's first close, dividends reinvested),
then each line's monthly return in percent, filled on the last close of each month only (the first month from
the window's first close).  Plain numbers, no thousands separators, so a spreadsheet reads them as numbers.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from analysis.tearsheet import monthly_returns
from handlers.common.reply import Attachment

START = 10_000.0


def take_csv(words: list[str]) -> tuple[list[str], bool]:
    """Take the word ``csv`` out of ``words``: the rest, and whether it was there."""
    rest = [w for w in words if w.lower() != "csv"]
    return rest, len(rest) < len(words)


def values_csv(values: pd.DataFrame, key: str, command: str) -> Attachment:
    """``values`` (growth of 1 per line, on the window's dates) as the export of the request ``key``."""
    months = monthly_returns(values)
    month_ends = values.groupby(values.index.to_period("M")).tail(1).index
    # The first month may be only the window's first close (no return): match the months that have one.
    at = pd.Series(month_ends, index=month_ends.to_period("M")).reindex(months.index)
    monthly = months.set_axis(pd.DatetimeIndex(at.to_numpy())) * 100.0
    table = pd.concat([values * START, monthly.add_suffix(" monthly return %")], axis=1)
    text = table.to_csv(index_label="Date", float_format="%.6f", date_format="%Y-%m-%d")
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return Attachment(filename=f"{command}-{digest}.csv", text=text,
                      title="Daily values (growth of $10,000) and monthly returns, CSV")
