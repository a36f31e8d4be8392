"""What a command handler may use: the market (with its cache) and the settings that shape figures."""

from __future__ import annotations

from dataclasses import dataclass

from market.cache import Cache
from market.cached import CachedMarket


@dataclass(frozen=True)
class Services:
    market: CachedMarket
    cache: Cache
    risk_free: float = 0.0

    def source_label(self) -> str:
        """How figures are attributed in footers and charts."""
        return self.market.name
