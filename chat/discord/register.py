"""Tilt's commands as Discord slash commands, and their registration.

``python bot.py discord-register [--guild ID]`` sends the whole set in one PUT
(a bulk overwrite: commands not in it are removed).  Guild commands appear at
once in that server, which suits trying Tilt out; global ones appear in every
server that added Tilt.

Discord's rules (application-commands): names ``^[-_a-z0-9]{1,32}$``,
descriptions 1-100 characters, required options before optional ones, at most
25 options and 25 choices, and an option has ``autocomplete`` or ``choices``,
never both.  ``command_text`` reads the options back as the router's command text.
"""

from __future__ import annotations

from typing import Any

from chat.discord.rest import DiscordRest
from handlers import router

CHAT_INPUT = 1  # command type: a slash command
STRING = 3  # option type

TICKERS, PERIOD, BENCHMARK, COMMAND, ACTION, SCHEDULE = "tickers", "period", "benchmark", "command", "action", "schedule"
# Where each option's value goes in the command text, and the word before it.
TEXT_ORDER = ((ACTION, ""), (TICKERS, ""), (COMMAND, ""), (BENCHMARK, "vs "), (PERIOD, ""), (SCHEDULE, ""))
PERIODS = {"1m": "1 month", "3m": "3 months", "6m": "6 months", "ytd": "year to date", "1y": "1 year",
           "3y": "3 years", "5y": "5 years", "10y": "10 years", "max": "all history"}


def _option(name: str, description: str, *, required: bool = False, autocomplete: bool = False,
            choices: dict[str, str] | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"type": STRING, "name": name, "description": description, "required": required}
    if autocomplete:
        option["autocomplete"] = True
    if choices:
        option["choices"] = [{"name": label, "value": value} for value, label in choices.items()]
    return option


_TICKERS = _option(TICKERS, "One or more tickers, e.g. SMH or IJR IWM", required=True, autocomplete=True)
_OPTIONAL_TICKERS = {**_TICKERS, "required": False}
_BENCHMARK = _option(BENCHMARK, "Measured against (default: SPY)", autocomplete=True)

COMMANDS: list[dict[str, Any]] = [
    {"type": CHAT_INPUT, "name": "compare",
     "description": "Returns, risk and drawdowns of ETFs or stocks against a benchmark, with a chart",
     "options": [_TICKERS, _option(PERIOD, "How far back (default: 10 years)", choices=PERIODS), _BENCHMARK]},
    {"type": CHAT_INPUT, "name": "valuation",
     "description": "P/E and earnings yield: discount or premium to a benchmark",
     "options": [_TICKERS, _BENCHMARK]},
    {"type": CHAT_INPUT, "name": "watchlist",
     "description": "This channel's watchlist and its returns; add or remove tickers",
     "options": [_option(ACTION, "Change the list (leave out to show it)", choices={"add": "add", "remove": "remove"}),
                 _OPTIONAL_TICKERS]},
    {"type": CHAT_INPUT, "name": "digest", "description": "A market digest posted here on a schedule",
     "options": [_option(SCHEDULE, "daily|weekdays HH:MM [TZ], weekly DAY HH:MM [TZ], off, status (default) or now")]},
    {"type": CHAT_INPUT, "name": "help", "description": "What Tilt's commands do, with examples",
     "options": [_option(COMMAND, "One command in detail", choices={name: name for name in router.COMMANDS})]},
]


def command_text(data: dict[str, Any]) -> str:
    """The router's command text for a slash command's options:
    ``compare`` with tickers "SMH SPY", period "10y", benchmark "SPY" -> ``/compare SMH SPY vs SPY 10y``."""
    values = {option["name"]: str(option.get("value", "")).strip() for option in data.get("options", [])}
    words = [f"/{data['name']}", *(before + values[name] for name, before in TEXT_ORDER if values.get(name))]
    return " ".join(words)


def register(rest: DiscordRest, application_id: str, guild_id: str | None = None) -> list[str]:
    """Overwrite the application's commands (in ``guild_id`` only, when given); the names Discord now has."""
    scope = f"guilds/{guild_id}/" if guild_id else ""
    registered = rest.request("PUT", f"applications/{application_id}/{scope}commands", COMMANDS)
    return [command["name"] for command in registered]
