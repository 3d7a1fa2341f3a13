"""What the rollout service hands out, and the outbound port it announces through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.flags.base import FlagView
from storage.models import DecisionRecord, RolloutState


class Announcer(Protocol):
    """Posts to a channel; returns the message ts, or None when the post failed (logged)."""

    def announce(self, kind: str, **data: object) -> str | None: ...


@dataclass(frozen=True)
class FreezeState:
    frozen: bool
    reason: str = ""
    by: str = ""
    at: datetime | None = None
    seq: int | None = None

    @classmethod
    def of(cls, row: RolloutState) -> FreezeState:
        if not row.frozen:
            return cls(False)
        return cls(True, row.frozen_reason, row.frozen_by, row.frozen_at, row.freeze_seq)


@dataclass(frozen=True)
class RolloutStatus:
    flags: list[FlagView]
    freeze: FreezeState
    launch_at: datetime | None
    last_changes: dict[str, DecisionRecord]
    provider: str
    # flags whose latest state was changed outside warroom (seen, recorded, not overwritten)
    changed_outside: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Change:
    record: DecisionRecord
    announcement: str | None  # what the announcer gave back for the post (None: refused)

    @property
    def announced(self) -> bool:
        return self.announcement is not None
