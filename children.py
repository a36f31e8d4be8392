"""What every process Tilt starts for itself shares: an embedded redis-server, forked web processes and
the RQ worker's work horse all stop when their parent dies, and forked copies are watched (``supervise``)."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from typing import Callable, NoReturn

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h
# How often a supervisor looks for a copy that has ended, and how long copies get to finish what they are
# doing when the supervisor is stopped, unless told otherwise.
WATCH_SECONDS = 0.5
STOP_SECONDS = 10.0


def stop_with_parent() -> None:
    """In a child process: on Linux, ask for SIGTERM when the parent dies, so that a Tilt killed outright
    leaves nothing running (SIGTERM still lets the child finish cleanly: redis-server saves its data)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise(run: Callable[[], None], copies: int, *, what: str, beside: Callable[[], None] = lambda: None,
              ended: Callable[[int], None] = lambda pid: None, stop_seconds: float = STOP_SECONDS) -> None:
    """Fork ``copies`` children that each ``run()``, until this process is stopped (SIGTERM / SIGINT).

    A child that ends is replaced, after ``ended(pid)`` has cleaned up after it.  ``beside`` is called once
    the children are started.  On the way out every child gets SIGTERM and ``stop_seconds`` to finish,
    then SIGKILL; ``ended`` follows either way.  ``what`` names the children in the log.
    """
    children: set[int] = set()

    def start() -> None:
        pid = os.fork()
        if pid == 0:
            _child(run, what)
        children.add(pid)

    try:
        for _ in range(copies):
            start()
        beside()
        while True:
            time.sleep(WATCH_SECONDS)
            for pid in [pid for pid in children if os.waitpid(pid, os.WNOHANG)[0]]:
                children.discard(pid)
                log.error("%s %d ended unexpectedly; starting another", what, pid)
                ended(pid)
                start()
    finally:
        _stop(children, stop_seconds, ended)


def _child(run: Callable[[], None], what: str) -> NoReturn:
    """A forked copy: run until told to stop, then leave at once (``os._exit``), so that the parent's
    clean-up (stopping an embedded Redis, say) runs in the parent alone."""
    stop_with_parent()
    status = 0
    try:
        run()
    except SystemExit:  # SIGTERM, through bot.py's handler
        pass
    except BaseException:
        log.exception("%s failed", what)
        status = 1
    finally:
        os._exit(status)


def _stop(children: set[int], stop_seconds: float, ended: Callable[[int], None]) -> None:
    """SIGTERM each child and wait for it (SIGKILL if it is still running after ``stop_seconds``), then ``ended``."""
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + stop_seconds
    for pid in children:
        while not os.waitpid(pid, os.WNOHANG)[0]:
            if time.monotonic() > deadline:
                log.warning("process %d did not stop within %g s of SIGTERM; killed", pid, stop_seconds)
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)
        ended(pid)
