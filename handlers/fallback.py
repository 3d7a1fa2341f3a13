"""Whatever Slack sends that no surface listens to: acknowledged (so Slack does not retry
it over HTTP nor redeliver it over Socket Mode), one debug line, and a short ephemeral note
for a person who clicked or typed something the bot no longer handles.

Registered after every surface: Bolt runs the first listener that matches."""

from __future__ import annotations

import logging
import re

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.observability import log_event
from handlers.replies import ephemeral

log = logging.getLogger(__name__)

ANY = re.compile(".*")
NOT_HANDLED = (
    "That is not something I handle (any more); nothing was changed. "
    "Type `/rollout help` for what I can do."
)


def _what(body: dict) -> str:
    event = body.get("event") or {}
    actions = body.get("actions") or [{}]
    return str(
        event.get("type")
        or body.get("command")
        or actions[0].get("action_id")
        or body.get("callback_id")
        or (body.get("view") or {}).get("callback_id")
        or ""
    )


def _unhandled(body: dict) -> None:
    kind = "command" if "command" in body else str(body.get("type") or "unknown")
    log_event(log, "slack.unhandled", logging.DEBUG, kind=kind, what=_what(body)[:100])


async def unhandled_event(body: dict) -> None:
    _unhandled(body)  # Bolt acknowledges events itself


async def unhandled_view(ack: AsyncAck, body: dict) -> None:
    _unhandled(body)
    await ack()


async def unhandled_options(ack: AsyncAck, body: dict) -> None:
    _unhandled(body)
    await ack(options=[])


async def unhandled_interaction(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
    """A button, shortcut or command nobody listens to: ack, and tell the person."""
    _unhandled(body)
    await ack()
    if body.get("response_url") or body.get("response_urls"):
        await ephemeral(respond, NOT_HANDLED, [])


def register(app: AsyncApp) -> None:
    app.event(ANY)(unhandled_event)
    app.view(ANY)(unhandled_view)
    app.view_closed(ANY)(unhandled_view)
    app.options(ANY)(unhandled_options)
    app.action(ANY)(unhandled_interaction)
    app.shortcut(ANY)(unhandled_interaction)
    app.command(ANY)(unhandled_interaction)
