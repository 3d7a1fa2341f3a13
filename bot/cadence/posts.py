"""The plain scheduled posts: the daily sync, the milestones, the first-hour snapshots, the
Phase 2 timeline's steps."""

from __future__ import annotations

from collections.abc import Callable

from bot.cadence.notifier import CadenceNotifier
from bot.cadence.runs import Due, Outcome
from bot.playbook import Playbook

Values = Callable[[list[str]], dict[str, str]]  # metric names → a current value for people


def no_values(metrics: list[str]) -> dict[str, str]:
    return {}


class CadencePosts:
    def __init__(
        self, playbook: Playbook, notifier: CadenceNotifier, snapshot_values: Values = no_values
    ) -> None:
        self.playbook = playbook
        self.notifier = notifier
        self.snapshot_values = snapshot_values

    def sync(self, due: Due) -> Outcome:
        return due.posted(self.notifier.sync(due.notes()))

    def milestone(self, due: Due) -> Outcome:
        index = due.occurrence.data["milestone"]
        return due.posted(self.notifier.milestone(index, due.run_id, due.notes()))

    def snapshot(self, due: Due) -> Outcome:
        values = self.snapshot_values(self.playbook.first_hour_snapshots.metrics)
        minutes = due.occurrence.data["minutes"]
        return due.posted(self.notifier.snapshot(minutes, values, due.notes()))

    def phase2_step(self, due: Due) -> Outcome:
        """In the product channel, to the step's owners."""
        index, zone = due.occurrence.data["step"], self.playbook.zone
        first_day = due.occurrence.fire_at.astimezone(zone).date()
        return due.posted(self.notifier.phase2_step(index, first_day, due.notes()))
