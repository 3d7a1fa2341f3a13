"""The last sign-off starts the runbook exactly once, whatever clicks arrive together: the
approval and the decision "both roles signed → start" are one transaction on the request's
row, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import cast

import pytest
from sqlmodel import Session, select

from bot.clock import FakeClock
from bot.errors import Refusal
from bot.ids.rollback import RollbackAction
from bot.local.fake_slack import Message
from bot.playbook import Playbook
from bot.rollback.display import RequestDisplay
from bot.rollback.model import RequestView
from bot.rollback.notify import RollbackNotifier
from bot.services import Services
from storage.db import session_scope
from storage.models import DecisionRecord, RollbackApproval
from storage.status import RollbackStatus
from tests.conftest import PRODUCT, SRE, SUPPORT, LiveBot
from tests.rollback_support import PRODUCT2, click, request_message, rollback_playbook

SUPPORT2 = "U0SUPP0002"
APPROVE = RollbackAction.APPROVE
# 50 trials of the race at the service layer, where a trial (open, two approvals) costs
# tens of ms: the window is all there (each click reads the request, signs,
# then decides), nothing in front of it narrows it, and without the single transaction
# nearly every trial loses both starts. Through the real app (signed block_actions, Bolt's
# worker threads) a trial waits on the HTTP round trips and the ephemeral replies too, so
# fewer of them show that the clicks arrive there as concurrently; the burst runs a real
# runbook to its end.
SERVICE_TRIALS, LIVE_TRIALS = 50, 10


@pytest.fixture
def playbook() -> Playbook:
    book = rollback_playbook()
    roles = {**book.roles, "support": [*book.roles["support"], SUPPORT2]}
    return book.model_copy(update={"roles": roles})


def at_once(*calls: Callable[[], object]) -> list[object]:
    """Run the calls on threads released together; each one's result or its Refusal."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except Refusal as refusal:
            results[i] = refusal

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def count_starts(services: Services, close: bool) -> Counter[int]:
    """Every start the sign-off hands to the runbook, by request; with `close` the request
    is marked done there (no runbook runs, so the next trial's flags are free)."""
    starts: Counter[int] = Counter()
    start, rollback = services.rollback.start_runbook, services.rollback
    lock = threading.Lock()

    def counted(request_id: int) -> None:
        with lock:
            starts[request_id] += 1
        if not close:
            start(request_id)
            return
        rollback.store.transition(
            request_id,
            allowed=[RollbackStatus.EXECUTING],
            values={"status": RollbackStatus.DONE, "closed_at": rollback.clock.now()},
            at=rollback.clock.now(),
        )

    services.rollback.start_runbook = counted
    return starts


def left_behind(services: Services) -> list[str]:
    """Requests fully signed but not started, or approved while nothing runs."""
    rollback, found = services.rollback, []
    for request_id in rollback.store.recent_ids(1000):
        view = rollback.view(request_id)
        if view.request.status == RollbackStatus.OPEN and view.signed:
            found.append(f"#{request_id} open with both sign-offs")
    if rollback.store.ids_in(RollbackStatus.APPROVED) and not rollback.store.ids_in(
        RollbackStatus.EXECUTING
    ):
        found.append(f"approved and idle: {rollback.store.ids_in(RollbackStatus.APPROVED)}")
    return found


class Unseen:
    """A notifier that shows nothing: the message is not what these trials are about."""

    def refresh(self, view: RequestView) -> None:
        return None

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def test_simultaneous_last_sign_offs_start_the_runbook_once(services: Services) -> None:
    starts = count_starts(services, close=True)
    rollback, opened = services.rollback, []
    rollback.display = RequestDisplay(rollback.store, cast(RollbackNotifier, Unseen()))
    for _ in range(SERVICE_TRIALS):
        request_id = rollback.open(SRE, ["checkout", "errors"]).id
        opened.append(request_id)
        results = at_once(
            partial(rollback.approve, request_id, PRODUCT),
            partial(rollback.approve, request_id, SUPPORT),
        )
        assert not [r for r in results if isinstance(r, Refusal)], results
    missed = [i for i in opened if starts[i] != 1]
    assert not missed, (
        f"{len(missed)} of {SERVICE_TRIALS} trials did not start their runbook exactly once: "
        f"{ {i: starts[i] for i in missed} }"
    )
    assert not left_behind(services)
    assert approved_decisions(services) == SERVICE_TRIALS


