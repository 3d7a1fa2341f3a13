"""The append-only decision log, each record chained to its predecessor by SHA-256."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from storage.db import session_scope
from storage.models import DecisionRecord

GENESIS = "0" * 64
CHAIN_LOCK_KEY = 0x5741_52524F4F4D  # "WARROOM"
APPEND_ATTEMPTS = 5


def _canonical(record: DecisionRecord) -> bytes:
    at = record.at.astimezone(UTC) if record.at.tzinfo else record.at.replace(tzinfo=UTC)
    body = {
        "seq": record.seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": record.actor,
        "action": record.action,
        "subject": record.subject,
        "before": record.before,
        "after": record.after,
        "reason": record.reason,
        "evidence": record.evidence,
        "outcome": record.outcome,
        "prev_hash": record.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def record_hash(record: DecisionRecord) -> str:
    return hashlib.sha256(_canonical(record)).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Decision:
    actor: str
    action: str
    subject: str = ""
    before: Any = None
    after: Any = None
    reason: str = ""
    evidence: Any = None
    outcome: str = "applied"


def append_in(session: Session, decision: Decision, at: datetime) -> DecisionRecord:
    """Append inside the caller's transaction (so a state change and its record commit together).

    Writers are serialized: SQLite by session_scope's BEGIN IMMEDIATE, PostgreSQL by a
    transaction-level advisory lock. The unique seq is the last line of defence.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    last = session.exec(select(DecisionRecord).order_by(col(DecisionRecord.seq).desc())).first()
    record = DecisionRecord(
        seq=(last.seq + 1) if last else 1,
        at=at.astimezone(UTC),
        actor=decision.actor,
        action=decision.action,
        subject=decision.subject,
        before=decision.before,
        after=decision.after,
        reason=decision.reason,
        evidence=decision.evidence,
        outcome=decision.outcome,
        prev_hash=last.hash if last else GENESIS,
        hash="",
    )
    record.hash = record_hash(record)
    session.add(record)
    session.flush()
    return record


def append(engine: Engine, decision: Decision, at: datetime) -> DecisionRecord:
    for attempt in range(APPEND_ATTEMPTS):
        try:
            with session_scope(engine) as session:
                return append_in(session, decision, at)
        except IntegrityError:
            if attempt == APPEND_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def head_seq(engine: Engine) -> int:
    """The seq of the newest record: a version stamp of everything the log describes."""
    with engine.connect() as connection:
        return connection.execute(text("SELECT max(seq) FROM decision_log")).scalar() or 0


def last_for(
    engine: Engine,
    action: str | Collection[str],
    subjects: list[str],
    applied_only: bool = False,
) -> dict[str, DecisionRecord]:
    """The latest record of `action` (or of any of several) for each subject (e.g. the last
    change of each flag); with `applied_only`, failed attempts do not count."""
    actions = [action] if isinstance(action, str) else list(action)
    where: list[Any] = [
        col(DecisionRecord.action).in_(actions),
        col(DecisionRecord.subject).in_(subjects),
    ]
    if applied_only:
        where.append(col(DecisionRecord.outcome) == "applied")
    latest = select(func.max(DecisionRecord.seq)).where(*where).group_by(DecisionRecord.subject)
    with Session(engine) as session:
        records = session.exec(select(DecisionRecord).where(col(DecisionRecord.seq).in_(latest)))
        return {record.subject: record for record in records}


def recent(engine: Engine, limit: int = 10, action_prefix: str = "") -> list[DecisionRecord]:
    with Session(engine) as session:
        query = select(DecisionRecord).order_by(col(DecisionRecord.seq).desc()).limit(limit)
        if action_prefix:
            query = query.where(col(DecisionRecord.action).startswith(action_prefix))
        return list(session.exec(query))


@dataclass(frozen=True)
class ChainReport:
    records: int
    first_broken_seq: int | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None


def verify_records(records: Sequence[DecisionRecord]) -> ChainReport:
    expected_prev, expected_seq = GENESIS, 1
    for record in records:
        if record.seq != expected_seq:
            return ChainReport(len(records), record.seq, f"expected seq {expected_seq}")
        if record.prev_hash != expected_prev:
            return ChainReport(
                len(records), record.seq, "prev_hash does not match the record before"
            )
        if record_hash(record) != record.hash:
            return ChainReport(len(records), record.seq, "content does not match its hash")
        expected_prev, expected_seq = record.hash, expected_seq + 1
    return ChainReport(len(records), None)


def verify(engine: Engine) -> ChainReport:
    with Session(engine) as session:
        records = list(session.exec(select(DecisionRecord).order_by(col(DecisionRecord.seq))))
    return verify_records(records)
