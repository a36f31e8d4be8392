"""Compact, pickle-free bytes for bars frames stored in Redis.

A frame is written as one ``.npy`` array of shape ``(rows, 1 + columns)``:
the first column holds the dates as int64 nanoseconds viewed as float64 bits,
the rest the float64 bar columns in ``BAR_COLUMNS`` order.  ``np.load`` runs
with ``allow_pickle=False``, so whatever sits in Redis can never execute code.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from market.provider import BAR_COLUMNS


def bars_to_bytes(frame: pd.DataFrame) -> bytes:
    dates = frame.index.to_numpy(dtype="datetime64[ns]").view("int64").view("float64")
    matrix = np.column_stack([dates, frame[list(BAR_COLUMNS)].to_numpy(dtype="float64")])
    buffer = io.BytesIO()
    np.save(buffer, matrix, allow_pickle=False)
    return buffer.getvalue()


def bars_from_bytes(data: bytes) -> pd.DataFrame:
    matrix = np.load(io.BytesIO(data), allow_pickle=False)
    index = pd.DatetimeIndex(matrix[:, 0].view("int64").astype("datetime64[ns]"), name="Date")
    return pd.DataFrame(matrix[:, 1:], index=index, columns=list(BAR_COLUMNS))
