"""The launch's cadence: shifts, syncs, the council, snapshots, milestones, completion."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from bot.playbook.base import Percent, _HasLocalTime, _Strict, parse_duration


class Shift(_HasLocalTime):
    name: str
    owners: list[str] = Field(min_length=1)
    metrics: list[str] = Field(default_factory=list)  # live values shown on the checklist
    tools: list[str] = Field(default_factory=list)
    items: list[str] = Field(min_length=1)


class DailySync(_HasLocalTime):
    duration_minutes: int = Field(ge=1)
    attendees: list[str]


class Council(_HasLocalTime):
    day: int = Field(ge=0)
    duration_minutes: int = Field(ge=1)
    voters: list[str]
    chair: str
    advance_percent: Percent = 50  # a vote to advance sets every flag to this


class Snapshots(_Strict):
    every_minutes: int = Field(ge=1)
    for_minutes: int = Field(ge=1)
    metrics: list[str]


class CompletionItem(_Strict):
    """One item of the seed's completion checklist: ticked when its `check` (evidence the
    bot can see) passes and, where people must vouch for it, a member of `confirm_roles`
    has confirmed it with the button."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    check: (
        Literal[
            "runbook_validated",
            "shifts_live",
            "backlog_approved",
            "lessons_published",
            "rollout_running",
            "first_report",
        ]
        | None
    ) = None
    confirm_roles: list[str] = Field(default_factory=list)
    link: str = ""  # where the evidence lives (the backlog, the lessons page)

    @model_validator(mode="after")
    def _something_to_tick(self) -> CompletionItem:
        if self.check is None and not self.confirm_roles:
            raise ValueError("needs a check, confirm_roles, or both")
        return self


class Milestone(_Strict):
    offset: str
    title: str
    actions: list[str] = Field(default_factory=list)

    @field_validator("offset")
    @classmethod
    def _valid_offset(cls, value: str) -> str:
        parse_duration(value)
        return value


class ScheduleSettings(_Strict):
    grace_minutes: int = Field(10, ge=0)  # a post missed while down is still made this late
    checklist_remind_minutes: int = Field(15, ge=1)  # no acknowledgement → remind the owners
    checklist_escalate_minutes: int = Field(30, ge=1)  # still none → escalate to on-call
    watchdog_seconds: int = Field(30, ge=1)
    # the milestone (by its offset from T) whose post asks to continue or brake
    checkpoint_offset: str = "4h"
    # the milestone (by its offset from T) at which the executive report is made
    executive_report_offset: str = "24h"
    # who an unacknowledged checklist is escalated to and a firing trigger calls in
    oncall_role: str = "oncall"

    @field_validator("checkpoint_offset", "executive_report_offset")
    @classmethod
    def _valid_offset(cls, value: str) -> str:
        parse_duration(value)
        return value
