"""Prometheus metrics, defined once and updated wherever the thing they count happens.

Served as text at ``GET /metrics`` on ``TILT_METRICS_PORT`` (``serve``), bound to ``TILT_METRICS_HOST``
(this machine only by default), never on the public port: by a web server, its acks and the commands
it ran (added up over its processes when it runs several, ``WEB_CONCURRENCY``); by an RQ worker, the
commands its work horses ran (``serve_from_work_horses``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

COMMANDS = Counter("tilt_commands_total", "Commands answered, by command and outcome (ok, user_error, unavailable, error, throttled)",
                   ["command", "outcome"])
ACK_SECONDS = Histogram("tilt_ack_seconds", "Time from a platform request arriving to its HTTP answer (the ack), by path",
                        ["path"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
COMMAND_SECONDS = Histogram("tilt_command_seconds", "Time from a command arriving to its result being delivered",
                            ["command"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30))
CACHE_REQUESTS = Counter("tilt_cache_requests_total", "Cache look-ups by kind (bars, fundamentals, reply) and result",
                         ["kind", "result"])
DATA_SOURCE_ERRORS = Counter("tilt_data_source_errors_total", "Errors from market-data sources, by source and error type",
                             ["source", "error"])


def forget_all() -> None:
    """Drop every labelled value counted so far in this process (a worker's warm-up command is not a
    command anyone asked; and values made before ``count_across_processes`` would not reach its files)."""
    for metric in (COMMANDS, ACK_SECONDS, COMMAND_SECONDS, CACHE_REQUESTS, DATA_SOURCE_ERRORS):
        metric.clear()


def count_across_processes(directory: Path, process: Callable[[], int] = os.getpid) -> CollectorRegistry:
    """Keep every value from now on in files in ``directory`` (prometheus_client's multiprocess mode), one
    set per ``process()``, and return a registry that adds up all the sets.

    For a server whose requests are spread over forked processes: counted in one process's memory, a
    value would show only when that process happened to answer ``GET /metrics``.  ``directory`` is
    emptied first; call before any value is counted (values counted before are dropped).
    """
    from prometheus_client import values
    from prometheus_client.multiprocess import MultiProcessCollector

    forget_all()  # while values are still in memory (prometheus_client cannot clear multiprocess files)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue(process_identifier=process)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return registry


def serve(port: int, host: str, registry: CollectorRegistry | None = None) -> None:
    """Serve ``GET /metrics`` of ``registry`` (this process's own when ``None``) on ``host``:``port``, in a thread."""
    from prometheus_client import REGISTRY, start_http_server

    start_http_server(port, addr=host, registry=registry or REGISTRY)


def serve_from_work_horses(directory: Path, port: int, host: str) -> None:
    """Serve ``GET /metrics`` on ``host``:``port`` for an RQ worker, whose jobs run in its work horse (a child).

    A horse's counters would die with it, so they are counted across processes, under the *worker's*
    pid: a horse that replaces a dead one carries on from the files its predecessor left, so there is
    one set of files per worker.  Call before the horse starts.
    """
    serve(port, host, count_across_processes(directory, process=os.getppid))  # in a horse: the worker
