"""Commands as RQ jobs: a worker killed in the middle of a job, and the once-per-job steps behind it.

The servers are real (``bot.py serve`` + ``bot.py worker`` on a real Redis); a worker
is "killed" the way the kernel kills a process that runs out of memory: SIGKILL to
its work horse (the child process that runs its jobs) at a moment the test chooses.
"""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from jobs.steps import once, recording
from market.cache import Cache
from tests.servers import PATIENCE, children_of, ended, wait_until
from tests.slack_app import Tilt, YahooTilt, calls_in, channel, in_channel, settled
from tests.slack_standin import SlackStandIn
from tests.yahoo_standin import YahooStandIn


@pytest.fixture
def yahoo(yahoo_dir: Path) -> Iterator[YahooStandIn]:
    with YahooStandIn(yahoo_dir) as standin:
        yield standin


def work_horse(tilt: Tilt) -> int:
    """The pid of the (only) worker's work horse."""
    return wait_until(lambda: children_of(tilt.workers[0].pid), what="the worker's work horse")[0]


def test_a_worker_killed_while_fetching_runs_the_job_again_and_posts_once(
        fresh_slack: SlackStandIn, yahoo: YahooStandIn, redis_url: str, tmp_path: Path) -> None:
    with YahooTilt(fresh_slack, yahoo, redis_url, tmp_path / "tilt") as tilt:
        where = channel()
        yahoo.delay = 5.0  # the data source hangs: the job is in the middle of fetching
        assert tilt.command("/compare", "SMH SPY 5y", channel=where, user="UKILLFETCH").json()["text"] == "Working on it…"
        wait_until(lambda: yahoo.chart_requests("SMH") or yahoo.chart_requests("SPY"))
        os.kill(work_horse(tilt), signal.SIGKILL)
        yahoo.delay = 0.0
        post = calls_in(fresh_slack, "chat.postMessage", where)[0]
        assert "SMH vs SPY" in post.body["text"]
        calls_in(fresh_slack, "files.completeUploadExternal", where)
        settled(tilt, fresh_slack)  # the retried job and any further run of it are over: a duplicate would be in
        assert len(in_channel(fresh_slack, "chat.postMessage", where)) == 1
        assert len(in_channel(fresh_slack, "files.completeUploadExternal", where)) == 1


def test_a_worker_killed_between_message_and_chart_does_not_post_the_message_twice(
        fresh_slack: SlackStandIn, redis_url: str, prices_dir: Path, tmp_path: Path) -> None:
    with Tilt(fresh_slack, redis_url, prices_dir, tmp_path / "tilt") as tilt:
        where = channel()
        release = fresh_slack.hold_next("files.getUploadURLExternal")  # the message is out, the chart upload hangs
        tilt.command("/compare", "XLE SPY 3y", channel=where, user="UKILLCHART")
        calls_in(fresh_slack, "chat.postMessage", where)
        wait_until(lambda: fresh_slack.of("files.getUploadURLExternal"))
        os.kill(work_horse(tilt), signal.SIGKILL)
        release.set()
        completed = calls_in(fresh_slack, "files.completeUploadExternal", where)
        settled(tilt, fresh_slack)  # the retried job and any further run of it are over: a duplicate would be in
        posts = in_channel(fresh_slack, "chat.postMessage", where)
        assert len(posts) == 1 and "XLE vs SPY" in posts[0].body["text"]
        assert len(completed) == 1 and len(fresh_slack.of("files.getUploadURLExternal")) == 2


def test_a_worker_stopped_in_the_middle_of_a_job_finishes_it_first(
        fresh_slack: SlackStandIn, yahoo: YahooStandIn, redis_url: str, tmp_path: Path) -> None:
    with YahooTilt(fresh_slack, yahoo, redis_url, tmp_path / "tilt") as tilt:
        where = channel()
        yahoo.delay = 2.0  # the job is fetching when the stop comes
        tilt.command("/compare", "XSD SPY 5y", channel=where, user="USTOPMID")  # XSD: fetched by no other test here
        wait_until(lambda: yahoo.chart_requests("XSD"))
        worker, horse = tilt.workers[0], work_horse(tilt)
        worker.terminate()  # SIGTERM, as a deploy sends it
        assert worker.wait(timeout=PATIENCE) == 0
        assert ended(horse)
        # The horse ended by itself once the job was done, not killed when the stop's grace ran out.
        assert "did not stop" not in (tilt.state / "worker-0.log").read_text()
        posts = in_channel(fresh_slack, "chat.postMessage", where)
        assert len(posts) == 1 and "XSD vs SPY" in posts[0].body["text"]
        assert in_channel(fresh_slack, "files.completeUploadExternal", where)


