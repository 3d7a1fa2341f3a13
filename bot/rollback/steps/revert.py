"""Step 2: each flag of the request back to the playbook's rollback target, through the flag
provider. Each flag is recorded in the step's output as soon as it is there; if the provider
fails after the runner's retries, "by hand" names the exact state to set, flag by flag."""

from __future__ import annotations

from typing import Any

from bot.rollback.model import RequestView
from bot.rollback.steps.base import BaseStep, StepResult
from storage.models import RunbookStep


def segments_text(segments: list[str]) -> str:
    return " and ".join(f"`{s}`" for s in segments) + " only"


class Revert(BaseStep):
    name = "revert"
    title = "Set each flag to the rollback target"
    by_hand = "Set each flag by hand in the flag manager to the rollback target."

    def run(self, view: RequestView, step: RunbookStep) -> StepResult:
        target = self.kit.playbook.rollback.target
        done: dict[str, Any] = {}
        for flag in view.request.flags:
            # always through the provider: a flag already there is read and left alone
            done[flag] = self.kit.rollout.apply_target(
                flag, target.percent, list(target.segments), f"rollback #{view.id}"
            )
            self.kit.store.merge_output(step.id, flags=done)
        return StepResult(output={"flags": done})

    def by_hand_for(self, view: RequestView) -> str:
        target = self.kit.playbook.rollback.target
        there = recorded_output(view, self.name, "flags")
        state = f"{target.percent} % for {segments_text(list(target.segments))}"
        lines = [
            f"`{flag}` → {state}" + (" (already there)" if flag in there else "")
            for flag in view.request.flags
        ]
        provider = self.kit.rollout.flags.name
        return (
            f"In the flag provider ({provider}), set exactly: "
            + "; ".join(lines)
            + ". No other segment may stay enabled. Then press Done by hand."
        )


def recorded_output(view: RequestView, step_name: str, key: str) -> dict[str, Any]:
    step = next((s for s in view.steps if s.name == step_name), None)
    value = (step.output or {}).get(key) if step is not None else None
    return value if isinstance(value, dict) else {}
