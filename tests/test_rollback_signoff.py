"""Sign-off rules through the real Bolt app, with signed block_actions payloads."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any, cast

import pytest

from bot.clock import FakeClock
from bot.ids.rollback import RollbackAction, RollbackBlock, RollbackView
from bot.local import payloads
from bot.local.fake_slack import FakeSlack, Message
from bot.playbook import Playbook
from bot.rollback.display import RequestDisplay
from bot.rollback.model import RequestView
from bot.rollback.notify import RollbackNotifier
from bot.rollback.requests import TRANSITIONS, sources
from bot.rollback.service import RollbackService
from bot.rollback.store import RequestStore
from bot.services import Services, build_services
from bot.settings import Settings
from bot.slack_out.outbox import Outbox
from bot.slack_out.poster import SlackTransport
from bot.slack_out.rollback_notifier import SlackRollbackNotifier
from storage.status import ROLLBACK_CLOSED, RollbackStatus
from tests.conftest import GTM, ONCALL, PRODUCT, SRE, SUPPORT, HttpResponse, LiveBot
from tests.rollback_support import PRODUCT2, buttons, click, request_message, rollback_playbook

APPROVE = RollbackAction.APPROVE


@pytest.fixture
def playbook() -> Playbook:
    return rollback_playbook()


def open_request(bot: LiveBot, user: str = SRE, text: str = "checkout errors at 5 %") -> Message:
    bot.command(text, user=user, command="/rollback")
    return request_message(bot)


def ephemeral_texts(bot: LiveBot, user: str) -> str:
    return "\n".join(m.text for m in bot.fake.ephemerals(user))


SIGN_OFF_CASES = [
    # (requester, clicks, final status, a refusal that must have been shown to someone)
    (SRE, [PRODUCT, SUPPORT], RollbackStatus.DONE, None),
    (SRE, [SUPPORT, PRODUCT], RollbackStatus.DONE, None),
    (SRE, [PRODUCT, PRODUCT], RollbackStatus.OPEN, (PRODUCT, "already signed this request")),
    (
        SRE,
        [PRODUCT, PRODUCT2],
        RollbackStatus.OPEN,
        (PRODUCT2, "`product` sign-off is already given"),
    ),
    (SRE, [SRE], RollbackStatus.OPEN, (SRE, "Only a member of `product` or `support`")),
    (SRE, [GTM, ONCALL], RollbackStatus.OPEN, (ONCALL, "Only a member of `product` or `support`")),
    (PRODUCT, [PRODUCT, SUPPORT], RollbackStatus.OPEN, (PRODUCT, "You asked for this rollback")),
    (SUPPORT, [PRODUCT, SUPPORT], RollbackStatus.OPEN, (SUPPORT, "You asked for this rollback")),
]


@pytest.mark.parametrize(("requester", "clickers", "status", "refusal"), SIGN_OFF_CASES)
def test_sign_off_rules(
    live_bot: LiveBot,
    requester: str,
    clickers: list[str],
    status: RollbackStatus,
    refusal: tuple[str, str] | None,
) -> None:
    message = open_request(live_bot, user=requester)

    def answered(user: str) -> int:
        """What a click leads to: a message update, or an ephemeral refusal."""
        return len(live_bot.fake.calls_to("chat.update")) + len(live_bot.fake.ephemerals(user))

    for user in clickers:
        before = answered(user)
        click(live_bot, user, APPROVE, "1", message)
        live_bot.fake.wait_for(lambda f, u=user, n=before: answered(u) > n, timeout=5)
    live_bot.services.runbook.wait_idle()
    view = live_bot.services.rollback.view(1)
    assert view.request.status == status
    if refusal:
        who, text = refusal
        live_bot.fake.wait_for(lambda f: text in ephemeral_texts(live_bot, who))
    if status == RollbackStatus.DONE:
        flags = {
            f.name: (f.percent, f.segments) for f in live_bot.services.rollout.flags.list_flags()
        }
        assert flags == {
            "ADVANCED_CHECKOUT": (10, ["internal_beta"]),
            "SMART_PRICING": (10, ["internal_beta"]),
        }
        assert "done" in message.text and "MTTR" in str(message.blocks)
        assert not buttons(message)


def test_approve_asks_for_confirmation_and_says_what_the_last_sign_off_starts(
    live_bot: LiveBot,
) -> None:
    message = open_request(live_bot)
    first = buttons(message)[APPROVE]["confirm"]
    assert "first sign-off" in first["text"]["text"]
    click(live_bot, PRODUCT, APPROVE, "1", message)
    live_bot.fake.wait_for(lambda f: "product*: <@" in str(message.blocks))
    last = buttons(message)[APPROVE]["confirm"]
    assert last["title"]["text"] == "Start the production rollback?"
    assert "last sign-off: the runbook starts now" in last["text"]["text"]
    assert "SMART_PRICING to 10 % (internal_beta)" in last["text"]["text"]
    assert last["confirm"]["text"] == "Approve and roll back"


def test_double_click_and_simultaneous_clicks_sign_once(live_bot: LiveBot) -> None:
    message = open_request(live_bot)
    threads = [
        threading.Thread(target=click, args=(live_bot, user, APPROVE, "1", message))
        for user in (PRODUCT, PRODUCT2, PRODUCT)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    live_bot.fake.wait_for(lambda f: len(f.ephemerals(PRODUCT)) + len(f.ephemerals(PRODUCT2)) >= 2)
    approvals = live_bot.services.rollback.view(1).approvals
    assert [a.role for a in approvals] == ["product"]
    click(live_bot, SUPPORT, APPROVE, "1", message)
    click(live_bot, SUPPORT, APPROVE, "1", message)  # a double click on the last sign-off
    live_bot.fake.wait_for(lambda f: f.ephemerals(SUPPORT))
    live_bot.fake.wait_for(
        lambda f: live_bot.services.rollback.view(1).request.status == "done", timeout=20
    )
    live_bot.services.runbook.wait_idle()
    records = [r.action for r in live_bot.services.rollout.history("50")]
    assert records.count("rollback.approved") == 1 and records.count("rollback.done") == 1


def test_reject_through_the_modal_with_a_reason(live_bot: LiveBot) -> None:
    message = open_request(live_bot)
    click(live_bot, SUPPORT, RollbackAction.REJECT, "1", message)
    modal = live_bot.fake.wait_for(lambda f: f.views)[0]
    assert modal["callback_id"] == RollbackView.REJECT and modal["private_metadata"] == "1"

    def submit(reason: str) -> HttpResponse:
        body = payloads.view_submission(
            SUPPORT,
            modal,
            {RollbackBlock.REJECT_REASON: {RollbackBlock.REJECT_REASON_INPUT: reason}},
        )
        return live_bot.post(body)

    empty = submit("   ")
    assert empty.json()["response_action"] == "errors"
    assert "Say why" in empty.json()["errors"][RollbackBlock.REJECT_REASON]
    assert live_bot.services.rollback.view(1).request.status == RollbackStatus.OPEN
    assert submit("error rate already back under 1 %").status_code == 200
    live_bot.fake.wait_for(lambda f: "rejected" in message.text)
    assert live_bot.services.rollback.view(1).request.status == RollbackStatus.REJECTED
    assert not buttons(message)
    click(live_bot, PRODUCT, APPROVE, "1", message)  # a stale button
    live_bot.fake.wait_for(lambda f: "was rejected" in ephemeral_texts(live_bot, PRODUCT))


def test_an_expired_request_refuses_sign_off_and_says_so(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    message = open_request(live_bot)
    click(live_bot, PRODUCT, APPROVE, "1", message)
    live_bot.fake.wait_for(lambda f: "product*: <@" in str(message.blocks))
    clock.advance(timedelta(minutes=31))
    click(live_bot, SUPPORT, APPROVE, "1", message)
    live_bot.fake.wait_for(lambda f: "expired at" in ephemeral_texts(live_bot, SUPPORT))
    assert live_bot.services.rollback.view(1).request.status == RollbackStatus.EXPIRED
    live_bot.fake.wait_for(lambda f: "no longer work" in str(message.blocks))
    assert not buttons(message)


def test_a_critical_request_that_expires_unsigned_is_escalated_to_oncall(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    live_bot.command("incident 2 checkout down", user=SRE, command="/rollback")  # critical
    message = request_message(live_bot)
    click(live_bot, PRODUCT, APPROVE, "1", message)
    live_bot.fake.wait_for(lambda f: "product*: <@" in str(message.blocks))
    clock.advance(timedelta(minutes=31))
    live_bot.services.rollback.housekeeping()  # the runbook watch's round
    escalation = live_bot.fake.wait_for(
        lambda f: next((m for m in f.channel_messages() if "Escalated to on-call" in m.text), None)
    )
    assert f"<@{ONCALL}>" in escalation.text and "`support`" in escalation.text
    assert "`product`" not in escalation.text  # product signed in time
    in_thread = [m for m in live_bot.fake.channel_messages() if m.thread_ts == message.ts]
    assert any(f"<@{ONCALL}>" in m.text and "Break glass" in m.text for m in in_thread)


def test_an_ordinary_request_that_expires_is_not_escalated(
    live_bot: LiveBot, clock: FakeClock
) -> None:
    message = open_request(live_bot)  # not critical: nothing to break glass on
    clock.advance(timedelta(minutes=31))
    live_bot.services.rollback.housekeeping()
    live_bot.fake.wait_for(lambda f: "no longer work" in str(message.blocks))
    assert not any("Escalated" in m.text for m in live_bot.fake.channel_messages())


def test_break_glass_needs_a_critical_request_and_collects_sign_offs_after(
    live_bot: LiveBot,
) -> None:
    message = open_request(live_bot)
    assert RollbackAction.BREAK_GLASS not in buttons(message)
    live_bot.command("incident 1 2", user=PRODUCT, command="/rollback")  # product may declare
    live_bot.fake.wait_for(lambda f: RollbackAction.BREAK_GLASS in buttons(message))
    click(live_bot, PRODUCT, RollbackAction.BREAK_GLASS, "1", message)
    live_bot.fake.wait_for(
        lambda f: "needs the `sre` or `oncall` role" in ephemeral_texts(live_bot, PRODUCT)
    )
    click(live_bot, ONCALL, RollbackAction.BREAK_GLASS, "1", message)
    live_bot.fake.wait_for(  # not "executing, then wait_idle": the runbook is handed to the
        # runner just after the status commits, so wait_idle could come before it
        lambda f: live_bot.services.rollback.view(1).request.status == RollbackStatus.DONE,
        timeout=20,
    )
    live_bot.services.runbook.wait_idle()
    view = live_bot.services.rollback.view(1)
    assert view.request.status == RollbackStatus.DONE and view.request.break_glass_by == ONCALL
    assert "break glass" in str(message.blocks)
    assert RollbackAction.APPROVE in buttons(message)  # still asking for the sign-offs
    click(live_bot, PRODUCT, APPROVE, "1", message)
    click(live_bot, SUPPORT, APPROVE, "1", message)
    live_bot.fake.wait_for(lambda f: len(live_bot.services.rollback.view(1).approvals) == 2)
    assert all(a.after_execution for a in live_bot.services.rollback.view(1).approvals)
    live_bot.fake.wait_for(lambda f: RollbackAction.APPROVE not in buttons(message))


def test_bad_rollback_commands_are_refused_with_what_to_type(live_bot: LiveBot) -> None:
    for text, expected in [
        ("", "How to use /rollback"),
        ("SMART_PRICING", "Say why you ask for a rollback"),
        ("incident x 2", "is not a rollback request number"),
        ("incident 9 2", "There is no rollback request #9"),
        ("reject 1", "needs a request number and a reason"),
    ]:
        live_bot.command(text, user=SRE, command="/rollback")
        live_bot.fake.wait_for(lambda f, e=expected: e in ephemeral_texts(live_bot, SRE))
    live_bot.command("checkout down", user=GTM, command="/rollback")
    live_bot.fake.wait_for(lambda f: "needs the" in ephemeral_texts(live_bot, GTM))
    assert live_bot.services.rollback.recent() == []


def test_the_runbook_is_signed_jointly_per_version(live_bot: LiveBot) -> None:
    live_bot.command("plan", user=PRODUCT, command="/rollback")
    plan = live_bot.ephemeral_after(0, user=PRODUCT)
    assert "Rollback runbook" in plan.text or plan.blocks[0]["text"]["text"] == "Rollback runbook"
    sign = buttons(plan)[RollbackAction.SIGN_PLAN]
    version = sign["value"]
    for user in (PRODUCT, PRODUCT2, SUPPORT):
        body = payloads.block_actions(
            user,
            "#phase1-war-room",
            plan.ts,
            sign["action_id"],
            version,
            RollbackBlock.PLAN_ACTIONS,
            live_bot.fake.response_url("#phase1-war-room", user),
        )
        live_bot.post(body)
        live_bot.fake.wait_for(lambda f, u=user: any(m is not plan for m in f.ephemerals(u)[-1:]))
    roles = sorted(s.role for s in live_bot.services.rollback.plan_signatures())
    assert roles == ["product", "support"]
    assert "already signed" in ephemeral_texts(live_bot, PRODUCT2)
    # a changed rollback section is a new version, unsigned
    services = live_bot.services
    services.rollback.playbook = services.playbook.model_copy(
        update={
            "rollback": services.playbook.rollback.model_copy(
                update={"caches": ["checkout-service"]}
            )
        }
    )
    assert services.rollback.plan_version() != version
    assert services.rollback.plan_signatures() == []


def test_the_request_state_machine() -> None:
    assert sources(RollbackStatus.EXPIRED) == [RollbackStatus.OPEN]
    assert sources(RollbackStatus.REJECTED) == [RollbackStatus.OPEN]
    assert sources(RollbackStatus.EXECUTING) == [
        RollbackStatus.OPEN,
        RollbackStatus.APPROVED,
        RollbackStatus.FAILED,
    ]
    assert all(not TRANSITIONS[closed] for closed in ROLLBACK_CLOSED)


class GatedTransport:
    """Slack's side of the outbox, where every post and update waits until the gate opens,
    as a slow Slack would."""

    def __init__(self, transport: SlackTransport) -> None:
        self.transport = transport
        self.gate = threading.Event()

    def post(self, *args: Any) -> tuple[str, str]:
        self.gate.wait(30)
        return self.transport.post(*args)

    def update(self, *args: Any) -> None:
        self.gate.wait(30)
        self.transport.update(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def test_an_approve_click_does_not_wait_on_slack(
    settings: Settings, clock: FakeClock, fake_slack: FakeSlack
) -> None:
    services = build_services(settings, rollback_playbook(), clock)
    transport = GatedTransport(services.poster.transport)
    # a stand-in with SlackTransport's interface
    outbox = Outbox(services.engine, cast(SlackTransport, transport), clock, "r1")
    store = RequestStore(services.engine, services.playbook)
    started: list[int] = []
    playbook = services.playbook
    notifier = SlackRollbackNotifier(outbox, playbook.zone, playbook.channels.war_room)
    rollback = RollbackService(
        store,
        RequestDisplay(store, notifier),
        playbook,
        services.authz,
        clock,
        services.rollout,
        start_runbook=started.append,
    )
    stopping = threading.Event()
    outbox.start(stopping)
    try:
        rollback.open(SRE, ["checkout", "broken"])  # Slack slow: its message waits in the outbox
        before = time.monotonic()
        rollback.approve(1, PRODUCT)
        view = rollback.approve(1, SUPPORT)
        assert time.monotonic() - before < 5  # the clicks wrote rows; they did not wait on Slack
        assert view.request.status == RollbackStatus.EXECUTING and started == [1]
        assert fake_slack.channel_messages() == []
        transport.gate.set()
        message = fake_slack.wait_for(lambda f: next(iter(f.channel_messages()), None), timeout=10)
        fake_slack.wait_for(lambda f: "support*: <@" in str(message.blocks), timeout=10)
        assert "product*: <@" in str(message.blocks)  # the last state, not an older one
        assert len(fake_slack.channel_messages()) == 1
    finally:
        transport.gate.set()
        stopping.set()


class HeldNotifier:
    """Records the reason each refresh shows; the first one waits until it is released.
    `moved` is set when a later refresh has handed its state over."""

    def __init__(self, moved: threading.Event) -> None:
        self.shown: list[str] = []
        self.holding, self.release, self.moved = threading.Event(), threading.Event(), moved

    def refresh(self, view: RequestView) -> tuple[str, str] | None:
        if not self.holding.is_set():
            self.holding.set()
            self.release.wait(30)
        else:
            self.moved.set()
        self.shown.append(view.request.reason)
        return None


class ObservedLock:
    """A lock that sets `waited` when someone has to wait for it."""

    def __init__(self, waited: threading.Event) -> None:
        self.lock, self.waited = threading.Lock(), waited

    def __enter__(self) -> None:
        if not self.lock.acquire(blocking=False):
            self.waited.set()
            self.lock.acquire()

    def __exit__(self, *_: object) -> None:
        self.lock.release()


def test_of_two_refreshes_the_newer_state_is_handed_over_last(services: Services) -> None:
    """A refresh that read the request first and is slow to hand it over holds the next
    one back: an older state never follows a newer one into the outbox."""
    services.rollback.open(SRE, ["checkout", "broken"])
    store, moved = RequestStore(services.engine, services.playbook), threading.Event()
    notifier = HeldNotifier(moved)
    display = RequestDisplay(store, cast(RollbackNotifier, notifier))  # only refresh is called
    display._locks[1] = cast(threading.Lock, ObservedLock(moved))  # a lock, observed
    first = threading.Thread(target=display.refresh, args=(1,))
    first.start()
    assert notifier.holding.wait(10)  # it has read the request as it was
    older = store.view(1).request.reason
    store.update(1, {"reason": "worse"})
    second = threading.Thread(target=display.refresh, args=(1,))
    second.start()
    assert moved.wait(10)  # the second waits behind the first, or has gone ahead of it
    notifier.release.set()
    first.join(10)
    second.join(10)
    assert notifier.shown == [older, "worse"]
