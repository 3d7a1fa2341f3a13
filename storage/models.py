"""SQLModel tables. Datetimes are timezone-aware and stored in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

# the go-to-market tables (communications, support staffing) live beside, registered with these
from storage.comms_models import CommunicationState as CommunicationState
from storage.comms_models import StaffingCheck as StaffingCheck
from storage.comms_models import StaffingDuty as StaffingDuty

# Phase 2 readiness and lessons learned: their tables live beside, registered with these
from storage.phase2_models import BacklogEntry as BacklogEntry
from storage.phase2_models import Lesson as Lesson
from storage.phase2_models import LessonPublication as LessonPublication
from storage.phase2_models import Risk as Risk
from storage.status import (
    OutboxKind,
    OutboxStatus,
    ReportStatus,
    RollbackStatus,
    StepStatus,
    TriggerStatus,
)


class DecisionRecord(SQLModel, table=True):
    """One append-only entry of the decision log, chained to its predecessor by hash."""

    __tablename__ = "decision_log"
    __table_args__ = (UniqueConstraint("seq", name="uq_decision_log_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(index=True)
    at: datetime
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    subject: str = Field(default="", max_length=128)
    before: Any = Field(default=None, sa_column=Column(JSON))
    after: Any = Field(default=None, sa_column=Column(JSON))
    reason: str = Field(default="")
    evidence: Any = Field(default=None, sa_column=Column(JSON))
    outcome: str = Field(default="applied", max_length=32)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class FlagState(SQLModel, table=True):
    """The embedded flag provider's current state of one flag."""

    __tablename__ = "flag_state"

    name: str = Field(primary_key=True, max_length=64)
    percent: int
    segments: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime
    updated_by: str = Field(max_length=64)


class FlagUserRule(SQLModel, table=True):
    """A per-user targeting rule of the embedded provider (e.g. an external beta tester)."""

    __tablename__ = "flag_user_rule"
    __table_args__ = (UniqueConstraint("flag", "user_key", name="uq_flag_user_rule"),)

    id: int | None = Field(default=None, primary_key=True)
    flag: str = Field(foreign_key="flag_state.name", max_length=64, index=True)
    segment: str = Field(max_length=64)
    user_key: str = Field(max_length=128)
    enabled: bool = True


class RolloutState(SQLModel, table=True):
    """The single row holding the launch time T and the freeze."""

    __tablename__ = "rollout_state"

    id: int = Field(default=1, primary_key=True)
    launch_at: datetime | None = None
    frozen: bool = False
    frozen_reason: str = ""
    frozen_by: str = Field(default="", max_length=64)
    frozen_at: datetime | None = None
    freeze_seq: int | None = None  # the decision record that froze it


class ProcessedSlackEvent(SQLModel, table=True):
    """Slack event ids already handled: a retry of one is acknowledged and dropped."""

    __tablename__ = "processed_slack_event"

    event_id: str = Field(primary_key=True, max_length=64)
    received_at: datetime


class RollbackRequest(SQLModel, table=True):
    """A request to roll the launch back: opened by a person or a trigger, signed off,
    then executed by the runbook. Status (RollbackStatus): open → executing → done;
    open → approved (waiting for a running rollback of the same flags) → executing;
    executing ⇄ failed (stopped at a step, then retried or finished by hand);
    open → rejected | expired."""

    __tablename__ = "rollback_request"

    id: int | None = Field(default=None, primary_key=True)
    flags: list[str] = Field(sa_column=Column(JSON, nullable=False))
    reason: str
    requested_by: str = Field(max_length=64)  # a user ID, or "trigger:<name>"
    evidence: Any = Field(default=None, sa_column=Column(JSON))
    critical: bool = False  # a critical trigger fires or a Sev2+ incident is declared
    incident_severity: int | None = None
    status: str = Field(default=RollbackStatus.OPEN, max_length=16, index=True)
    opened_at: datetime
    expires_at: datetime
    breach_started_at: datetime | None = None  # when a trigger's condition began (MTTR)
    break_glass_by: str = Field(default="", max_length=64)
    executing_since: datetime | None = None
    closed_at: datetime | None = None
    recovered_at: datetime | None = None
    closed_reason: str = ""
    channel: str = Field(default="", max_length=64)
    message_ts: str = Field(default="", max_length=32)
    lease_owner: str = Field(default="", max_length=64)
    lease_until: datetime | None = None


