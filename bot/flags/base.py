from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class FlagView:
    name: str
    percent: int
    segments: list[str]
    updated_at: datetime | None = None
    updated_by: str = ""
    user_rules: int = 0

    def as_record(self) -> dict[str, Any]:
        return {"percent": self.percent, "segments": list(self.segments)}


@dataclass
class FlagProviderError(Exception):
    """The provider did not make the change. `message` says why, for people."""

    message: str
    flag: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class FlagProvider(Protocol):
    """Either a call returns the new state, or it raises FlagProviderError and nothing changed."""

    name: str
    # True when the flags change only through warroom (so every change is in the decision
    # log); False for a service other tools may change too.
    recorded_changes_only: bool

    def list_flags(self) -> list[FlagView]: ...

    def get(self, flag: str) -> FlagView: ...

    def set(self, flag: str, percent: int, segments: list[str], actor: str) -> FlagView: ...

    def clear_user_rules(self, flag: str, segments: list[str], actor: str) -> int: ...
