"""Tilt's command line: configuration and wiring, nothing else.

    python bot.py console "/compare SMH SPY 10y"     answer one command in the terminal
    python bot.py console                             interactive prompt
    python bot.py console --demo ...                  synthetic market, works offline
    python bot.py console --data-dir ../shared/data/prices ...   a yfinance-format CSV folder
    python bot.py serve                               Slack and/or Discord over HTTP on $PORT
    python bot.py socket                              Slack over Socket Mode ($SLACK_APP_TOKEN)
    python bot.py discord-register [--guild ID]       register the Discord slash commands
    python bot.py slack-manifest                     write slack/manifest.yml from the commands' declarations
    python bot.py readme-commands                    rewrite README.md's command table from the same
    python bot.py worker                              run queued commands (RQ workers; needs REDIS_URL)
    python bot.py scheduler                           post digests when they are due
    python bot.py export [FILE] / import FILE         all team data as JSON, and back
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from chat import console
from config import ConfigError, Settings, code_release
from errors import TiltError
from handlers import digest
from handlers.common import router
from handlers.common.budget import Budget
from handlers.common.reply import Reply
from handlers.common.services import Services
from jobs import queue as jobs_queue
from jobs.queue import Handler, Jobs, queue_for
from market.cache import Cache, connect
from market.cached import BATCH_WINDOW_SECONDS, CachedMarket
from market.csvdir import CsvFolderProvider
from market.demo import DemoProvider
from market.protection import Breaker, RateLimit
from market.provider import Provider
from market.redis_server import redis_url
from metrics import count_across_processes, forget_all, serve_from_work_horses
from metrics import serve as serve_metrics
from schedule.runner import JOB_KIND as DIGEST_JOB
from schedule.runner import DigestScheduler
from schedule.watch import Watcher
from store.teamdata import DEMO_PREFIX, PREFIX, Owner, Subscription, TeamStore

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_sdk import WebClient

log = logging.getLogger("tilt")
ROOT = Path(__file__).resolve().parent

# Requests to Yahoo that may go out at once before the rate limit paces them (one cold /compare of 8 tickers).
SOURCE_BURST = 10


def make_provider(settings: Settings, *, demo: bool, data_dir: Path | None) -> Provider:
    """Demo market, a CSV folder, or (the default) Yahoo Finance through yfinance."""
    if demo:
        return DemoProvider()
    folder = data_dir or settings.market_data_dir
    if folder is not None:
        return CsvFolderProvider(folder)
    from market.yahoo import (
        YahooProvider,  # imports yfinance, which the offline paths never need
    )

    return YahooProvider(api_url=settings.yahoo_api_url, cache_dir=settings.state_dir / "yfinance")


@contextlib.contextmanager
def make_cache(settings: Settings) -> Iterator[Cache]:
    """The Redis cache (``REDIS_URL`` or an embedded server), stopped on exit; uncached if it cannot start."""
    try:
        url, embedded = redis_url(settings.redis_url, settings.state_dir / "redis")
    except Exception as error:  # a cache that cannot start must not stop Tilt from answering
        log.warning("could not start the embedded Redis (%s); answering uncached", error)
        yield Cache(None)
        return
    try:
        yield Cache(connect(url))
    finally:
        if embedded is not None:
            embedded.close()


@contextlib.contextmanager
def make_services(settings: Settings, *, demo: bool = False, data_dir: Path | None = None) -> Iterator[Services]:
    provider = make_provider(settings, demo=demo, data_dir=data_dir)
    with make_cache(settings) as cache:
        # The demo's calls and cards are not about real prices: they live apart, so neither breaks the other.
        prefix = DEMO_PREFIX if provider.is_demo else PREFIX
        store = TeamStore(cache.client, prefix) if cache.client is not None else None
        # Only a remote source needs pacing, a breaker and batching; a CSV folder or the demo cannot be overloaded.
        remote = not (demo or data_dir or settings.market_data_dir)
        market = CachedMarket(
            provider, cache,
            rate_limit=RateLimit(cache, provider.name, rate=settings.source_rate, burst=SOURCE_BURST) if remote else None,
            breaker=Breaker(cache, provider.name) if remote else None,
            batch_window=BATCH_WINDOW_SECONDS if remote else 0.0,
        )
        yield Services(market=market, cache=cache, risk_free=settings.risk_free, team_store=store,
                       release=code_release())


# --- digests ------------------------------------------------------------------------------------


def make_scheduler(settings: Settings, services: Services, jobs: Jobs | None = None) -> DigestScheduler:
    """The digest scheduler (with signal and call follow-ups), posting through every configured platform;
    with queued ``jobs`` it hands due digests to workers instead of building and posting them itself."""
    posters: dict[str, Callable[[str, str, str | None, Reply], None]] = {}
    if settings.slack_bot_token or settings.slack_client_id:
        from chat.slack.block_kinds import BlockKinds
        from chat.slack.delivery import poster

        posters["slack"] = poster(slack_clients(settings, services), BlockKinds(services.cache))
    if settings.discord_bot_token:
        from chat.discord.rest import DiscordRest

        rest = DiscordRest(settings.discord_api_url, settings.discord_bot_token)
        # On Discord the channel is the card's or call's thread itself (see chat.discord.interactions).
        posters["discord"] = lambda team, channel, thread_ts, reply: rest.post_to_channel(channel, reply)
    if not posters:
        raise ConfigError("Neither SLACK_BOT_TOKEN, SLACK_CLIENT_ID nor DISCORD_BOT_TOKEN is set, "
                          "so digests could not be posted.")

    def post(subscription: Subscription, reply: Reply) -> None:
        follow_up(Owner(subscription.platform, subscription.team, subscription.scope), subscription.channel, None, reply)

    def build(subscription: Subscription, late: dt.timedelta | None) -> Reply:
        return digest.build(services, services.store.watchlist(subscription.owner), late, owner=subscription.owner)

    def follow_up(team: Owner, channel: str, thread_ts: str | None, reply: Reply) -> None:
        if team.platform not in posters:
            raise LookupError(f"no {team.platform} token configured to post in {channel}")
        posters[team.platform](team.team, channel, thread_ts, reply)

    watcher = Watcher(services, follow_up)
    return DigestScheduler(services.store, build, post, now=lambda: dt.datetime.now(dt.timezone.utc),
                           also=(watcher.tick,), hand_off=jobs.submit if jobs is not None and jobs.queued else None)


def run_scheduler(settings: Settings, services: Services) -> int:
    scheduler = make_scheduler(settings, services, make_jobs(settings, services))
    stop = threading.Event()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, lambda *_: stop.set())
    log.warning("Tilt scheduler running (every %gs)", settings.scheduler_interval)
    scheduler.run_forever(stop, settings.scheduler_interval)
    return 0


def run_export(services: Services, target: str | None) -> int:
    document = json.dumps(services.store.export(), indent=2, sort_keys=True)
    if target:
        Path(target).write_text(document + "\n")
    else:
        print(document)
    return 0


def run_import(services: Services, source: str) -> int:
    try:
        data = json.loads(Path(source).read_text())
        written = services.store.import_(data)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{source} is not a Tilt export ({error}).") from None
    print(f"Restored {written} keys of team data from {source}.")
    return 0


def slack_app(settings: Settings, services: Services, jobs: Jobs | None) -> App:
    """The Bolt app wired to Tilt's handlers: the web copy (acks, hands work to ``jobs``) or, with
    ``jobs=None``, the worker copy that runs that work.

    One workspace: the bot token, checked with Slack (auth.test) by the web copy.  Many
    workspaces (``SLACK_CLIENT_ID``/``SECRET``): the OAuth install flow, with
    installations kept in Redis beside the team data.
    """
    from slack_bolt.error import BoltError

    from chat.slack.app import build_app
    from chat.slack.client import web_client
    from chat.slack.oauth import oauth_settings
    from chat.slack.settings import SlackSettings

    oauth = None
    if settings.slack_client_id:
        settings.require("SLACK_CLIENT_SECRET")
        oauth = oauth_settings(settings.slack_client_id, settings.slack_client_secret, _durable(services).client)
    try:
        return build_app(SlackSettings(
            answer=lambda text, caller: router.run(text, services, caller), budget=Budget(services.cache),
            cache=services.cache, signing_secret=settings.slack_signing_secret or "", jobs=jobs, oauth=oauth,
            client=web_client(None if oauth else settings.slack_bot_token, settings.slack_api_url),
            posted=lambda caller, track, channel, ts: router.posted(services, caller, track, channel, ts),
            forget_team=lambda team: _durable(services).delete_team("slack", team),
            home=lambda caller, channels: router.home(services, caller, channels)))
    except BoltError as error:
        raise ConfigError(f"SLACK_BOT_TOKEN was not accepted by Slack at {settings.slack_api_url} ({error}).") from None


def slack_clients(settings: Settings, services: Services) -> Callable[[str], WebClient]:
    """``client_for(team)`` for posting outside a request: the one bot token, or each installation's own."""
    from chat.slack.client import web_client
    from chat.slack.installations import RedisInstallationStore
    from chat.slack.oauth import installed_clients

    if settings.slack_client_id:
        return installed_clients(RedisInstallationStore(_durable(services).client),
                                 lambda token: web_client(token, settings.slack_api_url))
    client = web_client(settings.slack_bot_token, settings.slack_api_url)
    return lambda team: client


