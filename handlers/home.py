"""App Home: `app_home_opened` publishes the dashboard; its Confirm buttons tick the
completion items people vouch for (role-checked in the service)."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.completion import CompletionService
from bot.errors import WarroomError
from bot.home import HomeService
from bot.ids.home import HomeAction
from bot.observability import log_event
from bot.playbook import Playbook
from bot.slack_out.messages.common import context
from bot.slack_out.messages.home import home_view
from handlers.replies import call_service

log = logging.getLogger(__name__)

BOT_EVENTS = ("app_home_opened",)


class HomeSurface:
    def __init__(
        self, home: HomeService, completion: CompletionService, playbook: Playbook, clock: Clock
    ) -> None:
        self.home = home
        self.completion = completion
        self.playbook = playbook
        self.clock = clock

    async def publish(self, client: AsyncWebClient, user: str, note: str = "") -> None:
        dashboard = await call_service(self.home.dashboard, user)
        view = home_view(dashboard, self.playbook.zone, self.playbook.name, self.clock.now())
        if note:
            view.blocks.insert(2, context(note))
        await client.views_publish(user_id=user, view=view)

    async def opened(self, event: dict, client: AsyncWebClient) -> None:
        if event.get("tab") != "home":
            return
        await self.publish(client, event["user"])

    async def confirm(
        self, ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]
        try:
            state = await call_service(self.completion.confirm, user, action["value"])
        except WarroomError as error:  # App Home has no response_url: the answer goes on the tab
            log_event(log, HomeAction.CONFIRM, who=user, outcome="refused", item=action["value"])
            await self.publish(client, user, f":no_entry: {error.message}")
            return
        await self.publish(client, user, f":white_check_mark: Confirmed: {state.item.title}")


def register(
    app: AsyncApp,
    *,
    home: HomeService,
    completion: CompletionService,
    playbook: Playbook,
    clock: Clock,
) -> None:
    surface = HomeSurface(home, completion, playbook, clock)
    app.event("app_home_opened")(surface.opened)
    app.action(HomeAction.CONFIRM)(surface.confirm)
