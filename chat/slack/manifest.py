"""Slack's app manifest (``slack/manifest.yml``), its ``slash_commands`` derived from the commands' declarations.

``python bot.py slack-manifest`` writes it; a test holds the committed file equal to ``manifest()``, so
the manifest cannot drift from the code.  ``/tilt`` (the sweep of ``handlers/tilt.py``) is also the umbrella for a workspace where a name is taken:
``/tilt compare SMH SPY`` runs ``/compare SMH SPY``.
"""

from __future__ import annotations

import json

from handlers import catalog

UMBRELLA_COMMAND = "/tilt"
URL = "https://tilt.example.com/slack/events"

_HEAD = """# Slack app manifest for Tilt. Create the app at https://api.slack.com/apps -> "Create New App" ->
# "From an app manifest", paste this file, and replace https://tilt.example.com with your server's URL.
# For Socket Mode instead: set settings.socket_mode_enabled to true and drop the url fields.
display_information:
  name: Tilt
  description: Compare ETFs and stocks against the S&P 500, with charts and valuation gaps.
  background_color: "#0072b2"
features:
  bot_user:
    display_name: Tilt
    always_online: true
  app_home:
    home_tab_enabled: true  # the team's watchlist, calls, signals and next digest (app_home_opened)
    messages_tab_enabled: true
    messages_tab_read_only_enabled: false
"""
_TAIL = """oauth_config:
  scopes:
    bot:
      - commands          # slash commands
      - chat:write        # post results
      - chat:write.public # post in public channels without being invited
      - files:write       # upload charts (files_upload_v2)
      - app_mentions:read # @Tilt compare ...
      - im:history        # direct messages to Tilt
      - im:read
      - im:write
      - channels:read     # which channels a person is in (users.conversations): the Home tab's watchlists
      - groups:read       # the same for private channels Tilt is in
      - mpim:read         # and group direct messages
settings:
  event_subscriptions:
    request_url: https://tilt.example.com/slack/events
    bot_events:
      - app_mention
      - app_home_opened
      - message.im
  interactivity:
    is_enabled: true
    request_url: https://tilt.example.com/slack/events
  org_deploy_enabled: false
  socket_mode_enabled: false
  token_rotation_enabled: false
"""


def manifest() -> str:
    """The whole manifest, as committed in ``slack/manifest.yml``."""
    commands = [_slash_command(f"/{c.name}", c.summary, c.usage_hint) for c in catalog.listed()]
    return _HEAD + "  slash_commands:\n" + "".join(commands) + _TAIL


def _slash_command(command: str, description: str, usage_hint: str) -> str:
    lines = [f"    - command: {command}", f"      url: {URL}", f"      description: {_quoted(description)}"]
    if usage_hint:
        lines.append(f"      usage_hint: {_quoted(usage_hint)}")
    lines.append("      should_escape: false")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    """``text`` as a YAML scalar: JSON's double-quoted strings are valid YAML, whatever the text holds."""
    return json.dumps(text, ensure_ascii=False)


def slash_commands() -> tuple[str, ...]:
    """The slash commands Tilt's Slack app listens to: every listed command (``/tilt`` among them, which is
    also the umbrella)."""
    return tuple(f"/{c.name}" for c in catalog.listed())
