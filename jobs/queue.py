"""Handing jobs to RQ workers, or to a thread pool in this process (see the package docstring).

A job is ``(kind, payload)``: ``kind`` names the handler that runs it, the payload
is plain JSON (RQ's JSON serializer: nothing is unpickled from Redis).  The
handlers are built once per process by ``bot.py`` (``job_handlers``) and are the
same in web and worker processes, so a job runs identically in either.

When the queue cannot take a job (Redis down), or no worker is listening to it
(all stopped or crashed), the web process runs the job itself: the person still
gets an answer, never a "working on it" that nothing follows.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping

import redis
from rq import Queue, Retry, SimpleWorker, Worker, get_current_job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from rq.worker_registration import clean_worker_registry

from children import supervise
from jobs.steps import recording
from market.cache import Cache

log = logging.getLogger(__name__)

QUEUE_NAME = "tilt"
# A job whose worker died is run again, at most this many times.
RETRIES = 2
# A command that has not finished in two minutes is stuck (a chart takes ~0.2 s, a cold fetch a few s).
JOB_TIMEOUT_SECONDS = 120
# A command nobody started within 15 minutes is dropped: the person has moved on (and a response_url lasts 30).
QUEUED_TTL_SECONDS = 15 * 60
# Failed jobs are kept a week for `rq info` / inspection.
FAILED_TTL_SECONDS = 7 * 24 * 3600
# How often a worker looks for jobs abandoned by a worker that died entirely (RQ's default is 10 minutes).
MAINTENANCE_SECONDS = 30
# How long a web process trusts its last look at whether any worker listens to the queue.
WORKERS_SEEN_SECONDS = 5.0
# An idle worker checks in every WORKER_TTL_SECONDS - 15 s and RQ keeps a silent worker's registration
# WORKER_TTL_SECONDS + 60 s: a worker killed outright stops counting as listening within about 80 s
# (with RQ's default, 8 minutes).
WORKER_TTL_SECONDS = 20
# A stopped worker first finishes the job in hand (Heroku sends SIGKILL 30 s after SIGTERM).
STOP_SECONDS = 25.0
# Added to a worker's niceness (0..19, higher yields more): see ``run_worker``.
WORKER_NICENESS = 10

Payload = dict[str, Any]
Handler = Callable[[Payload], None]

# The handlers of a worker process, installed by ``run_worker`` before it forks work horses.
_handlers: dict[str, Handler] = {}
_ledger: Cache | None = None


class Jobs:
    """Runs ``handlers[kind](payload)`` off the request path: on an RQ queue when given one, else here."""

    def __init__(self, handlers: Mapping[str, Handler], *, queue: Queue | None, cache: Cache, threads: int = 32) -> None:
        self.handlers = dict(handlers)
        self.queue = queue
        self.cache = cache
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tilt-job")
        self._workers_seen: tuple[float, bool | None] = (-WORKERS_SEEN_SECONDS, None)
        self._looking = threading.Lock()

    @property
    def queued(self) -> bool:
        return self.queue is not None

    def submit(self, kind: str, payload: Payload) -> None:
        """Enqueue the job, or run it on this process's pool (no queue, Redis cannot take it now, or no
        worker listens to the queue)."""
        if kind not in self.handlers:
            raise LookupError(f"no handler for {kind!r} jobs")
        if self.queue is not None and self.cache.available and self._workers_listening():
            try:
                # One round trip: given a pipeline, RQ queues its writes there instead of making two of its own.
                with self.queue.connection.pipeline() as pipe:
                    self.queue.enqueue(perform, kind, payload, retry=Retry(max=RETRIES), job_timeout=JOB_TIMEOUT_SECONDS,
                                       ttl=QUEUED_TTL_SECONDS, result_ttl=0, failure_ttl=FAILED_TTL_SECONDS,
                                       pipeline=pipe)
                    pipe.execute()
                return
            except (redis.RedisError, OSError) as error:
                log.warning("could not enqueue a %s job (%s); running it in this process", kind, type(error).__name__)
        self.pool.submit(self._run_here, kind, payload)

    def _workers_listening(self) -> bool:
        """Whether a live worker listens to the queue (looked up at most every ``WORKERS_SEEN_SECONDS``).

        A worker that stopped cleanly has left the registry; one that was killed stays in it until its
        key expires (``WORKER_TTL_SECONDS``) and is then cleaned out here.
        """
        checked_at, listening = self._workers_seen
        if listening is not None and time.monotonic() - checked_at < WORKERS_SEEN_SECONDS:
            return listening
        # One thread looks again while the others go on with the last answer (a burst of acks after a
        # quiet spell would otherwise all look at once); only the very first look is waited for.
        if not self._looking.acquire(blocking=listening is None):
            return bool(listening)
        try:
            clean_worker_registry(self.queue)
            listening = Worker.count(queue=self.queue) > 0
        except (redis.RedisError, OSError):
            listening = False
        finally:
            self._looking.release()
        if not listening and self._workers_seen[1] is not False:
            log.warning("no worker listens to the %s queue; running commands in this process", self.queue.name)
        self._workers_seen = (time.monotonic(), listening)
        return listening

    def _run_here(self, kind: str, payload: Payload) -> None:
        try:
            self.handlers[kind](payload)
        except Exception:  # on the pool an exception would vanish unlogged
            log.exception("%s job failed", kind)


def queue_for(client: redis.Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=client, serializer=JSONSerializer)


def perform(kind: str, payload: Payload) -> None:
    """What an RQ worker runs for every job (referred to by import path in Redis)."""
    job = get_current_job()
    with recording(_ledger, job.id if job is not None else None):
        _handlers[kind](payload)


def run_worker(url: str, handlers: Mapping[str, Handler], ledger: Cache) -> None:
    """Work on Tilt's queue until stopped (SIGTERM / SIGINT finish the current job first).

    Jobs run one after another in a child process, the work horse, which lives for many jobs.  (RQ's
    own ``Worker`` forks a new horse for every job: the fork and the copy-on-write of a process holding
    pandas and matplotlib cost ~30 ms of CPU a job here, a fifth of a cold ``/compare``.)  This process
    only watches the horse: when it dies in the middle of a job (killed for memory, say), the job goes
    back to RQ as abandoned at once, to be run again (``RETRIES``), and a new horse takes over.
    """
    global _ledger
    # Acks have Slack's 3-second deadline and jobs do not: where a worker shares CPUs with a web process,
    # the web process goes first (a no-op for a worker on a machine of its own).
    os.nice(WORKER_NICENESS)
    _handlers.update(handlers)
    _ledger = ledger
    # Everything loaded so far goes into the collector's permanent generation: otherwise a collection
    # in the horse touches every object, copying the pages it sits on (copy-on-write).
    gc.freeze()
    supervise(lambda: _work(url), 1, what="work horse", ended=lambda pid: _give_back_abandoned(url, pid),
              stop_seconds=STOP_SECONDS)


class _Horse(SimpleWorker):
    """RQ's ``SimpleWorker``, its command listener (a thread on Redis pub/sub) polling every second, not every
    minute.  On a stop RQ unsubscribes and then stops that thread, which redis-py (8.2 on) waits for; a listener
    that saw the unsubscribe first then sleeps out its poll, and the stop's grace (``STOP_SECONDS``) ran out
    before it, so the horse was often killed (half the stops of a test that stops a worker mid-job)."""

    def subscribe(self) -> None:
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(sleep_time=1.0, daemon=True,
                                                       exception_handler=self._pubsub_exception_handler)


def _work(url: str) -> None:
    """In the work horse: run jobs from Tilt's queue until stopped."""
    # No socket timeout: the worker blocks on Redis for jobs by design.
    connection = redis.Redis.from_url(url, health_check_interval=30)
    worker = _Horse([queue_for(connection)], name=_horse_name(os.getpid()), connection=connection,
                    serializer=JSONSerializer, maintenance_interval=MAINTENANCE_SECONDS,
                    worker_ttl=WORKER_TTL_SECONDS)
    worker.work(with_scheduler=False, logging_level=logging.getLevelName(logging.getLogger().level))


