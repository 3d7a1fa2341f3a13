"""Interactions on the scheduled posts: checklist ticks and acknowledgement, the launch
target at T, the checkpoint and its freeze, the council's vote."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.cadence.checklists import AlreadyAcknowledged, ChecklistService
from bot.cadence.council import CouncilService
from bot.cadence.milestones import CheckpointChoice, MilestoneService
from bot.cadence.notifier import MilestoneActed
from bot.errors import Refusal
from bot.ids.schedule import ScheduleAction
from bot.slack_out.messages.common import who
from bot.slack_out.messages.milestones import milestone_reply
from handlers.replies import call_service, ephemeral, for_person

log = logging.getLogger(__name__)

BUTTONS = (
    ScheduleAction.CHECKLIST_ACK,
    ScheduleAction.DECIDE_CONTINUE,
    ScheduleAction.DECIDE_BRAKE,
    ScheduleAction.APPLY_TARGET,
    ScheduleAction.FREEZE,
    ScheduleAction.COUNCIL_CLOSE,
    ScheduleAction.ADVANCE,
)


def _first_option(body: dict[str, Any]) -> str:
    """The value of the message's first checkbox option ("<run id>:<item>")."""
    for block in body.get("message", {}).get("blocks", []):
        for element in block.get("elements", []) or []:
            for option in element.get("options", []) or []:
                return str(option["value"])
    return "0:0"


class ScheduleSurface:
    def __init__(
        self, checklists: ChecklistService, council: CouncilService, milestones: MilestoneService
    ) -> None:
        self.checklists = checklists
        self.council = council
        self.milestones = milestones

    async def checklist_items(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        user = body["user"]["id"]
        selected = [o["value"] for o in action.get("selected_options") or []]

        def tick() -> object:
            # option values are "<run id>:<item>"; with nothing ticked, read the run id off
            # the message's own options
            run_id = int((selected[0] if selected else _first_option(body)).split(":")[0])
            items = [int(v.split(":")[1]) for v in selected]
            return self.checklists.set_ticks(run_id, user, items)

        await for_person(respond, ScheduleAction.CHECKLIST_ITEMS, user, lambda: call_service(tick))

    async def button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        user, action_id, value = body["user"]["id"], action["action_id"], action["value"]
        _, result = await for_person(
            respond,
            action_id,
            user,
            lambda: call_service(self._press, action_id, value, user),
            value=value,
        )
        if isinstance(result, MilestoneActed):  # what was done, and any warning, to the clicker
            await ephemeral(respond, *milestone_reply(self.milestones.playbook, result))

    def _press(self, action_id: str, value: str, user: str) -> object:
        """What each button does; every one acts on the run id it carries."""
        if action_id.startswith(f"{ScheduleAction.VOTE}."):
            run_id, choice = value.split(":", 1)
            return self.council.vote(int(run_id), user, choice)
        run, council, milestones = int(value), self.council, self.milestones
        work: dict[ScheduleAction, Callable[[], object]] = {
            ScheduleAction.CHECKLIST_ACK: lambda: self._acknowledge(run, user),
            ScheduleAction.DECIDE_CONTINUE: lambda: milestones.decide_checkpoint(
                run, user, CheckpointChoice.CONTINUE
            ),
            ScheduleAction.DECIDE_BRAKE: lambda: milestones.decide_checkpoint(
                run, user, CheckpointChoice.BRAKE
            ),
            ScheduleAction.APPLY_TARGET: lambda: milestones.apply_launch_target(run, user),
            ScheduleAction.FREEZE: lambda: milestones.freeze_after_brake(run, user),
            ScheduleAction.COUNCIL_CLOSE: lambda: council.close(run, user),
            ScheduleAction.ADVANCE: lambda: council.advance(run, user),
        }
        return work[ScheduleAction(action_id)]()

    def _acknowledge(self, run_id: int, user: str) -> object:
        try:
            return self.checklists.acknowledge(run_id, user)
        except AlreadyAcknowledged as exc:
            raise Refusal(f"Already acknowledged by {who(exc.user)}.", "") from None


def register(
    app: AsyncApp,
    *,
    checklists: ChecklistService,
    council: CouncilService,
    milestones: MilestoneService,
) -> None:
    surface = ScheduleSurface(checklists, council, milestones)
    app.action(ScheduleAction.CHECKLIST_ITEMS)(surface.checklist_items)
    for action in BUTTONS:
        app.action(action)(surface.button)
    app.action(re.compile(rf"^{re.escape(ScheduleAction.VOTE)}\.\w+$"))(surface.button)
