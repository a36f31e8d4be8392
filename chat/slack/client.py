"""The Slack Web API client Tilt posts with: Slack's 429s waited out, a 5xx or a dropped connection tried again."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.response import HttpResponse


def web_client(token: str | None, api_url: str) -> WebClient:
    """A Web API client for ``api_url`` that waits out HTTP 429s as Slack asks (``Retry-After``) and tries
    again after a 500, 502 or 503 or a dropped connection.

    Without a token (many workspaces), Bolt gives each request a copy with its workspace's token.
    """
    client = WebClient(token=token, base_url=api_url)
    client.retry_handlers.extend([RateLimitErrorRetryHandler(max_retry_count=2), _ServerErrorRetry(max_retry_count=2)])
    return client


class _ServerErrorRetry(ServerErrorRetryHandler):
    """slack_sdk's 5xx retry (500 and 503) plus 502, a proxy that could not reach Slack.  Not 504: the
    gateway gave up waiting, so Slack may have posted already, and a retry could post twice."""

    def _can_retry(self, *, response: HttpResponse | None = None, **_: Any) -> bool:
        return response is not None and response.status_code in (500, 502, 503)
