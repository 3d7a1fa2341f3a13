"""Rollback requests and their sign-off. The runbook itself is in runbook.py.

Rules (playbook `rollback`, defaults from the seed): one member of each sign-off role
(product, support) approves; they are distinct people and neither is the requester; either
may reject with a reason; an open request expires. A member of `rollback.break_glass`
(sre, oncall) may execute at once while the request is critical; the sign-offs are still
collected afterwards. The database makes every transition happen once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import decision_log
from bot.authz import SYSTEM_ACTOR, Authorizer
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import Refusal
from bot.observability import log_event
from bot.playbook import Playbook
from bot.rollback.model import (
    APPROVED,
    CLOSED,
    EXECUTING,
    EXPIRED,
    FAILED,
    OPEN,
    REJECTED,
    STEP_NAMES,
    RequestView,
)
from bot.rollout import RolloutService
from storage.claims import claim
from storage.db import session_scope
from storage.models import (
    Postmortem,
    RollbackApproval,
    RollbackRequest,
    RunbookSignature,
    RunbookStep,
)

log = logging.getLogger(__name__)


class RollbackNotifier(Protocol):
    """Shows a request where people look (the war-room message, its thread)."""

    def refresh(self, view: RequestView) -> tuple[str, str] | None:
        """Post or update the request's message; returns (channel, ts) when posted."""
        ...

    def thread(self, view: RequestView, text: str) -> None: ...

    def announce(self, text: str) -> None:
        """A plain post in the war room."""
        ...