def test_without_a_queue_the_web_process_runs_commands_itself(
        fresh_slack: SlackStandIn, redis_url: str, prices_dir: Path, tmp_path: Path) -> None:
    class OneProcess(Tilt):
        def environment(self, *args) -> dict[str, str]:
            return {**super().environment(*args), "TILT_JOBS": "inprocess"}

    with OneProcess(fresh_slack, redis_url, prices_dir, tmp_path / "tilt", workers=0) as tilt:
        where = channel()
        tilt.command("/compare", "XLU SPY 2y", channel=where, user="UONEPROCESS")
        assert "XLU vs SPY" in calls_in(fresh_slack, "chat.postMessage", where)[0].body["text"]


def test_with_the_embedded_redis_one_process_does_everything(
        fresh_slack: SlackStandIn, prices_dir: Path, tmp_path: Path) -> None:
    """No REDIS_URL: serve starts its own Redis and works in-process (a single-process install)."""
    class Embedded(Tilt):
        def environment(self, *args) -> dict[str, str]:
            env = super().environment(*args)
            del env["REDIS_URL"]
            return env

    # Leaving the block stops it with SIGTERM.
    with Embedded(fresh_slack, "unused", prices_dir, tmp_path / "tilt", workers=0) as tilt:
        where = channel()
        assert tilt.command("/compare", "SMH SPY 10y", channel=where).json()["text"] == "Working on it…"
        assert "SMH vs SPY" in calls_in(fresh_slack, "chat.postMessage", where)[0].body["text"]
        assert tilt.get("/healthz").status == 200  # its own Redis answers
        assert (tmp_path / "tilt" / "redis").is_dir()
        redis_server = children_of(tilt.process.pid)[0]
    # ... which stops its Redis too, having saved it (the append-only file is there).
    wait_until(lambda: ended(redis_server), what="the embedded redis-server to stop")
    assert (tmp_path / "tilt" / "redis" / "appendonly.aof").exists()


def test_with_no_worker_listening_the_web_process_answers_itself(
        fresh_slack: SlackStandIn, redis_url: str, prices_dir: Path, tmp_path: Path) -> None:
    """Workers all stopped (or crashed): a command must not end at "Working on it…"."""
    with Tilt(fresh_slack, redis_url, prices_dir, tmp_path / "tilt", workers=0) as tilt:
        where = channel()
        tilt.command("/compare", "XLB SPY 2y", channel=where, user="UNOWORKER")
        assert "XLB vs SPY" in calls_in(fresh_slack, "chat.postMessage", where)[0].body["text"]
        assert "no worker listens to the tilt queue" in tilt.log.read_text()


# --- once-per-job steps, against a real Redis ---------------------------------------------------


def test_a_step_runs_once_per_job_and_its_result_is_remembered(cache: Cache) -> None:
    ran: list[str] = []

    def post() -> str:
        ran.append("post")
        return f"ts-{ran.count('post')}"

    job = uuid.uuid4().hex
    with recording(cache, job):
        first = once("message", post)
    with recording(cache, job):  # the job run again, after its worker died
        again = once("message", post)
        once("chart", lambda: ran.append("chart"))
    with recording(cache, uuid.uuid4().hex):  # another job
        other = once("message", post)
    assert (first, again, other) == ("ts-1", "ts-1", "ts-2")
    assert ran == ["post", "chart", "post"]


def test_outside_a_job_or_without_redis_a_step_just_runs() -> None:
    ran: list[int] = []
    once("message", lambda: ran.append(1))
    with recording(None, "job"):
        once("message", lambda: ran.append(2))
        once("message", lambda: ran.append(3))
    assert ran == [1, 2, 3]


def test_a_step_that_fails_is_not_recorded(cache: Cache) -> None:
    job = uuid.uuid4().hex

    def refuse() -> None:
        raise RuntimeError("Slack said no")

    with recording(cache, job), pytest.raises(RuntimeError):
        once("message", refuse)
    with recording(cache, job):
        assert once("message", lambda: "posted") == "posted"
