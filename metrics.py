"""Prometheus metrics, defined once and updated wherever the thing they count happens.

Served as text at ``GET /metrics`` by the web server (``chat/web.py``): acks, and commands run
in the web process.  Commands run by an RQ worker are counted there and served by the worker
(``TILT_METRICS_PORT``, ``serve_from_work_horses``).
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import Counter, Histogram

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
    command anyone asked; and values made before ``serve_from_work_horses`` would not reach its files)."""
    for metric in (COMMANDS, ACK_SECONDS, COMMAND_SECONDS, CACHE_REQUESTS, DATA_SOURCE_ERRORS):
        metric.clear()


def serve_from_work_horses(directory: Path, port: int) -> None:
    """Serve ``GET /metrics`` on ``port`` for an RQ worker, whose jobs each run in a forked work horse.

    A horse's counters would die with it, so every value lives in files in ``directory``
    (prometheus_client's multiprocess mode) under the *worker's* pid: horses run one after
    another and each carries on from the files its predecessor left, so there is one set of
    files per worker, not one per job.  Call before any job runs, with ``directory`` empty.
    """
    from prometheus_client import CollectorRegistry, start_http_server, values
    from prometheus_client.multiprocess import MultiProcessCollector

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue(process_identifier=os.getppid)  # in a horse: the worker
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    start_http_server(port, registry=registry)
