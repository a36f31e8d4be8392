"""``bot.py serve`` in several processes (``WEB_CONCURRENCY``): one port, every process answering,
metrics added up over them, a process that dies replaced, and nothing left running after a stop.

Run on the embedded Redis with no worker, as a single-machine install would be: each web
process then runs its commands itself.
"""

from __future__ import annotations

import os
import re
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from tests.servers import children_of, ended, wait_until
from tests.slack_standin import SlackStandIn
from tests.test_slack import Tilt, calls_in, channel

PROCESSES = 2


class Forked(Tilt):
    """Tilt serving from ``PROCESSES`` forked processes, on its own embedded Redis."""

    def environment(self, *args) -> dict[str, str]:
        env = super().environment(*args)
        del env["REDIS_URL"]
        return {**env, "WEB_CONCURRENCY": str(PROCESSES)}

    def children(self) -> list[int]:
        """Pids of the serve process's children that run Tilt (not its redis-server)."""
        return [pid for pid in children_of(self.process.pid) if b"bot.py" in _cmdline(pid)]

    def redis_server(self) -> int:
        return next(pid for pid in children_of(self.process.pid) if b"redis-server" in _cmdline(pid))


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def compare_everywhere(tilt: Tilt, slack: SlackStandIn, count: int) -> None:
    """``count`` commands at once, each from its own person and channel; each must be acked and posted."""
    wheres = [channel() for _ in range(count)]

    def command(where: str) -> int:
        return tilt.command("/compare", "SMH SPY 1y", channel=where, user=f"U{uuid.uuid4().hex[:8]}").status

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert set(pool.map(command, wheres)) == {200}
    for where in wheres:
        assert "SMH vs SPY" in calls_in(slack, "chat.postMessage", where)[0].body["text"]


def acks_counted(tilt: Tilt) -> float:
    found = re.search(r'^tilt_ack_seconds_count\{path="/slack/events"\} (\S+)$', tilt.metrics(), re.M)
    return float(found.group(1)) if found else 0.0


def test_every_process_answers_and_metrics_add_up_over_them(slack: SlackStandIn, prices_dir: Path,
                                                          tmp_path: Path) -> None:
    tilt = Forked(slack, "unused", prices_dir, tmp_path / "tilt", workers=0)
    try:
        assert len(tilt.children()) == PROCESSES
        metrics = next((tmp_path / "tilt").glob("metrics/web-*"))
        sent = 0
        # Until both processes have answered acks (each keeps its counts in files named after its pid).
        while len({re.sub(r"\D", "", f.name) for f in metrics.glob("histogram_*.db")}) < PROCESSES:
            compare_everywhere(tilt, slack, 10)
            sent += 10
            assert sent <= 100, "one process answered every request"
        # Whichever process answers GET /metrics, it reports every process's acks.
        assert [acks_counted(tilt) for _ in range(6)] == [sent] * 6
    finally:
        tilt.stop()


def test_a_killed_process_is_replaced_and_a_stop_leaves_nothing_running(slack: SlackStandIn, prices_dir: Path,
                                                                      tmp_path: Path) -> None:
    tilt = Forked(slack, "unused", prices_dir, tmp_path / "tilt", workers=0)
    try:
        first, second = tilt.children()
        redis_server = tilt.redis_server()
        os.kill(first, signal.SIGKILL)
        def replaced() -> int | None:
            """The new web process, once one runs beside ``second`` in place of the killed one (read once: the
            list of children may change between two reads on a busy machine)."""
            running = tilt.children()
            fresh = [pid for pid in running if pid not in (first, second)]
            return fresh[0] if len(running) == PROCESSES and second in running and fresh else None

        replacement = wait_until(replaced, what="a new web process in place of the killed one")
        compare_everywhere(tilt, slack, 10)
        assert tilt.get("/healthz").status == 200
        assert "ended unexpectedly; starting another" in tilt.log.read_text()
    finally:
        tilt.stop()  # SIGTERM to the serve process
    for pid in (second, replacement, redis_server):
        wait_until(lambda: ended(pid), what=f"process {pid} to stop")
    assert (tmp_path / "tilt" / "redis" / "appendonly.aof").exists()  # the embedded Redis saved on its way out
