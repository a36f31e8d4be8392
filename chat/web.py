"""The HTTP face of Tilt: chat platforms' endpoints, health and metrics, on a production WSGI server.

Routes:
    POST /slack/events          Slack slash commands, events and interactivity (when Slack is configured)
    GET  /slack/install, /slack/oauth_redirect   "Add to Slack" (when OAuth is configured)
    GET  /healthz               200 when the cache answers, 503 otherwise

Prometheus metrics are not served here, on the port that faces the internet, but on a port of their own
bound to this machine or a private network (``metrics.serve``, ``TILT_METRICS_PORT``).

Each platform adapter contributes its own routes as plain WSGI callables.
Served by waitress (a multi-threaded production WSGI server, pure Python),
not a framework's development server; in several processes when one is not
enough (``WEB_CONCURRENCY``, see ``serve``).
"""

from __future__ import annotations

import gc
import logging
import resource
import socket
import time
from typing import Callable, Iterable

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer

from children import supervise
from metrics import ACK_SECONDS

log = logging.getLogger(__name__)

# A command is a few hundred bytes, so a request over 16 KB is refused, unless it is a click on a
# button: Slack and Discord send the message the button is on with the click (a 20-ticker digest makes a
# 15 KB click), so a route that recognises a click takes it up to 64 KB (``within_limit``).  Nothing over
# 64 KB is read at all: waitress itself answers 413 as soon as the headers announce more (or, for a chunked
# body, as soon as it has received more), before the application or its buffers see any of it.
MAX_BODY_BYTES = 16 * 1024
MAX_CLICK_BYTES = 64 * 1024
# Request line and headers: Slack's and Discord's are under 2 KB, a proxy in front adds a few hundred bytes,
# and the OAuth redirect's query string (code and state) is well under 1 KB.  Waitress answers 431 beyond.
MAX_HEADER_BYTES = 16 * 1024
# Connections the kernel holds for the server while every thread is busy (a burst of commands).
LISTEN_BACKLOG = 1024
# Open connections per process.  Slack opens one per request and a workspace sends at most 200 commands a
# minute, each acked in milliseconds, so real traffic holds a few dozen; the limit is set far above that so
# that idle connections someone opens on purpose cannot fill it (waitress's default of 100 could be, and then
# nothing was accepted, /healthz included).  Polled with poll(), since select() stops at descriptor 1024.
CONNECTION_LIMIT = 1000
# A connection that sends nothing for this long is closed (waitress's default is 120 s)...
IDLE_SECONDS = 10
# ...and so is one whose request has not fully arrived this long after its first byte, however steadily it
# trickles in (waitress itself bounds only silence).  Slack gives up on an answer after 3 s, so a request
# still arriving after 5 s could not be answered in time anyway.
REQUEST_SECONDS = 5
# How often both are checked.
SWEEP_SECONDS = 1
# Threads per process.  An ack is about 1 ms of CPU between sub-millisecond Redis round trips, so more
# threads only contend for the GIL: 8 answered 900 acks a second in two processes where 16 answered 700.
THREADS = 8

StartResponse = Callable[..., object]
WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]


def wsgi_app(routes: dict[str, WsgiApp], healthy: Callable[[], bool]) -> WsgiApp:
    """One WSGI callable: ``routes`` maps a path to a platform's handler (which checks the method), plus health."""

    def application(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path in routes:
            if int(environ.get("CONTENT_LENGTH") or 0) > MAX_CLICK_BYTES:
                return too_large(start_response)
            started = time.monotonic()
            body = list(routes[path](environ, start_response))
            ACK_SECONDS.labels(path).observe(time.monotonic() - started)
            return body
        if path == "/healthz" and method == "GET":
            ok = healthy()
            return plain(start_response, "200 OK" if ok else "503 Service Unavailable", b"ok\n" if ok else b"cache unreachable\n")
        return plain(start_response, "404 Not Found", b"not found\n")

    return application


def serve(application: WsgiApp, port: int, *, processes: int = 1, threads: int = THREADS,
          beside: Callable[[], None] = lambda: None) -> None:
    """Serve ``application`` on all interfaces until this process is stopped (SIGTERM / SIGINT).

    With ``processes`` > 1 the server is forked that many times after everything is built, and the
    copies share one listening socket (whichever is free accepts the next connection): each has its own
    GIL, so acks are produced on every CPU.  This process then only watches them, starting a new one in
    place of any that dies, and stops them all when it is stopped.  ``beside`` is called once serving
    is under way, in this process (where the server runs, or where it watches its copies).
    """
    allow_open_files(CONNECTION_LIMIT + 200)  # the connections, and Redis, logs, and the stand-by copies
    # waitress logs "Task queue depth is N" for every request that waits for a thread: noise under load.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    listener = socket.create_server(("0.0.0.0", port), backlog=LISTEN_BACKLOG)
    # Everything built so far goes into the collector's permanent generation: collections then skip the
    # ~10^5 objects of pandas, matplotlib and Bolt (shorter pauses in the middle of an ack), and forked
    # copies keep sharing the pages those objects sit on.
    gc.freeze()

    def run() -> None:
        # waitress refuses a body of ``max_request_body_size`` bytes or more: one over the largest Tilt takes.
        adjustments = Adjustments(threads=threads, ident="tilt", max_request_body_size=MAX_CLICK_BYTES + 1,
                                  max_request_header_size=MAX_HEADER_BYTES, connection_limit=CONNECTION_LIMIT,
                                  channel_timeout=IDLE_SECONDS, cleanup_interval=SWEEP_SECONDS, asyncore_use_poll=True)
        BoundedServer(application, _sock=listener, bind_socket=False, adj=adjustments,
                      sockinfo=(listener.family, listener.type, listener.proto, listener.getsockname())).run()

    if processes == 1:
        beside()
        run()
    else:
        supervise(run, processes, what="web process", beside=beside)


class _TimedRequest(HTTPRequestParser):
    """waitress's request parser, made when the first byte of a request arrives: it notes when."""

    def __init__(self, adj: Adjustments) -> None:
        super().__init__(adj)
        self.began = time.time()


class _TimedChannel(HTTPChannel):
    parser_class = _TimedRequest


class BoundedServer(TcpWSGIServer):
    """waitress's server, which also closes a connection whose request is still arriving ``REQUEST_SECONDS``
    after it began (a slow-loris client trickling a byte at a time is never idle)."""

    channel_class = _TimedChannel

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle connections
        for channel in list(self.active_channels.values()):
            arriving = channel.request  # only this loop's thread sets it
            if arriving is not None and now - arriving.began > REQUEST_SECONDS:
                channel.will_close = True


def allow_open_files(wanted: int) -> None:
    """Raise this process's limit on open files to ``wanted`` if it is lower and the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))


def within_limit(body: bytes, click: bool) -> bool:
    """Whether a request may carry ``body``: ``MAX_CLICK_BYTES`` for a click on a button, ``MAX_BODY_BYTES``
    for anything else."""
    return len(body) <= (MAX_CLICK_BYTES if click else MAX_BODY_BYTES)


def too_large(start_response: StartResponse) -> list[bytes]:
    return plain(start_response, "413 Payload Too Large", b"too large\n")


def plain(start_response: StartResponse, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
