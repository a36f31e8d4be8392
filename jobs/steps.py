"""Side effects of a job that happen once even when the job is run again.

RQ runs a job again when its worker dies mid-way.  Everything before the first
side effect (fetching, computing, drawing) is simply redone; each side effect
(posting the message, uploading the chart) is wrapped in ``once``, which
records in Redis, under the job's id, that the step happened and what it
returned (the message's ``ts``).  A second run of the job skips the recorded
steps and uses the recorded results.

Only a worker that dies between Slack accepting a post and the record being
written (one Redis write) could post twice.  Outside an RQ job (in-process
pool, scheduler) ``once`` just runs the step.
"""

from __future__ import annotations

import contextlib
import json
from contextvars import ContextVar
from typing import Any, Callable, Iterator, TypeVar

from market.cache import Cache

T = TypeVar("T")

# Records outlive any retry of the job (RQ gives up after minutes).
KEEP_SECONDS = 24 * 3600

_current: ContextVar[tuple[Cache, str] | None] = ContextVar("tilt_job", default=None)


@contextlib.contextmanager
def recording(ledger: Cache | None, job_id: str | None) -> Iterator[None]:
    """Within this block, ``once`` records steps under ``job_id`` in ``ledger`` (neither given: it records nothing)."""
    token = _current.set((ledger, job_id) if ledger is not None and job_id else None)
    try:
        yield
    finally:
        _current.reset(token)


def once(step: str, act: Callable[[], T]) -> T:
    """``act()``'s result, running it only if this job has not done ``step`` yet.

    ``step`` names the side effect uniquely within the job; the result must be JSON-serialisable.
    """
    current = _current.get()
    if current is None:
        return act()
    ledger, job_id = current
    key = f"job:{job_id}:{step}"
    recorded = ledger.get(key)
    if recorded is not None:
        return json.loads(recorded)
    result = act()
    ledger.set(key, json.dumps(_plain(result)).encode(), ttl_seconds=KEEP_SECONDS)
    return result


def _plain(result: Any) -> Any:
    # Web API responses are objects; a step's record only needs to know it happened (and a ts).
    return result if isinstance(result, (str, int, float, bool, type(None), list, dict)) else None
