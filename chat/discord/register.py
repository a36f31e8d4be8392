"""Tilt's commands as Discord slash commands, derived from their declarations, and their registration.

``python bot.py discord-register [--guild ID]`` sends the whole set in one PUT
(a bulk overwrite: commands not in it are removed).  Guild commands appear at
once in that server, which suits trying Tilt out; global ones appear in every
server that added Tilt.

Discord's rules (application-commands): names ``^[-_a-z0-9]{1,32}$``,
descriptions 1-100 characters, required options before optional ones, at most
25 options and 25 choices, and an option has ``autocomplete`` or ``choices``,
never both.  ``command_text`` reads the options back as the router's command
text, in the order the command declares them.
"""

from __future__ import annotations

from typing import Any

from chat.discord.rest import DiscordRest
from handlers import catalog
from handlers.common.command import Command, Kind, Option

CHAT_INPUT = 1  # command type: a slash command
STRING, INTEGER = 3, 4  # option types


def option_schema(option: Option) -> dict[str, Any]:
    """How Discord asks for ``option``: tickers and periods suggest as you type, choices are a menu."""
    schema: dict[str, Any] = {"type": INTEGER if option.kind is Kind.INTEGER else STRING, "name": option.name,
                              "description": option.help, "required": option.required}
    if option.kind.autocompleted:
        schema["autocomplete"] = True
    choices = option.choices or tuple((c.name, c.name) for c in catalog.listed() if option.kind is Kind.COMMAND)
    if choices:
        schema["choices"] = [{"name": label, "value": value} for value, label in choices]
    if option.kind is Kind.INTEGER:
        schema["min_value"] = 1
    return schema


def command_schema(command: Command) -> dict[str, Any]:
    """``command`` as a Discord slash command: its summary, and its options with the required ones first."""
    ordered = sorted(command.options, key=lambda option: not option.required)
    return {"type": CHAT_INPUT, "name": command.name, "description": command.summary,
            "options": [option_schema(option) for option in ordered]}


def schemas() -> list[dict[str, Any]]:
    """Every command people type, as Discord registers them."""
    return [command_schema(command) for command in catalog.listed()]


def command_text(data: dict[str, Any]) -> str:
    """The router's command text for a slash command's options:
    ``compare`` with tickers "SMH SPY", period "10y", benchmark "SPY" -> ``/compare SMH SPY vs SPY 10y``."""
    values = {option["name"]: str(option.get("value", "")).strip() for option in data.get("options", [])}
    command = catalog.find(data["name"])
    declared = command.options if command else ()
    return " ".join([f"/{data['name']}", *(option.text(values[option.name]) for option in declared
                                           if values.get(option.name))])


def option_kind(data: dict[str, Any], name: str) -> Kind | None:
    """The kind of the option ``name`` of the command ``data`` names, ``None`` when it has none."""
    command = catalog.find(data.get("name", ""))
    return next((option.kind for option in command.options if option.name == name), None) if command else None


def register(rest: DiscordRest, application_id: str, guild_id: str | None = None) -> list[str]:
    """Overwrite the application's commands (in ``guild_id`` only, when given); the names Discord now has."""
    scope = f"guilds/{guild_id}/" if guild_id else ""
    registered = rest.request("PUT", f"applications/{application_id}/{scope}commands", schemas())
    return [command["name"] for command in registered]
