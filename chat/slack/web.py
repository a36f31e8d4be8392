"""The HTTP face of Tilt: Slack's events endpoint, health and metrics, on a production WSGI server.

Routes:
    POST /slack/events   slash commands, events and interactivity (Bolt verifies the signature)
    GET  /healthz        200 when the cache answers, 503 otherwise
    GET  /metrics        Prometheus text format

Served by waitress (a multi-threaded production WSGI server, pure Python),
not Bolt's development server.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from metrics import ACK_SECONDS

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 64 * 1024  # Slack's payloads are a few KB; anything far larger is not Slack

StartResponse = Callable[..., object]


def wsgi_app(app: App, healthy: Callable[[], bool]) -> Callable[[dict, StartResponse], Iterable[bytes]]:
    """One WSGI callable for every route above."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == EVENTS_PATH and method == "POST":
            if int(environ.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
                return _plain(start_response, "413 Payload Too Large", b"too large\n")
            started = time.monotonic()
            body = list(slack(environ, start_response))
            ACK_SECONDS.observe(time.monotonic() - started)
            return body
        if path == "/healthz" and method == "GET":
            ok = healthy()
            return _plain(start_response, "200 OK" if ok else "503 Service Unavailable", b"ok\n" if ok else b"cache unreachable\n")
        if path == "/metrics" and method == "GET":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest()]
        return _plain(start_response, "404 Not Found", b"not found\n")

    return application


def serve(application: Callable, port: int, threads: int = 16) -> None:
    """Serve ``application`` on all interfaces until the process is stopped."""
    import waitress

    waitress.serve(application, host="0.0.0.0", port=port, threads=threads, ident="tilt")


def _plain(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
