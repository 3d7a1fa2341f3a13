"""The go-to-market tables: the launch communications and the support staffing check.
Registered with the others through `storage.models`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.status import CommStatus


class CommunicationState(SQLModel, table=True):
    """One launch communication of one launch time T (the playbook's key and its due time):
    its notice, who marked it sent with which link, its follow-ups, a rollback's pause."""

    __tablename__ = "communication"
    __table_args__ = (UniqueConstraint("key", "due_at", name="uq_communication_due"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64)
    due_at: datetime = Field(index=True)
    status: str = Field(default=CommStatus.SCHEDULED, max_length=16)  # a CommStatus
    run_id: int | None = None  # the notice's scheduled run
    channel: str = Field(default="", max_length=64)
    message_ts: str = Field(default="", max_length=32)
    sent_by: str = Field(default="", max_length=64)
    sent_at: datetime | None = None
    sent_link: str = Field(default="", max_length=512)
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    paused_at: datetime | None = None
    paused_by: str = Field(default="", max_length=32)  # "rollback#7"


class StaffingCheck(SQLModel, table=True):
    """The pre-launch support staffing check: how many agents it asks for, when enough said
    they are on duty, its follow-up."""

    __tablename__ = "staffing_check"

    run_id: int = Field(foreign_key="scheduled_run.id", primary_key=True)
    required: int
    confirmed_at: datetime | None = None
    reminded_at: datetime | None = None


class StaffingDuty(SQLModel, table=True):
    """One agent on duty for one staffing check: the unique key makes a second click a no-op."""

    __tablename__ = "staffing_duty"
    __table_args__ = (UniqueConstraint("run_id", "user", name="uq_staffing_duty"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="staffing_check.run_id", index=True)
    user: str = Field(max_length=64)
    at: datetime
