"""How a command is declared: once, next to its handler, as a frozen ``Command``.

Everything that lists commands is derived from these declarations (``handlers/catalog.py`` holds
the list): the router, ``/help``, Discord's registration schema, the Slack manifest's
``slash_commands``, the README's command table, metric labels and the Home tab's buttons.

A declaration's ``options`` are the command's words as Discord asks for them, in the order they are
written in the command text: ``Option("benchmark", Kind.BENCHMARK, "...", prefix="vs")`` becomes
``vs SPY``.  Slack and the console take the same text typed in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from handlers.common.caller import Caller
    from handlers.common.reply import Action, Reply
    from handlers.common.services import Services

Handler = Callable[[str, "Services", "Caller"], "Reply"]


class Kind(Enum):
    """What an option holds, which decides how Discord asks for it (autocomplete, choices, a number)."""

    TICKERS = "tickers"  # one or more tickers, autocompleted (the last word)
    TICKER = "ticker"  # one ticker, autocompleted
    BENCHMARK = "benchmark"  # one ticker measured against, autocompleted
    PERIOD = "period"  # free text in the shared period grammar, with suggestions as you type
    CHOICE = "choice"  # one of ``choices``
    TEXT = "text"  # free text
    INTEGER = "integer"  # a whole number, 1 or more
    COMMAND = "command"  # the name of one of Tilt's listed commands

    @property
    def autocompleted(self) -> bool:
        return self in (Kind.TICKERS, Kind.TICKER, Kind.BENCHMARK, Kind.PERIOD)


@dataclass(frozen=True)
class Option:
    """One word (or words) of a command, typed: ``name`` as Discord shows it (``^[-_a-z0-9]{1,32}$``),
    ``help`` its description (at most 100 characters), ``prefix`` the word written before its value in
    the command text (``vs``, ``until``), ``choices`` the values a ``Kind.CHOICE`` takes, with labels."""

    name: str
    kind: Kind
    help: str
    required: bool = False
    prefix: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)

    def text(self, value: str) -> str:
        """This option's part of the command text: ``vs SPY`` for a benchmark given as ``SPY``."""
        return f"{self.prefix} {value}" if self.prefix else value


@dataclass(frozen=True)
class Command:
    """A command, declared once.

    ``summary``: one line, at most 100 characters (Discord's and Slack's menus).  ``usage``: the
    grammar in one line, shown with every error.  ``examples``: full command texts, the first of which
    is Slack's usage hint.  ``guide``: what ``/help NAME`` adds.  ``handle(text, services, caller)``
    answers the text after the command's name.  ``listed``: false for commands run by buttons only
    (``/vote``), which are routed but left out of menus and ``/help``.  ``shortcuts``: one-click
    examples the Home tab offers.
    """

    name: str
    summary: str
    usage: str
    examples: tuple[str, ...]
    guide: str
    handle: Handler
    options: tuple[Option, ...] = ()
    listed: bool = True
    shortcuts: tuple["Action", ...] = ()

    @property
    def usage_line(self) -> str:
        """What an error shows under its message: the grammar and the first example."""
        return f"{self.usage}   e.g. {self.examples[0]}" if self.examples else self.usage

    @property
    def usage_hint(self) -> str:
        """The first example without its command name (Slack's ``usage_hint``)."""
        return self.examples[0].partition(" ")[2] if self.examples else ""


# The options most market commands share, declared once.
TICKERS = Option("tickers", Kind.TICKERS, "One or more tickers, e.g. SMH or IJR IWM", required=True)
BENCHMARK = Option("benchmark", Kind.BENCHMARK, "Measured against (default: SPY)", prefix="vs")
PERIOD = Option("period", Kind.PERIOD, "10y, ytd, since 2015, 2015-10-30 to 2025-10-31... (default: 10 years)")
