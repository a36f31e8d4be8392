"""The HTTP face of Tilt: chat platforms' endpoints, health and metrics, on a production WSGI server.

Routes:
    POST /slack/events          Slack slash commands, events and interactivity (when Slack is configured)
    GET  /slack/install, /slack/oauth_redirect   "Add to Slack" (when OAuth is configured)
    GET  /healthz               200 when the cache answers, 503 otherwise
    GET  /metrics               Prometheus text format

Each platform adapter contributes its own routes as plain WSGI callables.
Served by waitress (a multi-threaded production WSGI server, pure Python),
not a framework's development server.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from metrics import ACK_SECONDS

# Chat platforms' payloads are a few KB; anything far larger is not a platform talking.
MAX_BODY_BYTES = 64 * 1024

StartResponse = Callable[..., object]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]


def wsgi_app(routes: dict[str, WsgiApp], healthy: Callable[[], bool]) -> WsgiApp:
    """One WSGI callable: ``routes`` maps a path to a platform's handler (which checks the method), plus
    health and metrics."""

    def application(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path in routes:
            if int(environ.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
                return plain(start_response, "413 Payload Too Large", b"too large\n")
            started = time.monotonic()
            body = list(routes[path](environ, start_response))
            ACK_SECONDS.labels(path).observe(time.monotonic() - started)
            return body
        if path == "/healthz" and method == "GET":
            ok = healthy()
            return plain(start_response, "200 OK" if ok else "503 Service Unavailable", b"ok\n" if ok else b"cache unreachable\n")
        if path == "/metrics" and method == "GET":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest()]
        return plain(start_response, "404 Not Found", b"not found\n")

    return application


def serve(application: WsgiApp, port: int, threads: int = 16) -> None:
    """Serve ``application`` on all interfaces until the process is stopped."""
    import waitress

    # waitress logs "Task queue depth is N" for every request that waits for a thread: noise under load.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress.serve(application, host="0.0.0.0", port=port, threads=threads, ident="tilt")


def plain(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
