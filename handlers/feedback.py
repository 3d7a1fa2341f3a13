"""The feedback surface: /feedback opens the form; the message shortcut "Log as beta
feedback" files any message (its author, its link, its text)."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import WarroomError
from bot.ids.feedback import COMMAND, SHORTCUT, FeedbackBlock, FeedbackView
from bot.observability import log_event
from bot.services import Services
from bot.slack_out.messages import feedback as messages
from bot.slack_out.messages.common import as_dicts, error_message
from handlers.replies import call_service, ephemeral, for_person

log = logging.getLogger(__name__)

SLASH_COMMANDS = (COMMAND,)
SHORTCUTS = (SHORTCUT,)


async def handle_feedback_command(
    ack: AsyncAck,
    command: dict,
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    await ack()
    services: Services = context["services"]
    user = command["user_id"]
    ok, _ = await for_person(
        respond,
        "feedback.form",
        user,
        lambda: call_service(services.authz.require, user, "feedback.file"),
    )
    if ok:
        form = messages.feedback_form(services.playbook, command["channel_id"])
        await client.views_open(trigger_id=command["trigger_id"], view=form)


def form_values(view: dict) -> dict[str, str | None]:
    """{block: value}: the selected option of a select, the text of a text input."""
    values: dict[str, str | None] = {}
    for block, inputs in view["state"]["values"].items():
        element = inputs.get(FeedbackBlock.INPUT) or {}
        option = element.get("selected_option")
        values[block] = option["value"] if option else element.get("value")
    return values


def form_errors(values: dict[str, str | None], limit: int) -> dict[str, str]:
    """What the form itself must refuse (Slack enforces most of it client-side; a request
    can still arrive without it)."""
    errors = {}
    rating = values.get(FeedbackBlock.RATING) or ""
    if not (rating.isdigit() and 1 <= int(rating) <= 5):
        errors[FeedbackBlock.RATING] = "Pick a rating from 1 to 5."
    text = (values.get(FeedbackBlock.TEXT) or "").strip()
    if not text:
        errors[FeedbackBlock.TEXT] = "Say what happened or what would help."
    elif len(text) > limit:
        errors[FeedbackBlock.TEXT] = f"At most {limit} characters (this is {len(text)})."
    category = values.get(FeedbackBlock.CATEGORY)
    if category and category not in messages.CATEGORIES:
        errors[FeedbackBlock.CATEGORY] = "Pick one of the listed categories."
    return errors


async def handle_feedback_form(
    ack: AsyncAck, body: dict, view: dict, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    services: Services = context["services"]
    user = body["user"]["id"]
    values = form_values(view)
    errors = form_errors(values, services.playbook.feedback.max_text_length)
    flag = values.get(FeedbackBlock.FLAG) or ""
    if flag and flag not in services.playbook.flags:
        errors[FeedbackBlock.FLAG] = "Pick one of the launch flags."
    if errors:
        await ack(response_action="errors", errors=errors)
        log_event(log, FeedbackView.FORM, who=user, outcome="refused", fields=",".join(errors))
        return
    await ack()
    channel = view["private_metadata"]
    try:
        item, _ = await call_service(
            services.feedback.file_from_slack,
            user,
            "modal",
            user,
            (values.get(FeedbackBlock.TEXT) or "").strip(),
            rating=int(values[FeedbackBlock.RATING] or 0),
            category=values.get(FeedbackBlock.CATEGORY),
            flag=flag,
        )
    except Exception as error:  # noqa: BLE001 - the form is closed: tell them in the channel
        log_event(log, FeedbackView.FORM, who=user, outcome="failed", error=type(error).__name__)
        text, blocks = error_message(
            error
            if isinstance(error, WarroomError)
            else WarroomError("Your feedback could not be filed; nothing was stored.", "Try again.")
        )
        await _tell(client, channel, user, text, blocks)
        return
    log_event(log, FeedbackView.FORM, who=user, outcome="ok", id=item.id)
    await call_service(services.feedback.route_soon)
    await _tell(client, channel, user, messages.filed_text(item, True), [])


async def _tell(
    client: AsyncWebClient, channel: str, user: str, text: str, blocks: list[Block]
) -> None:
    """An ephemeral note after a form closed (a view submission has no response_url)."""
    try:
        await client.chat_postEphemeral(
            channel=channel, user=user, text=text, blocks=as_dicts(blocks) or None
        )
    except SlackApiError as exc:  # what it reports has happened (or not) already
        log_event(log, "feedback.receipt", logging.WARNING, error=exc.response.get("error"))


async def handle_log_message(
    ack: AsyncAck,
    shortcut: dict,
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
) -> None:
    await ack()
    services: Services = context["services"]
    user = shortcut["user"]["id"]
    message, channel = shortcut["message"], shortcut["channel"]["id"]

    async def file() -> tuple:
        await call_service(services.authz.require, user, "feedback.file")  # before any call
        try:
            link = (await client.chat_getPermalink(channel=channel, message_ts=message["ts"]))[
                "permalink"
            ]
        except SlackApiError:
            link = f"slack://channel?id={channel}&message={message['ts']}"
        author = message.get("user") or message.get("bot_id") or ""
        return await call_service(
            services.feedback.file_from_slack,
            user,
            "slack",
            author,
            message.get("text", ""),
            link=link,
        )

    ok, filed = await for_person(respond, SHORTCUT, user, file)
    if ok and filed:
        item, new = filed
        await call_service(services.feedback.route_soon)
        await ephemeral(respond, messages.filed_text(item, new), [])


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(handle_feedback_command)
    app.view(FeedbackView.FORM)(handle_feedback_form)
    app.shortcut(SHORTCUT)(handle_log_message)
