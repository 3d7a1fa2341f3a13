"""Rollout control: the flags' percentages and segments, the launch time T and the freeze."""

from bot.rollout.inputs import HISTORY_DEFAULT, HISTORY_MAX, closest, unknown_flag
from bot.rollout.model import Announcer, Change, FreezeState, RolloutStatus
from bot.rollout.service import RolloutService, Unchanged

__all__ = [
    "HISTORY_DEFAULT",
    "HISTORY_MAX",
    "Announcer",
    "Change",
    "FreezeState",
    "RolloutService",
    "RolloutStatus",
    "Unchanged",
    "closest",
    "unknown_flag",
]
