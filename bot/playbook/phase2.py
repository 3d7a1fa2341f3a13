"""Phase 2 readiness and lessons learned: the backlog to approve, the risk register's
defaults, and the headings lessons are grouped under."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from bot.playbook.base import FLAG_NAME, _Strict

Level = Literal["low", "medium", "high"]
LEVELS: tuple[Level, ...] = ("low", "medium", "high")


class BacklogItem(_Strict):
    """One Phase 2 feature: what it depends on, who owns it technically (a role, a Slack
    user ID or a title), how complex it is, and what it should achieve."""

    feature: str
    dependencies: list[str] = Field(default_factory=list)
    owner: str = Field(min_length=1)
    complexity: Level
    expected: str = Field(min_length=1)

    @field_validator("feature")
    @classmethod
    def _feature_name(cls, value: str) -> str:
        if not FLAG_NAME.match(value):
            raise ValueError(f"a feature name is UPPER_SNAKE_CASE, got {value!r}")
        return value


class RiskDefault(_Strict):
    """A risk the register starts with; people update it (`/phase2 risk update`)."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1, max_length=200)
    likelihood: Level
    impact: Level
    owner: str = Field(min_length=1)  # a role or a Slack user ID
    mitigation: str = ""


class Phase2(_Strict):
    channel: Literal["war_room", "product", "support"] = "product"  # where decisions are told
    backlog: list[BacklogItem] = Field(default_factory=list)
    risks: list[RiskDefault] = Field(default_factory=list)

    @field_validator("backlog")
    @classmethod
    def _unique_features(cls, value: list[BacklogItem]) -> list[BacklogItem]:
        names = [item.feature for item in value]
        if len(set(names)) != len(names):
            raise ValueError("each backlog feature must be listed once")
        return value

    @field_validator("risks")
    @classmethod
    def _unique_risks(cls, value: list[RiskDefault]) -> list[RiskDefault]:
        keys = [risk.key for risk in value]
        if len(set(keys)) != len(keys):
            raise ValueError("each risk key must be listed once")
        return value


class LessonHeading(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1, max_length=60)
    # words that file a lesson under this heading when its author names none
    keywords: list[str] = Field(default_factory=list)


def _seed_headings() -> list[LessonHeading]:
    return [
        LessonHeading(key="adoption", title="Adoption"),
        LessonHeading(key="risks", title="Risks"),
        LessonHeading(key="stability", title="Stability"),
        LessonHeading(key="process", title="Process"),
    ]


ChannelKey = Literal["war_room", "product", "support"]


def _every_channel() -> list[ChannelKey]:
    return ["war_room", "product", "support"]


class Lessons(_Strict):
    document: str = Field("phase1-lessons.md", pattern=r"^[\w.-]+\.md$")
    title: str = "Phase 1 — lessons learned"
    headings: list[LessonHeading] = Field(default_factory=_seed_headings, min_length=1)
    default_heading: str = "process"  # where a lesson goes when no heading fits
    publish_to: list[ChannelKey] = Field(default_factory=_every_channel, min_length=1)

    @field_validator("headings")
    @classmethod
    def _unique_headings(cls, value: list[LessonHeading]) -> list[LessonHeading]:
        keys = [h.key for h in value]
        if len(set(keys)) != len(keys):
            raise ValueError("each heading key must be listed once")
        return value

    def heading(self, key: str) -> LessonHeading | None:
        return next((h for h in self.headings if h.key == key), None)