def _horse_name(pid: int) -> str:
    """The RQ worker name of the horse with this pid (known to the horse and to the process watching it)."""
    return f"{socket.gethostname()}.{pid}"


def _give_back_abandoned(url: str, pid: int) -> None:
    """Hand the job that the ended horse ``pid`` was running (if any) back to RQ as abandoned.

    RQ would find it by itself once its heartbeat runs out (the job's timeout plus a minute): marking
    the heartbeat as run out now lets ``StartedJobRegistry.cleanup`` do at once what RQ does with any
    abandoned job: run it again while it has retries left, else keep it as failed.
    """
    connection = redis.Redis.from_url(url, socket_timeout=5)
    try:
        horse = SimpleWorker.find_by_key(SimpleWorker.redis_worker_namespace_prefix + _horse_name(pid),
                                         connection=connection, serializer=JSONSerializer)
        if horse is None:
            return
        executions = horse.get_current_executions()
        registry = StartedJobRegistry(queue=queue_for(connection))
        if executions:
            connection.zadd(registry.key, {execution.composite_key: 0 for execution in executions}, xx=True)
            registry.cleanup()
            log.warning("gave job %s back to the queue", ", ".join(e.job_id for e in executions))
        horse.register_death()
    except redis.RedisError as error:
        log.warning("could not give the jobs of work horse %d back (%s); RQ will find them abandoned later",
                    pid, type(error).__name__)
    finally:
        connection.close()