def approved_decisions(services: Services) -> int:
    with Session(services.engine) as session:
        rows = session.exec(
            select(DecisionRecord).where(DecisionRecord.action == "rollback.approved")
        )
        return len(list(rows))


def test_simultaneous_sign_off_clicks_through_the_app(live_bot: LiveBot) -> None:
    services = live_bot.services
    starts = count_starts(services, close=True)  # the runbook itself: the burst below
    missed = []
    for trial in range(1, LIVE_TRIALS + 1):
        live_bot.command(f"checkout errors, trial {trial}", user=SRE, command="/rollback")
        message = request_message(live_bot, trial)
        at_once(
            partial(click, live_bot, PRODUCT, APPROVE, str(trial), message),
            partial(click, live_bot, SUPPORT, APPROVE, str(trial), message),
        )
        try:
            live_bot.fake.wait_for(
                lambda f, i=trial: services.rollback.view(i).request.status == "done", timeout=3
            )
        except TimeoutError:
            missed.append(trial)
    assert not missed, f"{len(missed)} of {LIVE_TRIALS} trials never started: {missed}"
    assert starts == Counter(range(1, LIVE_TRIALS + 1))
    assert not left_behind(services)


def test_a_burst_of_twelve_clicks_starts_one_runbook(live_bot: LiveBot) -> None:
    services = live_bot.services
    starts = count_starts(services, close=False)
    message = open_one(live_bot)
    clickers = [PRODUCT, PRODUCT2, SUPPORT, SUPPORT2] * 3  # double and triple clicks too
    at_once(*[lambda u=u: click(live_bot, u, APPROVE, "1", message) for u in clickers])
    refused = len(clickers) - 2  # one sign-off per role goes in

    def ephemerals() -> int:
        return sum(len(live_bot.fake.ephemerals(u)) for u in set(clickers))

    live_bot.fake.wait_for(lambda f: ephemerals() >= refused, timeout=10)
    live_bot.fake.wait_for(  # done, not "started": the runner gets it just after the commit
        lambda f: services.rollback.view(1).request.status == RollbackStatus.DONE, timeout=20
    )
    services.runbook.wait_idle()
    view = services.rollback.view(1)
    assert view.request.status == RollbackStatus.DONE
    assert sorted(a.role for a in view.approvals) == ["product", "support"]
    assert starts == Counter({1: 1})
    assert ephemerals() == refused
    decisions = [r.action for r in services.rollout.history("50")]
    assert decisions.count("rollback.approved") == 1
    assert decisions.count("rollback.approve") == 2


def open_one(bot: LiveBot) -> Message:
    bot.command("checkout errors at 5 %", user=SRE, command="/rollback")
    return request_message(bot)


def test_a_request_signed_but_never_started_is_started_by_the_housekeeping(
    services: Services, clock: FakeClock
) -> None:
    """As a crash or an older version could leave one: both sign-offs in, still open, and
    past its expiry. It is begun, never closed as expired."""
    starts = count_starts(services, close=True)
    rollback = services.rollback
    request_id = rollback.open(SRE, ["checkout", "errors"]).id
    with session_scope(services.engine) as session:
        for role, user in (("product", PRODUCT), ("support", SUPPORT)):
            session.add(
                RollbackApproval(
                    request_id=request_id, role=role, user=user, decision="approve", at=clock.now()
                )
            )
    assert left_behind(services)
    clock.advance(timedelta(minutes=31))
    rollback.housekeeping()
    rollback.housekeeping()
    assert starts == Counter({request_id: 1})
    assert rollback.view(request_id).request.status == RollbackStatus.DONE
    assert not left_behind(services)


def test_an_approved_request_left_waiting_is_started_by_the_housekeeping(
    services: Services,
) -> None:
    """It waited for a rollback of its flags that ended with nobody there to promote it."""
    starts = count_starts(services, close=True)
    rollback, store = services.rollback, services.rollback.store
    first = rollback.open(SRE, ["checkout", "errors"]).id
    now = rollback.clock.now()
    running = {"status": RollbackStatus.EXECUTING}
    assert store.transition(first, allowed=["open"], values=running, at=now)
    second = rollback.open(SRE, ["still", "errors"]).id
    rollback.approve(second, PRODUCT)
    assert rollback.approve(second, SUPPORT).request.status == RollbackStatus.APPROVED
    done = {"status": RollbackStatus.DONE}
    assert store.transition(first, allowed=["executing"], values=done, at=now)
    assert left_behind(services) and not starts
    rollback.housekeeping()
    rollback.housekeeping()
    assert starts == Counter({second: 1})
    assert not left_behind(services)
