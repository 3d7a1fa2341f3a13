"""Step 2: each flag of the request back to the playbook's rollback target."""

from __future__ import annotations

from bot.rollback.model import RequestView
from bot.rollback.steps.base import BaseStep, StepResult
from storage.models import RunbookStep


class Revert(BaseStep):
    name = "revert"
    title = "Set each flag to the rollback target"
    by_hand = "Set each flag by hand in the flag manager to the rollback target."

    def run(self, view: RequestView, step: RunbookStep) -> StepResult:
        target = self.kit.playbook.rollback.target
        done = {
            flag: self.kit.rollout.apply_target(
                flag, target.percent, list(target.segments), f"rollback #{view.id}"
            )
            for flag in view.request.flags
        }
        return StepResult(output={"flags": done})
