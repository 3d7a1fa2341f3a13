"""The metrics-reader interface the runbook's verify step uses (Prometheus: issue 5)."""

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

    def read(self, metric: str) -> Reading:
        """The current value; raises IntegrationError when it cannot be read."""
        ...
