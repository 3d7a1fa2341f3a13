"""The tables of Phase 2 readiness (the backlog's state, the risk register) and of the
lessons learned. Datetimes are timezone-aware and stored in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from storage.status import BacklogStatus, PublicationStatus, RiskStatus


class BacklogEntry(SQLModel, table=True):
    """The state of one Phase 2 backlog item of the playbook (its feature): its status and
    its epic. An epic is claimed (`epic_claimed_at`) before Jira is asked, so two clicks
    open one epic."""

    __tablename__ = "backlog_entry"

    id: int | None = Field(default=None, primary_key=True)
    feature: str = Field(max_length=64, unique=True)
    status: str = Field(default=BacklogStatus.PROPOSED, max_length=16)
    epic_key: str = Field(default="", max_length=32)
    epic_url: str = Field(default="", max_length=512)
    epic_claimed_at: datetime | None = None
    updated_at: datetime
    updated_by: str = Field(default="", max_length=64)


class Risk(SQLModel, table=True):
    """A risk of the Phase 2 register; the playbook's defaults carry their `key`."""

    __tablename__ = "risk"

    id: int | None = Field(default=None, primary_key=True)
    key: str | None = Field(default=None, max_length=64, unique=True)
    title: str = Field(max_length=200)
    likelihood: str = Field(max_length=8)  # low | medium | high
    impact: str = Field(max_length=8)
    owner: str = Field(max_length=64)  # a role or a Slack user ID
    mitigation: str = ""
    status: str = Field(default=RiskStatus.OPEN, max_length=16)
    updated_at: datetime
    updated_by: str = Field(default="", max_length=64)


class Lesson(SQLModel, table=True):
    """A lesson learned: its heading, text, author and the message it came from (a message
    is added once: `source` is its channel and ts)."""

    __tablename__ = "lesson"

    id: int | None = Field(default=None, primary_key=True)
    heading: str = Field(max_length=32, index=True)
    text: str
    author: str = Field(max_length=64)  # who said it (the message's author)
    added_by: str = Field(max_length=64)
    link: str = Field(default="", max_length=512)
    source: str | None = Field(default=None, max_length=128, unique=True)
    created_at: datetime
    removed_at: datetime | None = None


class LessonPublication(SQLModel, table=True):
    """The lessons document posted to the channels, once per content (`digest`)."""

    __tablename__ = "lesson_publication"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True)
    lessons: int
    status: str = Field(default=PublicationStatus.POSTING, max_length=16)
    posted: Any = Field(default=None, sa_column=Column(JSON))  # channel → permalink
    created_at: datetime
    created_by: str = Field(max_length=64)
    claimed_at: datetime  # when the caller now posting it took it (a stale claim is retaken)
