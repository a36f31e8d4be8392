"""Tilt as a Slack app (Bolt): the assembly of its parts.

- ``chat.slack.settings``: what the app is built from, one frozen ``SlackSettings``;
- ``chat.slack.client``: the Web API client (retries);
- ``chat.slack.route``: ``POST /slack/events`` as a WSGI route (signature headers, body limits, malformed bodies);
- ``chat.slack.replay``: replayed requests refused;
- ``chat.slack.queued``: each listener's work handed to a job, and run by a worker copy of this app;
- ``chat.slack.lifecycle``: authorizing from a workspace's installation, forgetting it on uninstall;
- ``chat.slack.listeners``: what each command, mention, click and Home tab opening does;
- ``chat.slack.membership``: which channels a person is in (the Home tab's watchlists);
- ``chat.slack.delivery``: how a ``Reply`` reaches Slack.

A request whose signature was seen before (a replay) is answered with an empty 200 and nothing else.
"""

from __future__ import annotations

import re

from slack_bolt import Ack, App

from chat.slack.blocks import HOME_ACTION, RERUN_ACTION, SHARE_ACTION
from chat.slack.lifecycle import UNINSTALL_EVENTS, cached_authorize, uninstaller
from chat.slack.listeners import Listeners
from chat.slack.manifest import slash_commands
from chat.slack.queued import QueuedLazyRunner
from chat.slack.replay import replay_guard
from chat.slack.settings import SlackSettings


def build_app(settings: SlackSettings) -> App:
    """The Bolt app: the web copy, whose listeners ack at once and hand their work to ``settings.jobs``, or
    (``settings.jobs`` is ``None``) the worker copy, which does that work.

    Every listener is split in two (Bolt's lazy listeners): a quick ``ack`` that runs in the request
    thread and becomes the HTTP answer, and the work, which becomes a job.  So an ack never waits behind
    another command's chart or Web API calls.
    """
    oauth, worker = settings.oauth, settings.jobs is None
    # The installation store is given to App too, so that Bolt's token rotation uses the client (and its
    # base URL) to refresh tokens; through ``oauth_settings`` alone it would make a client of its own.
    # The worker copy keeps the token check (auth.test once, at start): a work horse forked per job then
    # inherits its answer instead of asking Slack again for every job.
    app = App(client=settings.client, signing_secret=settings.signing_secret, process_before_response=True,
              oauth_settings=oauth, installation_store=oauth.installation_store if oauth else None,
              authorize=cached_authorize(oauth, settings.client) if oauth else None,
              request_verification_enabled=not worker)
    if settings.jobs is not None:
        app.listener_runner.lazy_listener_runner = QueuedLazyRunner(settings.jobs, app.logger)
        app.middleware(replay_guard(settings.cache))
    slack = Listeners(settings)
    uninstalled = uninstaller(oauth.installation_store if oauth else None, settings.forget_team)
    for event in UNINSTALL_EVENTS:
        app.event(event)(ack=_ack, lazy=[uninstalled])
    for name in slash_commands():
        app.command(name)(ack=slack.ack_command, lazy=[slack.on_slash_command])
    app.event("app_mention")(ack=_ack, lazy=[slack.on_mention])
    app.event("message")(ack=_ack, lazy=[slack.on_message])
    app.action(re.compile(f"^{RERUN_ACTION}:"))(ack=slack.ack_click, lazy=[slack.on_rerun])
    app.action(SHARE_ACTION)(ack=slack.ack_click, lazy=[slack.on_share])
    app.event("app_home_opened")(ack=_ack, lazy=[slack.on_home_opened])
    app.action(re.compile(f"^{HOME_ACTION}:"))(ack=slack.ack_click, lazy=[slack.on_home_action])
    return app


def _ack(ack: Ack) -> None:
    ack()
