"""`warroom` — the command line: check, db, audit, serve, run, local, schedule, rules,
backtest, export, flags, rehearse."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.cli_check import cmd_check, database_problem, fail
from bot.cli_db import DatabaseProblem, add_db_option, existing_database, with_db_option
from bot.observability import configure_logging, log_event
from bot.playbook import Playbook, PlaybookError, load_playbook
from bot.rehearse.cli import add_parser as add_rehearse
from bot.runtime import tune_gc_for_latency
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("warroom")


def _settings() -> Settings:
    """Settings from the environment, or exit 2 listing each bad variable (never its value,
    which may be a secret)."""
    try:
        return Settings()
    except ValidationError as exc:
        fail("settings", [_setting_problem(e) for e in exc.errors()])
        raise SystemExit(2) from None


def _setting_problem(error: ErrorDetails) -> str:
    name = str(error["loc"][0]).upper() if error["loc"] else "(settings)"
    return f"{name}: {error['msg'].removeprefix('Value error, ')}"


def _playbook_and_times(
    settings: Settings, option: str, *texts: str | None
) -> tuple[Playbook, list[datetime | None]] | None:
    """The playbook and the times given on the command line (local or ISO-8601), or None
    after listing what is wrong (the caller exits 2)."""
    from bot.errors import Refusal
    from bot.timeparse import parse_launch_time

    try:
        book = load_playbook(settings.warroom_playbook)
        return book, [None if t is None else parse_launch_time(t, book.zone) for t in texts]
    except PlaybookError as exc:
        fail(f"playbook {exc.source}", exc.problems)
    except Refusal as exc:
        fail(option, [str(exc)])
    return None


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from storage import migrate
    from storage.db import make_engine

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    print(f"database at revision {migrate.current_revision(engine)}")
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from bot import decision_log

    engine = existing_database(settings, "audit verify")
    report = decision_log.verify(engine)
    if report.ok:
        print(f"decision log OK: {report.records} records, chain intact")
        return 0
    print(
        f"decision log BROKEN at record #{report.first_broken_seq}: {report.problem} "
        f"({report.records} records)",
        file=sys.stderr,
    )
    return 1


def _services_or_exit(settings: Settings, mode: str) -> Services:
    from bot.services import build_services

    problems = settings.problems_for(mode)
    if problems:
        fail(f"cannot start `{mode}`", problems + ["try `warroom local` to run without Slack"])
        raise SystemExit(2)
    problem = database_problem(settings.database_url)
    if problem:  # one line saying what to fix, not a traceback from the first query
        print(f"warroom: cannot start `{mode}`: {problem}", file=sys.stderr)
        raise SystemExit(2)
    try:
        return build_services(settings)
    except PlaybookError as exc:
        fail(f"playbook {exc.source}", exc.problems)
        raise SystemExit(2) from None


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from bot.app import build_asgi
    from bot.edge import SERVER_LIMITS

    services = _services_or_exit(settings, "serve")
    web = build_asgi(services)
    services.start_background()
    tune_gc_for_latency()
    log_event(log, "serve.start", host=args.host, port=args.port)
    uvicorn.run(
        web, host=args.host, port=args.port, log_level="warning", access_log=False, **SERVER_LIMITS
    )
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.app import build_app, build_asgi
    from bot.edge import SERVER_LIMITS

    services = _services_or_exit(settings, "run")
    app = build_app(services)
    web = None if args.no_http else build_asgi(services, slack_over_http=False)
    services.start_background()
    tune_gc_for_latency()
    app_token = services.settings.slack_app_token.get_secret_value()  # type: ignore[union-attr]
    log_event(log, "socket_mode.start", http_port=None if web is None else args.http_port)

    async def connect() -> None:  # the handler's aiohttp session needs a running loop
        handler = AsyncSocketModeHandler(app, app_token)
        if web is None:
            await handler.start_async()
            return
        config = uvicorn.Config(
            web,
            host=args.host,
            port=args.http_port,
            log_level="warning",
            access_log=False,
            **SERVER_LIMITS,
        )
        # the webhook, the freeze gate, the intakes, /healthz and /metrics beside the
        # WebSocket; when the server stops (SIGTERM, SIGINT) the bot stops
        socket = asyncio.create_task(handler.start_async())
        await uvicorn.Server(config).serve()
        socket.cancel()
        await handler.close_async()

    asyncio.run(connect())
    return 0


def cmd_local(args: argparse.Namespace, settings: Settings) -> int:
    from bot.local.workspace import LocalWorkspace

    if not settings.database_url.startswith("sqlite"):
        # The workspace plays a fake clock and a fake Slack into its database: never into
        # a shared one that DATABASE_URL may name for the real bot.
        fail("--db", ["warroom local plays into a SQLite file only; give --db FILE"])
        return 2
    try:
        workspace = LocalWorkspace(settings, sys.stdout, user=args.as_)
    except PlaybookError as exc:
        fail(f"playbook {exc.source}", exc.problems)
        return 2
    except ValueError as exc:  # --as names no role and no user
        fail("--as", [str(exc)])
        return 2
    asyncio.run(workspace.run(sys.stdin, prompt=sys.stdin.isatty()))
    return 0


def cmd_schedule(args: argparse.Namespace, settings: Settings) -> int:
    """The posts a launch at T would make, without starting the bot."""
    from bot.cadence.plan import occurrences

    loaded = _playbook_and_times(settings, "--launch", args.launch)
    if loaded is None:
        return 2
    book, (launch_at,) = loaded
    assert launch_at is not None  # --launch is required
    print(f"T = {launch_at.astimezone(book.zone):%a %d %b %Y %H:%M %Z} ({book.timezone})")
    for o in occurrences(book, launch_at):
        print(f"  {o.fire_at.astimezone(book.zone):%a %d %b %H:%M %Z}  {o.kind:<16} {o.title}")
    return 0


def cmd_rules(args: argparse.Namespace, settings: Settings) -> int:
    """Prometheus alerting rules for the playbook's triggers and thresholds."""
    from bot.metrics.rules import rules_yaml

    loaded = _playbook_and_times(settings, "")
    if loaded is None:
        return 2
    text = rules_yaml(loaded[0])
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def cmd_backtest(args: argparse.Namespace, settings: Settings) -> int:
    """Replay the triggers over past data and print when each would have gone pending,
    fired and resolved."""
    from bot.integrations import IntegrationError
    from bot.metrics.backtest import backtest
    from bot.metrics.prometheus import PrometheusReader

    if not settings.prometheus_url:
        fail("backtest", ["PROMETHEUS_URL is not set"])
        return 2
    loaded = _playbook_and_times(settings, "--from/--to", args.from_, args.to)
    if loaded is None:
        return 2
    book, (start, end) = loaded
    assert start is not None and end is not None  # both are required
    token = settings.prometheus_token.get_secret_value() if settings.prometheus_token else None
    reader = PrometheusReader(settings.prometheus_url, book, token)
    try:
        events = backtest(book, reader, start, end, args.step)
    except IntegrationError as exc:
        fail("backtest", [exc.message])
        return 1
    for at, trigger, event, value in events:
        shown = f"{value:g}" if value is not None else "no data"
        print(f"{at.astimezone(book.zone):%Y-%m-%d %H:%M:%S %Z}  {trigger:<28} {event:<9} {shown}")
    if not events:
        print("no trigger would have gone pending in that window")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """The records as CSV or JSON on standard output (or --out); reports, and the lessons
    document (to the playbook's lessons.document by default), also as Markdown."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # stderr carries the count only
    from bot import export

    loaded = _playbook_and_times(settings, "--since", args.since)
    if loaded is None:
        return 2
    book, (since,) = loaded
    if args.format == "md" and args.what not in export.MARKDOWN:
        fail(
            "export",
            [f"--format md is for `reports` and `lessons` only; export {args.what} as csv or json"],
        )
        return 2
    engine = existing_database(settings, "export")
    document = args.what == "lessons" and args.format == "md"
    target = args.out or (book.lessons.document if document else None)  # the document's name
    with contextlib.ExitStack() as stack:
        out = (
            stack.enter_context(open(target, "w", newline="", encoding="utf-8"))
            if target and target != "-"
            else sys.stdout
        )
        count = export.write(args.what, args.format, engine, book, since, out)
    if document:
        print(f"exported {count} lesson(s) to {target}", file=sys.stderr)
    else:
        print(f"exported {count} {args.what} row(s)", file=sys.stderr)
    return 0


def cmd_flags(args: argparse.Namespace, settings: Settings) -> int:
    """The embedded store as a flagd flag-definitions file (standard output, or --out
    replaced atomically)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from bot.flags.flagd import export_flagd

    engine = existing_database(settings, "flags export")
    count = export_flagd(engine, args.out or sys.stdout)
    print(f"exported {count} flag(s) as {args.format}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warroom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate the playbook and settings")
    check.set_defaults(fn=cmd_check)
    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(fn=cmd_db)
    audit = sub.add_parser("audit", help="decision log integrity")
    audit.add_argument("action", choices=["verify"])
    audit.set_defaults(fn=cmd_audit)
    serve = sub.add_parser("serve", help="HTTP mode (POST /slack/events)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.set_defaults(fn=cmd_serve)
    run = sub.add_parser("run", help="Socket Mode (needs SLACK_APP_TOKEN), with the HTTP endpoints")
    run.add_argument("--host", default="127.0.0.1", help="the HTTP endpoints' address")
    run.add_argument("--http-port", type=int, default=3000, help="the HTTP endpoints' port")
    run.add_argument("--no-http", action="store_true", help="no HTTP endpoints")
    run.set_defaults(fn=cmd_run)
    schedule = sub.add_parser("schedule", help="print the posts for a launch time T")
    schedule.add_argument("--launch", required=True, help="T: 'YYYY-MM-DD HH:MM' local or ISO-8601")
    schedule.set_defaults(fn=cmd_schedule)
    rules = sub.add_parser("rules", help="write Prometheus alerting rules from the playbook")
    rules.add_argument("--out", help="a file (default: standard output)")
    rules.set_defaults(fn=cmd_rules)
    backtest = sub.add_parser("backtest", help="replay the triggers over past Prometheus data")
    backtest.add_argument("--from", dest="from_", required=True)
    backtest.add_argument("--to", required=True)
    backtest.add_argument("--step", type=float, default=30, help="seconds between samples")
    backtest.set_defaults(fn=cmd_backtest)
    export = sub.add_parser("export", help="feedback, decisions, checklists… as CSV or JSON")
    export.add_argument(
        "what", choices=["feedback", "decisions", "checklists", "tickets", "reports", "lessons"]
    )
    export.add_argument("--format", choices=["csv", "json", "md"], default="csv")
    export.add_argument("--since", help="local 'YYYY-MM-DD [HH:MM]' or ISO-8601")
    export.add_argument(
        "--out",
        help="a file (default: standard output; lessons as md: the playbook's lessons.document, "
        "phase1-lessons.md; - for standard output)",
    )
    export.set_defaults(fn=cmd_export)
    flags = sub.add_parser("flags", help="the embedded flag store")
    flags.add_argument("action", choices=["export"])
    flags.add_argument("--format", choices=["flagd"], default="flagd")
    flags.add_argument("--out", help="a file, replaced atomically (default: standard output)")
    flags.set_defaults(fn=cmd_flags)
    local = sub.add_parser("local", help="the local workspace: no Slack account needed")
    local.add_argument("--as", dest="as_", default="sre", help="a role or a user ID (default sre)")
    local.add_argument("--log", default="warroom-local.log", help="the bot's log lines (a file)")
    local.set_defaults(fn=cmd_local)
    add_rehearse(sub)
    for command in (check, db, audit, serve, run, export, flags, local):  # they read the database
        add_db_option(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings()  # a bad environment value: listed, exit 2, before anything else
    configure_logging(settings.warroom_log_level)
    if args.command == "local":  # the terminal is the workspace: JSON lines go to a file
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(open(args.log, "a", encoding="utf-8"))  # noqa: SIM115 - kept open
    try:
        return int(args.fn(args, with_db_option(args, settings)) or 0)
    except DatabaseProblem as exc:
        fail(exc.what, exc.problems)
        return 2
    except BrokenPipeError:
        return _reader_left()


def _reader_left() -> int:
    """The reader of standard output closed it (`warroom export … | head -3`): stop quietly.
    Standard output is pointed at /dev/null so the interpreter's last flush at exit cannot
    raise again; the reader took what it wanted, so this is not a failure."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
