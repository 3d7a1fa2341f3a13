"""Ids of the /rollback surface. Every button carries the id of the record it acts on."""

from enum import StrEnum

COMMAND = "/rollback"


class RollbackAction(StrEnum):
    APPROVE = "rollback.approve"  # value: request id
    REJECT = "rollback.reject"  # value: request id; opens the reason modal
    BREAK_GLASS = "rollback.break_glass"  # value: request id
    RETRY_STEP = "rollback.retry_step"  # value: request id
    STEP_BY_HAND = "rollback.step_by_hand"  # value: request id
    CONFIRM_METRICS = "rollback.confirm_metrics"  # value: request id
    SIGN_PLAN = "rollback.sign_plan"  # value: runbook version


class RollbackView(StrEnum):
    REJECT = "rollback.reject_modal"  # private_metadata: request id


class RollbackBlock(StrEnum):
    ACTIONS = "rollback.actions"
    REJECT_REASON = "rollback.reject.reason"
    REJECT_REASON_INPUT = "reason"
    PLAN_ACTIONS = "rollback.plan.actions"
