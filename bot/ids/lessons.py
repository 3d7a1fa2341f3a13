"""Ids of the lessons-learned surface: /lesson, the message shortcut, its controls."""

from enum import StrEnum

COMMAND = "/lesson"
SHORTCUT = "lessons.add_message"  # message shortcut "Add to lessons learned"


class LessonAction(StrEnum):
    MOVE = "lessons.move"  # a select; each option's value: "<lesson id>:<heading key>"
    PUBLISH = "lessons.publish"  # value: "publish"
