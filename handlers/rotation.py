"""/rotation: rank a universe by momentum, with trend, relative strength and the size regime.

    /rotation [UNIVERSE] [PERIOD]       built-in: size (default), sectors, semis; or the team's own
    /rotation set NAME T1 T2 ...        define or replace a team universe
    /rotation list                      the universes this team can use

Without a PERIOD the ranking is the composite momentum score of ``analysis.rotation`` and the chart covers 1y;
with one (1m to 2y) both the ranking (total return over that period) and the chart follow it.
"""

from __future__ import annotations

import re

from analysis.rotation import Regime, horizon_label, momentum_table, size_regime
from errors import BadRequest
from handlers.common.caller import Caller
from handlers.common.command import Command, Kind, Option
from handlers.common.format import percent
from handlers.common.parse import DEFAULT_BENCHMARK, parse_ticker, split_period
from handlers.common.plots import bars
from handlers.common.reply import Action, Reply, Table
from handlers.common.services import Services
from handlers.common.snapshot import check_tickers, left_out_note, recent_chart, recent_closes

USAGE = "/rotation [size|sectors|semis|NAME] [PERIOD] · /rotation set NAME T1 T2 ... · /rotation list"
BUILT_IN = {
    "size": ("SPY", "QQQ", "IWM", "IJR", "VB"),
    "sectors": ("XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY"),
    "semis": ("SMH", "SOXX", "XSD"),
}
# Small-cap proxies whose ratio to SPY makes the size regime.
SMALL_CAPS = ("IWM", "IJR")
MAX_UNIVERSE = 30
# The /signal card offered under a universe's ranking.
SIGNAL_CARDS = {"size": ("smallcaps",), "semis": ("semis",)}
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,23}$")
COLUMNS = ("#", "Ticker", "Score", "1m", "3m", "6m", "12m", "vs 200d", f"RS 6m vs {DEFAULT_BENCHMARK}")


def handle(text: str, services: Services, caller: Caller) -> Reply:
    words = text.split()
    verb = words[0].lower() if words else ""
    if verb == "list" and len(words) == 1:
        return list_universes(services, caller)
    if verb == "set":
        return set_universe(services, caller, words[1:])
    names, period = split_period(words)
    if len(names) > 1:
        raise BadRequest(f"Name one universe, not {' '.join(names)}. {USAGE}")
    asked = None
    if period is not None:
        months = period.years * 12 + period.months
        if period.kind != "trailing" or period.weeks or not 1 <= months <= 24:
            raise BadRequest(f"Rotation ranks over 1m to 2y; `{period.label}` is outside that.")
        asked = months
    return rank(services, caller, names[0].lower() if names else "size", asked)


def universe(services: Services, caller: Caller, name: str) -> tuple[str, ...]:
    if name in BUILT_IN:
        return BUILT_IN[name]
    own = services.store.universes(caller.owner)
    if name not in own:
        known = ", ".join([*BUILT_IN, *own])
        raise BadRequest(f"There is no universe `{name}`. Known: {known}. Define one with `/rotation set NAME T1 T2 ...`.")
    return tuple(own[name])


def rank(services: Services, caller: Caller, name: str, asked: int | None) -> Reply:
    """The universe ranked by composite momentum, or by total return over ``asked`` months when a period was given;
    the chart covers that period (1y by default)."""
    members = universe(services, caller, name)
    tickers = list(dict.fromkeys([*members, DEFAULT_BENCHMARK]))
    closes, missing = recent_closes(services, tickers, years=2)
    months = asked or 12
    table = momentum_table(closes, DEFAULT_BENCHMARK, rank_months=asked)
    horizons = ("1m", "3m", "6m", "12m")
    extra = (horizon_label(asked),) if asked and horizon_label(asked) not in horizons else ()
    basis = ("composite momentum (average of 1, 3, 6 and 12-month total returns)" if asked is None else
             f"{asked}-month total return (the composite momentum score beside it)")
    ranked = table[table.index.isin(members)]
    regimes = [size_regime(closes[small], closes[DEFAULT_BENCHMARK])
               for small in SMALL_CAPS if small in closes.columns and name == "size"]
    period = f"{months // 12}y" if months % 12 == 0 else f"{months}m"
    # Ranked order, so the chart draws the leaders (and the benchmark) when it cannot draw them all.
    charted = list(dict.fromkeys([*ranked.index, DEFAULT_BENCHMARK]))
    notes = [regime_sentence(r) for r in regimes] + left_out_note(charted, DEFAULT_BENCHMARK)
    if missing:
        notes.append(f"No prices for {', '.join(missing)}.")
    leader, laggard = ranked.index[0], ranked.index[-1]
    return Reply(
        text=f"*Rotation: {name}* ranked by {basis}"
        + (" (demo data, not real prices)" if services.market.is_demo else ""),
        table=Table.of((*COLUMNS[:3], *extra, *COLUMNS[3:]), (
            ((str(i), i), t, (percent(r.score), r.score),
             *((percent(r[h], signed=True), r[h]) for h in (*extra, *horizons)),
             (percent(r.trend, signed=True), r.trend),
             ("—", None) if t == DEFAULT_BENCHMARK else (percent(r.relative, signed=True), r.relative))
            for i, (t, r) in enumerate(ranked.iterrows(), start=1))),
        takeaway=f"{leader} leads the {name} universe and {laggard} trails it"
                 + ("" if asked is None else f" over {asked} months") + "; "
                 f"{int((ranked.trend > 0).sum())} of {len(ranked)} trade above their 200-day average.",
        notes=tuple(notes),
        footer=f"as of {closes.index[-1]:%Y-%m-%d} · source: {services.source_label()} · chart: {period}",
        chart=recent_chart(services, closes[charted], f"Rotation {name} · {period}", DEFAULT_BENCHMARK, months),
        actions=tuple(Action(f"{t} vs {DEFAULT_BENCHMARK}", f"/compare {t} vs {DEFAULT_BENCHMARK} {period}")
                      for t in ranked.index[:3] if t != DEFAULT_BENCHMARK)
        + tuple(Action(f"Signal card: {s}", f"/signal {s}") for s in SIGNAL_CARDS.get(name, ())),
        # The bars show what the table is ranked by.
        plots=bars(f"Rotation {name}: composite momentum", list(ranked.index), {"Score": ranked.score},
                   y_label="%", scale=100) if asked is None else
        bars(f"Rotation {name}: {asked}-month return", list(ranked.index),
             {f"{asked}m": ranked[horizon_label(asked)]}, y_label="%", scale=100),
    )