class RollbackApproval(SQLModel, table=True):
    """One sign-off (or rejection) per request and role: the unique key makes a double
    click, a Slack retry or two people clicking at once a no-op."""

    __tablename__ = "rollback_approval"
    __table_args__ = (UniqueConstraint("request_id", "role", name="uq_rollback_approval_role"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="rollback_request.id", index=True)
    role: str = Field(max_length=32)
    user: str = Field(max_length=64)
    decision: str = Field(max_length=16)  # approve | reject
    reason: str = ""
    at: datetime
    after_execution: bool = False  # collected after a break-glass execution


class RunbookStep(SQLModel, table=True):
    """One step of one request's runbook, persisted as it starts and ends."""

    __tablename__ = "runbook_step"
    __table_args__ = (UniqueConstraint("request_id", "position", name="uq_runbook_step"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="rollback_request.id", index=True)
    position: int
    name: str = Field(max_length=32)
    status: str = Field(default=StepStatus.PENDING, max_length=16)  # see StepStatus
    attempts: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None
    output: Any = Field(default=None, sa_column=Column(JSON))
    error: str = ""
    done_by: str = Field(default="", max_length=64)  # who finished it by hand, if anyone


class Postmortem(SQLModel, table=True):
    __tablename__ = "postmortem"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="rollback_request.id", unique=True)
    at: datetime
    reminded: bool = False


class RunbookSignature(SQLModel, table=True):
    """The joint sign-off of the rollback runbook itself, per version of its playbook text."""

    __tablename__ = "runbook_signature"
    __table_args__ = (UniqueConstraint("version", "role", name="uq_runbook_signature"),)

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=64)
    role: str = Field(max_length=32)
    user: str = Field(max_length=64)
    at: datetime


class ScheduledRun(SQLModel, table=True):
    """One scheduled post at one fire time, claimed before it is made: the unique key turns
    a restart, a second replica or a job running twice into a no-op."""

    __tablename__ = "scheduled_run"
    __table_args__ = (UniqueConstraint("job_key", "fire_at", name="uq_scheduled_run"),)

    id: int | None = Field(default=None, primary_key=True)
    job_key: str = Field(max_length=96)
    kind: str = Field(max_length=32)
    fire_at: datetime = Field(index=True)
    status: str = Field(max_length=16)  # a storage.status.RunStatus
    claimed_by: str = Field(default="", max_length=64)  # the replica that claimed it
    claimed_at: datetime
    late_seconds: int = 0
    channel: str = Field(default="", max_length=64)
    message_ts: str = Field(default="", max_length=32)
    note: str = ""  # for people only (what a report producer said); never read as state
    missed_reported: bool = False
    # the checkpoint's choice (continue | brake) or the council's outcome (advance | hold |
    # rollback), once status is decided | closed
    decision: str = Field(default="", max_length=16)
    decided_by: str = Field(default="", max_length=64)


class ChecklistState(SQLModel, table=True):
    """A posted shift checklist: which items are ticked, who acknowledged, reminders sent."""

    __tablename__ = "checklist_state"

    run_id: int = Field(foreign_key="scheduled_run.id", primary_key=True)
    shift: str = Field(max_length=64)
    items: list[str] = Field(sa_column=Column(JSON, nullable=False))
    ticked: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    acknowledged_by: str = Field(default="", max_length=64)
    acknowledged_at: datetime | None = None
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    completed_at: datetime | None = None
    live: list[str] | None = Field(default=None, sa_column=Column(JSON))  # values at post time


class ChecklistEvent(SQLModel, table=True):
    """Who ticked, unticked or acknowledged what, and when (append-only history)."""

    __tablename__ = "checklist_event"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="scheduled_run.id", index=True)
    user: str = Field(max_length=64)
    action: str = Field(max_length=16)  # tick | untick | ack
    item: int | None = None
    at: datetime


class CouncilVote(SQLModel, table=True):
    """One vote per person and council, changeable until the council closes."""

    __tablename__ = "council_vote"
    __table_args__ = (UniqueConstraint("council", "user", name="uq_council_vote"),)

    id: int | None = Field(default=None, primary_key=True)
    council: str = Field(max_length=64)  # the council's scheduled run key and fire time
    user: str = Field(max_length=64)
    choice: str = Field(max_length=16)  # advance | hold | rollback
    at: datetime


class TriggerState(SQLModel, table=True):
    """The evaluator's state of one trigger: ok → pending → firing → (resolved) ok."""

    __tablename__ = "trigger_state"

    name: str = Field(primary_key=True, max_length=64)
    state: str = Field(default=TriggerStatus.OK, max_length=16)
    pending_since: datetime | None = None  # the first breaching sample of this run
    last_value: float | None = None
    last_sample_at: datetime | None = None
    last_data_at: datetime | None = None
    nodata_warned: bool = False
    error_reported: bool = False  # a failing query is told once, until it works again
    episode_id: int | None = None


