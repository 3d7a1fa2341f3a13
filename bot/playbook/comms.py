"""The go-to-market side of the plan: the launch communications calendar, the support
staffing check, and the Phase 2 preparation timeline."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bot.playbook.base import LocalTime, _HasLocalTime, _Strict, parse_duration

APPROVED_LINK = re.compile(r"^https?://[^\s<>|]+$")


class Communication(_Strict):
    """One launch communication: what goes out, where, when (relative to T), who sends it,
    and the approved text it must follow."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1, max_length=120)
    channel: str = Field(min_length=1, max_length=40)  # email, in_app, dashboard_banner…
    offset: str  # from T: "0h", "4h", "-1h"
    owner: str  # a role
    approved_text: str = ""  # a link to the approved text

    @field_validator("offset")
    @classmethod
    def _valid_offset(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("approved_text")
    @classmethod
    def _valid_link(cls, value: str) -> str:
        if value and not APPROVED_LINK.match(value):
            raise ValueError("expected an http(s) link without spaces, or nothing")
        return value


class Communications(_Strict):
    post_to: Literal["war_room", "product", "support"] = "war_room"  # a key of `channels`
    notice_minutes: int = Field(60, ge=0)  # each is posted to its owner this long before
    remind_after_minutes: int = Field(15, ge=0)  # not marked sent this long after → reminded
    escalate_after_minutes: int = Field(60, ge=1)  # still not → escalated
    escalate_to: str = "product"  # a role
    items: list[Communication] = Field(default_factory=list)

    @model_validator(mode="after")
    def _keys_and_delays(self) -> Communications:
        keys = [item.key for item in self.items]
        if len(set(keys)) != len(keys):
            raise ValueError("each communication needs a key of its own")
        if self.escalate_after_minutes <= self.remind_after_minutes:
            raise ValueError("escalate_after_minutes must come after remind_after_minutes")
        return self


class SupportStaffing(_Strict):
    """The pre-launch check that the extra support agents for the SLA are on duty."""

    offset: str = "-1h"  # when the check is posted, from T
    agents: int = Field(2, ge=1)  # how many must say they are on duty
    confirm_by: str = "0h"  # not confirmed by then (from T) → reminded and escalated
    escalate_to: str = "oncall"  # a role

    @field_validator("offset", "confirm_by")
    @classmethod
    def _valid_offsets(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _order(self) -> SupportStaffing:
        if parse_duration(self.confirm_by) <= parse_duration(self.offset):
            raise ValueError("confirm_by must come after offset")
        return self


class TimelineStep(_HasLocalTime):
    """One step of the Phase 2 preparation: from Day `from_day` (T's local date is Day 0)
    to Day `to_day`, posted at `at` on its first day."""

    at: LocalTime = "09:45"
    from_day: int = Field(ge=0)
    to_day: int | None = Field(None, ge=0)
    title: str = Field(min_length=1, max_length=150)
    owners: list[str] = Field(min_length=1)  # roles
    actions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _order(self) -> TimelineStep:
        if self.to_day is not None and self.to_day < self.from_day:
            raise ValueError("to_day must not come before from_day")
        return self

    @property
    def days(self) -> str:
        """'Day 0–1', 'Day 3'."""
        if self.to_day is None or self.to_day == self.from_day:
            return f"Day {self.from_day}"
        return f"Day {self.from_day}–{self.to_day}"
