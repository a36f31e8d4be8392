"""Tilt as a Slack app (Bolt): slash commands, mentions, DMs and buttons.

Every entry point does the same three things:

1. acknowledge at once (slash commands: an ephemeral "working on it" line,
   well inside Slack's 3 seconds);
2. run the command through ``handlers.common.router`` (platform-neutral);
3. deliver the ``Reply``: results in the channel (blocks, then the chart as a
   file), problems only to the person who asked.

A reply with ``Reply.track`` (a signal card, a call) is always a new message,
even from a button, and ``posted`` is told its channel and ``ts`` so that
``schedule.watch`` can reply in its thread later (``poster``).  Any
other button answer replaces its message in place (``chat.update``): a
period switch, or a vote that redraws its card with the new tally.

If Tilt is not in the channel (or cannot see it), the result goes back through
``response_url`` with a hint to invite the bot and a "Share in channel"
button, which posts it publicly through the same URL.

Figures go out as Slack's sortable ``data_table`` and native charts
(``chat.slack.blocks``); every send goes through ``send_blocks``, which falls
back to older blocks when a workspace's Slack refuses them and remembers that
(``chat.slack.block_kinds``).  ``app_home_opened`` publishes the App Home tab
(``handlers.home``); its buttons answer in the person's direct messages with Tilt.

Steps 2 and 3 are a job (``jobs``): Bolt hands each lazy listener to
``QueuedLazyRunner``, which submits the request as Slack sent it; the job
dispatches it again, lazy-only, through a *worker* copy of this app (built with
``jobs=None``: no signature check, that was done on arrival), in an RQ worker
or on this process's pool.  A request whose signature was seen before (a
replay) is answered with an empty 200 and nothing else.  Every post is a ``jobs.steps.once`` step, so a job
run again after its worker died does not post twice.
"""

from __future__ import annotations

import io
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, TypeVar

from slack_bolt import Ack, App, BoltRequest, BoltResponse, Respond
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.lazy_listener import LazyListenerRunner
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.oauth.installation_store import InstallationStore

from chat.slack.block_kinds import BlockKinds
from chat.slack.blocks import (
    ALL_KINDS,
    HOME_ACTION,
    OPTIONAL_KINDS,
    RERUN_ACTION,
    SHARE_ACTION,
    fallback_text,
    home_view,
    kinds_used,
    reply_blocks,
)
from chat.slack.installations import RedisAuthorizeCache
from chat.web import StartResponse, WsgiApp, plain, too_large, within_limit
from handlers.common import router
from handlers.common.budget import Budget
from handlers.common.caller import Caller
from handlers.common.reply import Reply, error_reply
from handlers.home import Home
from jobs.queue import Jobs, Payload
from jobs.steps import once
from metrics import COMMAND_SECONDS
from metrics import COMMANDS as COMMAND_COUNT

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
JOB_KIND = "slack"
# A signature seen again within Slack's 5-minute replay window (plus clock skew) is a replayed request.
REPLAY_MEMORY_SECONDS = 600
# Every command people can type is a slash command of its own (slack/manifest.yml declares the same list);
# /tilt is also the umbrella (``/tilt compare SMH``), declared once.
UMBRELLA_COMMAND = "/tilt"
SLASH_COMMANDS = tuple(f"/{name}" for name in router.COMMANDS if f"/{name}" != UMBRELLA_COMMAND)
WORKING = "Working on it…"
# Errors that mean "you may not post here" rather than "Slack is broken".
NOT_IN_CHANNEL = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
INVITE_HINT = "_I'm not in this channel, so only you can see this. Invite me with `/invite @Tilt` to post results and charts here._"
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")

PLATFORM = "slack"

Answer = Callable[[str, Caller], Reply]
T = TypeVar("T")
# Told where a reply with ``Reply.track`` was posted: (who asked, the track id, channel, thread root ts).
Posted = Callable[[Caller, str, str, str], None]


@dataclass(frozen=True)
class Where:
    """Where a reply goes: channel, thread, and the person to show problems to."""

    channel: str
    user: str
    thread_ts: str | None = None
    team: str = ""  # the workspace: which blocks its Slack accepts (``BlockKinds``)


