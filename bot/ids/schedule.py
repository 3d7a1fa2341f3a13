"""Ids of the scheduled posts' interactions."""

from enum import StrEnum


class ScheduleAction(StrEnum):
    CHECKLIST_ITEMS = "checklist.items"  # option values: "<run id>:<item index>"
    CHECKLIST_ACK = "checklist.ack"  # value: run id
    DECIDE_CONTINUE = "milestone.continue"  # value: run id (the T+4h checkpoint)
    DECIDE_BRAKE = "milestone.brake"  # value: run id
    APPLY_TARGET = "milestone.launch_target"  # value: run id (the T milestone)
    FREEZE = "milestone.freeze"  # value: run id (the checkpoint decided to brake)
    VOTE = "council.vote"  # value: "<run id>:<advance|hold|rollback>"
    COUNCIL_CLOSE = "council.close"  # value: run id (the chair closes the vote)
    ADVANCE = "council.advance"  # value: run id: performs /rollout set FLAG 50 for each flag


class ScheduleBlock(StrEnum):
    CHECKLIST = "checklist.items"
    CHECKLIST_ACTIONS = "checklist.actions"
    DECISION_ACTIONS = "milestone.actions"
    VOTE_ACTIONS = "council.actions"
