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
from bot.services import Services
from handlers.replies import call_service, for_person

log = logging.getLogger(__name__)


async def handle_checklist_items(
    ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    services: Services = context["services"]
    user = body["user"]["id"]
    selected = [o["value"] for o in action.get("selected_options") or []]

    def tick() -> object:
        # option values are "<run id>:<item>"; with nothing ticked, read the run id off
        # the message's own options
        run_id = int((selected[0] if selected else _first_option(body)).split(":")[0])
        items = [int(v.split(":")[1]) for v in selected]
        return services.schedule.set_ticks(run_id, user, items)

    await for_person(respond, ScheduleAction.CHECKLIST_ITEMS, user, lambda: call_service(tick))


def _first_option(body: dict) -> str:
    for block in body.get("message", {}).get("blocks", []):
        for element in block.get("elements", []) or []:
            for option in element.get("options", []) or []:
                return str(option["value"])
    return "0:0"


def _run_button(services: Services, action_id: str, value: str, user: str) -> object:
    """What each button does; every one acts on the run id it carries."""
    schedule = services.schedule
    if action_id.startswith(f"{ScheduleAction.VOTE}."):
        run_id, choice = value.split(":", 1)
        return schedule.vote(int(run_id), user, choice)
    run_id = int(value)
    return {
        ScheduleAction.CHECKLIST_ACK: lambda: schedule.acknowledge(run_id, user),
        ScheduleAction.DECIDE_CONTINUE: lambda: schedule.decide_checkpoint(
            run_id, user, "continue"
        ),
        ScheduleAction.DECIDE_BRAKE: lambda: schedule.decide_checkpoint(run_id, user, "brake"),
        ScheduleAction.COUNCIL_CLOSE: lambda: schedule.close_council(run_id, user),
        ScheduleAction.ADVANCE: lambda: schedule.advance_after_council(run_id, user),
    }[ScheduleAction(action_id)]()


async def handle_button(
    ack: AsyncAck, body: dict, action: dict, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    user, action_id = body["user"]["id"], action["action_id"]
    await for_person(
        respond,
        action_id,
        user,
        lambda: call_service(_run_button, context["services"], action_id, action["value"], user),
        value=action["value"],
    )


def register(app: AsyncApp) -> None:
    app.action(ScheduleAction.CHECKLIST_ITEMS)(handle_checklist_items)
    for action in (
        ScheduleAction.CHECKLIST_ACK,
        ScheduleAction.DECIDE_CONTINUE,
        ScheduleAction.DECIDE_BRAKE,
        ScheduleAction.COUNCIL_CLOSE,
        ScheduleAction.ADVANCE,
    ):
        app.action(action)(handle_button)
    app.action(re.compile(rf"^{re.escape(ScheduleAction.VOTE)}\.\w+$"))(handle_button)
