"""Time-based effects of the rollback requests run on the schedule's ticks: advancing the
fake clock and ticking (as the local workspace's `skip` does) makes them on time, with no
other interaction."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.ids.rollback import RollbackAction
from bot.playbook import Playbook
from storage.status import RollbackStatus
from tests.conftest import PRODUCT, SRE, SUPPORT, LiveBot
from tests.rollback_support import click, request_message, rollback_playbook


@pytest.fixture
def playbook() -> Playbook:
    return rollback_playbook()


def reminders(bot: LiveBot) -> list[str]:
    return [
        m.text
        for m in bot.fake.channel_messages()
        if "Post-mortem of rollback #1" in m.text and not m.thread_ts
    ]


def test_a_request_expires_on_the_schedules_tick(live_bot: LiveBot, clock: FakeClock) -> None:
    live_bot.command("checkout errors at 5 %", user=SRE, command="/rollback")
    message = request_message(live_bot)
    clock.advance(timedelta(minutes=29))
    live_bot.services.schedule.tick()
    assert live_bot.services.rollback.view(1).request.status == RollbackStatus.OPEN
    clock.advance(timedelta(minutes=2))
    live_bot.services.schedule.tick()
    assert live_bot.services.rollback.view(1).request.status == RollbackStatus.EXPIRED
    live_bot.fake.wait_for(lambda f: "no longer work" in str(message.blocks))


def test_the_postmortem_reminder_on_the_schedules_tick(live_bot: LiveBot, clock: FakeClock) -> None:
    live_bot.command("checkout errors at 5 %", user=SRE, command="/rollback")
    message = request_message(live_bot)
    for user in (PRODUCT, SUPPORT):
        click(live_bot, user, RollbackAction.APPROVE, "1", message)
        live_bot.fake.wait_for(
            lambda f, u=user: any(a.user == u for a in live_bot.services.rollback.view(1).approvals)
        )
    live_bot.fake.wait_for(
        lambda f: live_bot.services.rollback.view(1).request.status == RollbackStatus.DONE, 60
    )
    live_bot.services.runbook.wait_idle(60)
    clock.advance(timedelta(hours=23))  # the reminder is at the whole hour before T+24h
    live_bot.services.schedule.tick()
    assert reminders(live_bot) == []
    clock.advance(timedelta(hours=1))
    live_bot.services.schedule.tick()
    live_bot.fake.wait_for(lambda f: len(reminders(live_bot)) == 1)
    live_bot.services.schedule.tick()
    assert len(reminders(live_bot)) == 1  # once
