"""The milestone posts' buttons: the launch target at T, the checkpoint and its freeze."""

from __future__ import annotations

from bot.cadence.milestones import MilestoneService
from bot.rollout import RolloutService
from bot.slack_out.cadence_notifier import SlackCadenceNotifier
from bot.wiring.base import Base


def milestones(b: Base, rollout: RolloutService) -> MilestoneService:
    notifier = SlackCadenceNotifier(b.poster, b.playbook, b.playbook.channels.war_room)
    return MilestoneService(b.engine, b.playbook, b.clock, b.authz, rollout, notifier)
