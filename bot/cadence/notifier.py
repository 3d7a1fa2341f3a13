"""How the cadence reaches people: a Protocol the Slack side implements. Plain data in
(playbook entries, stored rows, role names, user ids); the implementation renders it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from bot.cadence.runs import PostNotes, PostRef
from bot.playbook import Shift
from storage.models import ChecklistState

Tally = dict[str, list[str]]  # choice → the user ids who voted it


@dataclass(frozen=True)
class FlagGap:
    """A flag that is not at the launch target: where it is."""

    flag: str
    percent: int
    segments: list[str]


@dataclass(frozen=True)
class FlagMove:
    """A flag the launch target moved: before and after, as the decision log keeps them."""

    flag: str
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class MilestoneActed:
    """What a milestone's post says once someone acted on it."""

    action: str  # a LaunchTarget.APPLIED or a CheckpointChoice
    user: str
    at: datetime
    moves: list[FlagMove] = field(default_factory=list)  # the launch target: what changed
    gaps: list[FlagGap] = field(default_factory=list)  # continue: flags not at the target
    freeze_offered: bool = False  # brake, while the rollout is not frozen
    frozen_by: str = ""  # brake, then frozen from the post
    frozen_at: datetime | None = None


class CadenceNotifier(Protocol):
    """Every post returns where it landed, or None when it failed (logged)."""

    def checklist(
        self, run_id: int, shift: Shift, state: ChecklistState, notes: PostNotes
    ) -> PostRef | None: ...

    def checklist_changed(
        self, ref: PostRef, run_id: int, shift: Shift, state: ChecklistState
    ) -> None: ...

    def checklist_reminder(self, ref: PostRef, shift: Shift) -> None:
        """In the checklist's thread, to the shift's owner roles."""
        ...

    def checklist_escalation(self, ref: PostRef, shift: Shift, role: str, minutes: int) -> None:
        """In the checklist's thread, to the members of `role`."""
        ...

    def sync(self, notes: PostNotes) -> PostRef | None: ...

    def milestone(self, index: int, run_id: int, notes: PostNotes) -> PostRef | None: ...

    def milestone_acted(self, ref: PostRef, index: int, run_id: int, acted: MilestoneActed) -> None:
        """The milestone's post once someone acted on it: the launch target applied, the
        checkpoint decided (a warning when the flags are not at the target; a brake offers
        the freeze), the freeze made."""
        ...

    def snapshot(
        self, minutes: int, values: dict[str, str], notes: PostNotes
    ) -> PostRef | None: ...

    def phase2_step(self, index: int, first_day: date, notes: PostNotes) -> PostRef | None:
        """A step of the playbook's `phase2_timeline` (its first day's local date), in the
        product channel."""
        ...

    def council(self, run_id: int, tally: Tally, notes: PostNotes) -> PostRef | None: ...

    def council_changed(self, ref: PostRef, run_id: int, tally: Tally, outcome: str | None) -> None:
        """The council's post with the votes so far; closed when `outcome` is given."""
        ...
