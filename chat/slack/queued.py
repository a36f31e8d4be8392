"""The bridge from Bolt's lazy listeners to Tilt's jobs (``jobs``), and back.

Bolt hands each lazy listener to ``QueuedLazyRunner``, which submits the request as Slack sent it; the
job (``job_handler``) dispatches it again, lazy-only, through the worker copy of the app (see
``chat.slack.settings.SlackSettings.jobs``), in an RQ worker or on this process's pool.
"""

from __future__ import annotations

import logging
from typing import Callable

from slack_bolt import App, BoltRequest
from slack_bolt.lazy_listener import LazyListenerRunner

from jobs.queue import Jobs, Payload

JOB_KIND = "slack"


class QueuedLazyRunner(LazyListenerRunner):
    """Bolt's lazy listeners as Tilt jobs: the request, as Slack sent it, is dispatched again by a worker.

    What the ack learnt (``tilt_*`` context entries: when the command arrived, whether its budget allowed
    it) travels with the job; the bot token does not (the worker authorizes the request itself).
    """

    def __init__(self, jobs: Jobs, logger: logging.Logger) -> None:
        self.jobs = jobs
        self.logger = logger

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        self.jobs.submit(JOB_KIND, {
            "body": request.raw_body if request.mode == "http" else request.body,
            "mode": request.mode,
            "headers": {name: list(values) for name, values in request.headers.items()},
            "context": {key: value for key, value in request.context.items() if key.startswith("tilt_")},
            "lazy": request.lazy_function_name,
        })


def job_handler(worker_app: App) -> Callable[[Payload], None]:
    """Runs a Slack job: the request dispatched lazy-only, to the one listener function it names."""
    def run(payload: Payload) -> None:
        headers = {**payload["headers"], "x-slack-bolt-lazy-only": ["1"],
                   "x-slack-bolt-lazy-function-name": [payload["lazy"]]}
        worker_app.dispatch(BoltRequest(body=payload["body"], headers=headers, context=dict(payload["context"]),
                                        mode=payload["mode"]))

    return run
