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
from handlers import signal
from handlers.common import router

CHAT_INPUT = 1  # command type: a slash command
STRING, INTEGER = 3, 4  # option types

TICKERS, TICKER, PERIOD, BENCHMARK, COMMAND = "tickers", "ticker", "period", "benchmark", "command"
ACTION, SCHEDULE, UNIVERSE, SIGNAL, UNTIL, NOTE, CANCEL = "action", "schedule", "universe", "signal", "until", "note", "cancel"
PORTFOLIOS, REBALANCE, SWEEP, STEP = "portfolios", "rebalance", "sweep", "step"
# Where each option's value goes in the command text, and the word before it; an option not listed here
# goes after these, in the order its command declares it (so a new command needs only its entry in COMMANDS).
TEXT_ORDER = ((PORTFOLIOS, ""), (SWEEP, ""), (STEP, "step "), (REBALANCE, "rebalance "), (ACTION, ""), (UNIVERSE, ""), (TICKERS, ""), (TICKER, ""), (COMMAND, ""), (SIGNAL, ""),
              (CANCEL, "cancel "), (BENCHMARK, "vs "), (UNTIL, "until "), (PERIOD, ""), (SCHEDULE, ""), (NOTE, ""))
PERIODS = {"1m": "1 month", "3m": "3 months", "6m": "6 months", "ytd": "year to date", "1y": "1 year",
           "3y": "3 years", "5y": "5 years", "10y": "10 years", "max": "all history"}
ROTATION_PERIODS = {"1m": "1 month", "3m": "3 months", "6m": "6 months", "1y": "1 year", "2y": "2 years"}


def _option(name: str, description: str, *, required: bool = False, autocomplete: bool = False,
            choices: dict[str, str] | None = None, kind: int = STRING) -> dict[str, Any]:
    option: dict[str, Any] = {"type": kind, "name": name, "description": description, "required": required}
    if autocomplete:
        option["autocomplete"] = True
    if choices:
        option["choices"] = [{"name": label, "value": value} for value, label in choices.items()]
    if kind == INTEGER:
        option["min_value"] = 1
    return option


def _command(name: str, description: str, *options: dict[str, Any]) -> dict[str, Any]:
    return {"type": CHAT_INPUT, "name": name, "description": description, "options": list(options)}


_TICKERS = _option(TICKERS, "One or more tickers, e.g. SMH or IJR IWM", required=True, autocomplete=True)
_OPTIONAL_TICKERS = {**_TICKERS, "required": False}
_BENCHMARK = _option(BENCHMARK, "Measured against (default: SPY)", autocomplete=True)

# Every command in handlers.common.router.COMMANDS, as Discord shows it (tests hold the two lists to each other).
COMMANDS: list[dict[str, Any]] = [
    _command("compare", "Returns, risk and drawdowns of ETFs or stocks against a benchmark, with a chart",
             _TICKERS, _option(PERIOD, "How far back (default: 10 years)", choices=PERIODS), _BENCHMARK),
    _command("backtest", "What a tilt away from SPY would have done: weights, rebalancing or a tactical rule",
             _option(PORTFOLIOS, "e.g. SPY 70 IJR 20 SMH 10 ; SPY 100 (up to 4, split by ;) or tactical smallcaps",
                     required=True),
             _option(REBALANCE, "How often weights go back to target (default: quarterly)",
                     choices={"weekly": "weekly", "monthly": "monthly", "quarterly": "quarterly", "yearly": "yearly",
                              "none": "never"}),
             _option(PERIOD, "10y, ytd, since 2015, 2015-10-30 to 2025-10-31... (default: 10 years)"),
             _BENCHMARK),
    _command("tilt", "How much to tilt: each size from 0 to N points into another holding, against the one it left",
             _option(SWEEP, "FROM, then each destination and its range: SPY IJR 0-40 or SPY IJR 0-30 SMH 0-20",
                      required=True),
             _option(STEP, "Points between sizes (default: 10)", kind=INTEGER),
             _option(PERIOD, "10y, ytd, since 2015, 2015-10-30 to 2025-10-31... (default: 10 years)"),
             _option(REBALANCE, "How often weights go back to target (default: quarterly)",
                     choices={"weekly": "weekly", "monthly": "monthly", "quarterly": "quarterly", "yearly": "yearly",
                              "none": "never"})),
    _command("valuation", "P/E and earnings yield: discount or premium to a benchmark", _TICKERS, _BENCHMARK),
    _command("watchlist", "This channel's watchlist and its returns; add or remove tickers",
             _option(ACTION, "Change the list (leave out to show it)", choices={"add": "add", "remove": "remove"}),
             _OPTIONAL_TICKERS),
    _command("digest", "A market digest posted here on a schedule",
             _option(SCHEDULE, "daily|weekdays HH:MM [TZ], weekly DAY HH:MM [TZ], off, status (default) or now")),
    _command("rotation", "Rank a universe by momentum, with the small-cap regime; or define your own universe",
             _option(ACTION, "Define a universe, or list them (leave out to rank)", choices={"set": "set", "list": "list"}),
             _option(UNIVERSE, "size (default), sectors, semis or your team's own; the name to define with set"),
             _option(TICKERS, "With set: the universe's tickers", autocomplete=True),
             _option(PERIOD, "The chart's window (default: 1 year)", choices=ROTATION_PERIODS)),
    _command("signal", "A signal card to vote on and discuss in its thread",
             _option(SIGNAL, "Which signal", required=True, choices={name: name for name in signal.NAMES})),
    _command("call", "Record a team call (e.g. IWM over SPY until a date), or cancel one of yours",
             _option(TICKER, "The ticker you expect to beat the benchmark", autocomplete=True),
             _option(UNTIL, "The call's end date, YYYY-MM-DD"),
             _option(BENCHMARK, "To beat (default: SPY)", autocomplete=True),
             _option(NOTE, "Why, in a sentence"),
             _option(CANCEL, "The number of your open call to cancel (leave the rest out)", kind=INTEGER)),
    _command("calls", "Open and closed team calls, performance since entry, hit rates"),
    _command("help", "What Tilt's commands do, with examples",
             _option(COMMAND, "One command in detail", choices={name: name for name in router.COMMANDS})),
]


def command_text(data: dict[str, Any]) -> str:
    """The router's command text for a slash command's options:
    ``compare`` with tickers "SMH SPY", period "10y", benchmark "SPY" -> ``/compare SMH SPY vs SPY 10y``."""
    values = {option["name"]: str(option.get("value", "")).strip() for option in data.get("options", [])}
    before = dict(TEXT_ORDER)
    position = {name: i for i, (name, _) in enumerate(TEXT_ORDER)}
    named = sorted((name for name, value in values.items() if value), key=lambda n: position.get(n, len(position)))
    return " ".join([f"/{data['name']}", *(before.get(name, "") + values[name] for name in named)])


def register(rest: DiscordRest, application_id: str, guild_id: str | None = None) -> list[str]:
    """Overwrite the application's commands (in ``guild_id`` only, when given); the names Discord now has."""
    scope = f"guilds/{guild_id}/" if guild_id else ""
    registered = rest.request("PUT", f"applications/{application_id}/{scope}commands", COMMANDS)
    return [command["name"] for command in registered]
