"""What every process Tilt starts for itself (an embedded redis-server, forked web processes) shares."""

from __future__ import annotations

import ctypes
import signal
import sys

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def stop_with_parent() -> None:
    """In a child process: on Linux, ask for SIGTERM when the parent dies, so that a Tilt killed outright
    leaves nothing running (SIGTERM still lets the child finish cleanly: redis-server saves its data)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
