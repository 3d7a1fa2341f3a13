"""The seed's whole launch played through the real app on the fake clock, from T−25h (T is
set) to the control council: the schedule skipped through on the scheduler's ticks, the
launch target applied at T, the checkpoint, shift checklists ticked and acknowledged (one
late, one partly), a rollback asked for and signed off on Day 1 at 21:37, feedback and
tickets throughout, the council's vote and its advance. Then, post by post, what was posted
when (local times); every record of the reports' span in exactly one daily report; and no
runbook step, runbook action or checklist item shown as done unless its record says so."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.local.fake_slack import FakeSlack
from bot.playbook import Playbook
from bot.rollback.model import step_actions, step_fully_done
from bot.rollback.steps import STEP_TITLES
from bot.services import Services
from bot.settings import Settings
from bot.slack_out.messages.rollback import action_text
from storage.models import (
    ChecklistState,
    DecisionRecord,
    FeedbackItem,
    Report,
    RunbookStep,
    ScheduledRun,
    Ticket,
)
from tests.conftest import GTM, ONCALL, PRODUCT, SRE, SRE2, SUPPORT
from tests.launch_play import Play, Posted, element_of
from tests.rollback_support import rollback_playbook

FEEDBACK, TICKETS = "play-feedback-token", "play-tickets-token"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 30, 8, 0, tzinfo=ZoneInfo("Europe/Madrid")))


@pytest.fixture
def playbook() -> Playbook:
    return rollback_playbook()  # the runbook's e2e test is a stand-in that passes


@pytest.fixture
def settings(settings: Settings) -> Settings:
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
    count = len(element_of(checklist, "checklist.items")[0]["options"])
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


WAR, THREAD, PRODUCT_CH, SUPPORT_CH = "war", "war (thread)", "product", "support"
SYNC = ":busts_in_silhouette: Daily sync at 09:30 (15 min)"
TO_25 = "10 % (internal_beta) → *25 % (internal_beta, external_beta)*"
TO_50 = "25 % (internal_beta, external_beta) → *50 % (internal_beta, external_beta)*"
# every message the play left in Slack's channels, in order: (local time, where, how it starts)
POSTED = [
    ("Mon 09:00", WAR, f"<@{PRODUCT}> set the launch time T to *Tue 01 Dec 2026 10:00 CET*"),
    ("Mon 09:30", WAR, SYNC),
    ("Mon 10:00", WAR, "T-24h: Final check with all leads"),
    ("Mon 11:00", SUPPORT_CH, ":speech_balloon: Beta feedback #1 (survey, question) 4/5"),
    ("Mon 22:00", WAR, "T-12h: Program external targeting"),
    ("Tue 08:00", WAR, "Communication due Tue 01 Dec 09:00 (T−1h): Help-center artic"),
    ("Tue 09:00", WAR, "Communication due Tue 01 Dec 10:00 (T+0h): Dashboard banner"),
    ("Tue 09:00", WAR, "Communication due Tue 01 Dec 10:00 (T+0h): Launch email to e"),
    ("Tue 09:00", WAR, "Communication due Tue 01 Dec 10:00 (T+0h): In-app message: a"),
    ("Tue 09:00", WAR, "T-1h: Open the war room"),
    ("Tue 09:00", SUPPORT_CH, "Support staffing: 2 agents on duty for the 4 h beta SLA? (0/"),
    ("Tue 09:15", THREAD, ":bell: <@U0GTM00001> Help-center article and FAQ (feedback f"),
    ("Tue 09:30", WAR, SYNC),
    ("Tue 09:45", PRODUCT_CH, "Phase 2 Day 0–1: Refine the Phase 2 backlog: epics and tasks"),
    ("Tue 10:00", WAR, "T+0h: Launch"),
    ("Tue 10:00", THREAD, ":rotating_light: <@U0PROD0001> <@U0PROD0002> Help-center art"),
    ("Tue 10:00", THREAD, ":warning: <@U0SUPP0001> <@U0SUPP0002> <@U0ONCL0001> support "),
    ("Tue 10:02", WAR, f"<@{SRE}> set *ADVANCED_CHECKOUT*: {TO_25}"),
    ("Tue 10:02", WAR, f"<@{SRE}> set *SMART_PRICING*: {TO_25}"),
    ("Tue 10:15", WAR, "T+15 min snapshot"),
    ("Tue 10:15", THREAD, ":bell: <@U0GTM00001> Dashboard banner was due at 10:00 and i"),
    ("Tue 10:15", THREAD, ":bell: <@U0GTM00001> Launch email to external beta users was"),
    ("Tue 10:15", THREAD, ":bell: <@U0GTM00001> In-app message: advanced checkout and s"),
    ("Tue 10:30", WAR, "T+30 min snapshot"),
    ("Tue 10:45", WAR, "T+45 min snapshot"),
    ("Tue 11:00", WAR, "T+60 min snapshot"),
    ("Tue 11:00", THREAD, ":rotating_light: <@U0PROD0001> <@U0PROD0002> Dashboard banne"),
    ("Tue 11:00", THREAD, ":rotating_light: <@U0PROD0001> <@U0PROD0002> Launch email to"),
    ("Tue 11:00", THREAD, ":rotating_light: <@U0PROD0001> <@U0PROD0002> In-app message:"),
    ("Tue 13:00", WAR, "Communication due Tue 01 Dec 14:00 (T+4h): In-app reminder: "),
    ("Tue 13:00", WAR, "SRE shift B — 13:00 checklist"),
    ("Tue 14:00", WAR, "T+4h: First checkpoint"),
    ("Tue 14:15", THREAD, ":bell: <@U0GTM00001> In-app reminder: ask for feedback was d"),
    ("Tue 15:00", THREAD, ":rotating_light: <@U0PROD0001> <@U0PROD0002> In-app reminder"),
    ("Tue 15:00", WAR, ":speech_balloon: Beta feedback #2 (survey, bug) 2/5"),
    ("Tue 17:00", WAR, "SRE shift C — 17:00 checklist"),
    (
        "Tue 17:15",
        THREAD,
        ":bell: <@U0SRE00001> <@U0SRE00002> the SRE shift C checklist is waiting",
    ),
    ("Tue 17:30", THREAD, f":rotating_light: <@{ONCALL}> nobody has acknowledged the SRE shift C"),
    ("Tue 18:00", WAR, "Daily report — Tue 01 Dec 2026"),
    ("Tue 21:00", WAR, "On-call — 21:00 checklist"),
    ("Tue 21:37", WAR, "Rollback #1 (open): checkout errors at night"),
    ("Tue 21:42", WAR, "the bot *froze the rollout*: rollback #1: checkout errors at night"),
    ("Tue 21:42", WAR, "Rollback #1: 5 communications not sent yet are paused."),
    ("Tue 21:42", THREAD, "e2e `"),
    ("Tue 21:42", WAR, ":rotating_light: Rollback #1 executed: SMART_PRICING back to 10 %"),
    ("Tue 21:42", THREAD, "Post-mortem scheduled for 2026-12-02 21:00 CET."),
    ("Tue 21:42", THREAD, ":white_check_mark: Rollback complete. MTTR 5.0 min"),
    ("Tue 22:30", PRODUCT_CH, ":speech_balloon: Beta feedback #3 (survey, product_request) 3/5"),
    ("Wed 09:00", WAR, "SRE shift A — 09:00 checklist"),
    ("Wed 09:30", WAR, SYNC),
    ("Wed 09:45", PRODUCT_CH, "Phase 2 Day 1–2: Define the success KPIs and the test plan ("),
    ("Wed 10:00", WAR, "Executive report — first 24 h of the external beta"),
    ("Wed 10:00", WAR, "T+24h: Executive report"),
    ("Wed 11:30", WAR, f"<@{SRE}> *lifted the freeze* (was: rollback #1: checkout errors"),
    ("Wed 11:30", WAR, f"<@{SRE}> set *SMART_PRICING*: {TO_25}"),
    ("Wed 13:00", WAR, "SRE shift B — 13:00 checklist"),
    ("Wed 15:00", WAR, ":hourglass: Beta ticket Z-102 unanswered for 4 h 00 min (support SLA 4 h)"),
    ("Wed 17:00", WAR, "SRE shift C — 17:00 checklist"),
    ("Wed 18:00", WAR, "Daily report — Wed 02 Dec 2026"),
    ("Wed 21:00", WAR, "On-call — 21:00 checklist"),
    ("Wed 21:00", THREAD, ":memo: Post-mortem of rollback #1 is due now (2026-12-02 21:00 CET)"),
    ("Wed 21:00", WAR, ":memo: Post-mortem of rollback #1 (checkout errors at night) starts now"),
    ("Thu 09:00", WAR, "SRE shift A — 09:00 checklist"),
    ("Thu 09:05", PRODUCT_CH, ":speech_balloon: Beta feedback #4 (survey, product_request) 5/5"),
    ("Thu 09:30", WAR, SYNC),
    ("Thu 09:45", PRODUCT_CH, "Phase 2 Day 2–3: Align the infrastructure dependencies (new "),
    ("Thu 18:00", WAR, "Control council"),
    ("Thu 18:12", WAR, f"<@{SRE}> set *ADVANCED_CHECKOUT*: {TO_50}"),
    ("Thu 18:12", WAR, f"<@{SRE}> set *SMART_PRICING*: {TO_50}"),
    ("Thu 18:30", WAR, "Daily report — Thu 03 Dec 2026"),
]


def where(play: Play, posted: Posted) -> str:
    channels = play.services.playbook.channels
    name = {channels.war_room: WAR, channels.product: PRODUCT_CH, channels.support: SUPPORT_CH}
    return THREAD if posted.thread else name[posted.channel]


def test_the_seeds_launch_as_played(
    services: Services, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    play = Play(services, fake_slack, clock)
    asyncio.run(the_launch(play))
    shown = [(p.at, where(play, p), p.text) for p in play.posted]
    assert len(shown) == len(POSTED), "\n".join(f"{a} {w} {t[:90]}" for a, w, t in shown)
    for (at, place, text), expected in zip(shown, POSTED, strict=True):
        assert (at, place) == expected[:2] and text.startswith(expected[2]), (at, place, text)
    every_post_once_on_time(services)
    every_record_in_one_daily_report(services, play)
    nothing_shown_done_that_is_not(services, play)


def every_post_once_on_time(services: Services) -> None:
    """Each scheduled post once, on time; the ones people acted on say what they decided."""
    with Session(services.engine) as session:
        runs = session.exec(select(ScheduledRun).order_by(col(ScheduledRun.fire_at))).all()
    outcomes = {r.job_key: (r.status, r.decision) for r in runs}
    due = [o for o in services.schedule.plan() if o.fire_at <= services.clock.now()]
    assert len(outcomes) == len(runs) == len(due)  # Phase 2's Day 3 comes after the council
    acted = {
        "milestone:0h": ("decided", "launch_target"),
        "milestone:4h": ("decided", "continue"),
        "council": ("closed", "advance"),
        "council_close": ("skipped", ""),  # the chair closed it first
    }
    for key, outcome in outcomes.items():
        assert outcome == acted.get(key, ("posted", "")), key


def every_record_in_one_daily_report(services: Services, play: Play) -> None:
    """From the window's start (T's local midnight) to the last report, each decision,
    feedback item and ticket is in exactly one daily report; Day −1's are in none."""
    start = play.local("2026-12-01 00:00")
    with Session(services.engine) as session:
        reports = session.exec(
            select(Report).where(Report.kind == "daily").order_by(col(Report.id))
        ).all()
        records = session.exec(select(DecisionRecord).order_by(col(DecisionRecord.seq))).all()
        feedback = session.exec(select(FeedbackItem)).all()
        tickets = session.exec(select(Ticket)).all()
    assert [r.period for r in reports] == [
        "2026-12-01",
        "2026-12-02",
        "2026-12-03 (end of the window)",
    ]
    reported = [d["seq"] for r in reports for d in r.figures["decisions"]]
    inside = [r for r in records if aware(r.at) >= start]
    assert sorted(reported) == [r.seq for r in inside]  # each once, none left out
    before = [r.action for r in records if aware(r.at) < start]
    assert before == ["flags.seed", "flags.seed", "rollout.launch"]  # Day −1
    by_report = [{d["action"] for d in r.figures["decisions"]} for r in reports]
    assert "launch.target" in by_report[0] and "checkpoint.decide" in by_report[0]
    assert {"rollback.request", "rollback.approved", "rollback.revert"} <= by_report[1]  # 21:37
    assert {"council.close", "rollout.set"} <= by_report[2]
    day_one = [f for f in feedback if aware(f.created_at) >= start]
    assert sum(r.figures["feedback"]["count"] for r in reports) == len(day_one) == 3
    assert sum(r.figures["tickets_created"] for r in reports) == len(tickets) == 2


def aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def nothing_shown_done_that_is_not(services: Services, play: Play) -> None:
    checklists_as_recorded(services, play)
    runbook_as_recorded(services, play)
    t_post, checkpoint = play.message("T+0h"), play.message("T+4h")
    assert "Launch target applied" in str(t_post.blocks)
    assert "launch.target" in [r.action for r in services.rollout.history("50")]
    assert f"Decision: *continue* by <@{PRODUCT}> at 14:05" in str(checkpoint.blocks)
    assert "not at the launch target" not in str(checkpoint.blocks)  # it was at the target
    assert "Outcome: *Advance to 50 %*" in str(play.message("Control council").blocks)


def checklists_as_recorded(services: Services, play: Play) -> None:
    """A box shows ticked, the header complete, the footer acknowledged only as recorded."""
    with Session(services.engine) as session:
        states = {
            run.message_ts: state
            for state, run in session.exec(
                select(ChecklistState, ScheduledRun).where(ChecklistState.run_id == ScheduledRun.id)
            )
        }
    assert len(states) == 8
    partly = 0
    for message in play.fake.channel_messages():
        state = states.get(message.ts)
        if state is None:
            continue
        element, _ = element_of(message, "checklist.items")
        ticked = {int(o["value"].split(":")[1]) for o in element.get("initial_options") or []}
        assert ticked == set(state.ticked), message.text
        complete = len(state.ticked) == len(state.items)
        assert ("✔ complete" in message.text) == complete, message.text
        assert state.acknowledged_by and f"Acknowledged by <@{state.acknowledged_by}>" in str(
            message.blocks
        )
        partly += not complete
    assert partly == 1  # SRE shift C on Day 1: 2 of 3 items


