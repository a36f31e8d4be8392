"""Acks while connections are held open: what idle connections cost a signed slash command.

Runs ``python bot.py serve`` as a real process (``tests.test_slack.Tilt``, with one RQ worker) against
the stand-in Slack Web API, on real prices (``$TILT_SHARED_DIR/data/prices``, default
``../shared/data/prices``) and an embedded Redis in a temp dir.  For each count of idle TCP connections
(opened and left silent), 20 signed ``/help`` commands are sent one after another, each from a person of
its own; the client's time from sending to the HTTP 200 is printed (median and worst).  The server closes
idle connections after ``chat.web.IDLE_SECONDS``, so each level is measured right after opening them.

Prints figures only; asserts nothing about timings.

    .venv/bin/python bench/connections.py
"""

from __future__ import annotations

import socket
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, sys.path[0] is bench/, where bench/analysis.py would shadow the ``analysis`` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from market.redis_server import EmbeddedRedis  # noqa: E402
from tests.conftest import PRICES_DIR  # noqa: E402
from tests.slack_standin import SlackStandIn  # noqa: E402
from tests.test_slack import Tilt  # noqa: E402

IDLE_LEVELS = (0, 300, 900)
COMMANDS = 20


def acks(tilt: Tilt, idle_count: int) -> list[float]:
    """Seconds to each of ``COMMANDS`` acks while ``idle_count`` silent connections are open."""
    idle = [socket.create_connection(("127.0.0.1", tilt.port)) for _ in range(idle_count)]
    try:
        answers = [tilt.command("/help", "", channel="C0BENCH", user=f"U{uuid.uuid4().hex[:8].upper()}", timeout=10)
                   for _ in range(COMMANDS)]
    finally:
        for connection in idle:
            connection.close()
    assert all(answer.status == 200 for answer in answers)
    return [answer.seconds for answer in answers]


def main() -> int:
    state = Path(tempfile.mkdtemp(prefix="tilt-bench-connections-"))
    redis = EmbeddedRedis(state / "redis")
    try:
        with SlackStandIn() as slack:
            tilt = Tilt(slack, redis.url, PRICES_DIR, state / "tilt")
            try:
                print(f"Signed /help acks while idle connections are held ({COMMANDS} commands per level)")
                for idle_count in IDLE_LEVELS:
                    seconds = acks(tilt, idle_count)
                    print(f"  {idle_count:4d} idle: median {statistics.median(seconds) * 1000:6.1f} ms, "
                          f"worst {max(seconds) * 1000:6.1f} ms")
            finally:
                tilt.stop()
    finally:
        redis.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
