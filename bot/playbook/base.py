"""Shared pieces of the playbook models: the strict base, durations and local times."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The state-changing actions a playbook grants to roles. Each later surface adds its own.
ACTIONS = (
    "rollout.set",
    "rollout.launch",
    "rollout.freeze",
    "rollout.unfreeze",
    "rollback.request",  # open a rollback request
    "rollback.break_glass",  # execute at once while critical (sign-offs collected after)
    "rollback.operate",  # retry a failed step, finish one by hand, confirm metrics
    "rollback.incident",  # declare the incident severity on a request
    "feedback.file",  # file beta feedback from Slack (the /feedback form, the shortcut)
    "phase2.refine",  # mark a Phase 2 backlog item refined
    "phase2.approve",  # approve a refined Phase 2 backlog item
    "phase2.epics",  # create the Jira epics of the approved items, or link an epic by hand
    "phase2.risk",  # add a risk to the register or update one
    "lessons.add",  # capture a lesson learned (/lesson, the shortcut), move or remove one
    "lessons.publish",  # post the lessons document to the channels
    "comms.mark_sent",  # record that a launch communication went out, with its link
    "staffing.confirm",  # say "I'm on duty" on the pre-launch support staffing check
)

FLAG_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
SLACK_MEMBER = re.compile(r"^[UWS][A-Z0-9]{2,}$")
DURATION = re.compile(r"^(-?\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

Percent = Annotated[int, Field(ge=0, le=100)]
Op = Literal[">", ">=", "<", "<="]
# What each comparison of the playbook (triggers, KPI goals, verify checks) means.
OPS = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__}
LocalTime = Annotated[str, Field(description="HH:MM local time")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_duration(text: str) -> timedelta:
    """'5m', '-24h', '30s', '2d' → timedelta."""
    match = DURATION.match(text.strip())
    if not match:
        raise ValueError(f"expected a duration such as 30s, 5m, -24h or 2d, got {text!r}")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_local_time(text: str) -> time:
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", text.strip())
    if not match:
        raise ValueError(f"expected a local time HH:MM (00:00–23:59), got {text!r}")
    return time(int(match.group(1)), int(match.group(2)))


class _HasLocalTime(_Strict):
    at: LocalTime

    @field_validator("at")
    @classmethod
    def _valid_time(cls, value: str) -> str:
        parse_local_time(value)
        return value

    @property
    def local_time(self) -> time:
        return parse_local_time(self.at)
