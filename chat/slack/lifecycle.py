"""A workspace's installation over its life: each request authorized from it, and all of it forgotten
when Tilt is uninstalled (or its bot token revoked)."""

from __future__ import annotations

import logging
from typing import Any, Callable

from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import InstallationStore

from chat.slack.installations import RedisAuthorizeCache

log = logging.getLogger(__name__)

UNINSTALL_EVENTS = ("app_uninstalled", "tokens_revoked")


def cached_authorize(oauth: OAuthSettings, client: WebClient) -> InstallationStoreAuthorize:
    """Bolt's authorization from the installation store (rotating tokens as they near expiry), keeping each
    token's ``auth.test`` answer in Redis for every process: by default Bolt asks Slack again on every
    request, inside the ack, and every work horse would ask once per job."""
    authorize = InstallationStoreAuthorize(installation_store=oauth.installation_store, client_id=oauth.client_id,
                                           client_secret=oauth.client_secret, logger=log, client=client,
                                           cache_enabled=True, user_token_resolution=oauth.user_token_resolution)
    authorize.authorize_result_cache = RedisAuthorizeCache(oauth.installation_store.client)
    return authorize


def uninstaller(installations: InstallationStore | None, forget_team: Callable[[str], None] | None) -> Callable:
    """The listener for ``UNINSTALL_EVENTS``: forget the workspace's installation and data.

    A ``tokens_revoked`` that names only people's tokens (no bot token) removes just those people's
    installation records: the workspace keeps Tilt and its data.
    """
    def on_uninstalled(body: dict[str, Any]) -> None:
        team, enterprise = body.get("team_id"), body.get("enterprise_id")
        event = body.get("event", {})
        revoked = event.get("tokens") or {}
        if event.get("type") == "tokens_revoked" and not revoked.get("bot"):
            for user in revoked.get("oauth") or []:
                if installations is not None:
                    installations.delete_installation(enterprise_id=enterprise, team_id=team, user_id=user)
            return
        if installations is not None:
            installations.delete_all(enterprise_id=enterprise, team_id=team)
        if forget_team is not None and team:
            forget_team(team)
        log.warning("Tilt was removed from Slack workspace %s (%s): its installation and team data are deleted",
                    team, event.get("type"))

    return on_uninstalled
