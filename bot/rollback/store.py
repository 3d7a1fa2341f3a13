"""Where rollback requests live: a request is read as one RequestView, and every change of
its status is a conditional transition with its decision (bot/transitions.py); the
sign-offs and the transitions they decide are in signoff_rows.py."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from bot import decision_log
from bot.decision_log import Decision
from bot.errors import Refusal
from bot.playbook import Playbook
from bot.replica import is_gone
from bot.rollback.model import STEP_NAMES, RequestView
from bot.rollback.signoff_rows import SignOffRows, busy_flags
from bot.rollback.step_rows import StepRows
from bot.transitions import transition, transition_in
from storage.claims import claim
from storage.db import session_scope
from storage.models import (
    Postmortem,
    RollbackApproval,
    RollbackRequest,
    RunbookSignature,
    RunbookStep,
)
from storage.status import RollbackStatus

Status = RollbackStatus


class RequestStore(StepRows, SignOffRows):
    def __init__(self, engine: Engine, playbook: Playbook) -> None:
        self.engine = engine
        self.playbook = playbook

    # ---- reading -------------------------------------------------------------------------
    def view(self, request_id: int) -> RequestView:
        with Session(self.engine) as session:
            request = session.get(RollbackRequest, request_id)
            if request is None:
                raise Refusal(
                    f"There is no rollback request #{request_id}.", "`/rollback status` lists them."
                )
            approvals = session.exec(
                select(RollbackApproval)
                .where(RollbackApproval.request_id == request_id)
                .order_by(col(RollbackApproval.id))
            )
            steps = session.exec(
                select(RunbookStep)
                .where(RunbookStep.request_id == request_id)
                .order_by(col(RunbookStep.position))
            )
            return RequestView(
                request,
                list(approvals),
                list(steps),
                list(self.playbook.rollback.sign_off_roles),
                self._targets(request),
                list(self.playbook.flags),
            )

    def _targets(self, request: RollbackRequest) -> dict[str, dict[str, Any]]:
        target = self.playbook.rollback.target
        after = {"percent": target.percent, "segments": list(target.segments)}
        before = (request.evidence or {}).get("flags_before", {})
        return {flag: {"before": before.get(flag), "after": after} for flag in request.flags}

    def recent_ids(self, limit: int) -> list[int]:
        with Session(self.engine) as session:
            ids = session.exec(
                select(RollbackRequest.id).order_by(col(RollbackRequest.id).desc()).limit(limit)
            )
            return [i for i in ids if i is not None]

    def ids_in(self, status: RollbackStatus) -> list[int]:
        with Session(self.engine) as session:
            ids = session.exec(
                select(RollbackRequest.id)
                .where(RollbackRequest.status == status)
                .order_by(col(RollbackRequest.id))
            )
            return [i for i in ids if i is not None]

    # ---- requests ------------------------------------------------------------------------
    def insert(self, request: RollbackRequest, decision: Callable[[int], Decision]) -> int:
        """The request with its pending steps, and the decision that opened it."""
        with session_scope(self.engine) as session:
            session.add(request)
            session.flush()
            assert request.id is not None
            for position, name in enumerate(STEP_NAMES):
                session.add(RunbookStep(request_id=request.id, position=position, name=name))
            decision_log.append_in(session, decision(request.id), request.opened_at)
            return request.id

    def transition(
        self,
        request_id: int,
        *,
        allowed: Collection[str],
        values: Mapping[str, Any],
        at: datetime,
        decision: Decision | None = None,
    ) -> bool:
        return transition(
            self.engine,
            RollbackRequest,
            request_id,
            allowed=allowed,
            values=values,
            at=at,
            decision=decision,
        )

    def promote_waiting(self, at: datetime) -> list[int]:
        """approved → executing for the requests whose flags no other rollback holds now."""
        started = []
        for request_id in self.ids_in(Status.APPROVED):
            with session_scope(self.engine) as session:
                request = session.get(RollbackRequest, request_id)
                if request is None or busy_flags(session, request_id) & set(request.flags):
                    continue
                if transition_in(
                    session,
                    RollbackRequest,
                    request_id,
                    allowed=[Status.APPROVED],
                    values={"status": Status.EXECUTING, "executing_since": at},
                    at=at,
                ):
                    started.append(request_id)
        return started

    def due_open_ids(self, now: datetime) -> list[int]:
        with Session(self.engine) as session:
            ids = session.exec(
                select(RollbackRequest.id).where(
                    RollbackRequest.status == Status.OPEN, col(RollbackRequest.expires_at) <= now
                )
            )
            return [i for i in ids if i is not None]

    def update(self, request_id: int, values: Mapping[str, Any]) -> None:
        """A change that is not a status transition (severity, message, recovery)."""
        with session_scope(self.engine) as session:
            session.execute(
                update(RollbackRequest)
                .where(col(RollbackRequest.id) == request_id)
                .values(dict(values))
            )

    def declare(
        self, request_id: int, severity: int, critical: bool, at: datetime, actor: str
    ) -> None:
        with session_scope(self.engine) as session:
            request = session.get(RollbackRequest, request_id, with_for_update=True)
            if request is None:
                raise Refusal(f"There is no rollback request #{request_id}.", "")
            if request.status in (Status.EXPIRED, Status.REJECTED):
                raise Refusal(
                    f"Rollback request #{request_id} was {request.status}: a severity on it "
                    "would change nothing.",
                    "Nothing was changed. `/rollback incident SEV REASON` opens a new request.",
                )
            before = {"severity": request.incident_severity, "critical": request.critical}
            request.incident_severity = severity
            request.critical = request.critical or critical
            session.add(request)
            decision_log.append_in(
                session,
                Decision(
                    actor=actor,
                    action="rollback.incident",
                    subject=f"rollback#{request_id}",
                    before=before,
                    after={"severity": severity, "critical": request.critical},
                    reason=f"Sev{severity} declared",
                ),
                at,
            )

    def mark_recovered(self, request_id: int, at: datetime) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(RollbackRequest)
                .where(
                    col(RollbackRequest.id) == request_id,
                    col(RollbackRequest.recovered_at).is_(None),
                )
                .values(recovered_at=at)
            )

    def claim_lease(self, request_id: int, owner: str, now: datetime, lease: timedelta) -> bool:
        """The runbook of an executing request runs on one replica: the one whose lease holds,
        or whose lease is held by a process of this host that is gone (a restart takes its
        own runbook up at once instead of waiting out the lease)."""
        table: Any = RollbackRequest
        free = [table.lease_until.is_(None), table.lease_until < now, table.lease_owner == owner]
        with Session(self.engine) as session:
            holder = session.exec(select(table.lease_owner).where(table.id == request_id)).first()
        if holder and is_gone(holder):
            free.append(table.lease_owner == holder)
        where = [table.id == request_id, table.status == Status.EXECUTING, or_(*free)]
        return claim(
            self.engine, RollbackRequest, where, {"lease_owner": owner, "lease_until": now + lease}
        )

    def plan_signatures(self, version: str) -> list[RunbookSignature]:
        with Session(self.engine) as session:
            return list(
                session.exec(select(RunbookSignature).where(RunbookSignature.version == version))
            )

    def add_signature(self, signature: RunbookSignature, decision: Decision) -> bool:
        """False when that role signed this version meanwhile (the unique key)."""
        return self._insert_once(signature, decision, signature.at)

    def _insert_once(self, row: SQLModel, decision: Decision, at: datetime) -> bool:
        """The row and its decision in one transaction; False when a unique key refused it."""
        try:
            with session_scope(self.engine) as session:
                session.add(row)
                session.flush()
                decision_log.append_in(session, decision, at)
        except IntegrityError:
            return False
        return True

    def resume(
        self,
        request_id: int,
        step_id: int | None,
        step_values: Mapping[str, Any],
        at: datetime,
        decision: Decision,
    ) -> bool:
        """failed → executing, with the failed step reset or marked done, in one transaction."""
        with session_scope(self.engine) as session:
            if not transition_in(
                session,
                RollbackRequest,
                request_id,
                allowed=[Status.FAILED],
                values={"status": Status.EXECUTING},
                at=at,
                decision=decision,
            ):
                return False
            row = session.get(RunbookStep, step_id)
            assert row is not None
            for key, value in step_values.items():
                setattr(row, key, value)
            session.add(row)
        return True

    # ---- post-mortems --------------------------------------------------------------------
    def add_postmortem(self, request_id: int, at: datetime) -> None:
        with session_scope(self.engine) as session:
            existing = session.exec(
                select(Postmortem).where(Postmortem.request_id == request_id)
            ).first()
            if existing is None:
                session.add(Postmortem(request_id=request_id, at=at))

    def due_postmortems(self, now: datetime) -> list[Postmortem]:
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(Postmortem).where(
                        col(Postmortem.reminded).is_(False), col(Postmortem.at) <= now
                    )
                )
            )

    def claim_reminder(self, postmortem_id: int | None) -> bool:
        """Only one replica posts a reminder."""
        where = [col(Postmortem.id) == postmortem_id, col(Postmortem.reminded).is_(False)]
        return claim(self.engine, Postmortem, where, {"reminded": True})

    def record(self, decision: Decision, at: datetime) -> None:
        """A decision that changes no request (a person confirmed the metrics)."""
        decision_log.append(self.engine, decision, at)
