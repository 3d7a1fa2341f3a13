"""Ids of the /rollout surface."""

from enum import StrEnum

COMMAND = "/rollout"


class RolloutAction(StrEnum):
    UNFREEZE = "rollout.unfreeze"  # value: the seq of the freeze record it lifts


class RolloutBlock(StrEnum):
    FREEZE_ACTIONS = "rollout.freeze.actions"
