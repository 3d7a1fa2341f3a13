"""`warroom check`: what is set, what is missing, and whether the flag provider answers."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.playbook import Playbook, PlaybookError, load_playbook
from bot.settings import SLACK_DEFAULT_API_URL, Settings


def fail(what: str, problems: list[str]) -> None:
    """A listed error: what failed, then each problem on its own line (stderr)."""
    print(f"warroom: {what}: {len(problems)} problem(s):", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)


def _print_playbook(settings: Settings, book: Playbook) -> None:
    source = settings.warroom_playbook or "bundled default"
    print(f"playbook: OK ({source}) — {book.name}")
    print(
        f"  timezone {book.timezone}; war room {book.channels.war_room}; "
        f"flags {', '.join(book.flags)}; segments {', '.join(book.segments)}"
    )
    print(
        f"  {len(book.shifts)} shifts, {len(book.milestones)} milestones, "
        f"{len(book.triggers)} triggers, {len(book.kpis)} KPIs, roles: "
        + ", ".join(f"{r} ({len(m)})" for r, m in book.roles.items())
    )
    print(
        f"  Phase 2: {len(book.phase2.backlog)} backlog items, {len(book.phase2.risks)} risks; "
        f"lessons under {', '.join(h.key for h in book.lessons.headings)} "
        f"→ {book.lessons.document}"
    )


def _line(name: str, configured: bool, detail: str) -> None:
    print(f"  {name:<26} {'set' if configured else 'not set':<8} {detail}")


def _print_settings(settings: Settings) -> None:
    print("settings:")
    _line("SLACK_BOT_TOKEN", bool(settings.slack_bot_token), "needed by serve and run")
    _line("SLACK_SIGNING_SECRET", bool(settings.slack_signing_secret), "needed by serve")
    _line("SLACK_APP_TOKEN", bool(settings.slack_app_token), "needed by run (Socket Mode)")
    custom_api = settings.slack_api_url != SLACK_DEFAULT_API_URL
    _line("SLACK_API_URL", custom_api, masked(settings.slack_api_url))
    _line("DATABASE_URL", True, _safe_url(settings.database_url))
    _line(
        "PROMETHEUS_URL",
        bool(settings.prometheus_url),
        f"{masked(settings.prometheus_url)}: live values and the trigger evaluator"
        if settings.prometheus_url
        else "no live values; no trigger evaluation",
    )
    _line(
        "WARROOM_ALERTMANAGER_TOKEN",
        bool(settings.warroom_alertmanager_token),
        "POST /hooks/alertmanager",
    )
    _line("PAGERDUTY_ROUTING_KEY", bool(settings.pagerduty_routing_key), "paging on triggers")
    _line("WARROOM_FEEDBACK_TOKEN", bool(settings.warroom_feedback_token), "POST /api/feedback")
    _line("WARROOM_TICKETS_TOKEN", bool(settings.warroom_tickets_token), "POST /api/tickets")


def _print_integrations(settings: Settings, book: Playbook) -> None:
    integrations = book.integrations
    jira_secrets = bool(settings.jira_email and settings.jira_api_token)
    print("rollback runbook integrations (playbook `integrations`):")
    for name, configured, secret in (
        ("cache clearing", integrations.cache_clear_url, None),
        ("maintenance banner", integrations.banner_url, None),
        ("support email (SMTP)", integrations.email, None),
        ("Jira incident", integrations.jira, jira_secrets),
    ):
        state = "configured" if configured else "not configured (the step is skipped)"
        if configured and secret is False:
            state += " — JIRA_EMAIL / JIRA_API_TOKEN not set"
        print(f"  {name:<22} {state}")
    epics = "configured" if integrations.jira else "not configured (link epics: /phase2 link)"
    if integrations.jira and not jira_secrets:
        epics += " — JIRA_EMAIL / JIRA_API_TOKEN not set"
    print(f"  {'Phase 2 epics (Jira)':<22} {epics}")


def cmd_check(_: argparse.Namespace, settings: Settings) -> int:
    try:
        book = load_playbook(settings.warroom_playbook)
    except PlaybookError as exc:
        fail(f"playbook {exc.source}", exc.problems)
        return 2
    _print_playbook(settings, book)
    _print_settings(settings)
    _print_integrations(settings, book)
    problem = database_problem(settings.database_url)
    if problem:
        fail("database", [problem])
    else:
        print(f"database: OK ({_safe_url(settings.database_url)})")
    flags = _check_flag_provider(settings, book)
    ready = [m for m in ("serve", "run") if not settings.problems_for(m) and not problem]
    print("ready for: " + ", ".join(["local", *ready]))
    return flags or (2 if problem else 0)


def _check_flag_provider(settings: Settings, book: Playbook) -> int:
    """The provider the playbook names, tested (bot.flags.factory.check_provider)."""
    from bot.clock import SystemClock
    from bot.flags.factory import check_provider

    result = check_provider(book, settings, SystemClock())
    print(result.line)
    if result.problems:
        fail(f"flag provider ({book.flag_provider.kind})", result.problems)
    return result.code


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def masked(url: str | None) -> str:
    """The URL with any password (or user:token) in it replaced by ***."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.password is None and not parts.username:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" if parts.password else f"***@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def database_problem(database_url: str) -> str | None:
    """What stops the bot from using its database, in one line (None: it answers)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    url = make_url(database_url)
    shown = _safe_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(str(url.database))
        if not path.parent.is_dir():
            return f"DATABASE_URL: the directory {path.parent} does not exist; create it"
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            return f"DATABASE_URL: {path} is read-only; make it writable by this user"
        if not path.exists() and not os.access(path.parent, os.W_OK | os.X_OK):
            return f"DATABASE_URL: cannot create {path}: {path.parent} is read-only"
        return None
    try:
        from sqlalchemy import create_engine

        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except (SQLAlchemyError, ImportError) as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        return f"DATABASE_URL: cannot connect to {shown}: {first}"
    return None
