"""Phase 2 readiness and lessons learned: the backlog (with Jira epics when the playbook
configures Jira), the risk register and the lessons, each seeded from the playbook."""

from __future__ import annotations

from bot.integrations import jira
from bot.phase2 import BacklogService, EpicMaker, LessonService, RiskService
from bot.slack_out.phase2_notifier import SlackBacklogNotifier, SlackLessonPublisher
from bot.wiring.base import Base

EPIC_LABELS = ["warroom", "phase2"]


def epic_maker(b: Base) -> EpicMaker | None:
    """Jira's create-issue for epics, with the playbook's settings and the environment's
    credentials; None without integrations.jira."""
    settings = b.playbook.integrations.jira
    if settings is None:
        return None
    email, token = b.settings.jira_email, b.settings.jira_api_token

    def make(summary: str, paragraphs: list[str]) -> tuple[str, str]:
        secret = token.get_secret_value() if token else None
        return jira.create_epic(settings, summary, paragraphs, EPIC_LABELS, email, secret)

    return make


def phase2(b: Base) -> tuple[BacklogService, RiskService, LessonService]:
    book = b.playbook
    channel = getattr(book.channels, book.phase2.channel)
    backlog = BacklogService(
        b.engine, book, b.clock, b.authz, SlackBacklogNotifier(b.poster, channel), epic_maker(b)
    )
    backlog.seed()
    risks = RiskService(b.engine, book, b.clock, b.authz)
    risks.seed()
    publisher = SlackLessonPublisher(b.poster, book.lessons.document)
    lessons = LessonService(b.engine, book, b.clock, b.authz, publisher)
    return backlog, risks, lessons
