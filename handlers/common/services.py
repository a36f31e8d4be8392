"""What a command handler may use: the market (with its cache) and the settings that shape figures."""

from __future__ import annotations

from dataclasses import dataclass

from errors import StorageUnavailable
from market.cache import Cache
from market.cached import CachedMarket
from store.teamdata import TeamStore


@dataclass(frozen=True)
class Services:
    market: CachedMarket
    cache: Cache
    # None: from T-bill data over each window (handlers.common.risk_free); a number: TILT_RISK_FREE's override.
    risk_free: float | None = None
    team_store: TeamStore | None = None
    # Which code builds the replies (``config.code_release``): a deploy's cached replies never mix with its
    # predecessor's.
    release: str = "dev"

    @property
    def store(self) -> TeamStore:
        """Where team data lives; ``StorageUnavailable`` when Tilt runs without a Redis it can write to."""
        if self.team_store is None:
            raise StorageUnavailable()
        return self.team_store

    def source_label(self) -> str:
        """How figures are attributed in footers and charts."""
        return self.market.name
