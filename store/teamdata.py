"""Team data in Redis: watchlists and digest subscriptions, kept for good.

Unlike the market cache, nothing here may be lost or silently skipped: every
Redis failure becomes ``StorageUnavailable`` so the person is told that
nothing was changed.  Keys are namespaced by platform and team (workspace or
server) and then by scope (a channel, or a person in a DM)::

    tilt:v1:team:{platform}:{team}:watchlist:{scope}   sorted set, ticker -> time added
    tilt:v1:team:{platform}:{team}:digest:{scope}      hash, the subscription
    tilt:v1:team:{platform}:{team}:cards:team          hash, signal card id -> card (JSON)
    tilt:v1:team:{platform}:{team}:votes:{card id}     hash, user -> agree | disagree (one vote per person)
    tilt:v1:team:{platform}:{team}:calls:team          hash, call id -> call (JSON)
    tilt:v1:team:{platform}:{team}:callseq:team        string, the last call number handed out
    tilt:v1:team:{platform}:{team}:threads:team        hash, "card:<id>" / "call:<id>" -> where it was posted
    tilt:v1:team:{platform}:{team}:signals:team        hash, signal name -> its definition (JSON)
    tilt:v1:team:{platform}:{team}:alerts:team         hash, alert id -> alert (JSON): active, fired or cancelled
    tilt:v1:team:{platform}:{team}:alertseq:team       string, the last alert number handed out
    tilt:v1:digests                                    set of every subscription key (the scheduler's index)
    tilt:v1:watched                                    set of "{platform}:{team}" with cards, calls, signals or alerts (the watcher's index)

Every key under ``tilt:v1:team:`` plus the two indexes is what ``export``/``import`` move.
(``tilt:v1:`` is the default prefix; on the demo market it is ``tilt:v1:demo:``, so demo calls and
cards never mix with real ones; tests give each store a prefix of its own.)
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterator

import redis

from errors import BadRequest, StorageUnavailable

PREFIX = "tilt:v1:"
DEMO_PREFIX = PREFIX + "demo:"
MAX_WATCHLIST = 50
MAX_SIGNALS = 50


@dataclass(frozen=True)
class Owner:
    """Whose data: a team (Slack workspace, Discord server) on a platform, and a scope in it
    (``channel:<id>``, or ``user:<id>`` for a person's own data)."""

    platform: str
    team: str
    scope: str


@dataclass(frozen=True)
class Subscription:
    """A digest schedule for one conversation; ``schedule`` is ``market.timing.Schedule`` as a dict."""

    platform: str
    team: str
    channel: str
    scope: str
    schedule: dict[str, Any]
    created_at: float

    @property
    def owner(self) -> Owner:
        return Owner(platform=self.platform, team=self.team, scope=self.scope)

    @property
    def id(self) -> str:
        """Stable name of the subscription, unique across teams and platforms."""
        return f"{self.platform}:{self.team}:{self.scope}"


class TeamStore:
    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._team = prefix + "team:"
        self._index = prefix + "digests"
        self._watched = prefix + "watched"

    def key(self, owner: Owner, kind: str) -> str:
        """The Redis key of one kind of team data (``watchlist``, ``digest``) of ``owner``."""
        return f"{self._team}{owner.platform}:{owner.team}:{kind}:{owner.scope}"

    # --- watchlists ---------------------------------------------------------------------------

    def watchlist(self, owner: Owner) -> list[str]:
        with _storage():
            return [t.decode() for t in self.client.zrange(self.key(owner, "watchlist"), 0, -1)]

    def add_to_watchlist(self, owner: Owner, tickers: list[str]) -> tuple[list[str], list[str]]:
        """Add ``tickers`` (keeping the order they were first added); returns (newly added, the whole list).

        Refused with ``BadRequest`` when the list would exceed ``MAX_WATCHLIST``.
        """
        key = self.key(owner, "watchlist")
        with _storage():
            current = [t.decode() for t in self.client.zrange(key, 0, -1)]
            new = [t for t in dict.fromkeys(tickers) if t not in current]
            if len(current) + len(new) > MAX_WATCHLIST:
                raise BadRequest(f"A watchlist holds at most {MAX_WATCHLIST} tickers; this one has {len(current)}. "
                                 "Remove some first with `/watchlist remove`.")
            if new:
                now = time.time()
                self.client.zadd(key, {t: now + i * 1e-6 for i, t in enumerate(new)}, nx=True)
            return new, current + new

    def team_watchlists(self, platform: str, team: str) -> dict[str, list[str]]:
        """Every watchlist of one team (its channels' and its people's), by scope, in the order tickers were added."""
        prefix = f"{self._team}{platform}:{team}:watchlist:"
        with _storage():
            keys = sorted(k.decode() for k in self.client.scan_iter(match=prefix + "*", count=500))
            return {key.removeprefix(prefix): [t.decode() for t in self.client.zrange(key, 0, -1)] for key in keys}

    def remove_from_watchlist(self, owner: Owner, tickers: list[str]) -> tuple[list[str], list[str]]:
        """Remove ``tickers``; returns (actually removed, the remaining list)."""
        key = self.key(owner, "watchlist")
        with _storage():
            current = [t.decode() for t in self.client.zrange(key, 0, -1)]
            gone = [t for t in dict.fromkeys(tickers) if t in current]
            if gone:
                self.client.zrem(key, *gone)
            return gone, [t for t in current if t not in gone]

    # --- digest subscriptions -----------------------------------------------------------------

    def subscription(self, owner: Owner) -> Subscription | None:
        with _storage():
            raw = self.client.hget(self.key(owner, "digest"), "subscription")
        return Subscription(**json.loads(raw)) if raw else None

    def subscribe(self, owner: Owner, channel: str, schedule: dict[str, Any]) -> Subscription:
        """Post digests for ``owner`` to ``channel`` on ``schedule`` (replacing any earlier subscription)."""
        subscription = Subscription(platform=owner.platform, team=owner.team, channel=channel,
                                    scope=owner.scope, schedule=schedule, created_at=time.time())
        key = self.key(owner, "digest")
        with _storage(), self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, "subscription", json.dumps(asdict(subscription)))
            pipe.sadd(self._index, key)
            pipe.execute()
        return subscription

    def unsubscribe(self, owner: Owner) -> bool:
        key = self.key(owner, "digest")
        with _storage(), self.client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.srem(self._index, key)
            deleted, _ = pipe.execute()
        return bool(deleted)

    def all_subscriptions(self, platform: str | None = None, team: str | None = None) -> list[Subscription]:
        """Every digest subscription, or only one team's (``platform`` and ``team`` given)."""
        prefix = f"{self._team}{platform}:{team}:" if platform and team else ""
        with _storage():
            keys = sorted(k.decode() for k in self.client.smembers(self._index) if k.decode().startswith(prefix))
            raws = [self.client.hget(k, "subscription") for k in keys]
        return [Subscription(**json.loads(raw)) for raw in raws if raw]

    # --- custom universes (per team) ----------------------------------------------------------

    def universes(self, owner: Owner) -> dict[str, list[str]]:
        """The team's own universes by name (``owner.scope`` is ignored: universes are team-wide)."""
        with _storage():
            raw = self.client.hgetall(self._universe_key(owner))
        return {name.decode(): json.loads(tickers) for name, tickers in sorted(raw.items())}

    def set_universe(self, owner: Owner, name: str, tickers: list[str]) -> None:
        with _storage():
            self.client.hset(self._universe_key(owner), name, json.dumps(tickers))

    def _universe_key(self, owner: Owner) -> str:
        return self.key(Owner(platform=owner.platform, team=owner.team, scope="team"), "universes")

    # --- signal cards and votes (per team) -----------------------------------------------------

    def add_card(self, owner: Owner, card: dict[str, Any]) -> None:
        """Keep a signal card (``card["id"]`` names it) and put the team on the watcher's index."""
        with _storage(), self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self._team_key(owner, "cards"), card["id"], json.dumps(card))
            pipe.sadd(self._watched, f"{owner.platform}:{owner.team}")
            pipe.execute()

    def card(self, owner: Owner, card_id: str) -> dict[str, Any] | None:
        with _storage():
            raw = self.client.hget(self._team_key(owner, "cards"), card_id)
        return json.loads(raw) if raw else None

    def cards(self, owner: Owner) -> list[dict[str, Any]]:
        with _storage():
            raw = self.client.hgetall(self._team_key(owner, "cards"))
        return sorted((json.loads(v) for v in raw.values()), key=lambda c: c["created_at"])

    def update_card(self, owner: Owner, card: dict[str, Any]) -> None:
        with _storage():
            self.client.hset(self._team_key(owner, "cards"), card["id"], json.dumps(card))

    def vote(self, owner: Owner, card_id: str, user: str, choice: str) -> dict[str, str]:
        """Record ``user``'s vote (replacing their earlier one, atomically) and return all votes on the card."""
        key = self._votes_key(owner, card_id)
        with _storage(), self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, user, choice)
            pipe.hgetall(key)
            _, votes = pipe.execute()
        return {u.decode(): c.decode() for u, c in votes.items()}

    def votes(self, owner: Owner, card_id: str) -> dict[str, str]:
        with _storage():
            return {u.decode(): c.decode() for u, c in self.client.hgetall(self._votes_key(owner, card_id)).items()}

    def _votes_key(self, owner: Owner, card_id: str) -> str:
        return self.key(Owner(platform=owner.platform, team=owner.team, scope=card_id), "votes")

    # --- signals a team defined (per team) -------------------------------------------------------

    def signals(self, owner: Owner) -> list[dict[str, Any]]:
        """The team's own signals, oldest first."""
        with _storage():
            raw = self.client.hgetall(self._team_key(owner, "signals"))
        return sorted((json.loads(v) for v in raw.values()), key=lambda s: (s["created_at"], s["name"]))

    def signal(self, owner: Owner, name: str) -> dict[str, Any] | None:
        with _storage():
            raw = self.client.hget(self._team_key(owner, "signals"), name)
        return json.loads(raw) if raw else None

    def define_signal(self, owner: Owner, signal: dict[str, Any], limit: int = MAX_SIGNALS) -> None:
        """Keep a new signal (``signal["name"]`` names it) and put the team on the watcher's index, atomically.

        ``BadRequest`` when the name is taken or the team already has ``limit`` signals: checked and written
        in one transaction, so two people defining at once can neither share a name nor pass the limit.
        """
        def write(stored: dict[str, dict[str, Any]]) -> dict[str, Any]:
            if signal["name"] in stored:
                raise BadRequest(f"A signal named `{signal['name']}` already exists here; "
                                 "pick another name or delete it first.")
            if len(stored) >= limit:
                raise BadRequest(f"A workspace holds at most {limit} signals; delete one first "
                                 "with `/signal delete NAME`.")
            return signal

        self._change(owner, "signals", signal["name"], write)

    def delete_signal(self, owner: Owner, name: str, user: str) -> dict[str, Any]:
        """Delete the signal ``name`` if ``user`` defined it, atomically; returns it.  ``BadRequest`` otherwise."""
        found: list[dict[str, Any]] = []

        def remove(stored: dict[str, dict[str, Any]]) -> None:
            if name not in stored:
                raise BadRequest(f"There is no signal `{name}` here; `/signal list` shows them.")
            if stored[name]["author"] != user:
                raise BadRequest(f"Only the person who defined `{name}` may delete it.")
            found.append(stored[name])

        self._change(owner, "signals", name, remove, delete=True)
        return found[-1]

    def update_signal(self, owner: Owner, signal: dict[str, Any]) -> bool:
        """Store ``signal`` over the one of the same name, only while that one still exists; whether it did
        (a signal deleted meanwhile stays deleted)."""
        return self._change(owner, "signals", signal["name"], lambda stored: signal if signal["name"] in stored else None)

    # --- one-shot alerts (per team) -------------------------------------------------------------

    def add_alert(self, owner: Owner, alert: dict[str, Any], per_person: int) -> dict[str, Any]:
        """Keep a new alert, numbered 1, 2, ... per team; returns it with its ``id``.  ``BadRequest`` when its
        author already holds ``per_person`` active alerts (checked and written in one transaction)."""
        with _storage():
            number = str(int(self.client.incr(self._team_key(owner, "alertseq"))))
        alert = {**alert, "id": number}

        def write(stored: dict[str, dict[str, Any]]) -> dict[str, Any]:
            mine = [a for a in stored.values() if a["author"] == alert["author"] and a["status"] == "active"]
            if len(mine) >= per_person:
                raise BadRequest(f"You hold {len(mine)} alerts, the most one person may; cancel one first with "
                                 "`/alert cancel N`.")
            return alert

        self._change(owner, "alerts", number, write)
        return alert

    def alerts(self, owner: Owner) -> list[dict[str, Any]]:
        with _storage():
            raw = self.client.hgetall(self._team_key(owner, "alerts"))
        return sorted((json.loads(v) for v in raw.values()), key=lambda a: int(a["id"]))

    def replace_active_alert(self, owner: Owner, alert: dict[str, Any]) -> bool:
        """Store ``alert`` over the stored one only while that one is still active, atomically; whether it was.

        Firing (the watcher) and cancelling (the author) both go through here: whichever comes second backs off.
        """
        def write(stored: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
            current = stored.get(alert["id"])
            return alert if current is not None and current["status"] == "active" else None

        return self._change(owner, "alerts", alert["id"], write)

    def update_alert(self, owner: Owner, alert: dict[str, Any]) -> None:
        with _storage():
            self.client.hset(self._team_key(owner, "alerts"), alert["id"], json.dumps(alert))

    def _change(self, owner: Owner, kind: str, field: str, decide: Callable[[dict[str, dict[str, Any]]], Any],
                *, delete: bool = False) -> bool:
        """Change one entry of the team's ``kind`` hash in one transaction: ``decide(every entry)`` sees them as
        they are and returns the record to write at ``field`` (or raises, or returns ``None`` for no change);
        with ``delete`` the entry is removed instead.  Read again when the hash changed meanwhile (WATCH).
        Whether something was written (the team goes on the watcher's index with it)."""
        key = self._team_key(owner, kind)
        with _storage(), self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    stored = {k.decode(): json.loads(v) for k, v in pipe.hgetall(key).items()}
                    record = decide(stored)
                    if record is None and not delete:
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    if delete:
                        pipe.hdel(key, field)
                    else:
                        pipe.hset(key, field, json.dumps(record))
                        pipe.sadd(self._watched, f"{owner.platform}:{owner.team}")
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue  # another entry of the team changed meanwhile: read again

    # --- team calls (per team) ------------------------------------------------------------------

    def add_call(self, owner: Owner, call: dict[str, Any]) -> dict[str, Any]:
        """Keep a new call, numbered 1, 2, ... per team; returns it with its ``id``."""
        with _storage():
            number = int(self.client.incr(self._team_key(owner, "callseq")))
            call = {**call, "id": str(number)}
            with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(self._team_key(owner, "calls"), call["id"], json.dumps(call))
                pipe.sadd(self._watched, f"{owner.platform}:{owner.team}")
                pipe.execute()
        return call

    def calls(self, owner: Owner) -> list[dict[str, Any]]:
        with _storage():
            raw = self.client.hgetall(self._team_key(owner, "calls"))
        return sorted((json.loads(v) for v in raw.values()), key=lambda c: int(c["id"]))

    def call(self, owner: Owner, call_id: str) -> dict[str, Any] | None:
        with _storage():
            raw = self.client.hget(self._team_key(owner, "calls"), call_id)
        return json.loads(raw) if raw else None

    def replace_open_call(self, owner: Owner, call: dict[str, Any]) -> bool:
        """Store ``call`` over the stored one only while that one is still open, atomically; whether it was.

        Closing (the watcher) and cancelling (the author) both go through here, so whichever comes
        second sees the first and backs off: a cancelled call is never scored, a scored one never cancelled.
        """
        def write(stored: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
            current = stored.get(call["id"])
            return call if current is not None and current["status"] == "open" else None

        return self._change(owner, "calls", call["id"], write)

    def update_call(self, owner: Owner, call: dict[str, Any]) -> None:
        with _storage():
            self.client.hset(self._team_key(owner, "calls"), call["id"], json.dumps(call))

    # --- where tracked messages were posted -----------------------------------------------------

    def set_thread(self, owner: Owner, track: str, channel: str, ts: str) -> None:
        """Remember that the message for ``track`` (``card:<id>``, ``call:<id>``) is ``ts`` in ``channel``."""
        with _storage():
            self.client.hset(self._team_key(owner, "threads"), track, json.dumps({"channel": channel, "ts": ts}))

    def thread(self, owner: Owner, track: str) -> tuple[str, str] | None:
        with _storage():
            raw = self.client.hget(self._team_key(owner, "threads"), track)
        if not raw:
            return None
        where = json.loads(raw)
        return where["channel"], where["ts"]

    def watched_teams(self) -> list[Owner]:
        """Every team with signal cards, calls, signals or alerts, as team-wide owners."""
        with _storage():
            members = sorted(m.decode() for m in self.client.smembers(self._watched))
        return [Owner(platform=p, team=t, scope="team") for p, _, t in (m.partition(":") for m in members)]

    def _team_key(self, owner: Owner, kind: str) -> str:
        return self.key(Owner(platform=owner.platform, team=owner.team, scope="team"), kind)

    def delete_team(self, platform: str, team: str) -> int:
        """Delete every piece of one team's data (an uninstalled workspace); returns how many keys went."""
        with _storage():
            keys = list(self.client.scan_iter(match=f"{self._team}{platform}:{team}:*", count=500))
            with self.client.pipeline(transaction=True) as pipe:
                if keys:
                    pipe.delete(*keys)
                    pipe.srem(self._index, *keys)  # its digest subscriptions, so nothing is posted there again
                pipe.srem(self._watched, f"{platform}:{team}")
                pipe.execute()
        return len(keys)

    # --- export and import --------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Every team key as JSON-friendly data: ``{"version": 1, "keys": {key: {"type": ..., "value": ...}}}``."""
        keys: dict[str, Any] = {}
        with _storage():
            for raw_key in sorted(self.client.scan_iter(match=self._team + "*", count=500)):
                key = raw_key.decode()
                kind = self.client.type(key).decode()
                if kind == "zset":
                    value = [[m.decode(), s] for m, s in self.client.zrange(key, 0, -1, withscores=True)]
                elif kind == "hash":
                    value = {f.decode(): v.decode() for f, v in self.client.hgetall(key).items()}
                elif kind == "set":
                    value = sorted(m.decode() for m in self.client.smembers(key))
                else:
                    value = self.client.get(key).decode()
                keys[key] = {"type": kind, "value": value}
            for index in (self._index, self._watched):
                keys[index] = {"type": "set", "value": sorted(m.decode() for m in self.client.smembers(index))}
        return {"version": 1, "keys": keys}

    def import_(self, data: dict[str, Any]) -> int:
        """Restore what ``export`` wrote, replacing keys of the same name; returns how many keys were written."""
        if data.get("version") != 1:
            raise ValueError("not a Tilt export (version 1)")
        with _storage(), self.client.pipeline(transaction=True) as pipe:
            for key, item in data["keys"].items():
                if not (key.startswith(self._team) or key in (self._index, self._watched)):
                    raise ValueError(f"unexpected key {key!r} in the export")
                pipe.delete(key)
                kind, value = item["type"], item["value"]
                if kind == "zset" and value:
                    pipe.zadd(key, {member: score for member, score in value})
                elif kind == "hash" and value:
                    pipe.hset(key, mapping=value)
                elif kind == "set" and value:
                    pipe.sadd(key, *value)
                elif kind == "string":
                    pipe.set(key, value)
            pipe.execute()
        return len(data["keys"])



@contextmanager
def _storage() -> Iterator[None]:
    """Turn any Redis failure into ``StorageUnavailable``: team data is never silently skipped."""
    try:
        yield
    except (redis.RedisError, OSError) as error:
        raise StorageUnavailable() from error
