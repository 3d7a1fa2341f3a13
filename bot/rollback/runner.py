"""The runbook runner: executes a request's steps in order, each persisted as it starts and
ends. A failing step is retried with backoff, then marked failed with what to do by hand;
the runbook stops there until someone retries it or finishes the step by hand. One replica
runs a request at a time (a lease, renewed while a step runs); a restart resumes from the
first step not done (steps are idempotent and record their sub-actions)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

from bot.authz import SYSTEM_ACTOR, Authorizer
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import WarroomError
from bot.integrations import IntegrationError
from bot.observability import log_event
from bot.playbook import Playbook
from bot.rollback.display import RequestDisplay
from bot.rollback.model import MttrGoal
from bot.rollback.steps import Step, StepError, StepResult
from bot.rollback.store import RequestStore
from storage.models import RunbookStep
from storage.status import RollbackStatus, StepStatus

log = logging.getLogger(__name__)

Status = RollbackStatus
FINISHED = (StepStatus.DONE, StepStatus.SKIPPED)
STOPPED = (StepStatus.FAILED, StepStatus.WAITING)  # a person acts before it goes on


class RunbookRunner:
    def __init__(
        self,
        store: RequestStore,
        display: RequestDisplay,
        steps: Mapping[str, Step],
        playbook: Playbook,
        clock: Clock,
        authz: Authorizer,
        owner: str,
        sleep: Callable[[float], None] = time.sleep,
        lease_seconds: float = 60,
    ) -> None:
        self.store = store
        self.display = display
        self.steps = dict(steps)
        self.playbook = playbook
        self.clock = clock
        self.authz = authz
        self.sleep = sleep
        self.lease = timedelta(seconds=lease_seconds)
        self.owner = owner
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="runbook")
        self._futures: set[Future[None]] = set()
        self._running: set[int] = set()
        self._lock = threading.Lock()

    # ---- starting and waiting ------------------------------------------------------------
    def start(self, request_id: int) -> None:
        future = self._pool.submit(self._run_once_here, request_id)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        # runs in the runbook's thread as it ends: under the lock, or wait_idle's look at
        # the set could see it change size mid-iteration
        with self._lock:
            self._futures.discard(future)

    def wait_idle(self, timeout: float = 30) -> None:
        """Until every runbook started here has stopped; its messages are in the outbox by
        then (and in Slack, where no outbox sender runs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                pending = [f for f in self._futures if not f.done()]
            if not pending:
                return
            for f in pending:
                f.result(timeout=max(0.0, deadline - time.monotonic()))
        raise TimeoutError("the runbook did not finish in time")

    def resume_in_flight(self) -> list[int]:
        """Every executing request is taken up again (the lease keeps a live one where it is)."""
        ids = self.store.ids_in(Status.EXECUTING)
        for request_id in ids:
            self.start(request_id)
        return ids

    def watch(self, stop: threading.Event, *also: Callable[[], None]) -> None:
        """Every lease period: take up runbooks whose replica died, then run `also`
        (the requests' housekeeping)."""
        interval = max(self.lease.total_seconds(), 0.5)

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.resume_in_flight()
                    for job in also:
                        job()
                except Exception:  # noqa: BLE001 - a bad round is logged, the watch goes on
                    log.exception("runbook.watch")

        threading.Thread(target=loop, daemon=True, name="runbook-watch").start()

    def _run_once_here(self, request_id: int) -> None:
        with self._lock:
            if request_id in self._running:
                return  # this process is already running it
            self._running.add(request_id)
        try:
            self.run(request_id)
        except Exception:
            log.exception("runbook.crash", extra={"fields": {"request": request_id}})
            raise
        finally:
            with self._lock:
                self._running.discard(request_id)

    def _claim(self, request_id: int) -> bool:
        return self.store.claim_lease(request_id, self.owner, self.clock.now(), self.lease)

    @contextmanager
    def _heartbeat(self, request_id: int) -> Iterator[None]:
        """Renew the claim while a long step (the e2e test) runs, so no replica takes over."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease.total_seconds() / 3):
                self._claim(request_id)

        thread = threading.Thread(target=beat, daemon=True, name=f"lease-{request_id}")
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    # ---- running -------------------------------------------------------------------------
    def run(self, request_id: int) -> None:
        if not self._claim(request_id):
            return  # another replica holds it, or it is not executing
        for step in self.store.view(request_id).steps:
            if step.status in FINISHED:
                continue
            if step.status in STOPPED or not self._claim(request_id):
                return
            if not self._run_step(request_id, step):
                return
        self._finish(request_id)

    def _run_step(self, request_id: int, step: RunbookStep) -> bool:
        """True when the runbook goes on to the next step."""
        attempts = self.playbook.rollback.step_attempts
        error = ""
        for attempt in range(1, attempts + 1):
            now = self.clock.now()
            tries = step.attempts + attempt
            self.store.save_step(
                step.id, status=StepStatus.RUNNING, attempts=tries, started_at=now, error=""
            )
            self.display.refresh(request_id)
            started = time.monotonic()
            result, error = self._attempt(request_id, step)
            if result is not None:
                seconds = round(time.monotonic() - started, 3)
                self._ended(request_id, step, result, seconds, attempt)
                return result.status != StepStatus.WAITING
            log_event(
                log,
                "runbook.step",
                logging.WARNING,
                request=request_id,
                step=step.name,
                attempt=attempt,
                outcome="error",
                error=error[:200],
            )
            if attempt < attempts:
                self.sleep(self.playbook.rollback.step_backoff_seconds * 2 ** (attempt - 1))
        self._failed(request_id, step, error, attempts)
        return False

    def _attempt(self, request_id: int, step: RunbookStep) -> tuple[StepResult | None, str]:
        """One try of a step, with the request as it is now: its result, or what went wrong."""
        try:
            view = self.store.view(request_id)
            with self._heartbeat(request_id):
                return self.steps[step.name].run(view, view.step(step.id)), ""
        except (StepError, IntegrationError, WarroomError) as exc:
            return None, getattr(exc, "message", None) or str(exc)
        except Exception as exc:  # noqa: BLE001 - an unforeseen fault is a failed try too,
            # never a runbook left "running" with nobody told
            log.exception("runbook.step", extra={"fields": {"request": request_id}})
            return None, f"unexpected {type(exc).__name__}: {str(exc)[:200]}"

    def _ended(
        self, request_id: int, step: RunbookStep, result: StepResult, seconds: float, attempt: int
    ) -> None:
        output = {**(result.output or {}), "seconds": seconds}
        self.store.save_step(
            step.id, status=result.status, ended_at=self.clock.now(), output=output, error=""
        )
        log_event(
            log,
            "runbook.step",
            request=request_id,
            step=step.name,
            outcome=result.status,
            attempt=attempt,
        )
        self.display.refresh(request_id)

    def _failed(self, request_id: int, step: RunbookStep, error: str, attempts: int) -> None:
        by_hand = self.steps[step.name].by_hand_for(self.store.view(request_id))
        now = self.clock.now()
        self.store.save_step(
            step.id,
            status=StepStatus.FAILED,
            ended_at=now,
            error=f"{error} (tried {attempts}×). By hand: {by_hand}",
        )
        self.store.transition(
            request_id,
            allowed=[Status.EXECUTING],
            values={"status": Status.FAILED},
            at=now,
            decision=Decision(
                actor=SYSTEM_ACTOR,
                action="runbook.step_failed",
                subject=f"rollback#{request_id}",
                before=None,
                after={"step": step.name},
                reason=error,
                evidence={"attempts": attempts},
                outcome="failed",
            ),
        )
        self.display.refresh(request_id)
        title = self.steps[step.name].title
        self.display.say(request_id, lambda n, v: n.step_failed(v, title, attempts, error, by_hand))

    def _finish(self, request_id: int) -> None:
        now = self.clock.now()
        done = self.store.transition(
            request_id,
            allowed=[Status.EXECUTING],
            values={"status": Status.DONE, "closed_at": now, "lease_until": None},
            at=now,
            decision=Decision(
                actor=SYSTEM_ACTOR,
                action="rollback.done",
                subject=f"rollback#{request_id}",
                before={"status": Status.EXECUTING},
                after={"status": Status.DONE},
                reason="runbook completed",
            ),
        )
        if not done:
            return
        self.display.refresh(request_id)
        goal = MttrGoal.of(self.playbook)
        self.display.say(request_id, lambda n, v: n.completed(v, v.mttr_seconds, goal))
        for waiting in self.store.promote_waiting(self.clock.now()):
            self.start(waiting)

    # ---- people finishing what the runbook could not -------------------------------------
    def retry(self, request_id: int, user: str) -> None:
        self.authz.require(user, "rollback.operate")
        self._resume_failed(request_id, user, by_hand=False)

    def done_by_hand(self, request_id: int, user: str) -> None:
        self.authz.require(user, "rollback.operate")
        self._resume_failed(request_id, user, by_hand=True)

    def confirm_metrics(self, request_id: int, user: str) -> None:
        self.authz.require(user, "rollback.operate")
        view = self.store.view(request_id)
        step = next(
            (s for s in view.steps if s.name == "verify" and s.status == StepStatus.WAITING), None
        )
        if step is None:
            raise WarroomError(
                "There is no metrics check waiting on this rollback.", "Nothing was changed."
            )
        checks = self.playbook.rollback.verify.checks
        decision = Decision(
            actor=user,
            action="rollback.metrics_confirmed",
            subject=f"rollback#{request_id}",
            before=None,
            after={"checks": [c.model_dump() for c in checks]},
            reason="confirmed on the dashboards",
        )
        if not self.store.confirm_metrics(step.id, user, decision, self.clock.now()):
            raise WarroomError("Someone else just confirmed the metrics.", "Nothing was changed.")
        self.start(request_id)

    def _resume_failed(self, request_id: int, user: str, by_hand: bool) -> None:
        view = self.store.view(request_id)
        step = next((s for s in view.steps if s.status == StepStatus.FAILED), None)
        if step is None or view.request.status != Status.FAILED:
            raise WarroomError(
                "No step of this rollback is waiting after a failure.", "Nothing was changed."
            )
        now = self.clock.now()
        status = StepStatus.DONE if by_hand else StepStatus.PENDING
        values: dict[str, object] = {"status": status, "done_by": user if by_hand else ""}
        if by_hand:
            values["ended_at"] = now
        decision = Decision(
            actor=user,
            action="rollback.step_by_hand" if by_hand else "rollback.retry_step",
            subject=f"rollback#{request_id}",
            before={"step": step.name, "status": StepStatus.FAILED},
            after={"step": step.name, "status": status},
            reason=step.error[:300],
        )
        if not self.store.resume(request_id, step.id, values, now, decision):
            raise WarroomError("Someone else just resumed this rollback.", "")
        if by_hand and step.name == "verify":
            self.store.mark_recovered(request_id, now)
        self.start(request_id)
