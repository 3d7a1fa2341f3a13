"""Events API surface: a mention of the bot answers with what it can do."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.say.async_say import AsyncSay

from bot.slack_out.messages.rollout import HELP


async def handle_app_mention(event: dict, say: AsyncSay) -> None:
    await say(text=HELP, thread_ts=event.get("thread_ts") or event.get("ts"))


BOT_EVENTS = ("app_mention",)


def register(app: AsyncApp) -> None:
    app.event("app_mention")(handle_app_mention)
