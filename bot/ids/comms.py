"""Ids of the communications calendar's and the staffing check's interactions."""

from enum import StrEnum


class CommsAction(StrEnum):
    MARK_SENT = "comms.mark_sent"  # value: communication id; opens the link form
    ON_DUTY = "staffing.on_duty"  # value: the staffing check's run id


class CommsView(StrEnum):
    MARK_SENT = "comms.mark_sent_form"  # private_metadata: communication id


class CommsBlock(StrEnum):
    NOTICE_ACTIONS = "comms.actions"
    LINK = "comms.link"
    LINK_INPUT = "link"
    STAFFING_ACTIONS = "staffing.actions"
