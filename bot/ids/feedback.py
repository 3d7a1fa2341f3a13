"""Ids of the feedback surface: the /feedback form and the message shortcut."""

from enum import StrEnum

COMMAND = "/feedback"
SHORTCUT = "feedback.log_message"  # message shortcut "Log as beta feedback"


class FeedbackView(StrEnum):
    FORM = "feedback.form"  # private_metadata: the channel /feedback was typed in


class FeedbackBlock(StrEnum):
    RATING = "feedback.rating"
    CATEGORY = "feedback.category"
    FLAG = "feedback.flag"
    TEXT = "feedback.text"
    INPUT = "value"  # the action id of each block's single element
