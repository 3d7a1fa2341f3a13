"""A rehearsal scenario: metric stories, how the personas behave, and the faults.

Scenarios are small YAML files; the shipped ones live beside this module. Times are
offsets from the launch time T (`-24h`, `3h`, `3h7m`), as in the playbook's milestones.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.playbook import parse_duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def offset(text: str) -> timedelta:
    """`-24h`, `3h`, `3h7m`, `0h` → a signed timedelta."""
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    total = timedelta(0)
    number = ""
    for char in body:
        if char.isdigit():
            number += char
            continue
        if not number:
            raise ValueError(f"`{text}` is not an offset like 3h or -24h or 3h7m")
        total += parse_duration(number + char)
        number = ""
    if number:
        raise ValueError(f"`{text}` lacks a unit (s, m, h, d)")
    return sign * total


class Point(_Strict):
    """From `at` on, the metric reads `value` (until the next point)."""

    at: str
    value: float | None  # None: Prometheus has no data for it

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        offset(value)
        return value

    @property
    def offset(self) -> timedelta:
        return offset(self.at)


class FeedbackLine(_Strict):
    """Feedback from a beta user, as the checkout widget sends it (POST /api/feedback)."""

    at: str  # an offset from T
    text: str
    rating: int = Field(3, ge=1, le=5)
    category: Literal["bug", "product_request", "question", "praise"] | None = None

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        offset(value)
        return value


class Behaviour(_Strict):
    """How the people act. Delays are durations (`4m`); a role left out never acts."""

    acknowledge_after: str | None = "5m"  # shift owners acknowledge their checklist
    sign_off_after: dict[str, str] = Field(default_factory=dict)  # role → delay
    checkpoint: Literal["continue", "brake"] | None = "continue"
    vote: Literal["advance", "hold", "rollback"] | None = "advance"
    advance_at_council: bool = True  # the chair presses Advance when the vote says so
    # when the bot escalates an expired critical rollback to on-call: on-call declares the
    # incident this long after, and breaks glass on the request it opens a minute later
    answer_escalation_after: str | None = None
    feedback: list[FeedbackLine] = Field(default_factory=list)


class Fault(_Strict):
    kind: Literal["slack_500", "prometheus_no_data"]
    at: str  # an offset from T, or `rollback+2m`: after the first rollback request opens
    lasts: str

    @property
    def duration(self) -> timedelta:
        return parse_duration(self.lasts)


class Expect(_Strict):
    """What the grade checks beyond the playbook's own promises."""

    rollbacks: int = 0
    final_percent: float | None = None  # where each flag must stand at the end
    final_segments: list[str] | None = None


class Scenario(_Strict):
    name: str
    description: str = ""
    launch: str = "2026-12-01 10:00"  # T, local to the playbook's zone
    story: dict[str, list[Point]] = Field(default_factory=dict)
    personas: Behaviour = Behaviour()
    faults: list[Fault] = Field(default_factory=list)
    expect: Expect = Expect()

    def value(self, metric: str, at: timedelta) -> float | None:
        """The story's value of `metric` at offset `at` from T (None: no data)."""
        points = self.story.get(metric)
        if not points:
            return None
        current = points[0].value
        for point in points:
            if point.offset <= at:
                current = point.value
            else:
                break
        return current

    def turning_points(self) -> list[timedelta]:
        return sorted({p.offset for points in self.story.values() for p in points})


def shipped() -> list[str]:
    folder = resources.files("bot.rehearse") / "scenarios"
    return sorted(p.name.removesuffix(".yml") for p in folder.iterdir() if p.name.endswith(".yml"))


def load_scenario(name_or_path: str) -> Scenario:
    """A shipped scenario by name, or a YAML file by path; a clear error otherwise."""
    path = Path(name_or_path)
    if path.suffix in (".yml", ".yaml") and path.exists():
        text = path.read_text()
    elif name_or_path in shipped():
        text = (resources.files("bot.rehearse") / "scenarios" / f"{name_or_path}.yml").read_text()
    else:
        raise ScenarioError(
            f"no scenario `{name_or_path}`: give a shipped one ({', '.join(shipped())}) "
            "or the path of a .yml file"
        )
    try:
        return Scenario.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        raise ScenarioError(f"scenario `{name_or_path}` is not valid: {exc}") from exc


class ScenarioError(Exception):
    pass
