"""Where the benches find the shared real data (``$TILT_SHARED_DIR``, else ``../shared`` beside the checkout),
and how they skip without it: the benches need the whole shared folder, which the project does not carry."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TILT_SHARED_DIR", ROOT.parent / "shared"))
PRICES_DIR = SHARED / "data" / "prices"


def require_prices() -> None:
    """Skip the bench, exiting 0 with a line naming what is missing, when the shared prices are absent."""
    if not (PRICES_DIR / "SPY.csv").is_file():
        print(f"skipped: shared price data not found at {PRICES_DIR} (set TILT_SHARED_DIR to the shared folder)",
              file=sys.stderr)
        sys.exit(0)