def regime_sentence(regime: Regime) -> str:
    """E.g. "Small caps (IWM) leading SPY for 23 sessions: IWM/SPY is 4.1% above its 200-day average, +3.0% over 6 months."."""
    side = "leading" if regime.leading else "lagging"
    where = "above" if regime.vs_average >= 0 else "below"
    return (f"Small caps ({regime.small}) {side} {regime.large} for {regime.sessions} sessions: "
            f"{regime.small}/{regime.large} is {percent(abs(regime.vs_average))} {where} its 200-day average, "
            f"{percent(regime.change_6m, signed=True)} over 6 months.")


def set_universe(services: Services, caller: Caller, words: list[str]) -> Reply:
    if len(words) < 2:
        raise BadRequest("Name the universe and its tickers, e.g. `/rotation set megacaps AAPL MSFT NVDA`.")
    name = words[0].lower()
    if not _NAME.match(name) or name in BUILT_IN or name in ("set", "list"):
        raise BadRequest(f"`{words[0]}` can't be a universe name: use letters, digits, - or _, and not "
                         f"{', '.join([*BUILT_IN, 'set', 'list'])}.")
    tickers = list(dict.fromkeys(parse_ticker(w) for w in " ".join(words[1:]).replace(",", " ").split()))
    if len(tickers) > MAX_UNIVERSE:
        raise BadRequest(f"A universe holds at most {MAX_UNIVERSE} tickers.")
    check_tickers(services, tickers)
    services.store.set_universe(caller.owner, name, tickers)
    return Reply(text=f"Universe `{name}` is now {', '.join(tickers)}. Try `/rotation {name}`.", ephemeral=True)


def list_universes(services: Services, caller: Caller) -> Reply:
    own = services.store.universes(caller.owner)
    lines = [f"`{n}`: {', '.join(t)}" for n, t in {**BUILT_IN, **own}.items()]
    return Reply(text="*Rotation universes*", notes=tuple(lines), ephemeral=True)


COMMAND = Command(
    name="rotation",
    summary="Rank a universe by momentum, with the small-cap regime; or define your own universe",
    usage=USAGE,
    examples=("/rotation sectors 6m", "/rotation", "/rotation set megacaps AAPL MSFT NVDA", "/rotation list"),
    guide=(
        'Ranks a universe by composite momentum (the average of 1, 3, 6 and 12-month total returns), '
        "with each ticker's distance from its 200-day average and 6-month relative strength vs SPY; "
        'for `size`, whether small caps (IWM, IJR) lead SPY and for how many sessions. Universes: '
        'size (SPY QQQ IWM IJR VB), sectors (the 11 Select Sector SPDRs), semis (SMH SOXX XSD), or '
        "your team's own."
    ),
    handle=handle,
    options=(
        Option("action", Kind.CHOICE, "Define a universe, or list them (leave out to rank)",
               choices=(("set", "set"), ("list", "list"))),
        Option("universe", Kind.TEXT, "size (default), sectors, semis or your team's own; the name to define with set"),
        Option("tickers", Kind.TICKERS, "With set: the universe's tickers"),
        Option("period", Kind.PERIOD, "The window: 1m, 3m, 6m, 1y, 2y... (default: 1 year)"),
    ),
)