def _durable(services: Services) -> TeamStore:
    """The team store, which installations and uninstalls need: ``ConfigError`` when Tilt runs without Redis."""
    try:
        return services.store
    except TiltError:
        raise ConfigError("Tilt could not reach Redis, which it needs to keep installations and team data.") from None


# --- jobs: the work after an ack ---------------------------------------------------------------


def job_handlers(settings: Settings, services: Services) -> dict[str, Handler]:
    """The handler of each kind of job, for every chat platform that is configured (same in web and worker)."""
    handlers: dict[str, Handler] = {}
    if settings.slack_bot_token or settings.slack_client_id:
        from chat.slack.queued import JOB_KIND, job_handler

        handlers[JOB_KIND] = job_handler(slack_app(settings, services, jobs=None))
    if settings.discord_public_key or settings.discord_bot_token:
        from chat.discord import interactions
        from chat.discord.rest import DiscordRest

        rest = DiscordRest(settings.discord_api_url, settings.discord_bot_token)
        handlers[interactions.JOB_KIND] = interactions.job_handler(
            lambda text, caller: router.run(text, services, caller), rest,
            lambda caller, track, channel, ts: router.posted(services, caller, track, channel, ts))
    if settings.slack_bot_token or settings.slack_client_id or settings.discord_bot_token:
        handlers[DIGEST_JOB] = make_scheduler(settings, services).run_job
    return handlers


