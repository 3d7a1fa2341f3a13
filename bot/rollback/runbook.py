"""The seed's rollback runbook, executed step by step, each step persisted as it starts and
ends. A failing step is retried with backoff, then marked failed with what to do by hand;
the runbook stops there until someone retries it or finishes the step by hand. A restart
resumes from the last completed step (steps are idempotent; sub-actions already done are
recorded and not repeated)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import decision_log
from bot.authz import SYSTEM_ACTOR
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import WarroomError
from bot.integrations import IntegrationError, e2e, email, http_hooks, jira
from bot.integrations.metrics import MetricsReader
from bot.observability import log_event
from bot.playbook import Playbook
from bot.rollback.model import DONE, EXECUTING, FAILED, STEP_TITLES, RequestView
from bot.rollback.service import RollbackService
from bot.rollout import RolloutService
from bot.settings import Settings
from storage.db import session_scope
from storage.models import Postmortem, RollbackRequest, RunbookStep

log = logging.getLogger(__name__)

OPS = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__}
BY_HAND = {
    "freeze": "Freeze by hand: `/rollout freeze REASON`, and pause the deploy pipeline.",
    "revert": "Set each flag by hand in the flag manager to the rollback target.",
    "empty_rules": "Delete the external users' targeting rules of each flag in the flag manager.",
    "clear_caches": "Clear the caches of the listed services from their admin consoles.",
    "verify": "Check saga_success_rate and p95 latency on the dashboards and run the e2e test.",
    "communicate": "Post in the war room, email support and switch the banner on by hand.",
    "post_actions": "Open the Sev2 incident in Jira and book the post-mortem by hand.",
}


class StepError(Exception):
    """A step did not do its job; `message` says what was tried."""


@dataclass
class StepResult:
    status: str = "done"  # done | skipped | waiting
    output: dict[str, Any] = field(default_factory=dict)


def postmortem_time(executing_since: datetime, within_hours: int) -> datetime:
    """Within the window: the whole hour at or before executing_since + window."""
    return (executing_since + timedelta(hours=within_hours)).replace(
        minute=0, second=0, microsecond=0
    )


class Runbook:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        settings: Settings,
        clock: Clock,
        rollout: RolloutService,
        rollback: RollbackService,
        metrics: MetricsReader | None = None,
        sleep: Callable[[float], None] = time.sleep,
        lease_seconds: float = 60,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.settings = settings
        self.clock = clock
        self.rollout = rollout
        self.rollback = rollback
        self.metrics = metrics
        self.sleep = sleep
        self.lease = timedelta(seconds=lease_seconds)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="runbook")
        self._futures: set[Future] = set()
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self.steps: dict[str, Callable[[RequestView, RunbookStep], StepResult]] = {
            "freeze": self._freeze,
            "revert": self._revert,
            "empty_rules": self._empty_rules,
            "clear_caches": self._clear_caches,
            "verify": self._verify,
            "communicate": self._communicate,
            "post_actions": self._post_actions,
        }

    # ---- running -------------------------------------------------------------------------
    def start(self, request_id: int) -> None:
        future = self._pool.submit(self._run_logged, request_id)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(lambda f: self._futures.discard(f))

    def wait_idle(self, timeout: float = 30) -> None:
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
        """At start: every executing request whose lease has lapsed is taken up again."""
        with Session(self.engine) as session:
            ids = list(
                session.exec(select(RollbackRequest.id).where(RollbackRequest.status == EXECUTING))
            )
        for request_id in ids:
            if request_id is not None:
                self.start(request_id)
        return [i for i in ids if i is not None]

    def watch(self, stop: threading.Event) -> None:
        """Take up runbooks whose replica died: look again every lease period."""
        interval = max(self.lease.total_seconds(), 0.5)

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    self.resume_in_flight()
                    self.rollback.housekeeping()
                except Exception:  # noqa: BLE001 - a bad round is logged, the watch goes on
                    log.exception("runbook.watch")

        threading.Thread(target=loop, daemon=True, name="runbook-watch").start()

    def _run_logged(self, request_id: int) -> None:
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
        now = self.clock.now()
        with session_scope(self.engine) as session:
            return bool(
                session.execute(
                    update(RollbackRequest)
                    .where(
                        col(RollbackRequest.id) == request_id,
                        col(RollbackRequest.status) == EXECUTING,
                        or_(
                            col(RollbackRequest.lease_until).is_(None),
                            col(RollbackRequest.lease_until) < now,
                            col(RollbackRequest.lease_owner) == self.owner,
                        ),
                    )
                    .values(lease_owner=self.owner, lease_until=now + self.lease)
                ).rowcount
            )

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

    def run(self, request_id: int) -> None:
        if not self._claim(request_id):
            return  # another replica holds it, or it is not executing
        view = self.rollback.view(request_id)
        for step in view.steps:
            if step.status in ("done", "skipped"):
                continue
            if step.status in ("failed", "waiting"):
                return  # a person retries it, finishes it by hand, or confirms
            if not self._claim(request_id):
                return
            if not self._run_step(request_id, step):
                return
        self._finish(request_id)

    def _run_step(self, request_id: int, step: RunbookStep) -> bool:
        attempts = self.playbook.rollback.step_attempts
        error = ""
        for attempt in range(1, attempts + 1):
            self._save(
                step.id,
                status="running",
                attempts=step.attempts + attempt,
                started_at=self.clock.now(),
                error="",
            )
            self._show(request_id)
            started = time.monotonic()
            try:
                view = self.rollback.view(request_id)
                current = next(s for s in view.steps if s.id == step.id)
                with self._heartbeat(request_id):
                    result = self.steps[step.name](view, current)
            except (StepError, IntegrationError, WarroomError) as exc:
                error = getattr(exc, "message", None) or str(exc)
                result = None
            except Exception as exc:  # noqa: BLE001 - an unforeseen fault is a failed try too,
                # never a runbook left "running" with nobody told
                error = f"unexpected {type(exc).__name__}: {str(exc)[:200]}"
                log.exception("runbook.step", extra={"fields": {"request": request_id}})
                result = None
            if result is None:
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
                continue
            output = {**(result.output or {}), "seconds": round(time.monotonic() - started, 3)}
            self._save(
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
            self._show(request_id)
            return result.status != "waiting"
        self._save(
            step.id,
            status="failed",
            ended_at=self.clock.now(),
            error=f"{error} (tried {attempts}×). By hand: {BY_HAND[step.name]}",
        )
        with session_scope(self.engine) as session:
            session.execute(
                update(RollbackRequest)
                .where(col(RollbackRequest.id) == request_id)
                .values(status=FAILED)
            )
            decision_log.append_in(
                session,
                Decision(
                    actor=SYSTEM_ACTOR,
                    action="runbook.step_failed",
                    subject=f"rollback#{request_id}",
                    before=None,
                    after={"step": step.name},
                    reason=error,
                    evidence={"attempts": attempts},
                    outcome="failed",
                ),
                self.clock.now(),
            )
        view = self._show(request_id)
        self.rollback.notifier.thread(
            view,
            f":x: Step *{STEP_TITLES[step.name]}* failed after "
            f"{attempts} tries: {error}\nBy hand: "
            f"{BY_HAND[step.name]}",
        )
        return False

    def _finish(self, request_id: int) -> None:
        now = self.clock.now()
        with session_scope(self.engine) as session:
            changed = session.execute(
                update(RollbackRequest)
                .where(
                    col(RollbackRequest.id) == request_id, col(RollbackRequest.status) == EXECUTING
                )
                .values(status=DONE, closed_at=now, lease_until=None)
            ).rowcount
            if changed:
                decision_log.append_in(
                    session,
                    Decision(
                        actor=SYSTEM_ACTOR,
                        action="rollback.done",
                        subject=f"rollback#{request_id}",
                        before={"status": EXECUTING},
                        after={"status": DONE},
                        reason="runbook completed",
                    ),
                    now,
                )
        if changed:
            view = self._show(request_id)
            mttr = view.mttr_seconds
            goal = "within" if mttr is not None and mttr < 30 * 60 else "OVER"
            self.rollback.notifier.thread(
                view,
                ":white_check_mark: Rollback complete."
                + (f" MTTR {mttr / 60:.1f} min ({goal} the 30 min goal)." if mttr else ""),
            )
            self.rollback.start_next_approved()

    def _save(self, step_id: int | None, **values: Any) -> None:
        with session_scope(self.engine) as session:
            step = session.get(RunbookStep, step_id)
            assert step is not None
            for key, value in values.items():
                setattr(step, key, value)
            session.add(step)

    def _merge_output(self, step_id: int | None, **values: Any) -> None:
        """Record a sub-action as done at once, so a retry or a restart does not repeat it."""
        with session_scope(self.engine) as session:
            step = session.get(RunbookStep, step_id)
            assert step is not None
            step.output = {**(step.output or {}), **values}
            session.add(step)

    def _show(self, request_id: int) -> RequestView:
        return self.rollback.show(request_id)

    # ---- people finishing what the runbook could not -------------------------------------
    def retry(self, request_id: int, user: str) -> None:
        self.rollback.authz.require(user, "rollback.operate")
        self._resume_failed(request_id, user, "rollback.retry_step", by_hand=False)

    def done_by_hand(self, request_id: int, user: str) -> None:
        self.rollback.authz.require(user, "rollback.operate")
        self._resume_failed(request_id, user, "rollback.step_by_hand", by_hand=True)

    def confirm_metrics(self, request_id: int, user: str) -> None:
        self.rollback.authz.require(user, "rollback.operate")
        view = self.rollback.view(request_id)
        step = next((s for s in view.steps if s.name == "verify" and s.status == "waiting"), None)
        if step is None:
            raise WarroomError(
                "There is no metrics check waiting on this rollback.", "Nothing was changed."
            )
        self._merge_output(step.id, metrics_confirmed_by=user)
        self._save(step.id, status="pending")
        decision_log.append(
            self.engine,
            Decision(
                actor=user,
                action="rollback.metrics_confirmed",
                subject=f"rollback#{request_id}",
                before=None,
                after={"checks": [c.model_dump() for c in self.playbook.rollback.verify.checks]},
                reason="confirmed on the dashboards",
            ),
            self.clock.now(),
        )
        self.start(request_id)

    def _resume_failed(self, request_id: int, user: str, action: str, by_hand: bool) -> None:
        view = self.rollback.view(request_id)
        step = next((s for s in view.steps if s.status == "failed"), None)
        if step is None or view.request.status != FAILED:
            raise WarroomError(
                "No step of this rollback is waiting after a failure.", "Nothing was changed."
            )
        now = self.clock.now()
        with session_scope(self.engine) as session:
            changed = session.execute(
                update(RollbackRequest)
                .where(col(RollbackRequest.id) == request_id, col(RollbackRequest.status) == FAILED)
                .values(status=EXECUTING)
            ).rowcount
            if not changed:
                raise WarroomError("Someone else just resumed this rollback.", "")
            row = session.get(RunbookStep, step.id)
            assert row is not None
            row.status = "done" if by_hand else "pending"
            row.done_by = user if by_hand else ""
            if by_hand:
                row.ended_at = now
            session.add(row)
            decision_log.append_in(
                session,
                Decision(
                    actor=user,
                    action=action,
                    subject=f"rollback#{request_id}",
                    before={"step": step.name, "status": "failed"},
                    after={"step": step.name, "status": row.status},
                    reason=step.error[:300],
                ),
                now,
            )
        if by_hand and step.name == "verify":
            self._recovered(request_id)
        self.start(request_id)

    # ---- the steps -----------------------------------------------------------------------
    def _freeze(self, view: RequestView, step: RunbookStep) -> StepResult:
        state = self.rollout.freeze_state()
        if state.frozen:
            return StepResult(output={"note": f"already frozen by {state.by}: {state.reason}"})
        try:
            self.rollout.freeze(SYSTEM_ACTOR, f"rollback #{view.request.id}: {view.request.reason}")
        except WarroomError as exc:
            if self.rollout.freeze_state().frozen:  # another actor froze it meanwhile
                return StepResult(output={"note": exc.message})
            raise
        return StepResult(output={"note": "rollout frozen, deployments blocked"})

    def _revert(self, view: RequestView, step: RunbookStep) -> StepResult:
        target = self.playbook.rollback.target
        done = {}
        for flag in view.request.flags:
            state = self.rollout.apply_target(
                flag, target.percent, list(target.segments), f"rollback #{view.request.id}"
            )
            done[flag] = state
        return StepResult(output={"flags": done})

    def _empty_rules(self, view: RequestView, step: RunbookStep) -> StepResult:
        if not self.playbook.rollback.empty_external_user_rules:
            return StepResult("skipped", {"note": "disabled in the playbook"})
        removed = {}
        for flag in view.request.flags:
            removed[flag] = self.rollout.clear_external_rules(flag, f"rollback #{view.request.id}")
        return StepResult(output={"removed": removed})

    def _clear_caches(self, view: RequestView, step: RunbookStep) -> StepResult:
        url = self.playbook.integrations.cache_clear_url
        caches = self.playbook.rollback.caches
        if not caches:
            return StepResult("skipped", {"note": "no caches listed in the playbook"})
        if not url:
            return StepResult("skipped", {"note": "not configured (integrations.cache_clear_url)"})
        done = dict((step.output or {}).get("cleared", {}))
        for service in caches:
            if service not in done:
                done[service] = http_hooks.clear_cache(url, service, self._hook_token())
                self._merge_output(step.id, cleared=done)
        return StepResult(output={"cleared": done})

    def _verify(self, view: RequestView, step: RunbookStep) -> StepResult:
        output = dict(step.output or {})
        checks = self.playbook.rollback.verify.checks
        if checks and "metrics" not in output:
            if self.metrics is None:
                if not output.get("metrics_confirmed_by"):
                    return StepResult(
                        "waiting",
                        {
                            **output,
                            "note": (
                                "no metrics source configured: a person confirms "
                                + ", ".join(f"{c.metric} {c.op} {c.value:g}" for c in checks)
                            ),
                        },
                    )
                output["metrics"] = f"confirmed by {output['metrics_confirmed_by']}"
            else:
                readings = self._hold(checks)
                output["metrics"] = readings
            self._merge_output(step.id, metrics=output["metrics"])
        command = self.playbook.rollback.verify.e2e_command
        if command:
            result = e2e.run(command, self.playbook.rollback.e2e_timeout_seconds)
            output["e2e"] = {"exit_code": result.exit_code, "tail": result.tail}
            if not result.passed:
                last = result.tail.splitlines()[-1] if result.tail else "no output"
                outcome = f"exit {result.exit_code}" if result.exit_code is not None else last
                raise StepError(f"the e2e test `{command}` failed ({outcome})")
            self.rollback.notifier.thread(
                view, f"e2e `{command}` passed (exit 0)\n```{result.tail or '(no output)'}```"
            )
        self._recovered(view.request.id or 0)
        return StepResult(output=output)

    def _hold(self, checks: list) -> dict:  # type: ignore[type-arg]
        """Every check must pass on every sample through the verification window."""
        verify = self.playbook.rollback.verify
        samples = max(1, int(verify.window_seconds // verify.sample_seconds) + 1)
        readings: dict = {}
        for sample in range(samples):
            if sample:
                self.sleep(verify.sample_seconds)
            for check in checks:
                reading = self.metrics.read(check.metric)  # type: ignore[union-attr]
                if reading is None:
                    raise StepError(f"no data from Prometheus for {check.metric}")
                if not OPS[check.op](float(reading.value), float(check.value)):
                    raise StepError(
                        f"{check.metric} is {reading.value:g}, needs "
                        f"{check.op} {check.value:g} (sample {sample + 1}/{samples})"
                    )
                readings[check.metric] = {"value": reading.value, "ok": True, "samples": sample + 1}
        return readings

    def _recovered(self, request_id: int) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(RollbackRequest)
                .where(
                    col(RollbackRequest.id) == request_id,
                    col(RollbackRequest.recovered_at).is_(None),
                )
                .values(recovered_at=self.clock.now())
            )

    def _communicate(self, view: RequestView, step: RunbookStep) -> StepResult:
        out = dict(step.output or {})
        request = view.request
        wanted = self.playbook.rollback.communicate
        if "war_room_post" in wanted and "war_room_post" not in out:
            self.rollback.notifier.announce(
                (
                    f":rotating_light: Rollback #{request.id} executed: "
                    f"{', '.join(request.flags)} back to {self.playbook.rollback.target.percent} % "
                    f"({', '.join(self.playbook.rollback.target.segments)}). Reason: {request.reason}"
                ),
            )
            out["war_room_post"] = "posted"
            self._merge_output(step.id, war_room_post="posted")
        if "support_email" in wanted and "support_email" not in out:
            settings = self.playbook.integrations.email
            if settings is None:
                out["support_email"] = "skipped (not configured)"
            else:
                out["support_email"] = self._email_support(view, settings)
            self._merge_output(step.id, support_email=out["support_email"])
        if "maintenance_banner" in wanted and "maintenance_banner" not in out:
            url = self.playbook.integrations.banner_url
            out["maintenance_banner"] = (
                http_hooks.set_banner(
                    url, self.playbook.rollback.banner_message, self._hook_token()
                )
                if url
                else "skipped (not configured)"
            )
            self._merge_output(step.id, maintenance_banner=out["maintenance_banner"])
        return StepResult(output=out)

    def _email_support(self, view: RequestView, settings: Any) -> str:
        request = view.request
        since = request.executing_since or self.clock.now()
        at = postmortem_time(since, self.playbook.rollback.post_actions.postmortem_within_hours)
        ics = email.invitation(
            uid=f"warroom-rollback-{request.id}@warroom",
            title=f"Post-mortem: rollback #{request.id}",
            start=at,
            minutes=60,
            description=request.reason,
            organizer=settings.sender,
            stamp=self.clock.now(),
        )
        body = (
            f"Hello support team,\n\nWe rolled back {', '.join(request.flags)} at "
            f"{self.rollout.local(since)}: the features are back to "
            f"{self.playbook.rollback.target.percent} % ({', '.join(self.playbook.rollback.target.segments)}).\n"
            f"External beta users no longer see them; a maintenance banner explains it.\n\n"
            f"Reason: {request.reason}\n\nPlease answer beta tickets with the maintenance "
            f"message. The post-mortem is on {self.rollout.local(at)} (invitation attached).\n\n"
            "— warroom, #phase1-war-room\n"
        )
        return email.send(
            settings,
            f"[warroom] Rollback #{request.id}: {', '.join(request.flags)}",
            body,
            self.settings.smtp_username,
            self.settings.smtp_password.get_secret_value() if self.settings.smtp_password else None,
            ics,
        )

    def _post_actions(self, view: RequestView, step: RunbookStep) -> StepResult:
        out = dict(step.output or {})
        request = view.request
        severity = self.playbook.rollback.post_actions.incident_severity
        if "incident" not in out:
            settings = self.playbook.integrations.jira
            if settings is None:
                out["incident"] = "skipped (not configured)"
            else:
                key, url = jira.create_incident(
                    settings,
                    f"Sev{severity}: rollback #{request.id} of {', '.join(request.flags)}",
                    [
                        f"Reason: {request.reason}",
                        f"Requested by {request.requested_by} at {self.rollout.local(request.opened_at)}.",
                        f"Flags back to {self.playbook.rollback.target.percent} % "
                        f"({', '.join(self.playbook.rollback.target.segments)}).",
                        f"Evidence: {request.evidence}",
                    ],
                    severity,
                    self.settings.jira_email,
                    self.settings.jira_api_token.get_secret_value()
                    if self.settings.jira_api_token
                    else None,
                )
                out["incident"] = {"key": key, "url": url}
                self.rollback.notifier.thread(
                    view, f"Incident <{url}|{key}> opened (Sev{severity})."
                )
            self._merge_output(step.id, incident=out["incident"])
        if "postmortem" not in out:
            since = request.executing_since or self.clock.now()
            at = postmortem_time(since, self.playbook.rollback.post_actions.postmortem_within_hours)
            with session_scope(self.engine) as session:
                existing = session.exec(
                    select(Postmortem).where(Postmortem.request_id == request.id)
                ).first()
                if existing is None:
                    session.add(Postmortem(request_id=request.id, at=at))
            out["postmortem"] = at.isoformat()
            self._merge_output(step.id, postmortem=out["postmortem"])
            self.rollback.notifier.thread(
                view, f"Post-mortem scheduled for {self.rollout.local(at)}."
            )
        return StepResult(output=out)

    def _hook_token(self) -> str | None:
        token = self.settings.warroom_hook_token
        return token.get_secret_value() if token else None
