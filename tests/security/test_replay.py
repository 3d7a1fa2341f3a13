"""The same signed bytes sent twice inside the signature window act once: the second copy
is acknowledged and dropped (the key is the signature, kept in the database)."""

from __future__ import annotations

from typing import cast

import pytest

from bot.clock import FakeClock
from bot.ids.rollback import RollbackAction
from bot.local import payloads
from bot.playbook import Playbook
from tests.conftest import PRODUCT, SECRET, SRE, SUPPORT, LiveBot
from tests.rollback_support import request_message, rollback_playbook


@pytest.fixture
def playbook() -> Playbook:
    return rollback_playbook()


def send_twice(bot: LiveBot, body: str) -> None:
    headers = payloads.signed_headers(SECRET, body)  # one timestamp: the very same bytes
    for _ in range(2):
        answer = bot.http.post(f"{bot.url}/slack/events", content=body, headers=headers)
        assert answer.status_code == 200


def test_a_replayed_rollout_set_is_one_decision_and_one_post(live_bot: LiveBot) -> None:
    channel = live_bot.services.playbook.channels.war_room
    response_url = live_bot.fake.response_url(channel, SRE)
    body = payloads.slash_command("/rollout", "set SMART_PRICING 25", SRE, channel, response_url)
    send_twice(live_bot, body)
    live_bot.fake.wait_for(lambda f: f.channel_messages())
    live_bot.command("status")  # a later command's answer: both copies have been handled
    live_bot.ephemeral_after(1)
    assert len(live_bot.fake.channel_messages()) == 1
    assert len(live_bot.fake.ephemerals(SRE)) == 2  # the set's receipt, the status
    decisions = [r.action for r in live_bot.services.rollout.history("50")]
    assert decisions.count("rollout.set") == 1, decisions


def test_a_replayed_approve_click_signs_once(live_bot: LiveBot) -> None:
    live_bot.command("checkout errors at 5 %", command="/rollback")
    message = request_message(live_bot)

    def approve(user: str) -> str:
        return payloads.block_actions(
            user,
            message.channel,
            message.ts,
            RollbackAction.APPROVE,
            "1",
            "rollback.actions",
            live_bot.fake.response_url(message.channel, user, message.ts),
        )

    send_twice(live_bot, approve(PRODUCT))
    send_twice(live_bot, approve(SUPPORT))
    live_bot.fake.wait_for(
        lambda f: live_bot.services.rollback.view(1).request.status == "done", timeout=20
    )
    live_bot.services.runbook.wait_idle()
    assert live_bot.fake.ephemerals(PRODUCT) == []  # no "already signed" for a replay
    records = [r.action for r in live_bot.services.rollout.history("50")]
    assert records.count("rollback.approved") == 1 and records.count("rollback.done") == 1


def test_delivery_keys_are_forgotten_once_no_replay_can_match(live_bot: LiveBot) -> None:
    """One key per Slack request: kept past the signature window, then pruned, so the
    table does not grow for the life of the launch."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from bot.edge import DELIVERY_MEMORY, forget_old_deliveries
    from storage.models import ProcessedSlackEvent

    def keys() -> int:
        with live_bot.services.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(ProcessedSlackEvent)
                ).scalar_one()
            )

    live_bot.command("status")
    live_bot.ephemeral_after(0)
    assert keys() >= 1
    clock = cast(FakeClock, live_bot.services.clock)  # the clock fixture
    assert forget_old_deliveries(live_bot.services.engine, clock) == 0  # still inside
    clock.advance(DELIVERY_MEMORY + timedelta(minutes=1))
    live_bot.command("status")  # a fresh key, at the new time
    live_bot.ephemeral_after(1)
    assert forget_old_deliveries(live_bot.services.engine, clock) >= 1
    assert keys() == 1