def make_jobs(settings: Settings, services: Services) -> Jobs:
    """RQ in the shared Redis when ``TILT_JOBS`` says queue (the default with ``REDIS_URL``), else a pool here."""
    queue = queue_for(services.cache.client) if settings.jobs_queued and services.cache.client is not None else None
    return Jobs(job_handlers(settings, services), queue=queue, cache=services.cache)


def run_worker(settings: Settings, services: Services) -> int:
    """An RQ worker: runs the commands that web processes acknowledged and queued."""
    if not settings.redis_url:
        raise ConfigError("bot.py worker needs REDIS_URL: the Redis whose queue the web processes fill.")
    handlers = job_handlers(settings, services)
    if not handlers:
        raise ConfigError("Neither Slack (SLACK_BOT_TOKEN / SLACK_CLIENT_ID) nor Discord (DISCORD_PUBLIC_KEY) "
                          "is configured, so a worker would have nothing to deliver to.")
    warm_up()
    if settings.metrics_port:
        serve_from_work_horses(settings.state_dir / "metrics" / str(os.getpid()), settings.metrics_port,
                               settings.metrics_host)
    log.warning("Tilt worker running %s jobs from %s", ", ".join(handlers), queue_for(services.cache.client).key)
    jobs_queue.run_worker(settings.redis_url, handlers, services.cache)
    return 0


