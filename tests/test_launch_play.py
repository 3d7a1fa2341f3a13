"""The seed's whole launch played through the real app on the fake clock, from T−25h (T is
set) to the control council: the schedule skipped through on the scheduler's ticks, the
launch target applied at T, the checkpoint, shift checklists ticked and acknowledged (one
late, one partly), a rollback asked for and signed off on Day 1 at 21:37, feedback and
tickets throughout, the council's vote and its advance. Then, post by post, what was posted
when (local times); every record of the reports' span in exactly one daily report; and no
runbook step, runbook action or checklist item shown as done unless its record says so."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from bot.clock import FakeClock
from bot.local.fake_slack import FakeSlack
from bot.playbook import Playbook
from bot.services import Services
from tests.conftest import GTM, ONCALL, PRODUCT, SRE, SRE2, SUPPORT
from tests.launch_play import Play
from tests.rollback_support import rollback_playbook

FEEDBACK, TICKETS = "play-feedback-token", "play-tickets-token"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo("Europe/Madrid")))


@pytest.fixture
def playbook() -> Playbook:
    return rollback_playbook()  # the runbook's e2e test is a stand-in that passes


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.model_copy(
        update={
            "warroom_feedback_token": SecretStr(FEEDBACK),
            "warroom_tickets_token": SecretStr(TICKETS),
        }
    )


async def feedback(play: Play, rating: int, text: str, category: str | None = None) -> None:
    body = {"source": "survey", "rating": rating, "text": text}
    if category:
        body["category"] = category
    answer = await play.api("/api/feedback", FEEDBACK, body)
    assert answer.status_code == 201, answer.text


async def ticket(play: Play, event: str, ticket_id: str, subject: str = "") -> None:
    body = {"event": event, "ticket_id": ticket_id, "tags": ["phase1-beta"], "subject": subject}
    answer = await play.api("/api/tickets", TICKETS, body)
    assert answer.status_code in (200, 201), answer.text


async def shift(play: Play, starts: str, user: str, items: list[int] | None = None) -> None:
    checklist = play.message(starts)
    count = len(checklist.blocks[2]["elements"][0]["options"])
    await play.tick_items(user, checklist, list(range(count)) if items is None else items)
    await play.click(user, play.message(starts), "checklist.ack")


async def launch(play: Play) -> None:
    await play.until("2026-11-30 09:00")
    answer = await play.command(PRODUCT, "/rollout launch 2026-12-01 10:00")
    assert "recorded and announced" in answer.text
    await play.until("2026-11-30 11:00")
    await feedback(play, 4, "When does the beta open for my team?", "question")
    await play.until("2026-12-01 10:02")
    told = await play.click(SRE, play.message("T+0h"), "milestone.launch_target")
    assert "Launch target applied" in told
    await play.until("2026-12-01 11:20")
    await ticket(play, "created", "Z-101", "Smart pricing shows two prices")
    await play.until("2026-12-01 12:10")
    await ticket(play, "answered", "Z-101")
    await play.until("2026-12-01 13:05")
    await shift(play, "SRE shift B", SRE)
    await play.until("2026-12-01 14:05")
    told = await play.click(PRODUCT, play.message("T+4h"), "milestone.continue")
    assert told == "Recorded *continue*."
    await play.until("2026-12-01 15:00")
    await feedback(play, 2, "The checkout button spins forever", "bug")
    await play.until("2026-12-01 17:40")  # shift C: reminded at 17:15, escalated at 17:30
    await shift(play, "SRE shift C", SRE2, items=[0, 2])
    await play.until("2026-12-01 21:10")
    await shift(play, "On-call", ONCALL)


async def rollback_at_night(play: Play) -> None:
    await play.until("2026-12-01 21:37")
    await play.command(SRE, "/rollback SMART_PRICING checkout errors at night")
    await play.until("2026-12-01 21:40")
    await play.click(PRODUCT, play.message("Rollback #1 "), "rollback.approve")
    await play.until("2026-12-01 21:42")
    await play.click(SUPPORT, play.message("Rollback #1 "), "rollback.approve")
    await play.until("2026-12-01 22:30")
    await feedback(play, 3, "Prices look right again")


async def day_two_and_council(play: Play) -> None:
    await play.until("2026-12-02 09:05")
    await shift(play, "SRE shift A", SRE)
    await play.until("2026-12-02 11:00")
    await ticket(play, "created", "Z-102", "Coupon refused at checkout")
    await play.until("2026-12-02 11:30")
    await play.command(SRE, "/rollout unfreeze pricing fix deployed")
    await play.command(
        SRE, "/rollout set SMART_PRICING 25 internal_beta,external_beta -- fix deployed"
    )
    await play.until("2026-12-02 13:05")
    await shift(play, "SRE shift B", SRE2)
    await play.until("2026-12-02 17:05")
    await shift(play, "SRE shift C", SRE)
    await play.until("2026-12-02 21:05")
    await shift(play, "On-call", ONCALL)
    await play.until("2026-12-03 09:05")
    await shift(play, "SRE shift A", SRE2)
    await feedback(play, 5, "Love the new checkout")
    await play.until("2026-12-03 18:05")
    council = play.message("Control council")
    for user, choice in (
        (SRE, "advance"),
        (PRODUCT, "advance"),
        (SUPPORT, "hold"),
        (GTM, "advance"),
    ):
        await play.click(user, council, f"council.vote.{choice}")
    await play.until("2026-12-03 18:10")
    await play.click(PRODUCT, play.message("Control council"), "council.close")
    await play.until("2026-12-03 18:12")
    await play.click(SRE, play.message("Control council"), "council.advance")
    await play.until("2026-12-03 18:40")


async def the_launch(play: Play) -> None:
    try:
        await launch(play)
        await rollback_at_night(play)
        await day_two_and_council(play)
    finally:
        await play.close()


def test_the_seeds_launch_as_played(
    services: Services, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    play = Play(services, fake_slack, clock)
    play_start = 1
    asyncio.run(the_launch(play))
    for p in play.posted:
        print(p.at, p.channel, "T" if p.thread else " ", p.text[:110].replace("\n", " | "))
    rb = play.message("Rollback #1 ")
    print("ROLLBACK", json.dumps(rb.blocks, indent=1)[:6000])
    ex = play.message(":rotating_light: Rollback #1 executed")
    print("EXEC", ex.text, json.dumps(ex.blocks)[:3000])
    for m in fake_slack.ephemerals():
        print("EPH", m.ephemeral_to, m.text[:150].replace("\n", " | "))
    assert play_start
    assert False
