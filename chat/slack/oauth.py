"""Many workspaces: Slack's "Add to Slack" OAuth flow, with installations kept in Redis.

With ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` set, Tilt serves Bolt's
``GET /slack/install`` (which sends the person to Slack to approve the scopes)
and ``GET /slack/oauth_redirect`` (where Slack sends them back with a code that
Tilt exchanges for the workspace's bot token through ``oauth.v2.access``).
Every request then finds its workspace's token in the installation store;
Bolt refreshes rotating tokens (``token_rotation_enabled``) by itself.
"""

from __future__ import annotations

from typing import Callable

import redis
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient

from chat.slack.installations import RedisInstallationStore, RedisOAuthStateStore

# Must match slack/manifest.yml.
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "files:write", "app_mentions:read",
              "im:history", "im:read", "im:write", "channels:read", "groups:read", "mpim:read")
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def oauth_settings(client_id: str, client_secret: str, client: redis.Redis) -> OAuthSettings:
    """Bolt's OAuth settings with Tilt's Redis stores."""
    return OAuthSettings(
        client_id=client_id, client_secret=client_secret, scopes=list(BOT_SCOPES),
        install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
        installation_store=RedisInstallationStore(client), state_store=RedisOAuthStateStore(client),
        install_page_rendering_enabled=False,
    )


def installed_clients(installations: RedisInstallationStore,
                      make_client: Callable[[str], WebClient]) -> Callable[[str], WebClient]:
    """``client_for(team)``: a Web API client with that workspace's bot token, for posting outside a request."""
    def client_for(team: str) -> WebClient:
        bot = installations.find_bot(enterprise_id=None, team_id=team)
        if bot is None or not bot.bot_token:
            raise LookupError(f"Tilt is not installed in Slack workspace {team}")
        return make_client(bot.bot_token)

    return client_for