def warm_up() -> None:
    """Answer one command on the demo market, uncached, before RQ forks a work horse per job: whatever is
    loaded or built on first use (fonts, the exchange calendar, code paths) is then in the worker, and
    every horse starts with it instead of building it again for its one job."""
    services = Services(market=CachedMarket(DemoProvider(), Cache(None)), cache=Cache(None))
    router.run("/compare SMH SPY 10y", services)
    forget_all()


def check_http_settings(settings: Settings) -> None:
    """Stop with one line when serve could not work: no platform configured, or Slack without its secret."""
    if not (settings.slack_bot_token or settings.slack_client_id or settings.discord_public_key):
        raise ConfigError("Neither SLACK_BOT_TOKEN nor DISCORD_PUBLIC_KEY is set; serve needs one "
                          "(see README, 'Add Tilt to Slack' and 'Add Tilt to Discord').")
    if settings.slack_bot_token or settings.slack_client_id:
        settings.require("SLACK_SIGNING_SECRET")


def http_routes(settings: Settings, services: Services, jobs: Jobs) -> dict:
    """The routes of every chat platform that is configured: Slack by its bot token (one workspace) or
    client id (many), Discord by its public key."""
    routes = {}
    if settings.slack_bot_token or settings.slack_client_id:
        from chat.slack.oauth import INSTALL_PATH, REDIRECT_PATH
        from chat.slack.route import EVENTS_PATH, wsgi_route

        slack = wsgi_route(slack_app(settings, services, jobs))
        paths = (EVENTS_PATH, INSTALL_PATH, REDIRECT_PATH) if settings.slack_client_id else (EVENTS_PATH,)
        routes.update({path: slack for path in paths})
    if settings.discord_public_key:
        routes.update(discord_routes(settings, services, jobs))
    return routes


# --- Discord ------------------------------------------------------------------------------------


def discord_routes(settings: Settings, services: Services, jobs: Jobs) -> dict:
    """``POST /discord/interactions``; replies go through interaction webhooks, which need no bot token."""
    from chat.discord.interactions import INTERACTIONS_PATH, REPLAY_MEMORY_SECONDS, interactions_route

    return {INTERACTIONS_PATH: interactions_route(settings.discord_public_key, Budget(services.cache), jobs,
                                                  lambda key: services.cache.first(key, REPLAY_MEMORY_SECONDS))}


def run_discord_register(settings: Settings, guild: str | None) -> int:
    from chat.discord.register import register
    from chat.discord.rest import DiscordError, DiscordRest

    settings.require("DISCORD_APPLICATION_ID", "DISCORD_BOT_TOKEN", guide="Add Tilt to Discord")
    try:
        names = register(DiscordRest(settings.discord_api_url, settings.discord_bot_token),
                         settings.discord_application_id, guild)
    except DiscordError as error:
        raise ConfigError(f"Discord did not take the commands ({error}); check DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN.") from None
    where = f"in server {guild}" if guild else "globally"
    print(f"Registered {' '.join('/' + name for name in names)} {where}.")
    return 0


def run_slack_manifest() -> int:
    from chat.slack.manifest import manifest

    path = ROOT / "slack" / "manifest.yml"
    path.write_text(manifest())
    print(f"Wrote {path.relative_to(ROOT)}.")
    return 0


def run_readme_commands() -> int:
    from chat.commands_table import updated

    path = ROOT / "README.md"
    path.write_text(updated(path.read_text()))
    print(f"Wrote the command table in {path.relative_to(ROOT)}.")
    return 0


