"""Every command Tilt answers, one line each, in the order ``/help`` lists them.

A new command is a module in ``handlers/`` that declares ``COMMAND`` (see
``handlers/common/command.py``) and one line here.  The router, ``/help``,
Discord's registration, the Slack manifest, the README's command table, metric
labels and the Home tab's buttons all read this list, so none can miss it.
"""

from __future__ import annotations

from handlers import alert, backtest, calls, compare, cycle, digest, help, rotation, signal, tilt, valuation, watchlist
from handlers.common.command import Command

COMMANDS: tuple[Command, ...] = (
    compare.COMMAND,
    backtest.COMMAND,
    tilt.COMMAND,
    valuation.COMMAND,
    watchlist.COMMAND,
    digest.COMMAND,
    rotation.COMMAND,
    cycle.COMMAND,
    signal.COMMAND,
    signal.VOTE_COMMAND,
    alert.COMMAND,
    calls.CALL,
    calls.CALLS,
    help.declare(lambda: COMMANDS),
)


def find(name: str) -> Command | None:
    """The command called ``name`` (listed or run by buttons), ``None`` when Tilt has none."""
    return next((command for command in COMMANDS if command.name == name), None)


def listed() -> tuple[Command, ...]:
    """The commands people type: in menus, manifests and ``/help`` (not those only buttons run)."""
    return tuple(command for command in COMMANDS if command.listed)
