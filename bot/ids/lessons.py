"""Ids of the lessons-learned surface: /lesson, the message shortcut, its controls."""

from enum import StrEnum

COMMAND = "/lesson"
SHORTCUT = "lessons.add_message"  # message shortcut "Add to lessons learned"


class LessonAction(StrEnum):
    # a button per other heading: "lessons.move.<heading key>", value "<lesson id>:<heading key>"
    MOVE = "lessons.move."
    PUBLISH = "lessons.publish"  # value: "publish"
