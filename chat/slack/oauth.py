"""Many workspaces: Slack's "Add to Slack" OAuth flow, with installations kept in Redis.

With ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` set, Tilt serves Bolt's
``GET /slack/install`` (which sends the person to Slack to approve the scopes)
and ``GET /slack/oauth_redirect`` (where Slack sends them back with a code that
Tilt exchanges for the workspace's bot token through ``oauth.v2.access``).
Every request then finds its workspace's token in the installation store;
Bolt refreshes rotating tokens (``token_rotation_enabled``) by itself.
"""

from __future__ import annotations

import redis
from slack_bolt.oauth.oauth_settings import OAuthSettings

from chat.slack.installations import RedisInstallationStore, RedisOAuthStateStore

# Must match slack/manifest.yml.
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "files:write", "app_mentions:read",
              "im:history", "im:read", "im:write")
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def oauth_settings(client_id: str, client_secret: str, client: redis.Redis, *,
                   authorization_url: str | None = None) -> OAuthSettings:
    """Bolt's OAuth settings with Tilt's Redis stores; ``authorization_url`` overrides Slack's (tests)."""
    return OAuthSettings(
        client_id=client_id, client_secret=client_secret, scopes=list(BOT_SCOPES),
        install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
        installation_store=RedisInstallationStore(client), state_store=RedisOAuthStateStore(client),
        install_page_rendering_enabled=False, authorization_url=authorization_url,
    )
