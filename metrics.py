"""Prometheus metrics, defined once and updated wherever the thing they count happens.

Served as text at ``GET /metrics`` by the web server (``chat/slack/web.py``).
"""

from __future__ import annotations

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
