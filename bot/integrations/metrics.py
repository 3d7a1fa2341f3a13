"""The metrics-reader interface: the evaluator, the KPIs and the runbook's verify step read
through it (Prometheus implements it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Reading:
    metric: str
    value: float
    at: datetime


class MetricsReader(Protocol):
    name: str

    def read(self, metric: str) -> Reading | None:
        """The current value, None when the source has no data; raises IntegrationError
        when it cannot be read."""
        ...
