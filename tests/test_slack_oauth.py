"""Many workspaces at the wire: "Add to Slack", per-workspace tokens and data, uninstall, restart.

``bot.py serve`` runs in OAuth mode (``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``, no
bot token); the Slack stand-in plays Slack's side of the install, handing out
one bot token per workspace from ``oauth.v2.access``.
"""

from __future__ import annotations

import http.client
import os
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from chat.slack.installations import RedisInstallationStore
from market.cache import connect
from market.redis_server import EmbeddedRedis
from store.teamdata import Owner, TeamStore
from tests.servers import PATIENCE, wait_until
from tests.slack_app import SECRET, Tilt, calls_in, channel, responses_to
from tests.slack_standin import SlackStandIn

TEAMS = ("TALPHA", "TBRAVO")


class OAuthTilt(Tilt):
    """``bot.py serve`` for any number of workspaces."""

    def environment(self, slack: SlackStandIn, redis_url: str, prices_dir: Path, state: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MARKET_", "REDIS_", "DISCORD_"))}
        return {**env, "SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "client-secret", "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": slack.api_url, "MARKET_DATA_DIR": str(prices_dir), "REDIS_URL": redis_url,
                "TILT_STATE_DIR": str(state)}

    def browse(self, path: str, cookie: str | None = None) -> http.client.HTTPResponse:
        """A GET as a browser sends it, without following redirects (they lead to slack.com)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=PATIENCE)
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        return connection.getresponse()

    def install(self, team: str) -> None:
        """Someone in ``team`` clicks "Add to Slack", approves, and comes back with a code."""
        start = self.browse("/slack/install")
        assert start.status == 302
        location = urlsplit(start.getheader("Location"))
        query = parse_qs(location.query)
        assert location.netloc == "slack.com" and query["client_id"] == ["111.222"]
        assert "files:write" in query["scope"][0].split(",")
        code = uuid.uuid4().hex
        self.slack.grants[code] = team
        # The state also rides in a cookie, so only the browser that started the install can finish it.
        cookie = start.getheader("Set-Cookie").split(";")[0]
        back = self.browse(f"/slack/oauth_redirect?code={code}&state={query['state'][0]}", cookie)
        assert back.status == 200, back.read()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis")
    yield server
    server.close()


@pytest.fixture
def oauth_tilt(fresh_slack: SlackStandIn, redis: EmbeddedRedis, prices_dir: Path, tmp_path: Path) -> Iterator[OAuthTilt]:
    server = OAuthTilt(fresh_slack, redis.url, prices_dir, tmp_path / "tilt")
    for team in TEAMS:
        server.install(team)
    yield server
    server.stop()


def wait_for_watchlist(store: TeamStore, owner: Owner, expected: list[str]) -> None:
    wait_until(lambda: store.watchlist(owner) == expected, what=f"{owner.team}'s watchlist to be {expected}")


def test_each_workspace_uses_its_own_token_and_sees_only_its_own_data(oauth_tilt: OAuthTilt, fresh_slack: SlackStandIn,
                                                                      redis: EmbeddedRedis) -> None:
    store = TeamStore(connect(redis.url))
    shared_channel = channel()  # the same channel id in both workspaces must still not mix their data
    oauth_tilt.command("/watchlist", "add SMH", channel=shared_channel, team="TALPHA")
    wait_for_watchlist(store, Owner("slack", "TALPHA", f"channel:{shared_channel}"), ["SMH"])
    assert store.watchlist(Owner("slack", "TBRAVO", f"channel:{shared_channel}")) == []

    alpha, bravo = channel(), channel()
    oauth_tilt.command("/compare", "QQQ SPY 1y", channel=alpha, team="TALPHA")
    oauth_tilt.command("/compare", "IWM SPY 1y", channel=bravo, team="TBRAVO")
    assert calls_in(fresh_slack, "chat.postMessage", alpha)[0].authorization.startswith("Bearer xoxb-TALPHA-")
    assert calls_in(fresh_slack, "chat.postMessage", bravo)[0].authorization.startswith("Bearer xoxb-TBRAVO-")


def test_uninstall_removes_the_workspace_and_its_data(oauth_tilt: OAuthTilt, fresh_slack: SlackStandIn, redis: EmbeddedRedis) -> None:
    store = TeamStore(connect(redis.url))
    where = channel()
    oauth_tilt.command("/watchlist", "add XLE", channel=where, team="TALPHA")
    oauth_tilt.command("/watchlist", "add XLK", channel=where, team="TBRAVO")
    wait_for_watchlist(store, Owner("slack", "TALPHA", f"channel:{where}"), ["XLE"])
    wait_for_watchlist(store, Owner("slack", "TBRAVO", f"channel:{where}"), ["XLK"])

    # A person revoking their own token leaves the workspace's Tilt and data alone.
    assert oauth_tilt.event({"type": "tokens_revoked", "tokens": {"oauth": ["UTALPHAADMIN"], "bot": []}}, team="TALPHA").status == 200
    installations = RedisInstallationStore(connect(redis.url))
    wait_until(lambda: installations.find_installation(enterprise_id=None, team_id="TALPHA", user_id="UTALPHAADMIN") is None,
               what="the revoked person's installation record to go")  # the event was handled
    assert store.watchlist(Owner("slack", "TALPHA", f"channel:{where}")) == ["XLE"]
    assert oauth_tilt.event({"type": "app_uninstalled"}, team="TALPHA").status == 200
    wait_for_watchlist(store, Owner("slack", "TALPHA", f"channel:{where}"), [])
    assert store.watchlist(Owner("slack", "TBRAVO", f"channel:{where}")) == ["XLK"]  # the other team is untouched
    assert not [k for k in store.client.scan_iter(match="tilt:v1:slack:install:*TALPHA*")]

    posted_before = len(fresh_slack.of("chat.postMessage"))
    # Answered empty at once (no installation authorizes it: no "Working on it…", nothing queued).  Had it been
    # queued anyway, the one worker would have run it before a command queued after it, and posted by then.
    assert oauth_tilt.command("/compare", "SMH SPY 1y", channel=channel(), team="TALPHA").body == b""
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    oauth_tilt.command("/help", "", channel=channel(), team="TBRAVO", response=marker)
    responses_to(fresh_slack, marker)
    assert len(fresh_slack.of("chat.postMessage")) == posted_before  # nothing is posted there any more


def test_installations_survive_a_restart(oauth_tilt: OAuthTilt, fresh_slack: SlackStandIn, redis: EmbeddedRedis,
                                         prices_dir: Path, tmp_path: Path) -> None:
    oauth_tilt.stop()
    again = OAuthTilt(fresh_slack, redis.url, prices_dir, tmp_path / "again")
    try:
        where = channel()
        again.command("/valuation", "IJR SPY", channel=where, team="TBRAVO")
        assert calls_in(fresh_slack, "chat.postMessage", where)[0].authorization.startswith("Bearer xoxb-TBRAVO-")
    finally:
        again.stop()


def test_rotating_tokens_are_refreshed_before_they_expire(fresh_slack: SlackStandIn, redis: EmbeddedRedis, prices_dir: Path,
                                                         tmp_path: Path) -> None:
    fresh_slack.rotate_tokens = True  # each token lives 10 minutes: inside Bolt's 2-hour refresh margin at once
    server = OAuthTilt(fresh_slack, redis.url, prices_dir, tmp_path / "rotating")
    try:
        server.install("TROTATE")
        installed = [t for t, team in fresh_slack.tokens.items() if team == "TROTATE"]
        where = channel()
        server.command("/compare", "XLV SPY 1y", channel=where, team="TROTATE")
        used = calls_in(fresh_slack, "chat.postMessage", where)[0].authorization.removeprefix("Bearer ")
        assert fresh_slack.tokens[used] == "TROTATE" and used not in installed  # a fresh token from the refresh
        assert any(c.body.get("grant_type") == "refresh_token" for c in fresh_slack.of("oauth.v2.access"))
    finally:
        server.stop()


def test_a_workspace_token_is_checked_with_slack_once_not_on_every_request(fresh_slack: SlackStandIn, redis: EmbeddedRedis,
                                                                           prices_dir: Path, tmp_path: Path) -> None:
    """Bolt asks Slack (auth.test) who a token belongs to on every request unless told to remember it, and a
    worker's horse, forked per job, would forget it every time.  Tilt keeps the answer in Redis: the install
    flow asks once and the first request once, then neither the web process nor any job asks again
    (without it: 1 + 4 + 4)."""
    server = OAuthTilt(fresh_slack, redis.url, prices_dir, tmp_path / "tilt", workers=1)
    try:
        server.install("TALPHA")
        for n in range(4):
            where = channel()
            server.command("/compare", f"QQQ SPY {n + 1}y", channel=where, team="TALPHA", user=f"UCACHE{n}")
            calls_in(fresh_slack, "chat.postMessage", where)
        checks = [c for c in fresh_slack.of("auth.test") if c.authorization.startswith("Bearer xoxb-TALPHA-")]
        assert len(checks) == 2
        assert not [k for k in TeamStore(connect(redis.url)).client.scan_iter(match="*xoxb-*")]  # no token in a key
    finally:
        server.stop()
