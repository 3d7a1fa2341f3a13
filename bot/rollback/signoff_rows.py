"""The sign-offs of a rollback request and the transitions they decide, each in one
transaction on the request's locked row: an approval with, when it is the last, the move
to executing; a rejection with the close; an expiry that never closes a signed request."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import distinct, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import decision_log
from bot.decision_log import Decision
from bot.errors import Refusal
from bot.playbook import Playbook
from bot.transitions import transition_in
from storage.db import session_scope
from storage.models import RollbackApproval, RollbackRequest
from storage.status import RollbackStatus

Status = RollbackStatus

RejectOutcome = Literal["rejected", "closed", "signed"]


@dataclass(frozen=True)
class Approval:
    """What became of an approval: "added"; "signed" when that role was signed meanwhile
    (the unique key); "already" when this person has signed; "closed" when the request
    expired or was rejected first. `started` is the status the request moved to when this
    approval was the last sign-off (executing, or approved behind another rollback)."""

    outcome: Literal["added", "signed", "already", "closed"]
    status: str
    started: RollbackStatus | None = None


def busy_flags(session: Session, except_id: int) -> set[str]:
    """The flags held by a rollback other than `except_id` (executing, or stopped at a step)."""
    running = session.exec(
        select(RollbackRequest).where(
            col(RollbackRequest.status).in_([Status.EXECUTING, Status.FAILED]),
            RollbackRequest.id != except_id,
        )
    )
    return {flag for r in running for flag in r.flags}


class SignOffRows:
    engine: Engine
    playbook: Playbook

    def begin(
        self,
        request_id: int,
        *,
        at: datetime,
        values: Mapping[str, Any],
        decision: Callable[[RollbackStatus], Decision],
        signed: bool = False,
    ) -> RollbackStatus | None:
        """open → executing, or → approved while another rollback of its flags is running;
        None when the request was no longer open (or, with `signed`, is not fully signed)."""
        with session_scope(self.engine) as session:
            request = self._locked(session, request_id)
            if signed and not self._fully_signed(session, request_id):
                return None
            return self._begin_in(session, request, at, values, decision)

    def _begin_in(
        self,
        session: Session,
        request: RollbackRequest,
        at: datetime,
        values: Mapping[str, Any],
        decision: Callable[[RollbackStatus], Decision],
    ) -> RollbackStatus | None:
        assert request.id is not None
        busy = busy_flags(session, request.id) & set(request.flags)
        target = Status.APPROVED if busy else Status.EXECUTING
        changes = {**values, "status": target}
        if target == Status.EXECUTING:
            changes["executing_since"] = at
        changed = transition_in(
            session,
            RollbackRequest,
            request.id,
            allowed=[Status.OPEN],
            values=changes,
            at=at,
            decision=decision(target),
        )
        return target if changed else None

    @staticmethod
    def _locked(session: Session, request_id: int) -> RollbackRequest:
        """The request, its row locked until the transaction ends: every transaction that
        signs, expires or begins a request takes this lock first, so they follow one another
        and each reads what the one before it committed. PostgreSQL: `SELECT … FOR UPDATE`
        (read committed: the statements after the wait see the other's commit); SQLite:
        session_scope's BEGIN IMMEDIATE has already made this the only writer."""
        request = session.get(
            RollbackRequest, request_id, with_for_update=True, populate_existing=True
        )
        if request is None:
            raise Refusal(
                f"There is no rollback request #{request_id}.", "`/rollback status` lists them."
            )
        return request

    def _fully_signed(self, session: Session, request_id: int) -> bool:
        """Every sign-off role has approved, as this transaction reads it."""
        roles = list(self.playbook.rollback.sign_off_roles)
        table: Any = RollbackApproval
        signed = session.exec(
            select(func.count(distinct(table.role))).where(
                table.request_id == request_id,
                table.decision == "approve",
                table.role.in_(roles),
            )
        ).one()
        return int(signed) == len(set(roles))

    def expire(
        self, request_id: int, *, values: Mapping[str, Any], at: datetime, decision: Decision
    ) -> Literal["expired", "signed", "gone"]:
        """open → expired, unless every sign-off is in ("signed": it is begun instead, never
        closed unstarted); "gone" when it had left `open`. On the locked row, as approve."""
        with session_scope(self.engine) as session:
            request = self._locked(session, request_id)
            if request.status == Status.OPEN and self._fully_signed(session, request_id):
                return "signed"
            expired = transition_in(
                session,
                RollbackRequest,
                request_id,
                allowed=[Status.OPEN],
                values=values,
                at=at,
                decision=decision,
            )
        return "expired" if expired else "gone"

    def approve(
        self,
        approval: RollbackApproval,
        record: Callable[[bool], Decision],
        begin: Callable[[RollbackStatus], Decision],
    ) -> Approval:
        """An approval and, when it is the last sign-off of an open request, the request's
        move to executing (or approved), in ONE transaction on the locked request row: of
        any clicks at the same instant exactly one sees every role signed, and it is the one
        whose transition goes in. `record(late)` is the approval's decision (late: signed
        after a break-glass execution); `begin(status)` the decision of the move."""
        try:
            with session_scope(self.engine) as session:
                request = self._locked(session, approval.request_id)
                if request.status in (Status.EXPIRED, Status.REJECTED):
                    return Approval("closed", request.status)
                if session.exec(
                    select(RollbackApproval.id).where(
                        RollbackApproval.request_id == approval.request_id,
                        RollbackApproval.user == approval.user,
                    )
                ).first():
                    return Approval("already", request.status)
                late = request.status != Status.OPEN
                approval.after_execution = late
                session.add(approval)
                session.flush()
                decision_log.append_in(session, record(late), approval.at)
                if late or not self._fully_signed(session, approval.request_id):
                    return Approval("added", request.status)
                started = self._begin_in(session, request, approval.at, {}, begin)
                return Approval("added", started or request.status, started)
        except IntegrityError:
            return Approval("signed", "")

    def reject(
        self,
        approval: RollbackApproval,
        *,
        allowed: Collection[str],
        values: Mapping[str, Any],
        decision: Decision,
    ) -> RejectOutcome:
        """The reject sign-off and the request closed, with ONE decision, in one transaction:
        "rejected"; "closed" when the request had left `allowed`; "signed" when that role
        signed meanwhile (nothing is written then)."""
        try:
            with session_scope(self.engine) as session:
                if not transition_in(
                    session,
                    RollbackRequest,
                    approval.request_id,
                    allowed=allowed,
                    values=values,
                    at=approval.at,
                    decision=decision,
                ):
                    return "closed"
                session.add(approval)
                session.flush()
        except IntegrityError:
            return "signed"
        return "rejected"
