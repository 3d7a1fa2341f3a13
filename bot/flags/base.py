"""The flag-provider contract: what warroom reads of a flag and how it changes one, whatever
holds the flags (the embedded store, Unleash, an in-house HTTP service).

Either a call returns the new state, or it raises FlagProviderError and nothing changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class FlagView:
    """One flag as the provider holds it. `version` is the provider's revision of the flag
    (an ETag, a hash of its state): a write that names an older one is refused."""

    name: str
    percent: int
    segments: list[str]
    updated_at: datetime | None = None
    updated_by: str = ""
    user_rules: int = 0
    enabled: bool = True
    version: str = ""

    def as_record(self) -> dict[str, Any]:
        """What the decision log keeps of a flag's state (and compares to see drift)."""
        return {"percent": self.percent, "segments": list(self.segments), "enabled": self.enabled}

    @property
    def switched_off(self) -> bool:
        """Off in the provider although it has a rollout: nobody gets it, whatever the %."""
        return not self.enabled and self.percent > 0


@dataclass(frozen=True)
class ProviderHealth:
    """The provider's answer to "can warroom drive the launch flags?", for people."""

    ok: bool
    detail: str
    missing_flags: list[str] = field(default_factory=list)


@dataclass
class FlagProviderError(Exception):
    """The provider did not make the change. `message` says why, for people."""

    message: str
    flag: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class FlagConflict(FlagProviderError):
    """The flag changed since it was read (someone else, or another tool): nothing was
    written; read it again and decide on what it is now."""


class FlagProvider(Protocol):
    name: str
    # True when the flags change only through warroom (so every change is in the decision
    # log); False for a service other tools may change too (warroom watches it for drift).
    recorded_changes_only: bool

    def list_flags(self) -> list[FlagView]: ...

    def get(self, flag: str) -> FlagView: ...

    def set(
        self,
        flag: str,
        percent: int,
        segments: list[str],
        actor: str,
        expected_version: str | None = None,
    ) -> FlagView:
        """Set the rollout percentage for these segments. With `expected_version`, refuse
        with FlagConflict when the flag is no longer at that version."""
        ...

    def clear_user_rules(self, flag: str, segments: list[str], actor: str) -> int:
        """Remove the per-user targeting of these segments; how many rules went."""
        ...

    def health(self, flags: Sequence[str]) -> ProviderHealth:
        """Reachable, allowed to write, and every one of `flags` exists."""
        ...
