"""The outbox: every war-room post is stored, sent once, retried until Slack takes it; a
runbook finishes while Slack is down; a post whose answer was lost is not made twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import SectionBlock
from sqlmodel import Session, col, select

from bot.clock import FakeClock
from bot.ids.rollback import RollbackAction
from bot.local.fake_slack import FakeSlack
from bot.playbook import Playbook
from bot.slack_out.outbox import Outbox, is_handle
from bot.slack_out.poster import SlackTransport
from storage import migrate
from storage.db import make_engine
from storage.models import DecisionRecord, OutboxMessage
from storage.status import OutboxStatus, RollbackStatus
from tests.conftest import PRODUCT, SRE, SUPPORT, TOKEN, LiveBot
from tests.rollback_support import buttons, click, request_message, rollback_playbook

CHANNEL = "#phase1-war-room"


def outbox_for(db_url: str, fake: FakeSlack, clock: FakeClock, owner: str = "r1") -> Outbox:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    client = WebClient(  # a short timeout: a hung answer is given up on quickly
        token=TOKEN,
        base_url=fake.api_url,
        timeout=1,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    return Outbox(engine, SlackTransport(client), clock, owner)


@pytest.fixture
def outbox(db_url: str, fake_slack: FakeSlack, clock: FakeClock) -> Outbox:
    return outbox_for(db_url, fake_slack, clock)


def rows(box: Outbox) -> list[OutboxMessage]:
    with Session(box.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def eventually(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)


def section(text: str) -> list[SectionBlock]:
    return [SectionBlock(text=text)]


def test_a_post_during_an_outage_is_sent_once_when_slack_is_back(
    outbox: Outbox, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    fake_slack.fail_next("chat.postMessage", 500, times=100)
    ts = outbox.post(CHANNEL, "Rollback #1 requested", section("Approve?"))
    assert ts is not None and is_handle(ts)  # stored, not lost; Slack has not taken it
    reply = outbox.post(CHANNEL, "details", section("in the thread"), thread_ts=ts)
    outbox.send_due()  # not due yet: the next try waits
    assert fake_slack.channel_messages() == []
    fake_slack.faults.clear()
    clock.advance(timedelta(minutes=5))
    outbox.send_soon()
    [parent, child] = fake_slack.channel_messages()
    assert parent.text == "Rollback #1 requested" and child.thread_ts == parent.ts
    assert outbox.ts_of(ts) == parent.ts and reply is not None
    assert [r.status for r in rows(outbox)] == [OutboxStatus.SENT, OutboxStatus.SENT]
    clock.advance(timedelta(minutes=5))
    outbox.send_soon()
    assert len(fake_slack.channel_messages()) == 2  # sent once


def test_updates_while_slack_is_down_coalesce_into_the_last_state(
    outbox: Outbox, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    ts = outbox.post(CHANNEL, "state 0", section("0"))
    assert ts is not None and not is_handle(ts)
    fake_slack.fail_next("chat.update", 500, times=100)
    for n in range(1, 6):
        outbox.update(CHANNEL, ts, f"state {n}", section(str(n)))
    fake_slack.faults.clear()
    clock.advance(timedelta(minutes=5))
    outbox.send_soon()
    [message] = fake_slack.channel_messages()
    assert message.text == "state 5"
    # one failed try of the first update, then one update carrying the last state
    assert len(fake_slack.calls_to("chat.update")) == 2


def test_an_update_of_an_unsent_post_rewrites_the_post(
    outbox: Outbox, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    fake_slack.fail_next("chat.postMessage", 429, times=100, retry_after=0)
    ts = outbox.post(CHANNEL, "request", section("open"))
    assert ts is not None and is_handle(ts)
    fake_slack.faults.clear()
    # the first try failed: the post may not be rewritten (it may have been made), so the
    # update waits for it and is then sent to Slack's ts
    outbox.update(CHANNEL, ts, "request: done", section("done"))
    clock.advance(timedelta(minutes=5))
    outbox.send_soon()
    [message] = fake_slack.channel_messages()
    assert message.text == "request: done"
    never_tried = outbox.post(CHANNEL, "second", section("x"))
    assert never_tried is not None and not is_handle(never_tried)


def test_a_post_whose_answer_was_lost_is_found_not_posted_again(
    outbox: Outbox, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    fake_slack.hang_next("chat.postMessage", seconds=2)  # Slack posts it; the answer is late
    ts = outbox.post(CHANNEL, "Rollback executed", section("flags at 10 %"))
    assert ts is not None and is_handle(ts)
    assert len(fake_slack.channel_messages()) == 1  # it was made, the bot does not know
    clock.advance(timedelta(minutes=5))
    outbox.send_soon()
    [message] = fake_slack.channel_messages()
    assert outbox.ts_of(ts) == message.ts
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert len(fake_slack.calls_to("conversations.history")) == 1


def test_a_post_left_by_a_killed_replica_is_finished_by_another_once(
    db_url: str, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    dead, alive = (outbox_for(db_url, fake_slack, clock, owner) for owner in ("dead", "alive"))
    row_id = dead._add(kind="post", channel=CHANNEL, target="", text="executed")
    [claimed] = dead._claim()  # the dead replica claimed it, posted it, and was killed
    dead.transport.post(CHANNEL, "executed", [], None, row_id)
    alive.send_due()
    assert len(fake_slack.channel_messages()) == 1  # its lease still holds
    clock.advance(timedelta(minutes=2))
    alive.send_due()
    [message] = fake_slack.channel_messages()
    assert claimed.id == row_id and alive.ts_of(f"q:{row_id}") == message.ts


def test_two_senders_send_each_post_once(
    db_url: str, fake_slack: FakeSlack, clock: FakeClock
) -> None:
    first, second = (outbox_for(db_url, fake_slack, clock, owner) for owner in ("a", "b"))
    for n in range(40):
        first._add(kind="post", channel=f"#c{n % 4}", target="", text=f"post {n}")
    threads = [threading.Thread(target=box.send_due) for box in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    clock.advance(timedelta(minutes=10))  # what a refused connection left for a later try
    first.send_due()
    texts = sorted(m.text for m in fake_slack.channel_messages())
    assert texts == sorted(f"post {n}" for n in range(40))


def test_a_refused_post_is_marked_failed_not_retried(
    outbox: Outbox, fake_slack: FakeSlack, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = fake_slack._post_message
    monkeypatch.setattr(  # Slack's answer for a channel the bot cannot post in
        fake_slack,
        "_post_message",
        lambda p: (
            {"ok": False, "error": "channel_not_found"} if p["channel"] == "#gone" else post(p)
        ),
    )
    assert outbox.post("#gone", "y", []) is None  # refused for good: the caller is told
    clock.advance(timedelta(hours=1))
    outbox.send_soon()
    [row] = rows(outbox)
    assert (row.status, row.last_error, row.attempts) == (
        OutboxStatus.FAILED,
        "channel_not_found",
        1,
    )
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


@pytest.fixture
def playbook() -> Playbook:
    return rollback_playbook()


@pytest.fixture
def sender(live_bot: LiveBot) -> Iterator[threading.Event]:
    stopping = threading.Event()
    live_bot.services.poster.start(stopping)
    yield stopping
    stopping.set()


def test_the_runbook_finishes_while_slack_is_down_and_the_war_room_hears_once(
    live_bot: LiveBot, sender: threading.Event, clock: FakeClock
) -> None:
    live_bot.command("checkout errors at 5 %", user=SRE, command="/rollback")
    message = request_message(live_bot)
    click(live_bot, PRODUCT, RollbackAction.APPROVE, "1", message)
    live_bot.fake.wait_for(lambda f: "product*: <@" in str(message.blocks))
    live_bot.fake.fail_next("chat.postMessage", 500, times=10_000)
    live_bot.fake.fail_next("chat.update", 500, times=10_000)
    click(live_bot, SUPPORT, RollbackAction.APPROVE, "1", message)
    eventually(lambda: live_bot.services.rollback.view(1).request.status == RollbackStatus.DONE)
    assert not any(m.text.startswith("Rollback executed") for m in live_bot.fake.messages)
    live_bot.fake.faults.clear()

    def executed() -> list:
        return [m for m in live_bot.fake.channel_messages() if "executed" in m.text.lower()]

    def slack_back() -> bool:  # the outbox's next tries, as the watchdog's ticks make them
        clock.advance(timedelta(minutes=10))
        live_bot.services.poster.send_soon()
        return bool(executed()) and "done" in message.text

    eventually(slack_back)
    assert len(executed()) == 1 and not buttons(message)


def test_commands_do_not_hold_threads_on_slack_rate_limits(
    live_bot: LiveBot, sender: threading.Event, clock: FakeClock
) -> None:
    """Twelve `/rollout set`s while Slack answers 429 with Retry-After: every command is
    answered while one outbox worker waits on Slack; then each announcement is posted once."""
    live_bot.fake.fail_next("chat.postMessage", 429, times=1000, retry_after=3)
    percents = list(range(5, 17))
    for p in percents:
        assert live_bot.command(f"set SMART_PRICING {p} internal_beta -- load").status_code == 200

    # every command is answered (a set, or a refusal when two sets raced) while Slack
    # still refuses the announcements
    eventually(lambda: len(live_bot.fake.ephemerals(SRE)) >= len(percents))
    with Session(live_bot.services.engine) as session:
        made = session.exec(select(DecisionRecord).where(DecisionRecord.action == "rollout.set"))
        sets = len(made.all())
    receipts = [m.text for m in live_bot.fake.ephemerals(SRE) if m.text.startswith("Done")]
    assert sets >= 1 and len(receipts) == sets
    assert all("Slack has not taken the announcement" in t for t in receipts)
    assert len(live_bot.fake.calls_to("chat.postMessage")) < len(percents)  # not one each
    live_bot.fake.faults.clear()

    def all_sent() -> bool:  # the outbox's next tries, as the watchdog's ticks make them
        clock.advance(timedelta(minutes=10))
        live_bot.services.poster.send_soon()
        return all(r.status == OutboxStatus.SENT for r in rows(live_bot.services.poster))

    eventually(all_sent, timeout=60)
    announced = [m for m in live_bot.fake.channel_messages() if "SMART_PRICING" in m.text]
    assert len(announced) == sets