class RollbackService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        authz: Authorizer,
        clock: Clock,
        rollout: RolloutService,
        notifier: RollbackNotifier,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.authz = authz
        self.clock = clock
        self.rollout = rollout
        self.notifier = notifier
        self.start_runbook: Callable[[int], None] = lambda request_id: None  # set by wiring
        self._show_lock = threading.RLock()

    # ---- reading -------------------------------------------------------------------------
    def view(self, request_id: int) -> RequestView:
        with Session(self.engine) as session:
            request = session.get(RollbackRequest, request_id)
            if request is None:
                raise Refusal(
                    f"There is no rollback request #{request_id}.", "`/rollback status` lists them."
                )
            approvals = list(
                session.exec(
                    select(RollbackApproval)
                    .where(RollbackApproval.request_id == request_id)
                    .order_by(col(RollbackApproval.id))
                )
            )
            steps = list(
                session.exec(
                    select(RunbookStep)
                    .where(RunbookStep.request_id == request_id)
                    .order_by(col(RunbookStep.position))
                )
            )
        return RequestView(
            request,
            approvals,
            steps,
            list(self.playbook.rollback.sign_off_roles),
            self._targets(request),
        )

    def _targets(self, request: RollbackRequest) -> dict[str, dict]:
        target = self.playbook.rollback.target
        after = {"percent": target.percent, "segments": list(target.segments)}
        before = (request.evidence or {}).get("flags_before", {})
        return {flag: {"before": before.get(flag), "after": after} for flag in request.flags}

    def recent(self, limit: int = 5) -> list[RequestView]:
        self.expire_due()
        with Session(self.engine) as session:
            ids = list(
                session.exec(
                    select(RollbackRequest.id).order_by(col(RollbackRequest.id).desc()).limit(limit)
                )
            )
        return [self.view(i) for i in ids if i is not None]

    # ---- opening -------------------------------------------------------------------------
    def open(
        self,
        actor: str,
        words: list[str],
        evidence: dict | None = None,
        critical: bool = False,
        breach_started_at: datetime | None = None,
    ) -> RequestView:
        """`words` as typed after /rollback: leading flag names, then the reason."""
        flags: list[str] = []
        while words and (words[0].upper() in self.playbook.flags):
            flags.append(words.pop(0).upper())
        reason = " ".join(words).strip()
        if not reason:
            raise Refusal(
                "Say why you ask for a rollback.",
                "Try `/rollback SMART_PRICING checkout errors at 5 %` "
                "(no flag = every launch flag).",
            )
        if actor != SYSTEM_ACTOR and not actor.startswith("trigger:"):
            self.authz.require(actor, "rollback.request")
        return self._open(
            actor,
            flags or list(self.playbook.flags),
            reason,
            evidence or {},
            critical,
            breach_started_at,
        )

    def open_from_trigger(
        self,
        trigger: str,
        reason: str,
        evidence: dict,
        critical: bool,
        breach_started_at: datetime | None = None,
        flags: list[str] | None = None,
    ) -> RequestView:
        """The entry point for the triggers (metrics, Alertmanager): same request, same message."""
        return self._open(
            f"trigger:{trigger}",
            flags or list(self.playbook.flags),
            reason,
            evidence,
            critical,
            breach_started_at,
        )

    def _open(
        self,
        requested_by: str,
        flags: list[str],
        reason: str,
        evidence: dict,
        critical: bool,
        breach_started_at: datetime | None,
    ) -> RequestView:
        now = self.clock.now()
        states = {f.name: f.as_record() for f in self.rollout.flags.list_flags() if f.name in flags}
        evidence = {**evidence, "flags_before": states}
        with session_scope(self.engine) as session:
            request = RollbackRequest(
                flags=flags,
                reason=reason,
                requested_by=requested_by,
                evidence=evidence,
                critical=critical,
                status=OPEN,
                opened_at=now,
                expires_at=now + timedelta(minutes=self.playbook.rollback.approval_expires_minutes),
                breach_started_at=breach_started_at,
                channel=self.playbook.channels.war_room,
            )
            session.add(request)
            session.flush()
            for position, name in enumerate(STEP_NAMES):
                session.add(RunbookStep(request_id=request.id, position=position, name=name))
            decision_log.append_in(
                session,
                Decision(
                    actor=requested_by,
                    action="rollback.request",
                    subject=f"rollback#{request.id}",
                    before=None,
                    after={"flags": flags, "critical": critical},
                    reason=reason,
                    evidence=evidence,
                ),
                now,
            )
            request_id = request.id
        assert request_id is not None
        log_event(log, "rollback.request", who=requested_by, request=request_id, flags=flags)
        view = self.view(request_id)
        self._show(view)
        return self.view(request_id)

    # ---- sign-off ------------------------------------------------------------------------
    def _open_request(self, request_id: int) -> RollbackRequest:
        """The request, if it can still be signed; expired ones are closed on the way."""
        self.expire_due()
        request = self.view(request_id).request
        if request.status == EXPIRED:
            raise Refusal(
                f"Rollback request #{request_id} expired at "
                f"{self.rollout.local(request.expires_at)} without both sign-offs.",
                "Open a new one with `/rollback REASON` if it is still needed.",
            )
        if request.status == REJECTED:
            raise Refusal(
                f"Rollback request #{request_id} was rejected: {request.closed_reason}",
                "Open a new one with `/rollback REASON` if it is still needed.",
            )
        return request

    def _sign_off_role(self, request_id: int, user: str) -> str:
        roles = [r for r in self.playbook.rollback.sign_off_roles if r in self.authz.roles_of(user)]
        if not roles:
            needed = " or ".join(f"`{r}`" for r in self.playbook.rollback.sign_off_roles)
            raise Refusal(
                f"Only a member of {needed} can sign off a rollback.",
                "Ask the product and support leads in the channel.",
            )
        view = self.view(request_id)
        if view.request.requested_by == user:
            raise Refusal(
                "You asked for this rollback, so you cannot sign it off too.",
                "Two other people sign: one of each sign-off role.",
            )
        if any(a.user == user for a in view.approvals):
            raise Refusal(
                "You have already signed this request; the other sign-off must "
                "come from someone else.",
                "",
            )
        free = [r for r in roles if view.approval_for(r) is None]
        if not free:
            signer = view.approval_for(roles[0])
            raise Refusal(
                f"The `{roles[0]}` sign-off is already given by <@{signer.user}>.",  # type: ignore[union-attr]
                "Nothing was changed.",
            )
        return free[0]

    def approve(self, request_id: int, user: str) -> RequestView:
        request = self._open_request(request_id)
        role = self._sign_off_role(request_id, user)
        late = request.status in (EXECUTING, FAILED, APPROVED) or request.status in CLOSED
        self._record_approval(request_id, role, user, "approve", "", late)
        view = self.view(request_id)
        if view.signed and view.request.status == OPEN:
            self._begin(request_id, user, break_glass=False)
        view = self.view(request_id)
        self._show(view)
        return view

    def reject(self, request_id: int, user: str, reason: str) -> RequestView:
        request = self._open_request(request_id)
        if not reason.strip():
            raise Refusal("Say why you reject the rollback.", "The reason goes in the record.")
        if request.status != OPEN:
            raise Refusal(
                f"Rollback request #{request_id} is already {request.status}; "
                "it can no longer be rejected.",
                "",
            )
        role = self._sign_off_role(request_id, user)
        self._record_approval(request_id, role, user, "reject", reason.strip(), False)
        now = self.clock.now()
        with session_scope(self.engine) as session:
            changed = session.execute(
                update(RollbackRequest)
                .where(col(RollbackRequest.id) == request_id, col(RollbackRequest.status) == OPEN)
                .values(status=REJECTED, closed_at=now, closed_reason=reason.strip())
            ).rowcount
            if changed:
                decision_log.append_in(
                    session,
                    Decision(
                        actor=user,
                        action="rollback.reject",
                        subject=f"rollback#{request_id}",
                        before={"status": OPEN},
                        after={"status": REJECTED},
                        reason=reason.strip(),
                    ),
                    now,
                )
        view = self.view(request_id)
        self._show(view)
        return view

    def _record_approval(
        self, request_id: int, role: str, user: str, decision: str, reason: str, late: bool
    ) -> None:
        now = self.clock.now()
        try:
            with session_scope(self.engine) as session:
                session.add(
                    RollbackApproval(
                        request_id=request_id,
                        role=role,
                        user=user,
                        decision=decision,
                        reason=reason,
                        at=now,
                        after_execution=late,
                    )
                )
                session.flush()
                decision_log.append_in(
                    session,
                    Decision(
                        actor=user,
                        action=f"rollback.{decision}",
                        subject=f"rollback#{request_id}",
                        before=None,
                        after={"role": role, "after_execution": late},
                        reason=reason,
                    ),
                    now,
                )
        except IntegrityError:
            signer = self.view(request_id).approval_for(role)
            raise Refusal(
                f"The `{role}` sign-off was just given by <@{signer.user if signer else '?'}>.",
                "Nothing was changed.",
            ) from None

    def break_glass(self, request_id: int, user: str) -> RequestView:
        request = self._open_request(request_id)
        self.authz.require(user, "rollback.break_glass")
        if not request.critical:
            raise Refusal(
                "Break glass works only while a critical trigger fires or a Sev2+ "
                "incident is declared on this request.",
                f"Declare it with `/rollback incident {request_id} 2`, or collect the "
                "two sign-offs.",
            )
        if request.status != OPEN:
            raise Refusal(
                f"Rollback request #{request_id} is already {request.status}.",
                "Nothing was changed.",
            )
        self._begin(request_id, user, break_glass=True)
        view = self.view(request_id)
        self._show(view)
        return view

    def declare_incident(self, request_id: int, user: str, severity_text: str) -> RequestView:
        self.authz.require(user, "rollback.incident")
        text = severity_text.lower().removeprefix("sev")
        if not text.isdigit() or not 1 <= int(text) <= 5:
            raise Refusal(
                f"`{severity_text}` is not a severity from 1 to 5.",
                f"Try `/rollback incident {request_id} 2`.",
            )
        severity = int(text)
        worst = min(
            (
                t.incident_severity_at_most
                for t in self.playbook.triggers
                if t.incident_severity_at_most
            ),
            default=2,
        )
        critical = severity <= worst
        now = self.clock.now()
        with session_scope(self.engine) as session:
            request = session.get(RollbackRequest, request_id)
            if request is None:
                raise Refusal(f"There is no rollback request #{request_id}.", "")
            before = {"severity": request.incident_severity, "critical": request.critical}
            request.incident_severity = severity
            request.critical = request.critical or critical
            session.add(request)
            decision_log.append_in(
                session,
                Decision(
                    actor=user,
                    action="rollback.incident",
                    subject=f"rollback#{request_id}",
                    before=before,
                    after={"severity": severity, "critical": request.critical},
                    reason=f"Sev{severity} declared",
                ),
                now,
            )
        view = self.view(request_id)
        self._show(view)
        return view

    def _begin(self, request_id: int, by: str, break_glass: bool) -> None:
        """open → executing, exactly once; or → approved when another rollback of the same
        flags is executing (it starts when that one ends)."""
        now = self.clock.now()
        with session_scope(self.engine) as session:
            request = session.get(RollbackRequest, request_id)
            assert request is not None
            busy = self._busy_flags(session, request_id)
            target = APPROVED if busy & set(request.flags) else EXECUTING
            values: dict = {"status": target}
            if target == EXECUTING:
                values["executing_since"] = now
            if break_glass:
                values["break_glass_by"] = by
            changed = session.execute(
                update(RollbackRequest)
                .where(col(RollbackRequest.id) == request_id, col(RollbackRequest.status) == OPEN)
                .values(**values)
            ).rowcount
            if not changed:
                return
            decision_log.append_in(
                session,
                Decision(
                    actor=by,
                    action="rollback.break_glass" if break_glass else "rollback.approved",
                    subject=f"rollback#{request_id}",
                    before={"status": OPEN},
                    after={"status": target},
                    reason="executed at once while critical; sign-offs collected after"
                    if break_glass
                    else "signed off",
                ),
                now,
            )
        if target == EXECUTING:
            self.start_runbook(request_id)

    @staticmethod
    def _busy_flags(session: Session, except_id: int) -> set[str]:
        running = session.exec(
            select(RollbackRequest).where(
                col(RollbackRequest.status).in_([EXECUTING, FAILED]),
                RollbackRequest.id != except_id,
            )
        )
        return {flag for r in running for flag in r.flags}

    def start_next_approved(self) -> None:
        """After a runbook ends, start a signed request that waited for its flags."""
        with Session(self.engine) as session:
            waiting = list(
                session.exec(
                    select(RollbackRequest)
                    .where(RollbackRequest.status == APPROVED)
                    .order_by(col(RollbackRequest.id))
                )
            )
        for request in waiting:
            with session_scope(self.engine) as session:
                if self._busy_flags(session, request.id or 0) & set(request.flags):
                    continue
                changed = session.execute(
                    update(RollbackRequest)
                    .where(
                        col(RollbackRequest.id) == request.id,
                        col(RollbackRequest.status) == APPROVED,
                    )
                    .values(status=EXECUTING, executing_since=self.clock.now())
                ).rowcount
            if changed and request.id is not None:
                self.start_runbook(request.id)

    def expire_due(self) -> list[int]:
        now = self.clock.now()
        with session_scope(self.engine) as session:
            due = list(
                session.exec(
                    select(RollbackRequest).where(
                        RollbackRequest.status == OPEN, col(RollbackRequest.expires_at) <= now
                    )
                )
            )
            expired = []
            for request in due:
                changed = session.execute(
                    update(RollbackRequest)
                    .where(
                        col(RollbackRequest.id) == request.id, col(RollbackRequest.status) == OPEN
                    )
                    .values(
                        status=EXPIRED,
                        closed_at=now,
                        closed_reason="expired without both sign-offs",
                    )
                ).rowcount
                if changed:
                    decision_log.append_in(
                        session,
                        Decision(
                            actor=SYSTEM_ACTOR,
                            action="rollback.expired",
                            subject=f"rollback#{request.id}",
                            before={"status": OPEN},
                            after={"status": EXPIRED},
                            reason="no sign-off in time",
                        ),
                        now,
                    )
                    expired.append(request.id)
        for request_id in expired:
            self._show(self.view(request_id))
        return expired

    def housekeeping(self) -> None:
        """Run every lease period by the runbook's watch: close expired requests (so their
        message says so without anyone clicking) and post the due post-mortem reminders."""
        self.expire_due()
        self.remind_postmortems()

    def remind_postmortems(self) -> list[int]:
        now = self.clock.now()
        with Session(self.engine) as session:
            due = list(
                session.exec(
                    select(Postmortem).where(
                        col(Postmortem.reminded).is_(False), col(Postmortem.at) <= now
                    )
                )
            )  # noqa: E712
        reminded = []
        for postmortem in due:
            where = [col(Postmortem.id) == postmortem.id, col(Postmortem.reminded).is_(False)]
            if not claim(self.engine, Postmortem, where, {"reminded": True}):
                continue  # another replica posts it
            view = self.view(postmortem.request_id)
            owners = " ".join(
                f"<@{m}>"
                for role in ("sre", *self.playbook.rollback.sign_off_roles)
                for m in self.playbook.roles.get(role, [])[:1]
            )
            self.notifier.thread(
                view,
                f":memo: Post-mortem of rollback #{postmortem.request_id} "
                f"is due now ({self.rollout.local(postmortem.at)}). {owners}",
            )
            self.notifier.announce(
                f":memo: Post-mortem of rollback #{postmortem.request_id} "
                f"({view.request.reason}) starts now. {owners}"
            )
            reminded.append(postmortem.request_id)
        return reminded

    def _show(self, view: RequestView) -> None:
        self.show(view.request.id or 0)

    def show(self, request_id: int) -> RequestView:
        """Render the request's latest state into its message. One request at a time, so an
        older view never overwrites a newer one (approvals and the runbook both update it)."""
        with self._show_lock:
            view = self.view(request_id)
            posted = self.notifier.refresh(view)
            if posted and not view.request.message_ts:
                channel, ts = posted
                with session_scope(self.engine) as session:
                    session.execute(
                        update(RollbackRequest)
                        .where(col(RollbackRequest.id) == request_id)
                        .values(channel=channel, message_ts=ts)
                    )
                view = self.view(request_id)
        return view

    # ---- the runbook's joint sign-off ----------------------------------------------------
    def plan_version(self) -> str:
        text = json.dumps(self.playbook.rollback.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def plan_signatures(self) -> list[RunbookSignature]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(RunbookSignature).where(RunbookSignature.version == self.plan_version())
                )
            )

    def sign_plan(self, user: str, version: str) -> list[RunbookSignature]:
        if version != self.plan_version():
            raise Refusal(
                "The runbook changed since this message was posted; that version "
                "can no longer be signed.",
                "Run `/rollback plan` for the current one.",
            )
        roles = [r for r in self.playbook.rollback.sign_off_roles if r in self.authz.roles_of(user)]
        if not roles:
            needed = " and ".join(f"`{r}`" for r in self.playbook.rollback.sign_off_roles)
            raise Refusal(f"The runbook is signed jointly by {needed}.", "")
        signed = {s.role: s for s in self.plan_signatures()}
        if any(s.user == user for s in signed.values()):
            raise Refusal("You have already signed this version of the runbook.", "")
        free = [r for r in roles if r not in signed]
        if not free:
            raise Refusal(f"`{roles[0]}` has already signed this version.", "")
        now = self.clock.now()
        try:
            with session_scope(self.engine) as session:
                session.add(RunbookSignature(version=version, role=free[0], user=user, at=now))
                session.flush()
                decision_log.append_in(
                    session,
                    Decision(
                        actor=user,
                        action="runbook.sign",
                        subject=f"runbook@{version}",
                        before=None,
                        after={"role": free[0]},
                        reason="rollback runbook validated",
                    ),
                    now,
                )
        except IntegrityError:
            raise Refusal(f"`{free[0]}` has just signed this version.", "") from None
        return self.plan_signatures()
