"""Step 3: remove the external users' targeting rules of each flag."""

from __future__ import annotations

from bot.rollback.model import RequestView
from bot.rollback.steps.base import BaseStep, StepResult
from storage.models import RunbookStep
from storage.status import StepStatus


class EmptyRules(BaseStep):
    name = "empty_rules"
    title = "Empty the external user rules"
    by_hand = "Delete the external users' targeting rules of each flag in the flag manager."

    def run(self, view: RequestView, step: RunbookStep) -> StepResult:
        if not self.kit.playbook.rollback.empty_external_user_rules:
            return StepResult(StepStatus.SKIPPED, {"note": "disabled in the playbook"})
        removed = {
            flag: self.kit.rollout.clear_external_rules(flag, f"rollback #{view.id}")
            for flag in view.request.flags
        }
        return StepResult(output={"removed": removed})