class TriggerEpisode(SQLModel, table=True):
    """One firing of one trigger, from whichever source saw it first (the evaluator or
    Alertmanager); the unique key stops the two from opening two rollbacks."""

    __tablename__ = "trigger_episode"
    __table_args__ = (UniqueConstraint("trigger", "open_key", name="uq_trigger_episode_open"),)

    id: int | None = Field(default=None, primary_key=True)
    trigger: str = Field(max_length=64, index=True)
    open_key: str = Field(max_length=16)  # "open" while firing; the id once resolved
    source: str = Field(max_length=16)  # evaluator | alertmanager
    fingerprint: str = Field(default="", max_length=64)
    breach_started_at: datetime
    fired_at: datetime
    alerted_at: datetime | None = None
    resolved_at: datetime | None = None
    request_id: int | None = None
    evidence: Any = Field(default=None, sa_column=Column(JSON))


class AlertState(SQLModel, table=True):
    """A warning threshold: posted once when crossed, again only after recovery."""

    __tablename__ = "alert_state"

    metric: str = Field(primary_key=True, max_length=64)
    warned_at: datetime | None = None


class FeedbackItem(SQLModel, table=True):
    """One piece of beta feedback, from any source, with where it was routed."""

    __tablename__ = "feedback_item"
    # the reports' figures come from this index alone (no table lookups): a day of a
    # million items aggregates in well under a second
    __table_args__ = (
        Index("ix_feedback_item_report", "created_at", "rating", "source", "category", "route"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str | None = Field(default=None, max_length=128, unique=True)
    source: str = Field(max_length=16, index=True)  # widget | survey | slack | modal
    user_id: str = Field(default="", max_length=128)
    flag: str = Field(default="", max_length=64)
    rating: int | None = None
    category: str = Field(max_length=24)  # bug | product_request | question | praise
    route: str = Field(max_length=16, index=True)  # critical | product | question
    classified_by: str = Field(max_length=8)  # form | rules
    text: str
    created_at: datetime
    channel: str = Field(default="", max_length=64)
    message_ts: str = Field(default="", max_length=32)
    link: str = Field(default="", max_length=512)  # the Slack message it was filed from
    routed_at: datetime | None = Field(default=None, index=True)  # None: still to be posted
    claimed_by: str = Field(default="", max_length=32, index=True)  # the routing pass posting it


class Ticket(SQLModel, table=True):
    """A helpdesk ticket tagged for the beta, kept from its events (created, answered,
    solved) so the war room can count them per day and flag those past the support SLA."""

    __tablename__ = "ticket"

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=64, unique=True)
    subject: str = Field(default="", max_length=256)
    link: str = Field(default="", max_length=512)
    flag: str = Field(default="", max_length=64)
    created_at: datetime = Field(index=True)
    answered_at: datetime | None = None
    solved_at: datetime | None = None
    sla_flagged_at: datetime | None = None  # set once, by whoever flags it first


class Report(SQLModel, table=True):
    """A daily or executive report as it was posted: its figures and its Markdown."""

    __tablename__ = "report"
    __table_args__ = (UniqueConstraint("kind", "period", name="uq_report_period"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # daily | executive
    period: str = Field(max_length=32)  # the local day, or "T+24h"
    created_at: datetime
    proposal: str = Field(default="", max_length=16)  # executive: advance | hold | rollback
    figures: Any = Field(default=None, sa_column=Column(JSON))
    markdown: str = ""
    status: str = Field(default=ReportStatus.POSTING, max_length=16)
    channel: str = Field(default="", max_length=64)
    message_ts: str = Field(default="", max_length=32)
    chart_file_id: str = Field(default="", max_length=32)


class OutboxMessage(SQLModel, table=True):
    """One war-room post, update or file, stored before Slack sees it: a sender claims it,
    sends it once and records Slack's `ts`. Until then the services hold its handle
    (`q:<id>`), which an update or a thread reply may name in place of a ts."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=OutboxKind.POST, max_length=8)
    channel: str = Field(max_length=80)
    target: str = Field(default="", max_length=32)  # update: the message; else the thread
    text: str = ""
    blocks: Any = Field(default=None, sa_column=Column(JSON))
    data: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # an upload's file
    filename: str = Field(default="", max_length=128)
    status: str = Field(default=OutboxStatus.PENDING, max_length=8)
    ts: str = Field(default="", max_length=32)  # Slack's, once sent
    channel_id: str = Field(default="", max_length=32)  # Slack's answer names the channel's ID
    attempts: int = 0
    next_attempt_at: datetime
    claimed_by: str = Field(default="", max_length=64)
    claimed_until: datetime | None = None
    last_error: str = Field(default="", max_length=64)  # Slack's error code or the exception kind
    created_at: datetime
    sent_at: datetime | None = None
