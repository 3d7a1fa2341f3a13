"""App Home: `app_home_opened` publishes the dashboard; its Confirm buttons tick the
completion items people vouch for (role-checked in the service)."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import WarroomError
from bot.ids.home import HomeAction
from bot.observability import log_event
from bot.services import Services
from bot.slack_out.messages.common import context
from bot.slack_out.messages.home import home_view
from handlers.replies import call_service

log = logging.getLogger(__name__)

BOT_EVENTS = ("app_home_opened",)


async def publish(services: Services, client: AsyncWebClient, user: str, note: str = "") -> None:
    dashboard = await call_service(services.home.dashboard, user)
    view = home_view(
        dashboard, services.playbook.zone, services.playbook.name, services.clock.now()
    )
    if note:
        view.blocks.insert(2, context(note))
    await client.views_publish(user_id=user, view=view)


async def handle_home_opened(
    event: dict, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    if event.get("tab") != "home":
        return
    await publish(context["services"], client, event["user"])


async def handle_confirm(
    ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    services: Services = context["services"]
    user = body["user"]["id"]
    try:
        state = await call_service(services.completion.confirm, user, action["value"])
    except WarroomError as error:  # App Home has no response_url: the answer goes on the tab
        log_event(log, HomeAction.CONFIRM, who=user, outcome="refused", item=action["value"])
        await publish(services, client, user, f":no_entry: {error.message}")
        return
    await publish(services, client, user, f":white_check_mark: Confirmed: {state.item.title}")


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(handle_home_opened)
    app.action(HomeAction.CONFIRM)(handle_confirm)
