"""Interactions on the scheduled posts: checklist ticks and acknowledgement, the T+4h
checkpoint, the council's vote."""

from __future__ import annotations

import logging
import re

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.ids.schedule import ScheduleAction
from bot.observability import log_event
from bot.services import Services
from handlers.replies import call_service, reply_error

log = logging.getLogger(__name__)


async def handle_checklist_items(
    ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    services: Services = context["services"]
    user = body["user"]["id"]
    selected = [o["value"] for o in action.get("selected_options") or []]
    try:
        # option values are "<run id>:<item>"; with nothing ticked, read the run id off
        # the message's own options
        run_id = int((selected[0] if selected else _first_option(body)).split(":")[0])
        items = [int(v.split(":")[1]) for v in selected]
        await call_service(services.schedule.set_ticks, run_id, user, items)
    except Exception as error:  # noqa: BLE001
        await reply_error(respond, error, ScheduleAction.CHECKLIST_ITEMS, user)


def _first_option(body: dict) -> str:
    for block in body.get("message", {}).get("blocks", []):
        for element in block.get("elements", []) or []:
            for option in element.get("options", []) or []:
                return str(option["value"])
    return "0:0"


async def handle_ack(
    ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    services: Services = context["services"]
    user = body["user"]["id"]
    try:
        await call_service(services.schedule.acknowledge, int(action["value"]), user)
    except Exception as error:  # noqa: BLE001
        await reply_error(respond, error, ScheduleAction.CHECKLIST_ACK, user)
    else:
        log_event(log, ScheduleAction.CHECKLIST_ACK, who=user, run=action["value"], outcome="ok")


async def handle_checkpoint(
    ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    services: Services = context["services"]
    user = body["user"]["id"]
    choice = "continue" if action["action_id"] == ScheduleAction.DECIDE_CONTINUE else "brake"
    try:
        await call_service(services.schedule.decide_checkpoint, int(action["value"]), user, choice)
    except Exception as error:  # noqa: BLE001
        await reply_error(respond, error, action["action_id"], user)


async def handle_vote(
    ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    services: Services = context["services"]
    user = body["user"]["id"]
    run_id, choice = action["value"].split(":", 1)
    try:
        await call_service(services.schedule.vote, int(run_id), user, choice)
    except Exception as error:  # noqa: BLE001
        await reply_error(respond, error, ScheduleAction.VOTE, user)


async def handle_close(
    ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    services: Services = context["services"]
    user = body["user"]["id"]
    try:
        await call_service(services.schedule.close_council, int(action["value"]), user)
    except Exception as error:  # noqa: BLE001
        await reply_error(respond, error, ScheduleAction.COUNCIL_CLOSE, user)


async def handle_advance(
    ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    services: Services = context["services"]
    user = body["user"]["id"]
    try:
        await call_service(services.schedule.advance_after_council, int(action["value"]), user)
    except Exception as error:  # noqa: BLE001
        await reply_error(respond, error, ScheduleAction.ADVANCE, user)


def register(app: AsyncApp) -> None:
    app.action(ScheduleAction.CHECKLIST_ITEMS)(handle_checklist_items)
    app.action(ScheduleAction.CHECKLIST_ACK)(handle_ack)
    app.action(ScheduleAction.DECIDE_CONTINUE)(handle_checkpoint)
    app.action(ScheduleAction.DECIDE_BRAKE)(handle_checkpoint)
    app.action(re.compile(rf"^{re.escape(ScheduleAction.VOTE)}\.\w+$"))(handle_vote)
    app.action(ScheduleAction.COUNCIL_CLOSE)(handle_close)
    app.action(ScheduleAction.ADVANCE)(handle_advance)
