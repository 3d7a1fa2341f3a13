"""The feedback surface: /feedback opens the form; the message shortcut "Log as beta
feedback" files any message (its author, its link, its text)."""

from __future__ import annotations

import logging

from pydantic import ValidationError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import WarroomError
from bot.feedback import FeedbackFields, FeedbackService
from bot.ids.feedback import COMMAND, SHORTCUT, FeedbackBlock, FeedbackView
from bot.observability import log_event
from bot.playbook import Playbook
from bot.slack_out.messages import feedback as messages
from bot.slack_out.messages.common import as_dicts, error_message
from handlers.replies import call_service, ephemeral, for_person, permalink

log = logging.getLogger(__name__)

SLASH_COMMANDS = (COMMAND,)
SHORTCUTS = (SHORTCUT,)
FIELD_OF_BLOCK = {block: field for field, block in messages.BLOCK_OF_FIELD.items()}
NOT_FILED = WarroomError("Your feedback could not be filed; nothing was stored.", "Try again.")


def form_values(view: dict) -> dict[str, str]:
    """{field: value} of what was filled in: a select's option, a text input's text."""
    values: dict[str, str] = {}
    for block, inputs in view["state"]["values"].items():
        element = inputs.get(FeedbackBlock.INPUT) or {}
        option = element.get("selected_option")
        value = option["value"] if option else element.get("value")
        if value is not None and block in FIELD_OF_BLOCK:
            values[FIELD_OF_BLOCK[block]] = value
    return values


async def _tell(
    client: AsyncWebClient, channel: str, user: str, text: str, blocks: list[Block]
) -> None:
    """An ephemeral note after a form closed (a view submission has no response_url); where
    the channel cannot take one (a DM, a channel without the bot), a direct message."""
    try:
        await client.chat_postEphemeral(
            channel=channel, user=user, text=text, blocks=as_dicts(blocks) or None
        )
        return
    except SlackApiError as exc:
        log_event(log, "feedback.receipt", error=exc.response.get("error"), fallback="dm")
    try:
        await client.chat_postMessage(channel=user, text=text, blocks=as_dicts(blocks) or None)
    except SlackApiError as exc:  # what it reports has happened (or not) already
        log_event(log, "feedback.receipt", logging.WARNING, error=exc.response.get("error"))


class FeedbackSurface:
    def __init__(self, feedback: FeedbackService, playbook: Playbook) -> None:
        self.feedback = feedback
        self.playbook = playbook

    async def command(
        self, ack: AsyncAck, command: dict, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        user = command["user_id"]
        # the form first: its trigger_id lives 3 s, and the role check may wait on Slack's
        # user groups; the submission is checked again, so the form files nothing for them
        form = messages.feedback_form(self.playbook, command["channel_id"])
        await client.views_open(trigger_id=command["trigger_id"], view=form)
        await for_person(
            respond, "feedback.form", user, lambda: call_service(self.feedback.require_filer, user)
        )

    async def form(self, ack: AsyncAck, body: dict, view: dict, client: AsyncWebClient) -> None:
        user = body["user"]["id"]
        try:
            fields = FeedbackFields.model_validate(form_values(view), context=self.feedback.rules())
        except ValidationError as exc:
            errors = messages.form_errors(exc.errors())
            await ack(response_action="errors", errors=errors)
            log_event(log, FeedbackView.FORM, who=user, outcome="refused", fields=",".join(errors))
            return
        await ack()
        channel = view["private_metadata"]
        try:
            item, _ = await call_service(self.feedback.file_form, user, fields)
        except Exception as error:  # noqa: BLE001 - the form is closed: tell them in the channel
            log_event(
                log, FeedbackView.FORM, who=user, outcome="failed", error=type(error).__name__
            )
            text, blocks = error_message(error if isinstance(error, WarroomError) else NOT_FILED)
            await _tell(client, channel, user, text, blocks)
            return
        log_event(log, FeedbackView.FORM, who=user, outcome="ok", id=item.id)
        await call_service(self.feedback.route_soon)
        await _tell(client, channel, user, messages.filed_text(item, True), [])

    async def log_message(
        self, ack: AsyncAck, shortcut: dict, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        user = shortcut["user"]["id"]
        message, channel = shortcut["message"], shortcut["channel"]["id"]

        async def file() -> tuple:
            await call_service(self.feedback.require_filer, user)  # before any Slack call
            link = await permalink(client, channel, message["ts"])
            author = message.get("user") or message.get("bot_id") or ""
            return await call_service(
                self.feedback.file_from_slack,
                user,
                "slack",
                author,
                message.get("text", ""),
                link=link,
            )

        ok, filed = await for_person(respond, SHORTCUT, user, file)
        if ok and filed:
            item, new = filed
            await call_service(self.feedback.route_soon)
            await ephemeral(respond, messages.filed_text(item, new), [])


def register(app: AsyncApp, *, feedback: FeedbackService, playbook: Playbook) -> None:
    surface = FeedbackSurface(feedback, playbook)
    app.command(COMMAND)(surface.command)
    app.view(FeedbackView.FORM)(surface.form)
    app.shortcut(SHORTCUT)(surface.log_message)
