"""The entry point for every command, and the one place errors become messages.

Chat adapters hand over the raw command text; ``run`` picks the handler,
calls it, and turns any ``TiltError`` into an ephemeral reply with the usage
line.  Anything unexpected is logged with its traceback for us and answered
with an apology for the user: never a stack trace in chat.
"""

from __future__ import annotations

import logging
from typing import Collection

from errors import BadRequest, TiltError, UnknownTicker
from handlers import catalog
from handlers import home as home_page
from handlers.common.caller import LOCAL, Caller
from handlers.common.reply import Reply, error_reply, unmarked
from handlers.common.services import Services
from metrics import COMMANDS as COMMAND_COUNT

log = logging.getLogger(__name__)


def label(text: str) -> str:
    """The command's name for metric labels: a known command's, else "unknown" (one series for any junk)."""
    name = split_command(text)[0]
    return name if catalog.find(name) else "unknown"


def split_command(text: str) -> tuple[str, str]:
    """``"/compare SMH SPY"`` -> ``("compare", "SMH SPY")``; the slash is optional."""
    name, _, rest = text.strip().partition(" ")
    return name.lstrip("/").lower(), rest.strip()


def umbrella(text: str) -> str:
    """The command text for ``/tilt TEXT`` typed where /tilt is the app's one command (Slack's umbrella, a
    mention): ``compare SMH`` runs /compare when its first word names a command, anything else is the
    /tilt sweep (``SPY IJR 0-40``), and nothing at all is /help."""
    words = text.strip()
    if not words:
        return "/help"
    if catalog.find(words.split()[0].lstrip("/").lower()):
        return f"/{words.lstrip('/')}"
    return f"/tilt {words}"


def run(text: str, services: Services, caller: Caller = LOCAL) -> Reply:
    """Answer one command from ``caller``; always returns a ``Reply``, whatever goes wrong."""
    name, arguments = split_command(unmarked(text))
    command = catalog.find(name)
    if command is None:
        COMMAND_COUNT.labels("unknown", "user_error").inc()
        known = ", ".join(f"/{c.name}" for c in catalog.listed())
        return error_reply(f"I don't know the command `/{name}`. I know {known}.", usage=catalog.find("help").usage_line)
    outcome = "ok"
    try:
        return command.handle(arguments, services, caller)
    except (BadRequest, UnknownTicker) as error:
        outcome = "user_error"
        return error_reply(str(error), usage=command.usage_line)
    except TiltError as error:
        outcome = "unavailable"
        return error_reply(str(error))
    except Exception:
        outcome = "error"
        log.exception("command failed: %r", text)
        return error_reply("Something went wrong on my side while answering that. It has been logged; "
                           "please try again in a minute.")
    finally:
        COMMAND_COUNT.labels(name, outcome).inc()


def posted(services: Services, caller: Caller, track: str, channel: str, ts: str) -> None:
    """An adapter posted a reply with ``Reply.track`` as message ``ts`` in ``channel``: remember it for thread replies.

    Never raises: the reply is already out, and a card whose place is unknown only misses its thread replies.
    """
    try:
        services.store.set_thread(caller.owner, track, channel, ts)
    except TiltError:
        log.warning("could not record where %s was posted (%s %s)", track, channel, ts)


def home(services: Services, caller: Caller, member_of: Collection[str]) -> home_page.Home:
    """``caller``'s home page (Slack's App Home tab), with the watchlists of the channels in ``member_of``;
    never raises: a page that fails says so in one line."""
    try:
        return home_page.build(services, caller, member_of)
    except Exception:
        log.exception("home page failed for %s:%s", caller.platform, caller.team)
        return home_page.Home(title=home_page.TITLE, sections=(error_reply(
            "Something went wrong on my side while building this page. It has been logged; reopen it in a minute."),))
