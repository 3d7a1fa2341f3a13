"""SQLModel tables. Datetimes are timezone-aware and stored in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


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