def run_http(settings: Settings, services: Services) -> int:
    from chat.web import serve, wsgi_app

    check_http_settings(settings)
    jobs = make_jobs(settings, services)
    routes = http_routes(settings, services, jobs)
    metrics = (count_across_processes(settings.state_dir / "metrics" / f"web-{os.getpid()}")
               if settings.web_processes > 1 else None)

    def beside_server() -> None:
        # Where the server runs, or where it watches its copies (whose counts ``metrics`` adds up).
        if settings.metrics_port:
            serve_metrics(settings.metrics_port, settings.metrics_host, metrics)
        if settings.scheduler_inprocess:
            stop = threading.Event()  # a daemon thread: it ends with the server
            threading.Thread(target=make_scheduler(settings, services, jobs).run_forever,
                             args=(stop, settings.scheduler_interval), name="tilt-scheduler", daemon=True).start()

    log.warning("Tilt listening on port %d in %d process(es) (POST %s, GET /healthz)%s", settings.port,
                settings.web_processes, ", ".join(routes),
                f"; GET /metrics on {settings.metrics_host}:{settings.metrics_port}" if settings.metrics_port else "")
    serve(wsgi_app(routes, services.cache.ping), settings.port,
          processes=settings.web_processes, beside=beside_server)
    return 0


def run_socket_mode(settings: Settings, services: Services) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    app = slack_app(settings, services, make_jobs(settings, services))
    log.warning("Tilt connecting to Slack in Socket Mode")
    SocketModeHandler(app, settings.slack_app_token).start()
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot.py", description="Tilt: tilt a portfolio away from plain S&P 500 exposure.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    data = argparse.ArgumentParser(add_help=False)
    source = data.add_mutually_exclusive_group()
    source.add_argument("--demo", action="store_true", help="synthetic market data (offline, not real prices)")
    source.add_argument("--data-dir", type=Path, help="folder of yfinance-format <TICKER>.csv files")
    commands = parser.add_subparsers(dest="mode", required=True)
    con = commands.add_parser("console", parents=[data], help="answer commands in the terminal")
    con.add_argument("command", nargs="*", help='e.g. "/compare SMH SPY 10y"; none opens a prompt')
    commands.add_parser("serve", parents=[data], help="Slack and/or Discord over HTTP on $PORT")
    commands.add_parser("socket", parents=[data], help="Slack over Socket Mode")
    commands.add_parser("worker", parents=[data], help="run queued commands (RQ; needs REDIS_URL)")
    commands.add_parser("scheduler", parents=[data], help="post digests when they are due")
    export = commands.add_parser("export", help="write all team data (watchlists, digests) as JSON")
    export.add_argument("file", nargs="?", help="where to write it; standard output when left out")
    restore = commands.add_parser("import", help="restore team data from an export")
    restore.add_argument("file")
    discord_register = commands.add_parser("discord-register", help="register the Discord slash commands")
    discord_register.add_argument("--guild", metavar="ID", help="only in this server (appears at once; for trying Tilt out)")
    commands.add_parser("slack-manifest", help="write slack/manifest.yml from the commands' declarations")
    commands.add_parser("readme-commands", help="rewrite README.md's command table from the commands' declarations")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # SIGTERM (a deploy, `docker compose stop`) ends Tilt like Ctrl-C: through every ``finally``, so an
    # embedded Redis is saved and stopped.  The scheduler and RQ workers set handlers of their own.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if args.mode == "slack-manifest":  # these two write files of the project: no settings, market or cache
            return run_slack_manifest()
        if args.mode == "readme-commands":
            return run_readme_commands()
        settings = Settings.from_env()
        if args.mode == "discord-register":  # needs no market or cache
            return run_discord_register(settings, args.guild)
        with make_services(settings, demo=getattr(args, "demo", False), data_dir=getattr(args, "data_dir", None)) as services:
            if args.mode == "scheduler":
                return run_scheduler(settings, services)
            if args.mode == "export":
                return run_export(services, args.file)
            if args.mode == "import":
                return run_import(services, args.file)
            if args.mode == "serve":
                return run_http(settings, services)
            if args.mode == "worker":
                return run_worker(settings, services)
            if args.mode == "socket":
                return run_socket_mode(settings, services)
            answer = lambda text: router.run(text, services)  # noqa: E731
            charts = settings.state_dir / "charts" / ("demo" if services.market.is_demo else "")
            if args.command:
                return console.run_once(answer, " ".join(args.command), charts)
            return console.interactive(answer, charts, settings.state_dir / "console_history")
    except (ConfigError, TiltError) as error:
        print(f"tilt: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
