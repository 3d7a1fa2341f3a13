"""Metrics and what watches them: alerts, triggers, KPIs and the evaluation cadence."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator

from bot.playbook.base import Op, _Strict, parse_duration


class Metric(_Strict):
    unit: str = ""
    source: Literal["prometheus", "warroom"] = "prometheus"
    query: str = ""


class Alert(_Strict):
    metric: str
    direction: Literal["above", "below"]
    warning: float
    critical: float


class Trigger(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    metric: str | None = None
    op: Op | None = None
    value: float | None = None
    for_: str = Field("0s", alias="for")
    incident_severity_at_most: int | None = Field(None, ge=1, le=5)
    # An incident alert's `severity` label → its Sev (e.g. critical: 1); `sev1`…`sev5` are
    # read as written. Only on an incident trigger.
    alert_severities: dict[str, int] = Field(default_factory=dict)
    # Without data from Prometheus: keep the state, treat as ok, or treat as breaching.
    no_data: Literal["keep", "ok", "breaching"] = "keep"

    @field_validator("alert_severities")
    @classmethod
    def _valid_severities(cls, value: dict[str, int]) -> dict[str, int]:
        for label, severity in value.items():
            if not 1 <= severity <= 5:
                raise ValueError(f"{label}: a severity is from 1 to 5, not {severity}")
        return {label.lower(): severity for label, severity in value.items()}

    @field_validator("for_")
    @classmethod
    def _valid_for(cls, value: str) -> str:
        if parse_duration(value) < timedelta(0):
            raise ValueError("must not be negative")
        return value


class Kpi(_Strict):
    metric: str
    op: Op
    value: float
    note: str = ""


class EvaluationSettings(_Strict):
    interval_seconds: int = Field(30, ge=1)  # how often the triggers are evaluated
    no_data_warning_minutes: int = Field(5, ge=1)  # no data this long → a warning post
