"""Step 1: freeze the rollout, which blocks deployments."""

from __future__ import annotations

from bot.authz import SYSTEM_ACTOR
from bot.errors import WarroomError
from bot.rollback.model import RequestView
from bot.rollback.steps.base import BaseStep, StepResult
from storage.models import RunbookStep


class Freeze(BaseStep):
    name = "freeze"
    title = "Freeze the rollout and block deployments"
    by_hand = "Freeze by hand: `/rollout freeze REASON`, and pause the deploy pipeline."

    def run(self, view: RequestView, step: RunbookStep) -> StepResult:
        rollout = self.kit.rollout
        state = rollout.freeze_state()
        if state.frozen:
            return StepResult(output={"note": f"already frozen by {state.by}: {state.reason}"})
        try:
            rollout.freeze(SYSTEM_ACTOR, f"rollback #{view.id}: {view.request.reason}")
        except WarroomError as exc:
            if rollout.freeze_state().frozen:  # another actor froze it meanwhile
                return StepResult(output={"note": exc.message})
            raise
        return StepResult(output={"note": "rollout frozen, deployments blocked"})
