"""Rollback requests and their sign-off: opening, approving, rejecting, breaking glass,
declaring the incident, expiring. The rules are in requests.py, the rows in store.py; the
runbook (runner.py) starts through the injected `start_runbook` once a request is signed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from bot.authz import SYSTEM_ACTOR, Authorizer
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import Refusal
from bot.observability import log_event
from bot.playbook import Playbook
from bot.rollback import requests
from bot.rollback.display import RequestDisplay, Say
from bot.rollback.model import RequestView
from bot.rollback.notify import RollbackNotifier
from bot.rollback.plan_signoff import PlanSignOff
from bot.rollback.store import RequestStore
from bot.rollout import RolloutService
from storage.models import RollbackApproval, RollbackRequest
from storage.status import RollbackStatus

__all__ = ["RollbackNotifier", "RollbackService"]

log = logging.getLogger(__name__)

Status = RollbackStatus
POSTMORTEM_ROLES = ("sre",)  # besides the sign-off roles, whose first members are reminded


class RollbackService(PlanSignOff):
    def __init__(
        self,
        store: RequestStore,
        display: RequestDisplay,
        playbook: Playbook,
        authz: Authorizer,
        clock: Clock,
        rollout: RolloutService,
        start_runbook: Callable[[int], None],
        pause_communications: Callable[[int], object] = lambda request_id: None,
    ) -> None:
        """`start_runbook` runs a signed request's runbook; `pause_communications` is told
        once a request starts executing (the launch communications not sent are paused)."""
        self.store = store
        self.display = display
        self.playbook = playbook
        self.authz = authz
        self.clock = clock
        self.rollout = rollout
        self.start_runbook = start_runbook
        self.pause_communications = pause_communications

    # ---- reading -------------------------------------------------------------------------
    def view(self, request_id: int) -> RequestView:
        return self.store.view(request_id)

    def recent(self, limit: int = 5) -> list[RequestView]:
        self.expire_due()
        return [self.store.view(i) for i in self.store.recent_ids(limit)]

    # ---- opening -------------------------------------------------------------------------
    def open(
        self,
        actor: str,
        words: list[str],
        evidence: dict[str, object] | None = None,
        critical: bool = False,
        breach_started_at: datetime | None = None,
    ) -> RequestView:
        """`words` as typed after /rollback: leading flag names (`all`, or none: every flag
        of the playbook), then the reason."""
        flags, reason = requests.parse_request(words, self.playbook.flags)
        if actor != SYSTEM_ACTOR and not actor.startswith("trigger:"):
            self.authz.require(actor, "rollback.request")
        return self._open(actor, flags, reason, evidence or {}, critical, breach_started_at)

    def open_from_trigger(
        self,
        trigger: str,
        reason: str,
        evidence: dict[str, object],
        critical: bool,
        breach_started_at: datetime | None = None,
        flags: list[str] | None = None,
        severity: int | None = None,
    ) -> RequestView:
        """The entry point for the triggers (metrics, Alertmanager, a declared incident):
        same request, same message; an incident's `severity` is declared on it."""
        actor = f"trigger:{trigger}"
        view = self._open(
            actor, flags or list(self.playbook.flags), reason, evidence, critical, breach_started_at
        )
        if severity is None:
            return view
        self.store.declare(view.id, severity, critical, self.clock.now(), actor)
        self.display.refresh(view.id)
        return self.store.view(view.id)

    def _open(
        self,
        requested_by: str,
        flags: list[str],
        reason: str,
        evidence: dict[str, object],
        critical: bool,
        breach_started_at: datetime | None,
    ) -> RequestView:
        now = self.clock.now()
        states = {f.name: f.as_record() for f in self.rollout.flags.list_flags() if f.name in flags}
        evidence = {**evidence, "flags_before": states}
        expires = timedelta(minutes=self.playbook.rollback.approval_expires_minutes)
        request = RollbackRequest(
            flags=flags,
            reason=reason,
            requested_by=requested_by,
            evidence=evidence,
            critical=critical,
            status=Status.OPEN,
            opened_at=now,
            expires_at=now + expires,
            breach_started_at=breach_started_at,
            channel=self.playbook.channels.war_room,
        )
        request_id = self.store.insert(
            request,
            lambda new_id: Decision(
                actor=requested_by,
                action="rollback.request",
                subject=f"rollback#{new_id}",
                before=None,
                after={"flags": flags, "critical": critical},
                reason=reason,
                evidence=evidence,
            ),
        )
        log_event(log, "rollback.request", who=requested_by, request=request_id, flags=flags)
        self.display.refresh(request_id)  # the message and its ts before any thread reply
        return self.store.view(request_id)

    # ---- sign-off ------------------------------------------------------------------------
    def _signable(self, request_id: int) -> RequestView:
        """The request, if it can still be signed; a due one is expired on the way."""
        view = self.store.view(request_id)
        if requests.is_due(view.request, self.clock.now()) and self._expire(request_id):
            view = self.store.view(request_id)
        requests.require_signable(view.request, self.rollout.local)
        return view

    def approve(self, request_id: int, user: str) -> RequestView:
        """One sign-off. Recording it and deciding "every role signed → start" are one
        transaction on the locked request (RequestStore.approve), so of any clicks at the
        same instant exactly one starts the runbook."""
        view = self._signable(request_id)
        role = requests.sign_off_role(view, user, self.authz.roles_of(user))
        approval = RollbackApproval(
            request_id=request_id, role=role, user=user, decision="approve", at=self.clock.now()
        )
        outcome = self.store.approve(
            approval,
            record=lambda late: Decision(
                actor=user,
                action="rollback.approve",
                subject=f"rollback#{request_id}",
                before=None,
                after={"role": role, "after_execution": late},
                reason="",
            ),
            begin=lambda status: self._decision(
                user, "rollback.approved", request_id, status, "signed off"
            ),
        )
        if outcome.outcome != "added":  # someone else's click went in first
            requests.refuse_approval(
                outcome.outcome, role, self.store.view(request_id), self.rollout.local
            )
        if outcome.started == Status.EXECUTING:
            self._started(request_id)
        self.display.refresh(request_id)
        return self.store.view(request_id)

    def reject(self, request_id: int, user: str, reason: str) -> RequestView:
        view = self._signable(request_id)
        reason = requests.parse_reason(reason)
        if view.request.status != Status.OPEN:
            raise Refusal(
                f"Rollback request #{request_id} is already {view.request.status}; "
                "it can no longer be rejected.",
                "",
            )
        role = requests.sign_off_role(view, user, self.authz.roles_of(user))
        now = self.clock.now()
        approval = RollbackApproval(
            request_id=request_id, role=role, user=user, decision="reject", reason=reason, at=now
        )
        decision = replace(
            self._decision(user, "rollback.reject", request_id, Status.REJECTED, reason),
            after={"status": Status.REJECTED, "role": role},
        )
        outcome = self.store.reject(
            approval,
            allowed=requests.sources(Status.REJECTED),
            values={"status": Status.REJECTED, "closed_at": now, "closed_reason": reason},
            decision=decision,
        )
        if outcome != "rejected":
            raise Refusal(
                f"Rollback request #{request_id} was just "
                + ("signed by someone else." if outcome == "signed" else "closed."),
                "Nothing was changed. `/rollback status` shows it.",
            )
        self.display.refresh(request_id)
        return self.store.view(request_id)

    def break_glass(self, request_id: int, user: str) -> RequestView:
        view = self._signable(request_id)
        self.authz.require(user, "rollback.break_glass")
        requests.require_break_glass(view.request)
        self._begin(request_id, user, break_glass=True)
        self.display.refresh(request_id)
        return self.store.view(request_id)

    def declare_incident(self, request_id: int, user: str, severity_text: str) -> RequestView:
        self.authz.require(user, "rollback.incident")
        severity = requests.parse_severity(severity_text, request_id)
        critical = requests.is_critical(severity, self.playbook)
        self.store.declare(request_id, severity, critical, self.clock.now(), user)
        self.display.refresh(request_id)
        return self.store.view(request_id)

    def declare_new_incident(self, user: str, severity_text: str, reason: str) -> RequestView:
        """An incident declared with no request number: on the newest open request, or, with
        none open and Sev2 or worse (the playbook's incident trigger), a critical request
        opened with the evidence, as a firing metric trigger opens one."""
        self.authz.require(user, "rollback.incident")
        severity = requests.parse_severity(severity_text, None)
        self.expire_due()
        open_ids = self.store.ids_in(Status.OPEN)
        if open_ids:
            return self.declare_incident(open_ids[-1], user, str(severity))
        if not requests.is_critical(severity, self.playbook):
            raise Refusal(
                f"Sev{severity} is not a rollback trigger in the playbook, and no request is "
                "open: nothing was opened.",
                "Ask for one with `/rollback REASON` if the launch must roll back.",
            )
        trigger = requests.incident_trigger(self.playbook)
        said = reason.strip()[: requests.REASON_MAX] or "no reason given"
        view = self.open_from_trigger(
            trigger,
            f"Sev{severity} incident declared by <@{user}>: {said}",
            {"incident_severity": severity, "declared_by": user, "source": "/rollback incident"},
            critical=True,
            breach_started_at=self.clock.now(),
        )
        self.store.declare(view.id, severity, True, self.clock.now(), user)
        self.display.refresh(view.id)
        return self.store.view(view.id)

    def _begin(
        self, request_id: int, by: str, break_glass: bool, signed: bool = False
    ) -> RollbackStatus | None:
        """open → executing, exactly once; or → approved while another rollback of the same
        flags is executing (it starts when that one ends). `signed`: only if every sign-off
        is in (a request found signed but not begun)."""
        action, reason = (
            ("rollback.break_glass", "executed at once while critical; sign-offs collected after")
            if break_glass
            else ("rollback.approved", "signed off")
        )
        target = self.store.begin(
            request_id,
            at=self.clock.now(),
            values={"break_glass_by": by} if break_glass else {},
            decision=lambda status: self._decision(by, action, request_id, status, reason),
            signed=signed,
        )
        if target == Status.EXECUTING:
            self._started(request_id)
        return target

    def _started(self, request_id: int) -> None:
        """The one caller that moved the request to executing hands it to the runbook."""
        self.start_runbook(request_id)
        self._pause_communications(request_id)

    def start_signed(self) -> list[int]:
        """Begin what is signed but not running: an open request with every sign-off in
        (none is left so by a click; a crash between steps or an older version could), and
        an approved one whose flags no rollback holds any more (the one it waited for ended
        while no replica was there to promote it). Run at start and by the housekeeping."""
        started = []
        for request_id in self.store.ids_in(Status.OPEN):
            if self.store.view(request_id).signed and self._begin(
                request_id, SYSTEM_ACTOR, break_glass=False, signed=True
            ):
                self.display.refresh(request_id)
                started.append(request_id)
        for request_id in self.store.promote_waiting(self.clock.now()):
            self.start_runbook(request_id)
            started.append(request_id)
        return started

    def _pause_communications(self, request_id: int) -> None:
        """Never in the way of the rollback: a failure here is logged, the runbook runs."""
        try:
            self.pause_communications(request_id)
        except Exception:  # noqa: BLE001 - the rollback matters more than the pause
            log.exception("rollback.pause_communications", extra={"fields": {"id": request_id}})

    @staticmethod
    def _decision(
        actor: str, action: str, request_id: int, after: RollbackStatus, reason: str
    ) -> Decision:
        """The record of an open request moving on."""
        return Decision(
            actor=actor,
            action=action,
            subject=f"rollback#{request_id}",
            before={"status": Status.OPEN},
            after={"status": after},
            reason=reason,
        )

    # ---- expiry and reminders ------------------------------------------------------------
    def expire_due(self) -> list[int]:
        return [i for i in self.store.due_open_ids(self.clock.now()) if self._expire(i)]

    def _expire(self, request_id: int) -> bool:
        now = self.clock.now()
        outcome = self.store.expire(
            request_id,
            values={
                "status": Status.EXPIRED,
                "closed_at": now,
                "closed_reason": "expired without both sign-offs",
            },
            at=now,
            decision=self._decision(
                SYSTEM_ACTOR, "rollback.expired", request_id, Status.EXPIRED, "no sign-off in time"
            ),
        )
        if outcome == "signed":  # every sign-off is in: it runs, it does not expire
            self._begin(request_id, SYSTEM_ACTOR, break_glass=False, signed=True)
            self.display.refresh(request_id)
        if outcome != "expired":
            return False
        self.display.refresh(request_id)
        self._escalate_expired(request_id)
        return True

    def _escalate_expired(self, request_id: int) -> None:
        """A critical request that expired unsigned goes to on-call: the launch is still at
        risk, and break glass on a new request is what is left."""
        view = self.store.view(request_id)
        if not view.request.critical:
            return
        missing = [r for r in view.sign_off_roles if view.approval_for(r) is None]
        oncall = list(self.playbook.roles.get(self.playbook.schedule.oncall_role, []))
        log_event(log, "rollback.escalated", request=request_id, missing=missing)
        self.display.say(request_id, lambda n, v: n.expired_unsigned(v, missing, oncall))

    def housekeeping(self) -> None:
        """Run every lease period by the runbook's watch: close expired requests (so their
        message says so without anyone clicking), begin what is signed but not running, and
        post the due post-mortem reminders."""
        self.start_signed()
        self.expire_due()
        self.remind_postmortems()

    def remind_postmortems(self) -> list[int]:
        owners = [
            members[0]
            for role in (*POSTMORTEM_ROLES, *self.playbook.rollback.sign_off_roles)
            if (members := self.playbook.roles.get(role, []))
        ]
        reminded = []
        for postmortem in self.store.due_postmortems(self.clock.now()):
            if not self.store.claim_reminder(postmortem.id):
                continue  # another replica posts it
            self.display.say(postmortem.request_id, _postmortem_due(postmortem.at, owners))
            reminded.append(postmortem.request_id)
        return reminded


def _postmortem_due(at: datetime, owners: list[str]) -> Say:
    return lambda notifier, view: notifier.postmortem_due(view, at, owners)
