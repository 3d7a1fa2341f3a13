"""A harness that plays a launch through the real ASGI app (the Bolt app behind signed
/slack/events, the feedback and ticket endpoints) on the fake clock, in this process: each
request's work after its ack, the runbook it starts and the posts it makes are waited for
before time moves on, so every post is stamped with the minute it was made."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bot.app import build_asgi
from bot.clock import FakeClock
from bot.local import payloads
from bot.local.fake_slack import FakeSlack, Message
from bot.services import Services
from handlers.replies import close_shared_session
from tests.conftest import SECRET

STEP = timedelta(minutes=5)  # every post, reminder and escalation of the plan is on a 5-min mark
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Posted:
    """A message in a channel (or a thread), as first seen, at its local minute."""

    at: str  # "Tue 21:37"
    channel: str
    text: str
    thread: bool
    ts: str


class Play:
    def __init__(self, services: Services, fake: FakeSlack, clock: FakeClock) -> None:
        self.services = services
        self.fake = fake
        self.clock = clock
        self.zone: ZoneInfo = services.playbook.zone
        self.web = build_asgi(services)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.web), base_url="http://warroom"
        )
        self.posted: list[Posted] = []
        self._seen: set[str] = set()

    def local(self, text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=self.zone)

    def now(self) -> str:
        return self.clock.now().astimezone(self.zone).strftime("%a %H:%M")

    # ---- time ----------------------------------------------------------------------------
    async def until(self, end: str) -> None:
        """Skip to `end` (local, ISO) on the scheduler's ticks, every STEP minutes."""
        target = self.local(end)
        while self.clock.now() < target:
            now = self.clock.now()
            mark = now - (now - EPOCH) % STEP + STEP  # the next 5-minute mark
            self.clock.set(min(mark, target))
            await self.tick()

    async def tick(self) -> None:
        self.services.schedule.tick()
        await self.settle()

    async def settle(self) -> None:
        """The listeners' work after the ack, any runbook it started, and their posts."""
        current = asyncio.current_task()
        while pending := [t for t in asyncio.all_tasks() if t is not current and not t.done()]:
            await asyncio.wait(pending, timeout=60)
        self.services.runbook.wait_idle(60)
        self._stamp()

    def _stamp(self) -> None:
        for m in self.fake.channel_messages():
            if m.ts not in self._seen:
                self._seen.add(m.ts)
                self.posted.append(Posted(self.now(), m.channel, m.text, bool(m.thread_ts), m.ts))

    # ---- people --------------------------------------------------------------------------
    async def slack(self, body: str) -> None:
        headers = payloads.signed_headers(SECRET, body)
        answer = await self.http.post("/slack/events", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        await self.settle()

    async def command(self, user: str, line: str) -> Message:
        """A slash command in the war room; its ephemeral answer."""
        command, _, text = line.partition(" ")
        channel = self.services.playbook.channels.war_room
        before = len(self.fake.ephemerals(user))
        url = self.fake.response_url(channel, user)
        await self.slack(payloads.slash_command(command, text, user, channel, url))
        return self.fake.wait_for(lambda f: f.ephemerals(user)[before:] and f.ephemerals(user)[-1])

    async def click(
        self, user: str, message: Message, action_id: str, action: dict[str, Any] | None = None
    ) -> str:
        """A click on `message`'s element `action_id` (its current blocks); what the person
        was told (ephemeral), if anything."""
        element, block_id = element_of(message, action_id)
        before = len(self.fake.ephemerals(user))
        url = self.fake.response_url(message.channel, user, message.ts)
        body = payloads.block_actions(
            user,
            message.channel,
            message.ts,
            action_id,
            str(element.get("value", "")),
            block_id,
            url,
            action={**element, "block_id": block_id, **(action or {})},
            message_blocks=message.blocks,
        )
        await self.slack(body)
        return "\n".join(m.text for m in self.fake.ephemerals(user)[before:])

    async def tick_items(self, user: str, message: Message, items: list[int]) -> str:
        element, _ = element_of(message, "checklist.items")
        chosen = [element["options"][i] for i in items]
        return await self.click(user, message, "checklist.items", {"selected_options": chosen})

    async def api(self, path: str, token: str, body: dict[str, Any]) -> httpx.Response:
        answer = await self.http.post(path, json=body, headers={"authorization": f"Bearer {token}"})
        await self.settle()
        return answer

    async def close(self) -> None:
        await self.http.aclose()
        await close_shared_session()

    # ---- what Slack shows ----------------------------------------------------------------
    def message(self, starts: str, channel: str | None = None) -> Message:
        """The latest top-level message whose text starts so."""
        return next(
            m
            for m in reversed(self.fake.channel_messages(channel))
            if m.text.startswith(starts) and not m.thread_ts
        )


def element_of(message: Message, action_id: str) -> tuple[dict[str, Any], str]:
    for block in message.blocks:
        for element in block.get("elements", []) or []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element, block["block_id"]
    raise AssertionError(f"no {action_id} on {message.text!r}: {message.blocks}")
