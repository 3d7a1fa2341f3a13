"""How the communications calendar and the staffing check reach people: Protocols the
Slack side implements, with plain data in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.cadence.runs import PostNotes, PostRef
from bot.playbook import Communication
from storage.models import CommunicationState
from storage.status import CommStatus


@dataclass(frozen=True)
class CommView:
    """A communication as people see it: the playbook's entry and its stored state."""

    item: Communication
    state: CommunicationState

    @property
    def id(self) -> int:
        return self.state.id or 0

    def overdue(self, now: datetime) -> bool:
        return self.state.status in (CommStatus.SCHEDULED, CommStatus.POSTED) and (
            self.state.due_at <= now
        )


@dataclass(frozen=True)
class Staffing:
    """A staffing check as people see it."""

    run_id: int
    required: int
    on_duty: list[str]  # user ids, in the order they said so
    confirmed_at: datetime | None


class CommsNotifier(Protocol):
    """Every post returns where it landed, or None when it failed (logged)."""

    def notice(self, view: CommView, notes: PostNotes) -> PostRef | None:
        """The communication, to its owner, with **Mark sent**."""
        ...

    def changed(self, view: CommView) -> None:
        """The notice updated in place: sent (by whom, the link) or paused."""
        ...

    def reminder(self, view: CommView) -> None:
        """In the notice's thread, to the owner: it is due and not marked sent."""
        ...

    def escalation(self, view: CommView, role: str, minutes: int) -> None:
        """In the notice's thread, to the members of `role`."""
        ...

    def paused(self, request_id: int, views: list[CommView]) -> None:
        """One war-room post: the rollback paused these communications."""
        ...


class StaffingNotifier(Protocol):
    def check(self, staffing: Staffing, notes: PostNotes) -> PostRef | None:
        """In the support channel, to the support role, with **I'm on duty**."""
        ...

    def check_changed(self, ref: PostRef, staffing: Staffing) -> None: ...

    def not_confirmed(self, ref: PostRef, staffing: Staffing, roles: list[str]) -> None:
        """In the check's thread, to `roles`: staffing is still short."""
        ...
