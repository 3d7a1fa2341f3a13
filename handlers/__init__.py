"""The Slack surface only: one module per surface, each with register(app).

Each surface declares what it listens to (SLASH_COMMANDS, BOT_EVENTS, SHORTCUTS) so that the
manifest test can hold manifest.yml to exactly this set.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from handlers import events, feedback, home, rollback, rollout, schedule

SURFACES = (rollout, rollback, schedule, events, feedback, home)


def register_all(app: AsyncApp, services: Services) -> None:
    for surface in SURFACES:
        if surface is rollback:
            rollback.register(
                app,
                rollback=services.rollback,
                runbook=services.runbook,
                playbook=services.playbook,
            )
        else:
            surface.register(app)


def slash_commands() -> set[str]:
    return {c for s in SURFACES for c in getattr(s, "SLASH_COMMANDS", ())}


def bot_events() -> set[str]:
    return {e for s in SURFACES for e in getattr(s, "BOT_EVENTS", ())}


def shortcuts() -> set[str]:
    return {c for s in SURFACES for c in getattr(s, "SHORTCUTS", ())}
