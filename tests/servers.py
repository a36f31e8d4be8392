"""Servers the tests start and stop themselves: stand-ins for outside APIs, and ``bot.py serve``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import redis as redis_py

ROOT = Path(__file__).resolve().parents[1]  # the checkout, where bot.py is


# How long a test waits for anything it expects (a reply, a post, a process coming up or stopping) before
# failing.  Only a safety net: waits end as soon as what they wait for happens, so a passing run never
# spends it, while a CI machine whose 2 CPUs are shared by several suites can be many times slower than
# an idle one (a niced ``bot.py worker`` importing pandas there takes tens of seconds).
PATIENCE = 120.0


class LocalServer:
    """An HTTP server on 127.0.0.1 (a free port) in a thread, running inside ``with``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class QuietHandler(BaseHTTPRequestHandler):
    """A stand-in's request handler: it logs nothing (test output stays readable) and answers with ``respond``."""

    def log_message(self, *args: object) -> None:
        pass

    def respond(self, status: int, payload: bytes, content_type: str | None,
                headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


@dataclass
class Answer:
    """An HTTP answer as the client saw it, and how long it took."""

    status: int
    body: bytes
    content_type: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


def send(request: urllib.request.Request, timeout: float = PATIENCE) -> Answer:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, response.read(), response.headers.get("Content-Type", ""),
                          time.monotonic() - started)
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read(), error.headers.get("Content-Type", ""), time.monotonic() - started)


def wait_until(condition: Callable[[], Any], timeout: float = PATIENCE, what: str = "the condition") -> Any:
    """Poll ``condition`` until it returns something truthy (returned), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def children_of(pid: int) -> list[int]:
    """Pids of the processes ``pid`` started (its main thread's children, from /proc)."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def ended(pid: int) -> bool:
    """Whether process ``pid`` has exited (gone, or a zombie its parent has not reaped yet)."""
    try:
        return "zombie" in Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0]
    except (OSError, IndexError):
        return True


def wait_for_workers(redis_url: str, count: int) -> None:
    """Until ``count`` ``bot.py worker`` processes listen to Tilt's queue (each registers in Redis when it
    starts working): before that, a web process or scheduler runs jobs itself."""
    from rq import Queue, Worker

    from jobs.queue import QUEUE_NAME

    queue = Queue(QUEUE_NAME, connection=redis_py.Redis.from_url(redis_url))
    wait_until(lambda: Worker.count(queue=queue) >= count, what=f"{count} workers to listen to the queue")


def stop_processes(processes: list[subprocess.Popen]) -> list[str | None]:
    """SIGTERM every process and return, once each has ended, what it wrote to a piped stderr.  One still
    running past the safety net is killed (its return code then says so)."""
    for process in processes:
        process.terminate()
    logs = []
    for process in processes:
        try:
            logs.append(process.communicate(timeout=PATIENCE)[1])
        except subprocess.TimeoutExpired:
            process.kill()
            logs.append(process.communicate()[1])
    return logs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServeProcess:
    """``python bot.py serve`` as a real process on a free port, with ``workers`` ``bot.py worker`` processes
    beside it (for the queue that ``REDIS_URL`` switches on), from start until ``stop`` (or the end of ``with``)."""

    def __init__(self, env: dict[str, str], state: Path, *, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The servers run Tilt's code as it is: under ./tilt mutate, mutmut's switch of the mutant in play stays
        # in the test process (mutants are measured by the tests that call the code in process).
        self.env = {k: v for k, v in env.items() if k != "MUTANT_UNDER_TEST"}
        self.state = state
        state.mkdir(parents=True, exist_ok=True)
        self.log = state / "serve.log"
        # GET /metrics of the web process(es): a port of its own on 127.0.0.1, never the public PORT.
        self.metrics_port = free_port()
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        serve_env = {**self.env, "PORT": str(self.port), "TILT_METRICS_PORT": str(self.metrics_port)}
        self.process = subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "serve"], env=serve_env, cwd=state,
                                        stdout=subprocess.DEVNULL, stderr=self.log.open("w"))
        # The first worker serves its /metrics (commands are counted where they run).
        self.worker_metrics_url = f"http://127.0.0.1:{free_port()}/metrics"
        self.workers = [self.start_worker(metrics=i == 0) for i in range(workers)]
        self._wait_until_up()
        if self.workers:
            self._wait_for_workers()

    def start_worker(self, *, metrics: bool = False) -> subprocess.Popen:
        """One more ``bot.py worker`` (its log: ``worker-<n>.log`` in the state folder)."""
        log = self.state / f"worker-{len(list(self.state.glob('worker-*.log')))}.log"
        env = {**self.env, "TILT_METRICS_PORT": self.worker_metrics_url.split(":")[-1].split("/")[0]} if metrics else self.env
        return subprocess.Popen([sys.executable, str(ROOT / "bot.py"), "worker"], env=env, cwd=self.state,
                                stdout=subprocess.DEVNULL, stderr=log.open("w"), start_new_session=True)

    def _wait_until_up(self) -> None:
        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"bot.py serve exited: {self.log.read_text()}")
            try:
                return self.get("/healthz").status == 200
            except OSError:
                return False

        wait_until(up, what="bot.py serve to answer /healthz")

    def _wait_for_workers(self) -> None:
        """Until every worker listens to the queue: before that, the web process would run commands itself."""
        wait_for_workers(self.env["REDIS_URL"], len(self.workers))

    def get(self, path: str) -> Answer:
        return send(urllib.request.Request(self.url + path))

    def metrics(self) -> str:
        """The web process's ``GET /metrics``, from its metrics port."""
        return send(urllib.request.Request(self.metrics_url)).body.decode()

    def stop(self) -> None:
        stop_processes([self.process, *self.workers])

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
