"""How the cadence reaches people: a Protocol the Slack side implements. Plain data in
(playbook entries, stored rows, role names, user ids); the implementation renders it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from bot.cadence.runs import PostNotes, PostRef
from bot.playbook import Shift
from storage.models import ChecklistState

Tally = dict[str, list[str]]  # choice → the user ids who voted it


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

    def checkpoint_decided(
        self, ref: PostRef, index: int, run_id: int, choice: str, user: str, at: datetime
    ) -> None: ...

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
