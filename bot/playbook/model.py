"""The whole playbook: every section, and the checks that hold within one field."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from bot.playbook.base import FLAG_NAME, _Strict
from bot.playbook.cadence import (
    CompletionItem,
    Council,
    DailySync,
    Milestone,
    ScheduleSettings,
    Shift,
    Snapshots,
)
from bot.playbook.comms import Communications, SupportStaffing, TimelineStep
from bot.playbook.feedback import Feedback
from bot.playbook.flags import FlagProviderSettings
from bot.playbook.monitoring import Alert, EvaluationSettings, Kpi, Metric, Trigger
from bot.playbook.phase2 import Lessons, Phase2
from bot.playbook.rollback import FlagTarget, Integrations, Rollback


class Channels(_Strict):
    war_room: str = Field(min_length=1)
    product: str = Field(min_length=1)
    support: str = Field(min_length=1)


class Playbook(_Strict):
    name: str
    timezone: str
    channels: Channels
    flags: list[str] = Field(min_length=1)
    segments: list[str] = Field(min_length=1)
    external_segments: list[str] = Field(default_factory=list)
    initial_state: FlagTarget
    rollout_target: FlagTarget
    rollback: Rollback
    metrics: dict[str, Metric]
    alerts: list[Alert] = Field(default_factory=list)
    triggers: list[Trigger] = Field(default_factory=list)
    kpis: list[Kpi] = Field(default_factory=list)
    monitoring_window_hours: int = Field(48, ge=1)
    shifts: list[Shift] = Field(default_factory=list)
    daily_sync: DailySync
    council: Council
    first_hour_snapshots: Snapshots
    milestones: list[Milestone] = Field(default_factory=list)
    feedback: Feedback
    roles: dict[str, list[str]]
    permissions: dict[str, list[str]]
    integrations: Integrations = Integrations()
    schedule: ScheduleSettings = ScheduleSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    completion: list[CompletionItem] = Field(default_factory=list)
    communications: Communications = Communications()
    support_staffing: SupportStaffing | None = None
    phase2_timeline: list[TimelineStep] = Field(default_factory=list)
    flag_provider: FlagProviderSettings = Field(default_factory=FlagProviderSettings)
    phase2: Phase2 = Phase2()
    lessons: Lessons = Lessons()

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"expected an IANA time zone such as Europe/Madrid, got {value!r}"
            ) from None
        return value

    @field_validator("flags")
    @classmethod
    def _valid_flags(cls, value: list[str]) -> list[str]:
        bad = [flag for flag in value if not FLAG_NAME.match(flag)]
        if bad:
            raise ValueError(f"flag names must be UPPER_SNAKE_CASE: {', '.join(bad)}")
        if len(set(value)) != len(value):
            raise ValueError("flag names must be unique")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
