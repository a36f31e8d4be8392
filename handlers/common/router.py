"""The entry point for every command, and the one place errors become messages.

Chat adapters hand over the raw command text; ``run`` picks the handler,
calls it, and turns any ``TiltError`` into an ephemeral reply with the usage
line.  Anything unexpected is logged with its traceback for us and answered
with an apology for the user: never a stack trace in chat.
"""

from __future__ import annotations

import logging
from typing import Callable

from errors import BadRequest, TiltError, UnknownTicker
from handlers import backtest, calls, compare, digest, rotation, signal, tilt, valuation, watchlist
from handlers import help as help_command
from handlers import home as home_page
from handlers.common.caller import LOCAL, Caller
from handlers.common.reply import Reply, error_reply, unmarked
from handlers.common.services import Services
from metrics import COMMANDS as COMMAND_COUNT

log = logging.getLogger(__name__)

Handler = Callable[[str, Services, Caller], Reply]

COMMANDS: dict[str, tuple[Handler, str]] = {
    "compare": (compare.handle, compare.USAGE),
    "backtest": (backtest.handle, backtest.USAGE),
    "tilt": (tilt.handle, tilt.USAGE),
    "valuation": (valuation.handle, valuation.USAGE),
    "watchlist": (watchlist.handle, watchlist.USAGE),
    "digest": (digest.handle, digest.USAGE),
    "rotation": (rotation.handle, rotation.USAGE),
    "signal": (signal.handle, signal.USAGE),
    "call": (calls.handle, calls.USAGE),
    "calls": (calls.list_calls, calls.LIST_USAGE),
    "help": (help_command.handle, help_command.USAGE),
}
# Commands that buttons run, not people: answered like the others but left out of /help and its lists.
BUTTON_COMMANDS: dict[str, tuple[Handler, str]] = {
    "vote": (signal.vote, signal.VOTE_USAGE),
}


def label(text: str) -> str:
    """The command's name for metric labels: a known command's, else "unknown" (one series for any junk)."""
    name = split_command(text)[0]
    return name if name in COMMANDS or name in BUTTON_COMMANDS else "unknown"


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
    name = words.split()[0].lstrip("/").lower()
    if name in COMMANDS or name in BUTTON_COMMANDS:
        return f"/{words.lstrip('/')}"
    return f"/tilt {words}"


def run(text: str, services: Services, caller: Caller = LOCAL) -> Reply:
    """Answer one command from ``caller``; always returns a ``Reply``, whatever goes wrong."""
    name, arguments = split_command(unmarked(text))
    if name not in COMMANDS and name not in BUTTON_COMMANDS:
        COMMAND_COUNT.labels("unknown", "user_error").inc()
        known = ", ".join(f"/{c}" for c in COMMANDS)
        return error_reply(f"I don't know the command `/{name}`. I know {known}.", usage=help_command.USAGE)
    handler, usage = COMMANDS.get(name) or BUTTON_COMMANDS[name]
    outcome = "ok"
    try:
        return handler(arguments, services, caller)
    except (BadRequest, UnknownTicker) as error:
        outcome = "user_error"
        return error_reply(str(error), usage=usage)
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


def home(services: Services, caller: Caller) -> home_page.Home:
    """``caller``'s home page (Slack's App Home tab); never raises: a page that fails says so in one line."""
    try:
        return home_page.build(services, caller)
    except Exception:
        log.exception("home page failed for %s:%s", caller.platform, caller.team)
        return home_page.Home(title=home_page.TITLE, sections=(error_reply(
            "Something went wrong on my side while building this page. It has been logged; reopen it in a minute."),))
