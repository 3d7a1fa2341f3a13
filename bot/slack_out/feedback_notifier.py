"""Routed beta feedback as war-room, product and support posts (`bot.feedback.FeedbackNotifier`)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.playbook import Playbook
from bot.slack_out.messages.common import link, user_text
from bot.slack_out.messages.schedule import owners_of
from bot.slack_out.outbox import Outbox
from storage.models import FeedbackItem

SHOWN = 5  # items a digest quotes; the export has them all


def line(item: FeedbackItem) -> str:
    parts = [f"#{item.id} ({item.source}, {item.category})"]
    parts += [f"{item.rating}/5"] if item.rating else []
    parts += [f"on {user_text(item.flag, 64)}"] if item.flag else []
    parts += [f"({link(item.link, 'message')})"] if item.link else []
    return " ".join(parts)


class SlackFeedbackNotifier:
    def __init__(self, poster: Outbox, playbook: Playbook) -> None:
        self.poster = poster
        self.playbook = playbook

    def item(self, channel: str, item: FeedbackItem, roles: Sequence[str]) -> str | None:
        people = owners_of(self.playbook, list(roles))
        text = f":speech_balloon: Beta feedback {line(item)} for {people}:\n>{user_text(item.text)}"
        return self.poster.post(channel, text, [])

    def digest(
        self, channel: str, items: Sequence[FeedbackItem], roles: Sequence[str]
    ) -> str | None:
        people = owners_of(self.playbook, list(roles))
        shown = "\n".join(f"• {line(r)}: {user_text(r.text, 120)}" for r in items[:SHOWN])
        more = f"\n…and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
        text = (
            f":speech_balloon: {len(items)} beta feedback items for {people} "
            f"(`warroom export feedback` has them all):\n{shown}{more}"
        )
        return self.poster.post(channel, text, [])
