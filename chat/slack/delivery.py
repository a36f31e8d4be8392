"""Sending a ``Reply`` to Slack: in a channel for everyone, to one person, through a ``response_url``, or
by ids (digests, flips, call results).

Figures go out as Slack's sortable ``data_table`` and native charts (``chat.slack.blocks``); every send
goes through ``send_blocks``, which falls back to older blocks when a workspace's Slack refuses them and
remembers that (``chat.slack.block_kinds``).  Every post is a ``jobs.steps.once`` step, so a job run
again after its worker died does not post twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chat.slack.block_kinds import BlockKinds
from chat.slack.blocks import ALL_KINDS, OPTIONAL_KINDS, fallback_text, kinds_used, reply_blocks
from handlers.common.reply import Reply
from jobs.steps import once

T = TypeVar("T")
Blocks = list[dict[str, Any]]

# Errors that mean "you may not post here" rather than "Slack is broken".
NOT_IN_CHANNEL = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
INVITE_HINT = "_I'm not in this channel, so only you can see this. Invite me with `/invite @Tilt` to post results and charts here._"


@dataclass(frozen=True)
class Where:
    """Where a reply goes: channel, thread, and the person to show problems to."""

    channel: str
    user: str
    thread_ts: str | None = None
    team: str = ""  # the workspace: which blocks its Slack accepts (``BlockKinds``)


def send_blocks(memory: BlockKinds | None, surface: str, team: str, render: Callable[[frozenset[str]], Blocks],
                send: Callable[[Blocks], T]) -> T:
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
    def send(blocks: Blocks) -> str:
        return str(client.chat_postMessage(channel=where.channel, thread_ts=where.thread_ts, text=fallback_text(reply),
                                           blocks=blocks, unfurl_links=False, unfurl_media=False)["ts"])

    try:
        ts = once("message", lambda: send_blocks(kinds, "message", where.team,
                                                 lambda allowed: reply_blocks(reply, kinds=allowed), send))
    except SlackApiError as error:
        if error.response.get("error") in NOT_IN_CHANNEL:
            return None
        raise
    upload_files(client, where, reply)
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


def upload_files(client: WebClient, where: Where, reply: Reply) -> None:
    """The reply's chart, then its attachment (a CSV export), as files in the channel (or thread):
    files.getUploadURLExternal, upload, complete."""
    chart, attachment = reply.chart, reply.attachment
    if chart is not None:
        once("chart", lambda: client.files_upload_v2(channel=where.channel, thread_ts=where.thread_ts, file=chart.png,
                                                     filename=chart.filename, title=chart.title,
                                                     alt_txt=chart.alt_text).status_code)
    if attachment is not None:
        once("attachment", lambda: client.files_upload_v2(channel=where.channel, thread_ts=where.thread_ts,
                                                          content=attachment.text, filename=attachment.filename,
                                                          title=attachment.title).status_code)


def post_private(client: WebClient, where: Where, reply: Reply, kinds: BlockKinds | None = None) -> None:
    """Show ``reply`` only to ``where.user`` (an ephemeral message in the channel or thread)."""
    once("private", lambda: send_blocks(kinds, "message", where.team, lambda allowed: reply_blocks(reply, kinds=allowed),
                                        lambda blocks: client.chat_postEphemeral(
                                            channel=where.channel, user=where.user, thread_ts=where.thread_ts,
                                            text=fallback_text(reply), blocks=blocks).status_code))


def respond_reply(respond: Respond, reply: Reply, team: str, kinds: BlockKinds | None, step: str = "respond", *,
                  share_command: str | None = None, hint: bool = False, **message: Any) -> None:
    """``reply`` through the ``response_url``, once per job as ``step``; ``hint`` adds the invite hint."""
    def send(blocks: Blocks) -> int:
        response = respond(text=f"{fallback_text(reply)}\n{INVITE_HINT}" if hint else fallback_text(reply),
                           blocks=[*blocks, _hint_block()] if hint else blocks, **message)
        if "invalid_blocks" in (response.body or ""):  # Slack answers a response_url with a status, not an exception
            raise SlackApiError("invalid_blocks", {"ok": False, "error": "invalid_blocks"})
        return response.status_code

    once(step, lambda: send_blocks(kinds, "message", team,
                                   lambda allowed: reply_blocks(reply, share_command=share_command, kinds=allowed), send))


def respond_once(respond: Respond, step: str = "respond", **message: Any) -> None:
    """``respond(**message)`` (through the ``response_url``) once per job, as ``step``."""
    once(step, lambda: respond(**message).status_code)


def _hint_block() -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": INVITE_HINT}]}
