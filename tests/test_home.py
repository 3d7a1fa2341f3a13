"""App Home through the real app: app_home_opened publishes the dashboard; the completion
checklist ticks from the records and, where people vouch, from role-checked buttons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

import pytest

from bot.clock import FakeClock
from bot.completion import ItemState
from bot.ids.home import HomeAction
from bot.local import payloads
from bot.playbook import Playbook, load_playbook
from bot.services import Services
from bot.slack_out.messages.home import evidence_text
from tests.conftest import GTM, PRODUCT, SRE, SUPPORT, LiveBot


@pytest.fixture
def playbook() -> Playbook:
    """A playbook where people still vouch for the external rollout (a Confirm button, as a
    team may choose) and no communications are planned: the button's rules are tested
    here; the bundled playbook ticks the item from the records (test at the end)."""
    book = load_playbook()
    completion = [
        i.model_copy(update={"confirm_roles": ["gtm", "product"]})
        if i.key == "external_rollout"
        else i
        for i in book.completion
    ]
    comms = book.communications.model_copy(update={"items": []})
    return book.model_copy(update={"completion": completion, "communications": comms})


def open_home(bot: LiveBot, user: str) -> dict:
    before = bot.fake.home_views.get(user)
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D1",
        "tab": "home",
        "event_ts": "1.2",
    }
    assert bot.post(payloads.event_callback(event), "application/json").status_code == 200
    return bot.fake.wait_for(lambda f: f.home_views.get(user) is not before and f.home_views[user])


def texts(view: dict) -> str:
    return "\n".join(
        b.get("text", {}).get("text", "") if b["type"] != "context" else b["elements"][0]["text"]
        for b in view["blocks"]
    )


def buttons(view: dict) -> list[str]:
    return [b["accessory"]["value"] for b in view["blocks"] if b.get("accessory")]


def test_home_shows_the_war_room_at_a_glance(live_bot: LiveBot, clock: FakeClock) -> None:
    services = live_bot.services
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    services.rollback.open(SRE, ["checkout", "errors", "climbing"])
    view = open_home(live_bot, SRE)
    shown = texts(view)
    assert "• *ADVANCED_CHECKOUT*: 10 % — internal_beta" in shown
    assert "no metrics source configured (set PROMETHEUS_URL)" in shown
    assert "❔ user_satisfaction: no ratings yet today — goal > 4" in shown
    assert "✅ support_tickets: 0 today — goal <= 5/day" in shown
    assert "• #1 open — checkout errors climbing (sign-off 0/2)" in shown
    assert "none posted yet today" in shown
    assert "• Mon 30 Nov 22:00 CET — Program external targeting" in shown  # local time
    assert "⬜ *Rollback runbook validated*" in shown
    assert "waiting for the product and support sign-off (`/rollback plan`)" in shown
    # the backlog and the lessons tick from their records: nobody vouches for them
    assert "⬜ *Phase 2 backlog approved*\n   0 of 4 backlog items approved" in shown
    assert "LOGISTICS_TRACKING proposed: awaiting approval (`/phase2`)" in shown
    assert "⬜ *Lessons learned published*\n   0 lessons captured; not published yet" in shown
    # the Phase 2 backlog and the risk register, as a matrix
    assert "• LOGISTICS_TRACKING — :white_circle: proposed · no epic yet" in shown
    assert "high                   ·       ·       R1\n" in shown
    assert "medium                 ·       R3      R2\n" in shown
    # only what this person may confirm gets a button
    assert buttons(view) == []
    assert buttons(open_home(live_bot, PRODUCT)) == ["external_rollout"]


def test_todays_checklists_show_who_acknowledged(live_bot: LiveBot, clock: FakeClock) -> None:
    from tests.test_schedules import local

    services = live_bot.services
    clock.set(local("2026-11-30 08:00"))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    clock.set(local("2026-12-01 13:00"))
    run = next(r for r in services.schedule.tick() if r.job_key == "shift:1:2026-12-01")
    services.checklists.acknowledge(run.id or 0, SRE)
    services.checklists.set_ticks(run.id or 0, SRE, [0, 1])
    shown = texts(open_home(live_bot, SUPPORT))
    assert "• 13:00 SRE shift B: 2/3 ticked, acknowledged by <@U0SRE00001>" in shown


def click(bot: LiveBot, user: str, key: str) -> dict:
    before = bot.fake.home_views.get(user)
    assert bot.post(payloads.home_action(user, HomeAction.CONFIRM, key)).status_code == 200
    return bot.fake.wait_for(lambda f: f.home_views.get(user) is not before and f.home_views[user])


def test_confirm_is_role_checked_and_recorded(live_bot: LiveBot) -> None:
    refused = click(live_bot, SRE, "external_rollout")  # a forged click: SRE has no button
    assert (
        "You may not `confirm “External rollout running, communication sent”`: it needs the "
        "`gtm` or `product` role"
    ) in texts(refused)
    confirmed = click(live_bot, PRODUCT, "external_rollout")
    shown = texts(confirmed)
    assert ":white_check_mark: Confirmed: External rollout running, communication sent" in shown
    assert "awaiting confirmation by gtm or product" not in shown
    assert "   confirmed by <@U0PROD0001>" in shown
    assert "external_rollout" not in buttons(confirmed)
    again = click(live_bot, PRODUCT, "external_rollout")
    assert "“External rollout running, communication sent” is already confirmed." in texts(again)
    # what the bot sees in its records is not vouched for by button
    evidence = click(live_bot, PRODUCT, "phase2_backlog")
    assert "`phase2_backlog` is not a completion item people confirm." in texts(evidence)
    from bot import decision_log

    records = decision_log.recent(live_bot.services.engine, 5, "completion.")
    assert [(r.actor, r.subject) for r in records] == [(PRODUCT, "external_rollout")]


def test_the_checklist_ticks_itself_from_the_records(services: Services, clock: FakeClock) -> None:
    done: Callable[[], dict[str, bool]] = lambda: {  # noqa: E731
        s.item.key: s.done for s in services.completion.states()
    }
    assert not any(done().values())
    version = services.rollback.plan_version()
    services.rollback.sign_plan(PRODUCT, version)
    services.rollback.sign_plan(SUPPORT, version)
    assert done()["runbook_validated"]
    state = next(s for s in services.completion.states() if s.item.key == "runbook_validated")
    line = evidence_text(state.evidence[0])
    assert line.startswith(f"plan {version[:8]} signed by <@U0PROD0001> (product)")
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    for flag in services.playbook.flags:
        services.rollout.set_flag(SRE, flag, "25", "internal_beta,external_beta")
    assert not done()["external_rollout"]  # the flags are out; the messages not confirmed
    services.completion.confirm(GTM, "external_rollout")
    assert done()["external_rollout"]
    clock.set(cast(datetime, services.rollout.launch_at()) + timedelta(hours=24))  # launched
    services.schedule.tick()
    assert done()["first_report"]
    state = next(s for s in services.completion.states() if s.item.key == "first_report")
    assert evidence_text(state.evidence[0]).startswith(
        "executive report #1 Wed 02 Dec 10:00 CET, proposal: hold"
    )
    assert not done()["shifts_live"]  # no Prometheus here: alerts are not live


def test_home_kpis_include_todays_satisfaction_and_tickets(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    from bot.feedback import FeedbackIn
    from bot.tickets import TicketEvent

    services = live_bot.services
    for rating in (5, 4, 2):
        services.feedback.submit(FeedbackIn(source="survey", rating=rating, text="ok"))
    for n in range(6):
        services.tickets.record(
            TicketEvent(event="created", ticket_id=f"Z-{n}", tags=["phase1-beta"])
        )
    shown = texts(open_home(live_bot, SRE))
    assert "⚠️ user_satisfaction: 3.67/5 (3 ratings today) — goal > 4" in shown
    assert "⚠️ support_tickets: 6 today — goal <= 5/day" in shown


def test_after_the_window_home_says_it_is_over_not_to_set_t(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    services = live_bot.services
    assert "set the launch time: `/rollout launch`" in texts(open_home(live_bot, SRE))
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    clock.set(cast(datetime, services.rollout.launch_at()) + timedelta(days=4))  # past the council
    shown = texts(open_home(live_bot, SRE))
    assert (
        "*Next scheduled posts*\nnone left: the launch window of T (Tue 01 Dec 10:00 CET) is over"
        in shown
    )
    assert "set the launch time" not in shown


@pytest.mark.parametrize("playbook", [load_playbook()])
def test_the_external_rollout_ticks_when_the_flags_are_out_and_the_messages_sent(
    services: Services, clock: FakeClock
) -> None:
    def state() -> ItemState:
        return next(s for s in services.completion.states() if s.item.key == "external_rollout")

    assert not state().needs_confirmation  # no button: the bot sees the evidence
    services.rollout.launch(PRODUCT, "2026-12-01 10:00")
    for flag in services.playbook.flags:
        services.rollout.set_flag(SRE, flag, "25", "internal_beta,external_beta")
    assert not state().done
    assert "Launch email to external beta users: not marked sent" in str(state().evidence)
    launch_at = services.rollout.launch_at()
    assert launch_at is not None
    for hours in (2, 1):  # the notices reach their owners an hour before each is due
        clock.set(launch_at - timedelta(hours=hours))
        services.schedule.tick()
    due_by_t = [v for v in services.comms.current() if v.state.due_at <= launch_at]
    for view in due_by_t:
        services.comms.mark_sent(view.state.id or 0, GTM, "https://mail.example/launch")
    assert state().done
    lines = [evidence_text(e) for e in state().evidence]
    assert sum("sent by <@U0GTM00001>" in line for line in lines) == len(due_by_t) == 4
