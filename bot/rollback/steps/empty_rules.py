"""Step 3: remove the external users' targeting rules of each flag, through the provider;
"by hand" names which segments' user rules to delete on which flags."""

from __future__ import annotations

from typing import Any

from bot.rollback.model import RequestView
from bot.rollback.steps.base import BaseStep, StepResult
from bot.rollback.steps.revert import recorded_output
from storage.models import RunbookStep
from storage.status import StepStatus


class EmptyRules(BaseStep):
    name = "empty_rules"
    title = "Empty the external user rules"
    by_hand = "Delete the external users' targeting rules of each flag in the flag manager."

    def run(self, view: RequestView, step: RunbookStep) -> StepResult:
        if not self.kit.playbook.rollback.empty_external_user_rules:
            return StepResult(StepStatus.SKIPPED, {"note": "disabled in the playbook"})
        removed: dict[str, Any] = {}
        for flag in view.request.flags:
            removed[flag] = self.kit.rollout.clear_external_rules(flag, f"rollback #{view.id}")
            self.kit.store.merge_output(step.id, removed=removed)
        return StepResult(output={"removed": removed})

    def by_hand_for(self, view: RequestView) -> str:
        segments = list(self.kit.playbook.external_segments)
        there = recorded_output(view, self.name, "removed")
        todo = [f"`{f}`" for f in view.request.flags if f not in there]
        which = " and ".join(f"`{s}`" for s in segments) or "the external segments"
        provider = self.kit.rollout.flags.name
        done = f" ({', '.join(f'`{f}`' for f in there)} already done)" if there else ""
        return (
            f"In the flag provider ({provider}), delete every per-user rule of segment "
            f"{which} on {', '.join(todo) or 'no flag'}{done}; keep the rules of other "
            "segments. Then press Done by hand."
        )
