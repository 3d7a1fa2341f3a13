"""Every status a row can hold, one StrEnum per table. Stored as their plain string value,
so a row written before these existed reads back unchanged."""

from __future__ import annotations

from enum import StrEnum


class RollbackStatus(StrEnum):
    """open → executing → done, or open → approved (waits for a running rollback of the same
    flags) → executing; executing ⇄ failed (a person retries or finishes a step by hand);
    open → rejected | expired."""

    OPEN = "open"
    APPROVED = "approved"
    EXECUTING = "executing"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"


ROLLBACK_CLOSED = frozenset({RollbackStatus.DONE, RollbackStatus.REJECTED, RollbackStatus.EXPIRED})


class StepStatus(StrEnum):
    """pending → running → done | skipped | waiting (a person confirms) | failed."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    SKIPPED = "skipped"
    WAITING = "waiting"
    FAILED = "failed"


class RunStatus(StrEnum):
    """A scheduled post: claimed → posted | late | failed; or missed / skipped at claim time.
    A post that asks for a decision then moves on once: the checkpoint posted | late →
    decided, the council posted | late → closed (the choice is in `ScheduledRun.decision`)."""

    CLAIMED = "claimed"
    POSTED = "posted"
    LATE = "late"
    MISSED = "missed"
    SKIPPED = "skipped"
    FAILED = "failed"
    DECIDED = "decided"
    CLOSED = "closed"


class TriggerStatus(StrEnum):
    """ok → pending (breached, waiting out `for`) → firing → ok (resolved)."""

    OK = "ok"
    PENDING = "pending"
    FIRING = "firing"


class ReportStatus(StrEnum):
    """posting (one replica holds it) → posted | unposted (Slack did not take it; a later
    tick claims it back to posting)."""

    POSTING = "posting"
    POSTED = "posted"
    UNPOSTED = "unposted"


class OutboxStatus(StrEnum):
    """pending (claimed by a sender while it talks to Slack) → sent | failed (Slack refused
    it for good: a bad channel or blocks; retrying would not help)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxKind(StrEnum):
    """A new message, an update of one (by its outbox handle or ts), or a file in a thread."""

    POST = "post"
    UPDATE = "update"
    UPLOAD = "upload"


class BacklogStatus(StrEnum):
    """A Phase 2 backlog item: proposed → refined → approved."""

    PROPOSED = "proposed"
    REFINED = "refined"
    APPROVED = "approved"


class RiskStatus(StrEnum):
    """A risk of the register: open ⇄ closed."""

    OPEN = "open"
    CLOSED = "closed"


class PublicationStatus(StrEnum):
    """The lessons document posted to the channels: posting (one caller holds it) → posted
    (every channel took it) | partial (some did not; publishing again posts to those)."""

    POSTING = "posting"
    POSTED = "posted"
    PARTIAL = "partial"


class CommStatus(StrEnum):
    """A launch communication: scheduled → posted (its owner has the notice) → sent (marked,
    with the link to what went out); scheduled | posted → paused (a rollback began)."""

    SCHEDULED = "scheduled"
    POSTED = "posted"
    SENT = "sent"
    PAUSED = "paused"