def web_client(token: str | None, api_url: str) -> WebClient:
    """A Web API client for ``api_url`` that waits out HTTP 429s as Slack asks (``Retry-After``) and tries
    again after a 500, 502 or 503 or a dropped connection.

    Without a token (many workspaces), Bolt gives each request a copy with its workspace's token.
    """
    client = WebClient(token=token, base_url=api_url)
    client.retry_handlers.extend([RateLimitErrorRetryHandler(max_retry_count=2), _ServerErrorRetry(max_retry_count=2)])
    return client


class _ServerErrorRetry(ServerErrorRetryHandler):
    """slack_sdk's 5xx retry (500 and 503) plus 502, a proxy that could not reach Slack.  Not 504: the
    gateway gave up waiting, so Slack may have posted already, and a retry could post twice."""

    def _can_retry(self, *, response: HttpResponse | None = None, **_: Any) -> bool:
        return response is not None and response.status_code in (500, 502, 503)


def wsgi_route(app: App) -> WsgiApp:
    """Bolt's WSGI handler for ``POST /slack/events`` (it verifies every request's signature).

    Bolt parses the body while building its request, before verifying it and outside its own error
    handling, so a body that is not UTF-8, not JSON where JSON belongs, or JSON but not an object
    escapes as ``ValueError`` / ``AttributeError`` / ``TypeError``: that is a malformed request (400),
    not a server error.  (Listener errors never get here: Bolt's dispatch catches them.)
    A click is the one body Slack form-encodes as a single ``payload`` field.
    """
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    bolt = SlackRequestHandler(app, path=EVENTS_PATH)

    def route(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if not within_limit(body, click=body.startswith(b"payload=")):
            return too_large(start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            return bolt(environ, start_response)
        except (ValueError, AttributeError, TypeError) as error:
            log.warning("refused a malformed Slack request (%s)", type(error).__name__)
            return plain(start_response, "400 Bad Request", b"malformed body\n")

    return route


def build_app(answer: Answer, budget: Budget, *, client: WebClient, signing_secret: str, jobs: Jobs | None,
              posted: Posted | None = None, forget_team: Callable[[str], None] | None = None,
              oauth: OAuthSettings | None = None, first_time: Callable[[str], bool] = lambda key: True,
              home: Callable[[Caller], Home] | None = None, block_kinds: BlockKinds | None = None) -> App:
    """The Bolt app; ``answer`` runs one command text (``"/compare SMH SPY"``) from a ``Caller`` to a ``Reply``;
    ``posted`` hears where each tracked reply (a signal card, a call) landed, for later replies in its thread;
    ``forget_team`` deletes a workspace's data when Tilt is uninstalled from it.  With ``oauth`` the app
    serves many workspaces, each with the bot token its installation saved.  ``first_time(key)`` tells a
    new request or event from a replay, or Slack's retry, of one already answered.  ``home(caller)`` builds
    the App Home tab a person opens; ``block_kinds`` remembers which newer blocks each workspace accepts.

    Every listener is split in two (Bolt's lazy listeners): a quick ``ack`` that runs in the request
    thread and becomes the HTTP answer, and the work, which becomes a job given to ``jobs``.  So an ack
    never waits behind another command's chart or Web API calls.  ``jobs=None`` builds the worker copy,
    which runs those jobs (see the module docstring).
    """
    worker = jobs is None
    # The installation store is given to App too, so that Bolt's token rotation uses ``client`` (and its
    # base URL) to refresh tokens; through ``oauth_settings`` alone it would make a client of its own.
    # The worker copy keeps the token check (auth.test once, at start): a work horse forked per job then
    # inherits its answer instead of asking Slack again for every job.
    app = App(client=client, signing_secret=signing_secret, process_before_response=True,
              oauth_settings=oauth, installation_store=oauth.installation_store if oauth else None,
              authorize=_cached_authorize(oauth, client) if oauth else None,
              request_verification_enabled=not worker)
    if not worker:
        app.listener_runner.lazy_listener_runner = QueuedLazyRunner(jobs, app.logger)
        app.middleware(_replay_guard(first_time))
    slack = _Listeners(answer, budget, posted, first_time, home, block_kinds)
    uninstalled = _uninstaller(oauth.installation_store if oauth else None, forget_team)
    for event in ("app_uninstalled", "tokens_revoked"):
        app.event(event)(ack=_ack, lazy=[uninstalled])
    for name in (*SLASH_COMMANDS, UMBRELLA_COMMAND):
        app.command(name)(ack=slack.ack_command, lazy=[slack.on_slash_command])
    app.event("app_mention")(ack=_ack, lazy=[slack.on_mention])
    app.event("message")(ack=_ack, lazy=[slack.on_message])
    app.action(re.compile(f"^{RERUN_ACTION}:"))(ack=slack.ack_click, lazy=[slack.on_rerun])
    app.action(SHARE_ACTION)(ack=slack.ack_click, lazy=[slack.on_share])
    app.event("app_home_opened")(ack=_ack, lazy=[slack.on_home_opened])
    app.action(re.compile(f"^{HOME_ACTION}:"))(ack=slack.ack_click, lazy=[slack.on_home_action])
    return app


def _cached_authorize(oauth: OAuthSettings, client: WebClient) -> InstallationStoreAuthorize:
    """Bolt's authorization from the installation store (rotating tokens as they near expiry), keeping each
    token's ``auth.test`` answer in Redis for every process: by default Bolt asks Slack again on every
    request, inside the ack, and every work horse would ask once per job."""
    authorize = InstallationStoreAuthorize(installation_store=oauth.installation_store, client_id=oauth.client_id,
                                           client_secret=oauth.client_secret, logger=log, client=client,
                                           cache_enabled=True, user_token_resolution=oauth.user_token_resolution)
    authorize.authorize_result_cache = RedisAuthorizeCache(oauth.installation_store.client)
    return authorize


class QueuedLazyRunner(LazyListenerRunner):
    """Bolt's lazy listeners as Tilt jobs: the request, as Slack sent it, is dispatched again by a worker.

    What the ack learnt (``tilt_*`` context entries: when the command arrived, whether its budget allowed
    it) travels with the job; the bot token does not (the worker authorizes the request itself).
    """

    def __init__(self, jobs: Jobs, logger: logging.Logger) -> None:
        self.jobs = jobs
        self.logger = logger

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        self.jobs.submit(JOB_KIND, {
            "body": request.raw_body if request.mode == "http" else request.body,
            "mode": request.mode,
            "headers": {name: list(values) for name, values in request.headers.items()},
            "context": {key: value for key, value in request.context.items() if key.startswith("tilt_")},
            "lazy": request.lazy_function_name,
        })


def job_handler(worker_app: App) -> Callable[[Payload], None]:
    """Runs a Slack job: the request dispatched lazy-only, to the one listener function it names."""
    def run(payload: Payload) -> None:
        headers = {**payload["headers"], "x-slack-bolt-lazy-only": ["1"],
                   "x-slack-bolt-lazy-function-name": [payload["lazy"]]}
        worker_app.dispatch(BoltRequest(body=payload["body"], headers=headers, context=dict(payload["context"]),
                                        mode=payload["mode"]))

    return run


def _replay_guard(first_time: Callable[[str], bool]) -> Callable:
    """Middleware answering a request whose signature was seen before with an empty 200 and nothing else.

    Slack signs every delivery afresh (its retries of an event included), so a repeated signature is
    someone replaying a captured request inside the 5-minute window the signature check allows.
    """
    def refuse_replays(req: BoltRequest, resp: BoltResponse, next: Callable[[], None]) -> BoltResponse | None:
        signature = req.headers.get("x-slack-signature", [""])[0]
        if req.mode != "http" or not signature or first_time(f"slack:request:{signature}"):
            return next()
        log.warning("refused a replayed Slack request")
        return BoltResponse(status=200, body="")

    return refuse_replays


def _ack(ack: Ack) -> None:
    ack()


def _uninstaller(installations: InstallationStore | None, forget_team: Callable[[str], None] | None) -> Callable:
    """The listener for ``app_uninstalled`` / ``tokens_revoked``: forget the workspace's installation and data.

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


def command_text(command: str, text: str) -> str:
    """The router's command text: ``/tilt compare SMH`` and ``/compare SMH`` both become ``/compare SMH``;
    ``/tilt SPY IJR 0-40`` (a first word that is no command's name) is the /tilt sweep."""
    if command == UMBRELLA_COMMAND:
        return router.umbrella(typed(text))
    return f"{command} {typed(text)}".strip()


def typed(text: str) -> str:
    """What the person typed: Slack escapes ``&``, ``<`` and ``>`` in the text it sends (``chat.slack.blocks``
    escapes them again on the way out, so a note is shown as it was typed, not as ``&amp;lt;``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def caller(team: str, channel: str, user: str) -> Caller:
    """Slack's ids as a ``Caller``; direct-message channel ids start with ``D``."""
    return Caller(platform=PLATFORM, team=team, channel=channel, user=user, is_dm=channel.startswith("D"))


def mention_text(text: str) -> str:
    """``<@U123> compare SMH SPY`` -> ``/compare SMH SPY``; ``<@U123> SPY IJR 0-40`` -> ``/tilt SPY IJR 0-40``."""
    return router.umbrella(typed(MENTION.sub(" ", text)))


class _Listeners:
    def __init__(self, answer: Answer, budget: Budget, posted: Posted | None, first_time: Callable[[str], bool],
                 home: Callable[[Caller], Home] | None, kinds: BlockKinds | None) -> None:
        self.answer = answer
        self.budget = budget
        self.posted = posted
        self.first_time = first_time
        self.home = home
        self.kinds = kinds

    def _track(self, who: Caller, reply: Reply, where: Where, ts: str | None) -> None:
        """Report where a tracked reply landed: its thread's root (the message itself, or the thread it went into)."""
        if reply.track and ts and self.posted is not None:
            self.posted(who, reply.track, where.channel, where.thread_ts or ts)

    # --- slash commands ---------------------------------------------------------------------

    def ack_command(self, ack: Ack, command: dict[str, Any], context: dict[str, Any]) -> None:
        """The HTTP answer to a slash command: "working on it", or "slow down" when the budget is spent."""
        context["tilt_started"] = time.time()
        context["tilt_allowed"] = self.budget.allows(command["team_id"], command["user_id"])
        if context["tilt_allowed"]:
            ack(response_type="ephemeral", text=WORKING)
        else:
            COMMAND_COUNT.labels(router.label(command_text(command["command"], command.get("text", ""))), "throttled").inc()
            ack(response_type="ephemeral", text=self.budget.message())

    def on_slash_command(self, command: dict[str, Any], client: WebClient, respond: Respond,
                         context: dict[str, Any]) -> None:
        if not context.get("tilt_allowed"):
            return
        text = command_text(command["command"], command.get("text", ""))
        who = caller(command["team_id"], command["channel_id"], command["user_id"])
        reply = self.answer(text, who)
        where = Where(channel=command["channel_id"], user=command["user_id"], team=command["team_id"])
        try:
            self._deliver(reply, text, where, who, client, respond)
        except SlackApiError as error:
            log.error("could not deliver %r: Slack said %s", text, error.response.get("error"))
            _respond(respond, "apology", text=f":warning: I worked out the answer but Slack would not take it ({error.response.get('error')}). "
                         "Please try again in a minute.", response_type="ephemeral", replace_original=True)
        COMMAND_SECONDS.labels(router.label(text)).observe(time.time() - context["tilt_started"])

    def _deliver(self, reply: Reply, text: str, where: Where, who: Caller, client: WebClient, respond: Respond) -> None:
        # The ephemeral "working on it" line is left alone: deleting it races its own ack, and Slack drops it anyway.
        if reply.ephemeral:
            self._respond(respond, reply, where.team, response_type="ephemeral", replace_original=True)
        elif ts := post_public(client, where, reply, self.kinds):
            self._track(who, reply, where, ts)
        else:
            self._respond(respond, reply, where.team, share_command=text, hint=True, response_type="ephemeral",
                          replace_original=True)

    def _respond(self, respond: Respond, reply: Reply, team: str, step: str = "respond", *,
                 share_command: str | None = None, hint: bool = False, **message: Any) -> None:
        """``reply`` through the ``response_url``, once per job as ``step``; ``hint`` adds the invite hint."""
        def send(blocks: list[dict[str, Any]]) -> int:
            response = respond(text=f"{fallback_text(reply)}\n{INVITE_HINT}" if hint else fallback_text(reply),
                               blocks=[*blocks, _hint_block()] if hint else blocks, **message)
            if "invalid_blocks" in (response.body or ""):  # Slack answers a response_url with a status, not an exception
                raise SlackApiError("invalid_blocks", {"ok": False, "error": "invalid_blocks"})
            return response.status_code

        once(step, lambda: send_blocks(self.kinds, "message", team,
                                       lambda kinds: reply_blocks(reply, share_command=share_command, kinds=kinds), send))

    # --- mentions and direct messages -------------------------------------------------------

    def on_mention(self, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
        self._conversation(body, event, client, context)

    def on_message(self, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
        # Only people's direct messages; channel chatter reaches us as app_mention when it is for us.
        if event.get("channel_type") == "im" and not event.get("bot_id") and not event.get("subtype"):
            self._conversation(body, event, client, context)

    def _conversation(self, body: dict[str, Any], event: dict[str, Any], client: WebClient,
                      context: dict[str, Any]) -> None:
        if not self.first_time(f"slack:event:{body.get('event_id') or event.get('ts')}"):
            return  # Slack's retry of an event already being answered
        started = time.monotonic()
        team = context.get("team_id") or event.get("team", "")
        where = Where(channel=event["channel"], user=event.get("user", ""), thread_ts=event.get("thread_ts") or event["ts"],
                      team=team)
        if not self.budget.allows(team, where.user):
            post_private(client, where, error_reply(self.budget.message()), self.kinds)
            return
        text = mention_text(event.get("text", ""))
        who = caller(team, where.channel, where.user)
        reply = self.answer(text, who)
        if reply.ephemeral:
            post_private(client, where, reply, self.kinds)
        elif ts := post_public(client, where, reply, self.kinds):
            self._track(who, reply, where, ts)
        else:
            log.warning("cannot post in %s, where a mention reached us", where.channel)
        COMMAND_SECONDS.labels(router.label(text)).observe(time.monotonic() - started)

    # --- buttons ----------------------------------------------------------------------------

    def ack_click(self, ack: Ack, body: dict[str, Any], context: dict[str, Any]) -> None:
        """A click runs a command, so it is charged to the clicker's budget like a typed one (a click on the
        Home tab too, whose payload names no channel)."""
        context["tilt_allowed"] = self.budget.allows(body.get("team", {}).get("id", ""), body["user"]["id"])
        ack()

    def _click_allowed(self, context: dict[str, Any], respond: Respond) -> bool:
        """Whether the click's budget allowed it; if not, the clicker is told to slow down (only them)."""
        if not context.get("tilt_allowed"):
            _respond(respond, text=self.budget.message(), response_type="ephemeral", replace_original=False)
        return bool(context.get("tilt_allowed"))

    def on_rerun(self, body: dict[str, Any], client: WebClient, respond: Respond, context: dict[str, Any]) -> None:
        """A button under a result: answer its command in place of the old result (a period switch, a vote
        updating its card); a tracked reply (a new signal card) is a message of its own instead."""
        if not self._click_allowed(context, respond):
            return
        who = _clicker(body)
        reply = self.answer(body["actions"][0]["value"], who)
        if reply.track and not reply.ephemeral and not body.get("container", {}).get("is_ephemeral"):
            where = Where(channel=who.channel, user=who.user, team=who.team)
            ts = post_public(client, where, reply, self.kinds)
            if ts:
                self._track(who, reply, where, ts)
            else:
                _respond(respond, text=f"{fallback_text(reply)}\n{INVITE_HINT}", response_type="ephemeral", replace_original=False)
            return
        if reply.ephemeral or body.get("container", {}).get("is_ephemeral"):
            self._respond(respond, reply, who.team, response_type="ephemeral", replace_original=not reply.is_error)
            return
        channel, ts = body["channel"]["id"], body["message"]["ts"]
        once("update", lambda: send_blocks(self.kinds, "message", who.team, lambda kinds: reply_blocks(reply, kinds=kinds),
                                           lambda blocks: client.chat_update(channel=channel, ts=ts, text=fallback_text(reply),
                                                                             blocks=blocks).status_code))
        if reply.chart is not None:
            upload_chart(client, Where(channel=channel, user=body["user"]["id"], thread_ts=ts), reply)
        if reply.attachment is not None:
            upload_attachment(client, Where(channel=channel, user=body["user"]["id"], thread_ts=ts), reply)

    def on_share(self, body: dict[str, Any], client: WebClient, respond: Respond, context: dict[str, Any]) -> None:
        """"Share in channel" under an ephemeral result: post it for everyone."""
        if not self._click_allowed(context, respond):
            return
        who = _clicker(body)
        reply = self.answer(body["actions"][0]["value"], who)
        if reply.ephemeral:  # a problem: show it to the clicker, keep their private result
            self._respond(respond, reply, who.team, response_type="ephemeral", replace_original=False)
            return
        where = Where(channel=who.channel, user=who.user, team=who.team)
        if ts := post_public(client, where, reply, self.kinds):
            self._track(who, reply, where, ts)
        else:
            # Still not invited: response_url can post in the channel anyway, without the chart.
            self._respond(respond, reply, who.team, response_type="in_channel", replace_original=False)
        _respond(respond, "delete", delete_original=True)

    # --- the App Home tab -------------------------------------------------------------------

    def on_home_opened(self, body: dict[str, Any], event: dict[str, Any], client: WebClient,
                       context: dict[str, Any]) -> None:
        """Someone opened Tilt's Home tab: publish their team's page (``views.publish``)."""
        if event.get("tab") != "home" or self.home is None:
            return
        if not self.first_time(f"slack:event:{body.get('event_id') or event.get('event_ts')}"):
            return
        team, user = context.get("team_id") or body.get("team_id", ""), event["user"]
        page = self.home(Caller(platform=PLATFORM, team=team, channel="", user=user, is_dm=True))
        once("home", lambda: send_blocks(self.kinds, "home", team, lambda kinds: home_view(page, kinds)["blocks"],
                                         lambda blocks: client.views_publish(
                                             user_id=user, view={"type": "home", "blocks": blocks}).status_code))

    def on_home_action(self, body: dict[str, Any], client: WebClient, context: dict[str, Any]) -> None:
        """A button on the Home tab: its answer goes to the person's direct messages with Tilt (so does
        "slow down" when the click is over the person's budget: a view has no response_url)."""
        team, user = body.get("team", {}).get("id", ""), body["user"]["id"]
        channel = once("dm", lambda: str(client.conversations_open(users=user)["channel"]["id"]))
        if not context.get("tilt_allowed"):
            once("slow down", lambda: client.chat_postMessage(channel=channel, text=self.budget.message()))
            return
        reply = self.answer(body["actions"][0]["value"], caller(team, channel, user))
        where = Where(channel=channel, user=user, team=team)
        if post_public(client, where, reply, self.kinds) is None:
            log.warning("cannot post in the direct messages of %s", user)


def send_blocks(memory: BlockKinds | None, surface: str, team: str, render: Callable[[frozenset[str]], list[dict[str, Any]]],
                send: Callable[[list[dict[str, Any]]], T]) -> T:
    """``send(render(kinds))`` with the newer block types ``team``'s Slack accepts on ``surface``.

    When Slack refuses the blocks (``invalid_blocks``) and they use optional types (``OPTIONAL_KINDS``), the
    newest type they use is dropped, the workspace remembers it (``memory``) and the blocks are sent again:
    at most one more try per optional type.  Any other refusal is raised as it came.
    """
    kinds = memory.allowed(surface, team) if memory is not None else ALL_KINDS
    while True:
        blocks = render(kinds)
        try:
            return send(blocks)
        except SlackApiError as error:
            used = kinds_used(blocks)
            if error.response.get("error") != "invalid_blocks" or not used:
                raise
            kinds = kinds - {next(kind for kind in OPTIONAL_KINDS if kind in used)}
            if memory is not None:
                memory.refused(surface, team, kinds)


def post_public(client: WebClient, where: Where, reply: Reply, kinds: BlockKinds | None = None) -> str | None:
    """Post ``reply`` and its chart for everyone; the message's ``ts``, or ``None`` when Tilt may not post there."""
    def send(blocks: list[dict[str, Any]]) -> str:
        return str(client.chat_postMessage(channel=where.channel, thread_ts=where.thread_ts, text=fallback_text(reply),
                                           blocks=blocks, unfurl_links=False, unfurl_media=False)["ts"])

    try:
        ts = once("message", lambda: send_blocks(kinds, "message", where.team,
                                                 lambda allowed: reply_blocks(reply, kinds=allowed), send))
    except SlackApiError as error:
        if error.response.get("error") in NOT_IN_CHANNEL:
            return None
        raise
    if reply.chart is not None:
        upload_chart(client, where, reply)
    if reply.attachment is not None:
        upload_attachment(client, where, reply)
    return ts


def poster(client_for: Callable[[str], WebClient],
           kinds: BlockKinds | None = None) -> Callable[[str, str, str | None, Reply], None]:
    """Posting by ids, as digests, flips and call results do: ``post(team, channel, thread_ts, reply)``.

    ``client_for(team)`` gives that workspace's client; the post raises when Tilt may not post there
    (so the scheduler retries it later).
    """
    def post(team: str, channel: str, thread_ts: str | None, reply: Reply) -> None:
        if post_public(client_for(team), Where(channel=channel, user="", thread_ts=thread_ts, team=team), reply, kinds) is None:
            raise PermissionError(f"Tilt is not a member of Slack channel {channel}")

    return post


def upload_chart(client: WebClient, where: Where, reply: Reply) -> None:
    """The chart as a file in the channel (or thread): files.getUploadURLExternal, upload, complete."""
    chart = reply.chart
    once("chart", lambda: client.files_upload_v2(channel=where.channel, thread_ts=where.thread_ts, file=chart.png,
                                                 filename=chart.filename, title=chart.title,
                                                 alt_txt=chart.alt_text).status_code)


def upload_attachment(client: WebClient, where: Where, reply: Reply) -> None:
    """The reply's file (a CSV export) in the channel (or thread), after the chart."""
    attachment = reply.attachment
    once("attachment", lambda: client.files_upload_v2(channel=where.channel, thread_ts=where.thread_ts,
                                                      content=attachment.text, filename=attachment.filename,
                                                      title=attachment.title).status_code)


def post_private(client: WebClient, where: Where, reply: Reply, kinds: BlockKinds | None = None) -> None:
    """Show ``reply`` only to ``where.user`` (an ephemeral message in the channel or thread)."""
    once("private", lambda: send_blocks(kinds, "message", where.team, lambda allowed: reply_blocks(reply, kinds=allowed),
                                        lambda blocks: client.chat_postEphemeral(
                                            channel=where.channel, user=where.user, thread_ts=where.thread_ts,
                                            text=fallback_text(reply), blocks=blocks).status_code))


def _respond(respond: Respond, step: str = "respond", **message: Any) -> None:
    """``respond(**message)`` (through the ``response_url``) once per job, as ``step``."""
    once(step, lambda: respond(**message).status_code)


def _clicker(body: dict[str, Any]) -> Caller:
    """The ``Caller`` behind a button click (an interactivity payload)."""
    return caller(body.get("team", {}).get("id", ""), body["channel"]["id"], body["user"]["id"])


def _hint_block() -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": INVITE_HINT}]}
