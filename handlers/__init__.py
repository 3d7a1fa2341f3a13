"""The Slack surface only: one module per surface, each with `register(app, *, services…)`
receiving only the services it uses (bot/app.py wires them).

Each surface declares what it listens to (SLASH_COMMANDS, BOT_EVENTS, SHORTCUTS) so that the
manifest test can hold manifest.yml to exactly this set.
"""

from __future__ import annotations

from handlers import events, feedback, home, lessons, phase2, rollback, rollout, schedule

SURFACES = (rollout, rollback, schedule, events, feedback, home, phase2, lessons)


def slash_commands() -> set[str]:
    return {c for s in SURFACES for c in getattr(s, "SLASH_COMMANDS", ())}


def bot_events() -> set[str]:
    return {e for s in SURFACES for e in getattr(s, "BOT_EVENTS", ())}


def shortcuts() -> set[str]:
    return {c for s in SURFACES for c in getattr(s, "SHORTCUTS", ())}
