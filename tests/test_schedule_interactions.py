"""Checklist, checkpoint and council interactions through the real app (signed
block_actions), with reminders and escalation on the fake clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.ids.schedule import ScheduleAction, ScheduleBlock
from bot.local import payloads
from bot.local.fake_slack import Message
from storage.models import ChecklistEvent
from tests.conftest import GTM, ONCALL, PRODUCT, SRE, SRE2, LiveBot
from tests.test_schedules import local


def launch(bot: LiveBot, clock, at: str = "2026-12-01 10:00") -> None:  # type: ignore[no-untyped-def]
    clock.set(local(at) - timedelta(days=2))
    bot.services.rollout.launch(PRODUCT, at)


def post_at(bot: LiveBot, clock, when: str, starts: str) -> Message:  # type: ignore[no-untyped-def]
    clock.set(local(when))
    bot.services.schedule.tick()
    message: Message = bot.fake.wait_for(
        lambda f: next(
            (m for m in reversed(f.channel_messages()) if m.text.startswith(starts)), None
        )
    )
    return message


def send(bot: LiveBot, user: str, message: Message, action: dict[str, Any]) -> None:
    body = payloads.block_actions(
        user,
        message.channel,
        message.ts,
        action["action_id"],
        action.get("value", ""),
        action["block_id"],
        bot.fake.response_url(message.channel, user, message.ts),
        action=action,
        message_blocks=message.blocks,
    )
    assert bot.post(body).status_code == 200


def tick_items(bot: LiveBot, user: str, message: Message, items: list[int]) -> None:
    options = next(b for b in message.blocks if b.get("block_id") == ScheduleBlock.CHECKLIST)[
        "elements"
    ][0]["options"]
    send(
        bot,
        user,
        message,
        {
            "type": "checkboxes",
            "action_id": ScheduleAction.CHECKLIST_ITEMS,
            "block_id": ScheduleBlock.CHECKLIST,
            "selected_options": [options[i] for i in items],
        },
    )


def button(message: Message, action_id: str) -> dict[str, Any]:
    element = next(
        e
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    block = next(b for b in message.blocks if element in b.get("elements", []))
    return {**element, "block_id": block["block_id"], "type": "button"}


def test_tick_untick_complete_and_acknowledge(live_bot: LiveBot, clock) -> None:  # type: ignore[no-untyped-def]
    launch(live_bot, clock)
    checklist = post_at(live_bot, clock, "2026-12-01 13:00", "SRE shift B")
    assert "<@U0SRE00001> <@U0SRE00002>" in str(checklist.blocks)  # owners mentioned
    tick_items(live_bot, SRE, checklist, [0, 2])
    live_bot.fake.wait_for(lambda f: checklist.updated >= 1)
    assert "2/3 done" in checklist.text
    tick_items(live_bot, SRE2, checklist, [2])  # unticks item 0
    live_bot.fake.wait_for(lambda f: "1/3 done" in checklist.text)
    tick_items(live_bot, SRE2, checklist, [0, 1, 2])
    live_bot.fake.wait_for(lambda f: "complete" in checklist.text)
    ack = button(checklist, ScheduleAction.CHECKLIST_ACK)
    send(live_bot, SRE2, checklist, ack)
    live_bot.fake.wait_for(lambda f: "Acknowledged by <@U0SRE00002>" in str(checklist.blocks))
    assert ScheduleAction.CHECKLIST_ACK not in str(checklist.blocks)
    send(live_bot, SRE, checklist, ack)  # a second click, from a stale client
    live_bot.fake.wait_for(
        lambda f: (
            "Already acknowledged by <@U0SRE00002>" in "".join(m.text for m in f.ephemerals(SRE))
        )
    )
    from sqlmodel import Session, select

    with Session(live_bot.services.engine) as session:
        events = [(e.user, e.action, e.item) for e in session.exec(select(ChecklistEvent))]
    assert events == [
        (SRE, "tick", 0),
        (SRE, "tick", 2),
        (SRE2, "untick", 0),
        (SRE2, "tick", 0),
        (SRE2, "tick", 1),
        (SRE2, "ack", None),
    ]
    # acknowledged: no reminder later
    clock.advance(timedelta(minutes=45))
    live_bot.services.schedule.tick()
    assert not [m for m in live_bot.fake.channel_messages() if m.thread_ts == checklist.ts]


def test_reminder_then_escalation_when_nobody_acknowledges(live_bot: LiveBot, clock) -> None:  # type: ignore[no-untyped-def]
    launch(live_bot, clock)
    checklist = post_at(live_bot, clock, "2026-12-01 17:00", "SRE shift C")

    def thread() -> list[str]:
        return [m.text for m in live_bot.fake.channel_messages() if m.thread_ts == checklist.ts]

    clock.set(local("2026-12-01 17:14"))
    live_bot.services.schedule.tick()
    assert thread() == []
    clock.set(local("2026-12-01 17:15"))
    live_bot.services.schedule.tick()
    assert len(thread()) == 1 and "<@U0SRE00001>" in thread()[0] and "waiting" in thread()[0]
    clock.set(local("2026-12-01 17:30"))
    live_bot.services.schedule.tick()
    live_bot.services.schedule.tick()
    assert len(thread()) == 2 and f"<@{ONCALL}>" in thread()[1]


def test_checkpoint_and_council_vote(live_bot: LiveBot, clock) -> None:  # type: ignore[no-untyped-def]
    launch(live_bot, clock)
    checkpoint = post_at(live_bot, clock, "2026-12-01 14:00", "T+4h")
    send(live_bot, GTM, checkpoint, button(checkpoint, ScheduleAction.DECIDE_CONTINUE))
    live_bot.fake.wait_for(
        lambda f: "needs the `sre` or `product` role" in "".join(m.text for m in f.ephemerals(GTM))
    )
    send(live_bot, PRODUCT, checkpoint, button(checkpoint, ScheduleAction.DECIDE_CONTINUE))
    live_bot.fake.wait_for(lambda f: "Decision: *continue*" in str(checkpoint.blocks))

    council = post_at(live_bot, clock, "2026-12-03 18:00", "Control council")
    vote = {c: button(council, f"{ScheduleAction.VOTE}.{c}") for c in ("advance", "hold")}
    send(live_bot, ONCALL, council, vote["advance"])
    live_bot.fake.wait_for(
        lambda f: "Only the council may vote" in "".join(m.text for m in f.ephemerals(ONCALL))
    )
    send(live_bot, SRE, council, vote["hold"])
    live_bot.fake.wait_for(lambda f: council.updated >= 1)
    send(live_bot, SRE, council, vote["advance"])  # changed mind
    send(live_bot, PRODUCT, council, vote["advance"])
    live_bot.fake.wait_for(lambda f: "*Advance to 50 %*: 2" in str(council.blocks))
    assert "*Hold at 25 %*: 0" in str(council.blocks)
    send(live_bot, SRE, council, button(council, ScheduleAction.COUNCIL_CLOSE))
    live_bot.fake.wait_for(lambda f: "Only the chair" in "".join(m.text for m in f.ephemerals(SRE)))
    send(live_bot, PRODUCT, council, button(council, ScheduleAction.COUNCIL_CLOSE))
    live_bot.fake.wait_for(lambda f: "Outcome: *Advance to 50 %*" in str(council.blocks))
    assert {f.percent for f in live_bot.services.rollout.flags.list_flags()} == {10}  # no click yet
    send(live_bot, SRE, council, button(council, ScheduleAction.ADVANCE))
    live_bot.fake.wait_for(
        lambda f: {x.percent for x in live_bot.services.rollout.flags.list_flags()} == {50}
    )
    actions = [r.action for r in live_bot.services.rollout.history("20")]
    assert "council.close" in actions and "checkpoint.decide" in actions
