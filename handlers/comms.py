"""The go-to-market buttons: **Mark sent** on a communication's notice (the role is checked
on the button, then the form asks for the link to what went out) and **I'm on duty** on
the support staffing check."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.comms.calendar import CommsCalendar
from bot.comms.staffing import StaffingService
from bot.errors import Refusal
from bot.ids.comms import CommsAction, CommsBlock, CommsView
from bot.observability import log_event
from bot.slack_out.messages.comms import mark_sent_form
from handlers.replies import call_service, for_person

log = logging.getLogger(__name__)


def record_id(value: Any, what: str) -> int:
    """The record id a button or a form carries."""
    text = str(value or "").strip()
    if not text.isdigit():
        raise Refusal(f"This {what} button carries no {what} number.", "")
    return int(text)


class CommsSurface:
    def __init__(self, calendar: CommsCalendar, staffing: StaffingService) -> None:
        self.calendar = calendar
        self.staffing = staffing

    async def mark_sent_button(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        user = body["user"]["id"]

        async def allowed() -> Any:
            comm_id = record_id(action.get("value"), "communication")
            return await call_service(self.calendar.require_marker, comm_id, user)

        ok, view = await for_person(respond, CommsAction.MARK_SENT, user, allowed)
        if ok and view is not None:
            await client.views_open(trigger_id=body["trigger_id"], view=mark_sent_form(view))

    async def mark_sent_form(self, ack: AsyncAck, body: dict[str, Any], view: dict) -> None:
        user = body["user"]["id"]
        field = view["state"]["values"].get(CommsBlock.LINK, {})
        link = (field.get(CommsBlock.LINK_INPUT) or {}).get("value") or ""
        try:
            comm_id = record_id(view.get("private_metadata"), "communication")
            await call_service(self.calendar.mark_sent, comm_id, user, link)
        except Refusal as error:  # shown on the form, beside the field
            await ack(response_action="errors", errors={str(CommsBlock.LINK): str(error)[:150]})
            log_event(log, CommsView.MARK_SENT, who=user, outcome="refused")
            return
        await ack()
        log_event(log, CommsView.MARK_SENT, who=user, outcome="ok", comm=comm_id)

    async def on_duty(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        user = body["user"]["id"]

        async def say_so() -> Any:
            run_id = record_id(action.get("value"), "staffing check")
            return await call_service(self.staffing.on_duty, run_id, user)

        await for_person(respond, CommsAction.ON_DUTY, user, say_so)


def register(app: AsyncApp, *, calendar: CommsCalendar, staffing: StaffingService) -> None:
    surface = CommsSurface(calendar, staffing)
    app.action(CommsAction.MARK_SENT)(surface.mark_sent_button)
    app.view(CommsView.MARK_SENT)(surface.mark_sent_form)
    app.action(CommsAction.ON_DUTY)(surface.on_duty)
