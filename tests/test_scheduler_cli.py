"""The scheduler and team-data commands as processes: ``bot.py scheduler``, ``export``, ``import``."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from market.cache import connect
from market.redis_server import EmbeddedRedis
from market.timing import Schedule
from store.teamdata import Owner, TeamStore
from tests.conftest import ROOT
from tests.servers import PATIENCE, stop_processes, wait_for_workers, wait_until
from tests.slack_standin import SlackStandIn

OWNER = Owner(platform="slack", team="T0TEST", scope="channel:CDIGEST")


def environment(redis_url: str, state: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MARKET_", "REDIS_", "TILT_", "DISCORD_"))}
    return {**env, "REDIS_URL": redis_url, "TILT_STATE_DIR": str(state), **extra}


def start(mode: str, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """``bot.py <mode>`` in the background, its log kept for the assertion messages."""
    return subprocess.Popen([sys.executable, str(ROOT / "bot.py"), mode], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("jobs", ["queue", "inprocess"])
def test_two_scheduler_processes_post_a_due_digest_once(tmp_path: Path, prices_dir: Path, jobs: str) -> None:
    """Queue: the schedulers hand the digest to two workers; inprocess: they post it themselves."""
    redis = EmbeddedRedis(tmp_path / "redis")
    store = TeamStore(connect(redis.url))
    now = dt.datetime.now(dt.timezone.utc)
    due = now - dt.timedelta(minutes=1)
    # Weekly on today's weekday: due whatever the exchange does today, so the test runs on any date.
    schedule = Schedule(kind="weekly", at=f"{due:%H:%M}", tz="UTC", weekday=due.weekday())
    store.add_to_watchlist(OWNER, ["XLE"])
    subscription = store.subscribe(OWNER, "CDIGEST", schedule.to_dict())
    key = store.key(OWNER, "digest")
    store.client.hset(key, "subscription", json.dumps({**json.loads(store.client.hget(key, "subscription")),
                                                        "created_at": (now - dt.timedelta(days=1)).timestamp()}))
    with SlackStandIn() as slack:
        env = environment(redis.url, tmp_path / "state", SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=slack.api_url,
                          MARKET_DATA_DIR=str(prices_dir), TILT_SCHEDULER_INTERVAL="0.2", TILT_JOBS=jobs)
        workers = [start("worker", env, tmp_path) for _ in range(2 if jobs == "queue" else 0)]
        schedulers: list[subprocess.Popen] = []
        try:
            # The schedulers start once the workers listen (a slow start-up on a loaded machine would
            # otherwise have the schedulers post the digest themselves, or stop a worker still starting).
            wait_for_workers(redis.url, len(workers))
            schedulers = [start("scheduler", env, tmp_path) for _ in range(2)]
            slack.wait_for("chat.postMessage")
            slack.wait_for("files.completeUploadExternal")
            # The digest is out, chart and all.  Once it is recorded done and no process holds its lease, no
            # scheduler or worker can post it again (each checks the record under the lease), so the posts so
            # far are all there will be.
            wait_until(lambda: any(store.client.scan_iter(match=f"{store.prefix}sched:done:*"))
                       and not any(store.client.scan_iter(match=f"{store.prefix}sched:lease:*")),
                       what="the digest recorded done, with no lease held")
            posts = slack.of("chat.postMessage")
        finally:
            logs = stop_processes([*schedulers, *workers])
            redis.close()
    assert len(posts) == 1, logs
    assert not any("no worker listens" in log for log in logs)  # queued: the workers posted it
    assert posts[0].body["channel"] == subscription.channel and "Market digest" in posts[0].body["text"]
    assert "XLE" in posts[0].body["text"]  # the conversation's watchlist is in it
    assert all(process.returncode == 0 for process in (*schedulers, *workers))  # SIGTERM stops them cleanly


def test_export_then_import_through_the_command_line(tmp_path: Path) -> None:
    redis = EmbeddedRedis(tmp_path / "redis")
    try:
        store = TeamStore(connect(redis.url))
        store.add_to_watchlist(OWNER, ["SMH", "IWM"])
        store.subscribe(OWNER, "CDIGEST", Schedule(kind="daily", at="08:30", tz="America/New_York").to_dict())
        env = environment(redis.url, tmp_path / "state", MARKET_DATA_DIR=str(tmp_path))
        exported = tmp_path / "tilt.json"

        def run(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, str(ROOT / "bot.py"), *args], env=env, cwd=tmp_path,
                                  capture_output=True, text=True, timeout=PATIENCE)

        assert run("export", str(exported)).returncode == 0
        store.client.flushdb()
        restored = run("import", str(exported))
        assert restored.returncode == 0 and "Restored" in restored.stdout
        assert store.watchlist(OWNER) == ["SMH", "IWM"]
        assert store.subscription(OWNER).schedule["at"] == "08:30"
        assert json.loads(run("export").stdout) == json.loads(exported.read_text())
        bad = tmp_path / "bad.json"
        bad.write_text("{not json")
        refused = run("import", str(bad))
        assert refused.returncode == 2 and refused.stderr.startswith("tilt: ") and "Traceback" not in refused.stderr
    finally:
        redis.close()


def test_each_workspace_gets_its_digest_with_its_own_token(tmp_path: Path, prices_dir: Path) -> None:
    """Many workspaces (OAuth): the scheduler posts each team's digest with that team's installed bot token."""
    from slack_sdk.oauth.installation_store import Installation

    from chat.slack.installations import RedisInstallationStore

    redis = EmbeddedRedis(tmp_path / "redis")
    client = connect(redis.url)
    store, installations = TeamStore(client), RedisInstallationStore(client)
    now = dt.datetime.now(dt.timezone.utc)
    due = now - dt.timedelta(minutes=1)
    schedule = Schedule(kind="weekly", at=f"{due:%H:%M}", tz="UTC", weekday=due.weekday())
    for team in ("TALPHA", "TBRAVO"):
        installations.save(Installation(app_id="A0TILT", team_id=team, user_id=f"U{team}", bot_token=f"xoxb-{team}-1",
                                        bot_id=f"B{team}", bot_user_id=f"U{team}BOT"))
        owner = Owner(platform="slack", team=team, scope=f"channel:C{team}")
        store.subscribe(owner, f"C{team}", schedule.to_dict())
        key = store.key(owner, "digest")
        store.client.hset(key, "subscription", json.dumps({**json.loads(store.client.hget(key, "subscription")),
                                                            "created_at": (now - dt.timedelta(days=1)).timestamp()}))
    with SlackStandIn() as slack:
        env = environment(redis.url, tmp_path / "state", SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="s",
                          SLACK_API_URL=slack.api_url, MARKET_DATA_DIR=str(prices_dir), TILT_SCHEDULER_INTERVAL="0.2")
        scheduler, worker = start("scheduler", env, tmp_path), start("worker", env, tmp_path)
        try:
            posts = slack.wait_for("chat.postMessage", count=2)
        finally:
            log = "".join(stop_processes([scheduler, worker]))
            redis.close()
    assert sorted((p.body["channel"], p.authorization) for p in posts) == [
        ("CTALPHA", "Bearer xoxb-TALPHA-1"), ("CTBRAVO", "Bearer xoxb-TBRAVO-1")], log
