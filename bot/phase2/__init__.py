"""Phase 2 readiness and lessons learned: the backlog and its approval (and its Jira epics),
the risk register, and the lessons captured during the launch and published as a document.
Plain data in and out; where they post, through Protocols they define."""

from bot.phase2.backlog import BacklogNotifier, BacklogService, EpicMaker, EpicsResult, ItemView
from bot.phase2.lessons import (
    LessonPublisher,
    LessonService,
    Published,
    build_document,
    current_lessons,
)
from bot.phase2.lessons_doc import Document, lessons_count, markdown
from bot.phase2.risks import RiskRow, RiskService, matrix_lines, register, risk_line

__all__ = [
    "BacklogNotifier",
    "BacklogService",
    "Document",
    "EpicMaker",
    "EpicsResult",
    "ItemView",
    "LessonPublisher",
    "LessonService",
    "Published",
    "RiskRow",
    "RiskService",
    "build_document",
    "current_lessons",
    "lessons_count",
    "markdown",
    "matrix_lines",
    "register",
    "risk_line",
]
