"""Checklist, checkpoint and council interactions through the real app (signed
block_actions), with reminders and escalation on the fake clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.clock import FakeClock
from bot.ids.schedule import ScheduleAction, ScheduleBlock
from bot.local import payloads
from bot.local.fake_slack import Message
from storage.models import ChecklistEvent, ChecklistState
from tests.conftest import GTM, ONCALL, OUTSIDER, PRODUCT, SRE, SRE2, LiveBot
from tests.test_schedules import local


def launch(bot: LiveBot, clock: FakeClock, at: str = "2026-12-01 10:00") -> None:
    clock.set(local(at) - timedelta(days=2))
    bot.services.rollout.launch(PRODUCT, at)


def post_at(bot: LiveBot, clock: FakeClock, when: str, starts: str) -> Message:
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


def test_tick_untick_complete_and_acknowledge(live_bot: LiveBot, clock: FakeClock) -> None:
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


def test_reminder_then_escalation_when_nobody_acknowledges(
    live_bot: LiveBot, clock: FakeClock
) -> None:
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


def test_checkpoint_and_council_vote(live_bot: LiveBot, clock: FakeClock) -> None:
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


def test_only_the_shift_owners_and_oncall_tick_and_acknowledge(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    launch(live_bot, clock)
    checklist = post_at(live_bot, clock, "2026-12-01 13:00", "SRE shift B")  # owners: sre

    def refusals(user: str) -> str:
        return "".join(m.text for m in live_bot.fake.ephemerals(user))

    tick_items(live_bot, OUTSIDER, checklist, [0, 1, 2])
    live_bot.fake.wait_for(lambda f: "needs the `sre` or `oncall` role" in refusals(OUTSIDER))
    send(live_bot, GTM, checklist, button(checklist, ScheduleAction.CHECKLIST_ACK))
    live_bot.fake.wait_for(lambda f: "`checklist.acknowledge`" in refusals(GTM))
    from sqlmodel import Session, select

    with Session(live_bot.services.engine) as session:
        assert list(session.exec(select(ChecklistEvent))) == []
        state = session.get(ChecklistState, int(checklist_run_id(checklist)))
        assert state is not None and state.ticked == [] and state.acknowledged_at is None
    assert checklist.updated == 0
    tick_items(live_bot, ONCALL, checklist, [1])  # on-call may
    live_bot.fake.wait_for(lambda f: "1/3 done" in checklist.text)
    send(live_bot, ONCALL, checklist, button(checklist, ScheduleAction.CHECKLIST_ACK))
    live_bot.fake.wait_for(lambda f: f"Acknowledged by <@{ONCALL}>" in str(checklist.blocks))


def checklist_run_id(message: Message) -> str:
    return str(button(message, ScheduleAction.CHECKLIST_ACK)["value"])


def test_a_checkpoint_button_with_another_runs_id_is_refused(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    launch(live_bot, clock)
    checklist = post_at(live_bot, clock, "2026-12-01 13:00", "SRE shift B")
    run_id = checklist_run_id(checklist)
    checkpoint = post_at(live_bot, clock, "2026-12-01 14:00", "T+4h")
    forged = {**button(checkpoint, ScheduleAction.DECIDE_CONTINUE), "value": run_id}
    send(live_bot, PRODUCT, checkpoint, forged)
    live_bot.fake.wait_for(
        lambda f: (
            f"There is no checkpoint #{run_id}" in "".join(m.text for m in f.ephemerals(PRODUCT))
        )
    )
    from sqlmodel import Session

    from storage.models import ScheduledRun

    with Session(live_bot.services.engine) as session:
        run = session.get(ScheduledRun, int(run_id))
        assert run is not None and not run.decision and not run.decided_by
    assert checklist.updated == 0 and "Decision" not in str(checklist.blocks)
    assert "checkpoint.decide" not in [r.action for r in live_bot.services.rollout.history("20")]


def test_a_refusal_names_three_roles_as_a_person_would(live_bot: LiveBot) -> None:
    assert live_bot.command("freeze p95 at 2 s", user=GTM).status_code == 200
    denied = live_bot.ephemeral_after(0, user=GTM)
    assert "needs the `sre`, `oncall` or `product` role" in denied.text
    assert "` or `oncall` or `" not in denied.text


def test_launch_answer_names_the_posts_already_past(live_bot: LiveBot, clock: FakeClock) -> None:
    clock.set(local("2026-12-01 00:00"))  # T−24h and T−12h are gone, T−1h is not
    live_bot.command("launch 2026-12-01 10:00", user=PRODUCT)
    answer = live_bot.ephemeral_after(0, PRODUCT)
    assert "T−24h and T−12h are already past and will not be posted." in answer.text
    assert "T−24h and T−12h" in str(answer.blocks)
    clock.set(local("2026-11-28 00:00"))  # nothing past
    live_bot.command("launch 2026-12-01 11:00", user=PRODUCT)
    assert "already past" not in live_bot.ephemeral_after(1, PRODUCT).text


def test_rollout_schedule_says_how_many_more_posts_there_are(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    clock.set(local("2026-11-28 00:00"))
    live_bot.command("launch 2026-12-01 10:00", user=PRODUCT)
    live_bot.ephemeral_after(0, PRODUCT)
    live_bot.command("schedule", user=PRODUCT)
    reply = live_bot.ephemeral_after(1, PRODUCT)
    total = len(live_bot.services.planner.upcoming(1000))
    assert total > 20
    shown = str(reply.blocks)
    assert f"…and {total - 20} more after" in shown
