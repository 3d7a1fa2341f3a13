"""Beta feedback: validated in, classified and routed as the seed says — critical issues
to the SRE/observability lead, product requests to the product lead, user questions to
customer success — and stored once (an idempotency key makes a retried POST a no-op)."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.clock import Clock
from bot.messages.schedule import mention
from bot.observability import log_event
from bot.playbook import Playbook
from bot.slack_out.poster import Poster
from storage.db import session_scope
from storage.models import FeedbackItem

log = logging.getLogger(__name__)

Category = Literal["bug", "product_request", "question", "praise"]
ROUTE_OF_CATEGORY = {
    "bug": "critical",
    "product_request": "product",
    "question": "question",
    "praise": "product",
}


class FeedbackIn(BaseModel):
    """One item as the checkout widget or the in-app survey sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source: Literal["widget", "survey"]
    rating: int = Field(ge=1, le=5)
    text: str = Field(min_length=1)
    user_id: str = Field("", max_length=128)
    flag: str = Field("", max_length=64)
    category: Category | None = None
    idempotency_key: str | None = Field(None, min_length=1, max_length=128)


class FeedbackService:
    def __init__(self, engine: Engine, playbook: Playbook, clock: Clock, poster: Poster) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.poster = poster

    def classify(self, text: str, category: str | None) -> tuple[str, str, str]:
        """(category, route, by): from the form when given, else the playbook's keywords."""
        if category:
            return category, ROUTE_OF_CATEGORY[category], "form"
        lowered = text.lower()
        words = self.playbook.feedback.keywords
        if any(k in lowered for k in words.critical):
            return "bug", "critical", "rules"
        if any(k in lowered for k in words.question):
            return "question", "question", "rules"
        return "product_request", "product", "rules"

    def channel_for(self, route: str) -> str:
        channels = self.playbook.channels
        return {
            "critical": channels.war_room,
            "product": channels.product,
            "question": channels.support,
        }[route]

    def submit(self, item: FeedbackIn) -> tuple[FeedbackItem, bool]:
        """Returns the stored item and whether it is new (False: the key was seen before)."""
        if len(item.text) > self.playbook.feedback.max_text_length:
            raise ValueError(f"text is longer than {self.playbook.feedback.max_text_length}")
        category, route, by = self.classify(item.text, item.category)
        row = FeedbackItem(
            idempotency_key=item.idempotency_key,
            source=item.source,
            user_id=item.user_id,
            flag=item.flag,
            rating=item.rating,
            category=category,
            route=route,
            classified_by=by,
            text=item.text,
            created_at=self.clock.now(),
        )
        try:
            with session_scope(self.engine) as session:
                session.add(row)
                session.flush()
        except IntegrityError:
            with Session(self.engine) as session:
                existing = session.exec(
                    select(FeedbackItem).where(FeedbackItem.idempotency_key == item.idempotency_key)
                ).one()
            return existing, False
        self._route(row)
        log_event(log, "feedback.in", source=row.source, route=route, id=row.id)
        return row, True

    def _route(self, row: FeedbackItem) -> None:
        role = getattr(self.playbook.feedback.routing, row.route)
        people = mention(self.playbook.roles.get(role, []))
        stars = f"{row.rating}/5 " if row.rating else ""
        text = (
            f":speech_balloon: Beta feedback #{row.id} ({row.source}, {row.category}) "
            f"{stars}{'on ' + row.flag + ' ' if row.flag else ''}for {people}:\n>{row.text[:500]}"
        )
        channel = self.channel_for(row.route)
        ts = self.poster.post(channel, text, [])
        if row.route == "critical" and channel != self.playbook.channels.war_room:
            self.poster.post(self.playbook.channels.war_room, text, [])
        with session_scope(self.engine) as session:
            stored = session.get(FeedbackItem, row.id)
            assert stored is not None
            stored.channel, stored.message_ts = channel, ts or ""
            session.add(stored)

    def count(self) -> int:
        with Session(self.engine) as session:
            return len(list(session.exec(select(FeedbackItem.id))))
