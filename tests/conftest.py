"""Shared fixtures: where the shared real data lives, and a real Redis for the tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TILT_SHARED_DIR", ROOT.parent / "shared"))
PRICES_DIR = SHARED / "data" / "prices"
YAHOO_DIR = SHARED / "data" / "yahoo"


@pytest.fixture(scope="session")
def prices_dir() -> Path:
    """``../shared/data/prices``: real daily Adj Close for 68 tickers (read in place, never copied)."""
    assert (PRICES_DIR / "SPY.csv").exists(), f"shared price data not found at {PRICES_DIR}"
    return PRICES_DIR


@pytest.fixture(scope="session")
def yahoo_dir() -> Path:
    """``../shared/data/yahoo``: full yfinance columns for nine ETFs, 2014 to 2025-09-29."""
    assert (YAHOO_DIR / "SPY.csv").exists(), f"shared yahoo data not found at {YAHOO_DIR}"
    return YAHOO_DIR
