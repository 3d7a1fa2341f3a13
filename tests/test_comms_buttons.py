"""The go-to-market buttons through the real app (signed block_actions and view
submissions): Mark sent role-checked and recorded with its link, a rollback pausing the
communications not sent, the staffing check confirmed, and the SLA flag naming who is on
duty."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.ids.comms import CommsAction, CommsBlock, CommsView
from bot.local import payloads
from bot.local.fake_slack import Message
from bot.playbook import Playbook
from bot.slack_out.messages.home import home_view
from bot.tickets import TicketEvent
from storage.models import CommunicationState, DecisionRecord, ScheduledRun
from storage.status import CommStatus, RollbackStatus
from tests.conftest import GTM, ONCALL, OUTSIDER, PRODUCT, SRE, SUPPORT, HttpResponse, LiveBot
from tests.rollback_support import click, request_message, rollback_playbook
from tests.test_comms_schedule import notices
from tests.test_schedule_interactions import button, launch, send
from tests.test_schedules import local

SUPPORT2 = "U0SUPP0002"
LINK = "https://mail.example.com/campaigns/42"


@pytest.fixture
def playbook() -> Playbook:
    return rollback_playbook()  # its runbook's e2e check runs here


def ephemeral_texts(bot: LiveBot, user: str) -> str:
    return "\n".join(m.text for m in bot.fake.ephemerals(user))


def notice_at(bot: LiveBot, clock: FakeClock, title: str) -> Message:
    clock.set(local("2026-12-01 09:00"))
    bot.services.schedule.tick()
    return notices(bot.fake)[title]


def records(bot: LiveBot, action: str) -> list[DecisionRecord]:
    with Session(bot.services.engine) as session:
        return list(session.exec(select(DecisionRecord).where(DecisionRecord.action == action)))


def submit_link(bot: LiveBot, user: str, modal: dict, link: str) -> HttpResponse:
    body = payloads.view_submission(user, modal, {CommsBlock.LINK: {CommsBlock.LINK_INPUT: link}})
    return bot.post(body)


def test_mark_sent_is_role_checked_and_records_the_link(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    launch(live_bot, clock)
    notice = notice_at(live_bot, clock, "Launch email to external beta users")
    mark = button(notice, CommsAction.MARK_SENT)
    send(live_bot, SUPPORT, notice, mark)
    live_bot.fake.wait_for(
        lambda f: "needs the `gtm` or `product` role" in ephemeral_texts(live_bot, SUPPORT)
    )
    assert live_bot.fake.views == []  # no form for them
    send(live_bot, GTM, notice, mark)
    modal = live_bot.fake.wait_for(lambda f: f.views and f.views[-1])
    assert (
        modal["callback_id"] == CommsView.MARK_SENT and modal["private_metadata"] == mark["value"]
    )
    # the form's submission is checked too: a forged one from another role, then a bad link
    forged = submit_link(live_bot, SUPPORT, modal, LINK).json()
    assert "needs the `gtm` or `product` role" in forged["errors"][CommsBlock.LINK]
    bad = submit_link(live_bot, GTM, modal, "sent it this morning").json()
    assert bad["response_action"] == "errors" and "not a link" in bad["errors"][CommsBlock.LINK]
    assert records(live_bot, "comms.sent") == []
    clock.set(local("2026-12-01 10:02"))
    assert submit_link(live_bot, GTM, modal, f"  {LINK} ").status_code == 200
    live_bot.fake.wait_for(lambda f: notice.text.startswith("Sent:"))
    assert f"Sent — marked by <@{GTM}> at 10:02: <{LINK}|what went out>" in str(notice.blocks)
    assert CommsAction.MARK_SENT not in str(notice.blocks)
    [record] = records(live_bot, "comms.sent")
    assert (record.actor, record.subject, record.after["link"]) == (GTM, "comms:email", LINK)
    send(live_bot, PRODUCT, notice, mark)  # a stale client
    live_bot.fake.wait_for(
        lambda f: f"already marked sent by <@{GTM}> at 10:02" in ephemeral_texts(live_bot, PRODUCT)
    )
    assert len(live_bot.fake.views) == 1 and len(records(live_bot, "comms.sent")) == 1
    clock.set(local("2026-12-01 11:30"))  # long past its time: sent, so no follow-up
    live_bot.services.schedule.tick()
    assert not [m for m in live_bot.fake.channel_messages() if m.thread_ts == notice.ts]
    # App Home shows the calendar as the records say: this one sent, the others overdue
    zone = live_bot.services.playbook.zone
    home = str(home_view(live_bot.services.home.dashboard(GTM), zone, "x", clock.now()))
    assert "✅ Launch email to external beta users (email, owner gtm, due Tue 10:00): sent" in home
    assert (
        "⏰ Dashboard banner (dashboard_banner, owner gtm, due Tue 10:00): not marked sent" in home
    )


def test_a_rollback_pauses_the_communications_not_sent(live_bot: LiveBot, clock: FakeClock) -> None:
    launch(live_bot, clock)
    email = notice_at(live_bot, clock, "Launch email to external beta users")
    banner = notices(live_bot.fake)["Dashboard banner"]
    banner_mark = button(banner, CommsAction.MARK_SENT)
    live_bot.services.comms.mark_sent(int(button(email, CommsAction.MARK_SENT)["value"]), GTM, LINK)
    clock.set(local("2026-12-01 10:30"))
    live_bot.command("checkout errors at 5 %", user=SRE, command="/rollback")
    request = request_message(live_bot)
    click(live_bot, PRODUCT, "rollback.approve", "1", request)
    live_bot.fake.wait_for(lambda f: "product*: <@" in str(request.blocks))
    click(live_bot, SUPPORT, "rollback.approve", "1", request)
    said = live_bot.fake.wait_for(
        lambda f: next((m for m in f.channel_messages() if "are paused" in m.text), None)
    )
    live_bot.services.runbook.wait_idle()
    assert live_bot.services.rollback.view(1).request.status == RollbackStatus.DONE
    assert said.text.startswith("Rollback #1: 4 communications not sent yet are paused")
    listed = str(said.blocks)
    for title in ("Help-center article", "In-app message", "Dashboard banner", "In-app reminder"):
        assert title in listed
    assert "Launch email" not in listed
    live_bot.fake.wait_for(lambda f: banner.text.startswith("Paused:"))
    assert "Paused by rollback #1 at 10:30: do not send." in str(banner.blocks)
    assert CommsAction.MARK_SENT not in str(banner.blocks)
    assert email.text.startswith("Sent:")  # what went out stays sent
    with Session(live_bot.services.engine) as session:
        states = {c.key: c.status for c in session.exec(select(CommunicationState))}
    assert states == {
        "help_center": CommStatus.PAUSED,
        "email": CommStatus.SENT,
        "in_app": CommStatus.PAUSED,
        "banner": CommStatus.PAUSED,
        "in_app_reminder": CommStatus.PAUSED,
    }
    [pause] = records(live_bot, "comms.pause")
    assert pause.subject == "rollback#1" and len(pause.after["paused"]) == 4
    # T+3h: the reminder's notice is not posted; nothing paused is reminded or escalated
    clock.set(local("2026-12-01 13:00"))
    live_bot.services.schedule.tick()
    clock.set(local("2026-12-01 15:30"))
    live_bot.services.schedule.tick()
    with Session(live_bot.services.engine) as session:
        run = session.exec(
            select(ScheduledRun).where(ScheduledRun.job_key == "comm:in_app_reminder")
        ).one()
    assert (run.status, run.note) == ("skipped", "not posted: paused by rollback#1")
    assert "In-app reminder: ask for feedback" not in notices(live_bot.fake)
    assert not [m for m in live_bot.fake.channel_messages() if m.thread_ts == banner.ts]
    send(live_bot, GTM, banner, banner_mark)  # a stale client
    live_bot.fake.wait_for(lambda f: "is paused by rollback #1" in ephemeral_texts(live_bot, GTM))
    assert live_bot.services.comms.pause_for_rollback(1) == []  # again: nothing left to pause


def staffing_check(bot: LiveBot, clock: FakeClock) -> Message:
    clock.set(local("2026-12-01 09:00"))
    bot.services.schedule.tick()
    return bot.fake.wait_for(
        lambda f: next(iter(f.channel_messages("#phase1-support")), None), timeout=5
    )


def test_support_confirms_the_staffing_and_the_sla_flag_says_who_is_on_duty(
    live_bot: LiveBot,
    clock: FakeClock,
) -> None:
    launch(live_bot, clock)
    check = staffing_check(live_bot, clock)
    assert check.text.startswith("Support staffing: 2 agents on duty for the 4 h beta SLA?")
    assert f"<@{SUPPORT}> <@{SUPPORT2}>" in str(check.blocks)
    on_duty = button(check, CommsAction.ON_DUTY)
    send(live_bot, GTM, check, on_duty)
    live_bot.fake.wait_for(lambda f: "needs the `support` role" in ephemeral_texts(live_bot, GTM))
    send(live_bot, SUPPORT, check, on_duty)
    live_bot.fake.wait_for(lambda f: f"On duty: <@{SUPPORT}> (1/2)" in str(check.blocks))
    send(live_bot, SUPPORT, check, on_duty)  # a double click
    live_bot.fake.wait_for(lambda f: "already said" in ephemeral_texts(live_bot, SUPPORT))
    # still short at T: its thread says so, to support and on-call, once
    clock.set(local("2026-12-01 10:00"))
    live_bot.services.schedule.tick()
    live_bot.services.schedule.tick()
    [short] = [m.text for m in live_bot.fake.channel_messages() if m.thread_ts == check.ts]
    assert f"<@{ONCALL}>" in short and f"<@{SUPPORT2}>" in short and "(1/2)" in short
    send(live_bot, SUPPORT2, check, on_duty)
    live_bot.fake.wait_for(lambda f: "Staffing confirmed at 10:00" in str(check.blocks))
    assert f"On duty: <@{SUPPORT}>, <@{SUPPORT2}> (2/2)" in str(check.blocks)
    assert len(records(live_bot, "staffing.on_duty")) == 2
    [confirmed] = records(live_bot, "staffing.confirmed")
    assert confirmed.after == {"on_duty": [SUPPORT, SUPPORT2], "required": 2}
    # a beta ticket past the 4 h SLA: the flag says who is on duty
    live_bot.services.tickets.record(
        TicketEvent(event="created", ticket_id="Z-7", tags=["phase1-beta"], subject="Pay fails")
    )
    clock.advance(timedelta(hours=4, minutes=1))
    live_bot.services.schedule.tick()
    flag = next(m for m in live_bot.fake.channel_messages() if "Beta ticket Z-7" in m.text)
    assert flag.text.endswith(f"On duty: <@{SUPPORT}>, <@{SUPPORT2}>.")
    assert OUTSIDER not in flag.text
