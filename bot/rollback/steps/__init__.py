"""The runbook's steps, one module each, in the order they run (model.STEP_NAMES)."""

from __future__ import annotations

from bot.rollback.steps.base import Step, StepError, StepKit, StepResult
from bot.rollback.steps.clear_caches import ClearCaches
from bot.rollback.steps.communicate import Communicate
from bot.rollback.steps.empty_rules import EmptyRules
from bot.rollback.steps.freeze import Freeze
from bot.rollback.steps.post_actions import PostActions
from bot.rollback.steps.revert import Revert
from bot.rollback.steps.verify import Verify

STEPS = (Freeze, Revert, EmptyRules, ClearCaches, Verify, Communicate, PostActions)
STEP_TITLES = {s.name: s.title for s in STEPS}
BY_HAND = {s.name: s.by_hand for s in STEPS}


def build_steps(kit: StepKit) -> dict[str, Step]:
    return {s.name: s(kit) for s in STEPS}


__all__ = [
    "BY_HAND",
    "STEP_TITLES",
    "STEPS",
    "Step",
    "StepError",
    "StepKit",
    "StepResult",
    "build_steps",
]