def runbook_as_recorded(services: Services, play: Play) -> None:
    """✅ on a step only when it and each of its actions are done; ✅ on an action only when
    its outcome is done; the "executed" post lists every action not done."""
    message = play.message("Rollback #1 ")
    lines = "\n".join(
        b["text"]["text"] for b in message.blocks if b.get("type") == "section" and "text" in b
    )
    with Session(services.engine) as session:
        steps = session.exec(
            select(RunbookStep)
            .where(RunbookStep.request_id == 1)
            .order_by(col(RunbookStep.position))
        ).all()
    assert len(steps) == len(STEP_TITLES)
    not_done = []
    for step in steps:
        title = STEP_TITLES[step.name]
        [line] = [li for li in lines.splitlines() if li.endswith(title) or f". {title} (" in li]
        assert line.startswith(":white_check_mark:") == step_fully_done(step), line
        for action in step_actions(step):
            [shown] = [li for li in lines.splitlines() if li.strip().endswith(action_text(action))]
            assert shown.strip().startswith(":white_check_mark:") == (not action.not_done), shown
            not_done += [action.action] if action.not_done else []
    assert not_done == [
        "cache of checkout-service",
        "cache of pricing-service",
        "support email",
        "maintenance banner",
        "incident in the tracker",
    ]
    executed = play.message(":rotating_light: Rollback #1 executed").text
    assert all(f"• {action}: skipped" in executed for action in not_done), executed
