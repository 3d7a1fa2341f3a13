"""Faults on the virtual clock: Slack answering 500, Prometheus answering with no data.

A fault starts at an offset from T (`3h5m`) or from the first rollback request
(`rollback+1m`), and lasts its `lasts`. The loopback Slack checks the window on every call,
so a runbook that moves the virtual clock on (its waits) sees the fault lift on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.local.fake_slack import FakeSlack
from bot.rehearse.scenario import Fault, offset

ROLLBACK_ANCHOR = "rollback"


@dataclass
class Window:
    fault: Fault
    start: datetime | None  # None until its anchor (the first rollback) happens

    def covers(self, at: datetime) -> bool:
        return self.start is not None and self.start <= at < self.start + self.fault.duration


class FaultPlan:
    def __init__(self, faults: list[Fault], launch_at: datetime) -> None:
        self.windows = [
            Window(f, None if f.at.startswith(ROLLBACK_ANCHOR) else launch_at + offset(f.at))
            for f in faults
        ]

    @property
    def unanchored(self) -> bool:
        return any(w.start is None for w in self.windows)

    def anchor_rollback(self, opened_at: datetime) -> None:
        for window in self.windows:
            if window.start is None:
                rest = window.fault.at.removeprefix(ROLLBACK_ANCHOR) or "0m"
                window.start = opened_at + offset(rest)

    def active(self, kind: str, at: datetime) -> bool:
        return any(w.fault.kind == kind and w.covers(at) for w in self.windows)

    def no_data(self, at: datetime) -> bool:
        return self.active("prometheus_no_data", at)

    def edges(self) -> list[datetime]:
        return [
            edge
            for w in self.windows
            if w.start is not None
            for edge in (w.start, w.start + w.fault.duration)
        ]

    def spans(self) -> list[tuple[str, datetime, datetime]]:
        """The faults that happened: kind, from, to."""
        return [
            (w.fault.kind, w.start, w.start + w.fault.duration)
            for w in self.windows
            if w.start is not None
        ]

    def near(self, at: datetime, after: timedelta) -> bool:
        return any(
            w.start is not None
            and w.start - timedelta(minutes=2) <= at <= w.start + w.fault.duration + after
            for w in self.windows
        )

    def described(self) -> list[str]:
        return [
            f"{w.fault.kind} from {w.start:%a %H:%M} UTC for {w.fault.lasts}"
            if w.start
            else f"{w.fault.kind} at {w.fault.at} (never started)"
            for w in self.windows
        ]


SLACK_WRITES = ("chat.", "views.", "files.")


class RehearsalSlack(FakeSlack):
    """The loopback Slack on the virtual clock: it notes when each message was posted or
    edited, and answers 500 to writes while a `slack_500` fault is on."""

    def attach(self, clock: Clock, faults: FaultPlan) -> RehearsalSlack:
        self.clock = clock
        self.fault_plan = faults
        self.posted_at: dict[str, datetime] = {}
        self.refused: list[tuple[datetime, str]] = []
        return self

    def _handle(
        self, path: str, raw: str, headers: Any
    ) -> tuple[int, dict[str, Any], dict[str, Any]]:
        method = path.removeprefix("/api/").split("?", 1)[0]
        now = self.clock.now()
        if method.startswith(SLACK_WRITES) and self.fault_plan.active("slack_500", now):
            with self._cond:
                self.refused.append((now, method))
                self._cond.notify_all()
            return 500, {"ok": False, "error": "internal_error"}, {}
        status, payload, extra = super()._handle(path, raw, headers)
        ts = payload.get("ts") or payload.get("message_ts")
        if status == 200 and payload.get("ok") and isinstance(ts, str):
            self.posted_at.setdefault(ts, now)
        return status, payload, extra
