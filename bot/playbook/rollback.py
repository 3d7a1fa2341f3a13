"""The rollback section: the flag target it reverts to, its checks, and the runbook's
integrations."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.playbook.base import Op, Percent, _Strict


class FlagTarget(_Strict):
    percent: Percent
    segments: list[str] = Field(min_length=1)


class MetricCheck(_Strict):
    metric: str
    op: Op
    value: float


class RollbackVerify(_Strict):
    checks: list[MetricCheck] = Field(default_factory=list)
    e2e_command: str = ""
    window_seconds: float = Field(60, ge=0)  # the checks must hold this long…
    sample_seconds: float = Field(10, gt=0)  # …sampled this often


class PostActions(_Strict):
    incident_severity: int = Field(2, ge=1, le=5)
    postmortem_within_hours: int = Field(24, ge=1)


class Rollback(_Strict):
    target: FlagTarget
    empty_external_user_rules: bool = True
    caches: list[str] = Field(default_factory=list)
    verify: RollbackVerify = RollbackVerify()
    communicate: list[Literal["war_room_post", "support_email", "maintenance_banner"]] = Field(
        default_factory=list
    )
    post_actions: PostActions = PostActions()
    approval_expires_minutes: int = Field(30, ge=1)
    sign_off_roles: list[str] = Field(default_factory=lambda: ["product", "support"], min_length=1)
    step_attempts: int = Field(3, ge=1, le=10)
    step_backoff_seconds: float = Field(2.0, ge=0)
    e2e_timeout_seconds: int = Field(600, ge=1)
    banner_message: str = "We are fixing an issue with checkout. Some features are paused."


class EmailSettings(_Strict):
    smtp_host: str
    smtp_port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    sender: str
    to: list[str] = Field(min_length=1)


class JiraSettings(_Strict):
    base_url: str = Field(pattern=r"^https?://")
    project_key: str = Field(pattern=r"^[A-Z][A-Z0-9_]+$")
    issue_type: str = "Incident"
    priority: str = "High"
    epic_issue_type: str = "Epic"  # the Phase 2 epics (`/phase2 epics`)
    epic_project_key: str | None = Field(None, pattern=r"^[A-Z][A-Z0-9_]+$")  # default: project_key


class Integrations(_Strict):
    """Each is optional: a runbook step whose integration is not configured is shown as
    skipped (not configured), never silently dropped."""

    cache_clear_url: str | None = None  # POST per service; "{service}" is replaced
    banner_url: str | None = None  # POST {"message": …, "active": true}
    email: EmailSettings | None = None
    jira: JiraSettings | None = None
    postmortem_join_url: str = ""
