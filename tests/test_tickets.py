"""POST /api/tickets over a real socket, and the support SLA: a beta ticket unanswered
after 4 h is flagged in the war room once, whoever ticks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr

from bot.clock import FakeClock
from bot.local.fake_slack import FakeSlack
from bot.playbook import load_playbook
from bot.services import Services, build_services
from bot.settings import Settings
from tests.conftest import LiveBot

TOKEN = "helpdesk-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"warroom_tickets_token": SecretStr(TOKEN)})


def event(kind: str, ticket: str, tags: list[str] | None = None, **extra: object) -> dict:
    return {"event": kind, "ticket_id": ticket, "tags": tags or ["phase1-beta"], **extra}


def test_only_beta_tickets_are_kept_and_events_apply_once(live_bot: LiveBot) -> None:
    url = f"{live_bot.url}/api/tickets"
    post = live_bot.http.post
    assert post(url, json=event("created", "Z-1"), headers={}).status_code == 401
    other = post(url, json=event("created", "Z-9", ["billing"]), headers=AUTH)
    assert other.status_code == 202 and other.json() == {
        "kept": False,
        "why": "not tagged phase1-beta",
    }
    bad = post(
        url, json={"event": "reopened", "ticket_id": "", "at": "2026-12-01 10:00"}, headers=AUTH
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"event", "ticket_id", "at"}
    assert (
        live_bot.services.tickets.created_between(
            live_bot.services.clock.now() - timedelta(days=1), live_bot.services.clock.now()
        )
        == 0
    )
    assert (
        post(url, json=event("created", "Z-1", subject="Pay fails"), headers=AUTH).json()[
            "answered"
        ]
        is False
    )
    assert post(url, json=event("created", "Z-1"), headers=AUTH).status_code == 200  # replay
    answered = post(url, json=event("answered", "Z-1"), headers=AUTH).json()
    assert answered["kept"] and answered["answered"] is True
    tickets = live_bot.services.tickets
    day = live_bot.services.clock.now()
    assert tickets.created_between(day - timedelta(hours=1), day + timedelta(hours=1)) == 1


def test_an_unanswered_beta_ticket_is_flagged_after_four_hours_once(
    settings: Settings, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    from bot.tickets import TicketEvent

    # two replicas share the database; both tick, one flags
    first = build_services(settings, load_playbook(), clock)
    second = build_services(settings, load_playbook(), clock, upgrade_db=False)
    start = clock.now()
    first.tickets.record(
        TicketEvent(
            event="created",
            ticket_id="Z-1",
            tags=["phase1-beta"],
            subject="Cannot pay",
            link="https://help.example/Z-1",
        )
    )
    first.tickets.record(TicketEvent(event="created", ticket_id="Z-2", tags=["phase1-beta"]))
    clock.advance(timedelta(hours=1))
    first.tickets.record(TicketEvent(event="answered", ticket_id="Z-2", tags=["phase1-beta"]))
    clock.set(start + timedelta(hours=3, minutes=59))
    assert first.tickets.flag_overdue(clock.now()) == []
    clock.set(start + timedelta(hours=4, minutes=1))
    flagged = first.tickets.flag_overdue(clock.now()) + second.tickets.flag_overdue(clock.now())
    assert [t.external_id for t in flagged] == ["Z-1"]
    first.schedule.tick()  # the watchdog's tick runs the same check: nothing new
    posts = [m for m in fake_slack.channel_messages("#phase1-war-room") if "Z-1" in m.text]
    assert len(posts) == 1
    assert "unanswered for 4 h 01 min (support SLA 4 h)" in posts[0].text
    assert "<https://help.example/Z-1|Cannot pay>" in posts[0].text
    assert "<@U0SUPP0001>" in posts[0].text


def test_an_sla_flag_slack_did_not_take_is_posted_later(
    services: Services, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    from bot.tickets import TicketEvent

    services.tickets.record(TicketEvent(event="created", ticket_id="Z-7", tags=["phase1-beta"]))
    clock.advance(timedelta(hours=5))
    fake_slack.fail_next("chat.postMessage", 500, times=100)
    # flagged once, its post kept in the outbox while Slack refuses it
    assert [t.external_id for t in services.tickets.flag_overdue(clock.now())] == ["Z-7"]
    assert [m for m in fake_slack.channel_messages() if "Z-7" in m.text] == []
    fake_slack.faults.clear()
    clock.advance(timedelta(minutes=1))
    assert services.tickets.flag_overdue(clock.now()) == []
    services.poster.send_soon()
    posts = [m for m in fake_slack.channel_messages() if "Z-7" in m.text]
    assert len(posts) == 1 and "unanswered for 5 h 00 min" in posts[0].text  # when flagged
