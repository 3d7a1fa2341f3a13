"""Ids of App Home."""

from enum import StrEnum


class HomeAction(StrEnum):
    CONFIRM = "completion.confirm"  # value: the completion item's key
