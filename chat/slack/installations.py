"""Where Slack installations and OAuth states live: Redis, beside the rest of Tilt's durable state.

slack_sdk ships file, SQLite, SQLAlchemy and S3 installation stores but none
for Redis, so these implement its ``InstallationStore`` and
``OAuthStateStore`` interfaces.  Keeping installations in Redis means one
place to back up (``appendonly``), one URL to configure, and the same store
for every web and worker process.

Keys (prefix ``tilt:v1:`` by default)::

    slack:install:{enterprise or none}:{team or none}   hash: "bot" -> Bot JSON,
                                                         "installer:latest" / "installer:{user}" -> Installation JSON
    slack:oauth-state:{state}                            a state issued for the install flow, for 10 minutes
    slack:authorize:{sha256 of a bot token}              Slack's auth.test answer for that token, for 10 minutes

An organisation-wide (Enterprise Grid) install is stored under team ``none``,
as slack_sdk's own stores do.  Only the latest installation is kept (no
history); a bot token that was rotated since a user's installation replaces
the stale one when that installation is read.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Optional

import redis
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from market.cache import Cache
from store.teamdata import PREFIX

NONE = "none"
STATE_SECONDS = 600
AUTHORIZE_SECONDS = 600

_BOT_FIELDS = ("bot_id", "bot_user_id", "bot_token", "bot_scopes", "bot_refresh_token", "bot_token_expires_at")


class RedisInstallationStore(InstallationStore):
    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        self.client = client
        self.prefix = prefix

    def _key(self, enterprise_id: Optional[str], team_id: Optional[str]) -> str:
        return f"{self.prefix}slack:install:{enterprise_id or NONE}:{team_id or NONE}"

    def save(self, installation: Installation) -> None:
        key = self._key(installation.enterprise_id, installation.team_id)
        document = json.dumps(installation.__dict__)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"installer:latest": document, f"installer:{installation.user_id or NONE}": document})
            if installation.bot_token is not None:
                pipe.hset(key, "bot", json.dumps(installation.to_bot().__dict__))
            pipe.execute()

    def save_bot(self, bot: Bot) -> None:
        if bot.bot_token is not None:
            self.client.hset(self._key(bot.enterprise_id, bot.team_id), "bot", json.dumps(bot.__dict__))

    def find_bot(self, *, enterprise_id: Optional[str], team_id: Optional[str],
                 is_enterprise_install: Optional[bool] = False) -> Optional[Bot]:
        raw = self.client.hget(self._key(enterprise_id, None if is_enterprise_install else team_id), "bot")
        return Bot(**json.loads(raw)) if raw else None

    def find_installation(self, *, enterprise_id: Optional[str], team_id: Optional[str], user_id: Optional[str] = None,
                          is_enterprise_install: Optional[bool] = False) -> Optional[Installation]:
        key = self._key(enterprise_id, None if is_enterprise_install else team_id)
        raw, raw_bot = self.client.hmget(key, f"installer:{user_id or 'latest'}", "bot")
        if not raw:
            return None
        installation = Installation(**json.loads(raw))
        if raw_bot:
            # The bot token may have been rotated or reinstalled since this person installed (bolt-python #664).
            bot = json.loads(raw_bot)
            for field in _BOT_FIELDS:
                setattr(installation, field, bot.get(field))
        return installation

    def delete_bot(self, *, enterprise_id: Optional[str], team_id: Optional[str]) -> None:
        self.client.hdel(self._key(enterprise_id, team_id), "bot")

    def delete_installation(self, *, enterprise_id: Optional[str], team_id: Optional[str],
                            user_id: Optional[str] = None) -> None:
        key = self._key(enterprise_id, team_id)
        if user_id is not None:
            self.client.hdel(key, f"installer:{user_id}")
            return
        installers = [f for f in self.client.hkeys(key) if f.startswith(b"installer:")]
        if installers:
            self.client.hdel(key, *installers)


class RedisOAuthStateStore(OAuthStateStore):
    """OAuth ``state`` values: issued for ``STATE_SECONDS``, each consumable once."""

    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        self.client = client
        self.prefix = prefix

    def issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(24)
        self.client.set(f"{self.prefix}slack:oauth-state:{state}", b"1", ex=STATE_SECONDS)
        return state

    def consume(self, state: str) -> bool:
        return bool(self.client.delete(f"{self.prefix}slack:oauth-state:{state}"))


class RedisAuthorizeCache:
    """Bolt's per-token ``auth.test`` answers (``InstallationStoreAuthorize.authorize_result_cache``), shared
    through Redis for ``AUTHORIZE_SECONDS``: an RQ work horse, forked per job, starts with Bolt's in-memory
    cache empty and would otherwise ask Slack once per job.  Keys hold a digest of the token, never the
    token; through ``market.cache.Cache``, so Redis failing is a miss (Slack is asked, as without it)."""

    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        self.cache = Cache(client, prefix=prefix)
        self._seen: dict[str, AuthorizeResult] = {}  # this process's own, as Bolt keeps it

    @staticmethod
    def _key(token: str) -> str:
        return f"slack:authorize:{hashlib.sha256(token.encode()).hexdigest()}"

    def _load(self, token: str) -> AuthorizeResult | None:
        if token not in self._seen:
            raw = self.cache.get(self._key(token))
            if raw is None:
                return None
            self._seen[token] = AuthorizeResult(**json.loads(raw))
        return self._seen[token]

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self._load(token) is not None

    def __getitem__(self, token: str) -> AuthorizeResult:
        result = self._load(token)
        if result is None:
            raise KeyError("no auth.test answer kept for this token")
        return result

    def __setitem__(self, token: str, result: AuthorizeResult) -> None:
        self._seen[token] = result
        self.cache.set(self._key(token), json.dumps(dict(result)).encode(), ttl_seconds=AUTHORIZE_SECONDS)
