"""Slack installations and OAuth states in Redis, through slack_sdk's own interfaces."""

from __future__ import annotations

import pytest
import redis as redis_py
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.oauth.installation_store import Installation

from chat.slack.installations import RedisAuthorizeCache, RedisInstallationStore, RedisOAuthStateStore
from market.cache import connect


@pytest.fixture
def prefix(key_prefix: str) -> str:
    return key_prefix


def installation(team: str, user: str, token: str, enterprise: str | None = None) -> Installation:
    return Installation(app_id="A0TILT", enterprise_id=enterprise, team_id=team, user_id=user, bot_token=token,
                        bot_id=f"B{team}", bot_user_id=f"U{team}BOT", bot_scopes="commands,chat:write",
                        bot_refresh_token=f"xoxe-{token}", bot_token_expires_in=43200)


def test_installations_are_found_per_workspace(redis_client: redis_py.Redis, prefix: str) -> None:
    store = RedisInstallationStore(redis_client, prefix)
    store.save(installation("TA", "UA", "xoxb-a"))
    store.save(installation("TB", "UB", "xoxb-b"))
    assert store.find_bot(enterprise_id=None, team_id="TA").bot_token == "xoxb-a"
    assert store.find_bot(enterprise_id=None, team_id="TB").bot_refresh_token == "xoxe-xoxb-b"
    assert store.find_installation(enterprise_id=None, team_id="TB").user_id == "UB"
    assert store.find_installation(enterprise_id=None, team_id="TA", user_id="UA").bot_token == "xoxb-a"
    assert store.find_bot(enterprise_id=None, team_id="TC") is None
    assert store.find_installation(enterprise_id=None, team_id="TA", user_id="UZ") is None


def test_a_reinstall_by_someone_else_refreshes_everyone_s_bot_token(redis_client: redis_py.Redis, prefix: str) -> None:
    store = RedisInstallationStore(redis_client, prefix)
    store.save(installation("TA", "UA", "xoxb-old"))
    store.save(installation("TA", "UB", "xoxb-new"))
    assert store.find_installation(enterprise_id=None, team_id="TA", user_id="UA").bot_token == "xoxb-new"


def test_enterprise_wide_installs_and_deletion(redis_client: redis_py.Redis, prefix: str) -> None:
    store = RedisInstallationStore(redis_client, prefix)
    store.save(installation(None, "UE", "xoxb-org", enterprise="E1"))
    assert store.find_bot(enterprise_id="E1", team_id="T9", is_enterprise_install=True).bot_token == "xoxb-org"
    store.save(installation("TA", "UA", "xoxb-a"))
    store.delete_all(enterprise_id=None, team_id="TA")
    assert store.find_bot(enterprise_id=None, team_id="TA") is None
    assert store.find_installation(enterprise_id=None, team_id="TA") is None
    assert store.find_bot(enterprise_id="E1", team_id=None).bot_token == "xoxb-org"


def test_oauth_states_are_single_use_and_expire(redis_client: redis_py.Redis, prefix: str) -> None:
    states = RedisOAuthStateStore(redis_client, prefix)
    state = states.issue()
    assert 590 < redis_client.ttl(f"{prefix}slack:oauth-state:{state}") <= 600
    assert states.consume(state) is True
    assert states.consume(state) is False
    assert states.consume("forged") is False


def test_authorize_answers_are_shared_between_processes_and_fail_soft(redis_client: redis_py.Redis, prefix: str) -> None:
    answer = AuthorizeResult(enterprise_id=None, team_id="TALPHA", bot_user_id="UBOT", bot_id="BBOT",
                             bot_token="xoxb-secret", bot_scopes=["commands", "chat:write"])
    RedisAuthorizeCache(redis_client, prefix)["xoxb-secret"] = answer
    other_process = RedisAuthorizeCache(redis_client, prefix)
    assert "xoxb-secret" in other_process and "xoxb-other" not in other_process
    assert dict(other_process["xoxb-secret"]) == dict(answer)
    assert not [k for k in redis_client.scan_iter(match=f"{prefix}*") if b"xoxb" in k]
    with pytest.raises(KeyError):
        other_process["xoxb-other"]
    down = RedisAuthorizeCache(connect("redis://127.0.0.1:1"), prefix)
    down["xoxb-secret"] = answer  # kept in this process only
    assert "xoxb-other" not in down and down["xoxb-secret"] is answer
