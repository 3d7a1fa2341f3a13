"""Lessons learned during the launch: captured from a message or typed (`lessons.add`), each
with its author and link, grouped under the playbook's headings; published as one document
to the channels (`lessons.publish`), once per content, and the publication recorded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import decision_log
from bot.authz import Authorizer
from bot.clock import Clock
from bot.decision_log import Decision
from bot.errors import Refusal
from bot.phase2.lessons_doc import Document, lessons_count, markdown
from bot.playbook import LessonHeading, Playbook
from storage.db import session_scope
from storage.models import DecisionRecord, Lesson, LessonPublication
from storage.status import PublicationStatus
from storage.writes import rows_changed

PUBLISH = "lessons.publish"
TEXT_LIMIT = 4000
STALE_CLAIM = timedelta(minutes=10)  # a publication left "posting" this long was abandoned
_WORDS = re.compile(r"[\w/-]+")


def current_lessons(engine: Engine, since: datetime | None = None) -> list[Lesson]:
    """The lessons not removed, oldest first (from `since` on)."""
    query = select(Lesson).where(col(Lesson.removed_at).is_(None))
    if since is not None:
        query = query.where(Lesson.created_at >= since)
    with Session(engine) as session:
        return list(session.exec(query.order_by(col(Lesson.created_at), col(Lesson.id))))


def build_document(engine: Engine, book: Playbook, since: datetime | None = None) -> Document:
    """The lessons under the playbook's headings, in its order; a lesson whose heading the
    playbook no longer lists goes under the default heading."""
    settings = book.lessons
    keys = {h.key for h in settings.headings}
    lessons = current_lessons(engine, since)
    groups = [
        (
            heading,
            [
                lesson
                for lesson in lessons
                if lesson.heading == heading.key
                or (heading.key == settings.default_heading and lesson.heading not in keys)
            ],
        )
        for heading in settings.headings
    ]
    return Document(settings.title, book.name, groups)


class LessonPublisher(Protocol):
    def publish(self, channel: str, document: Document, markdown: str) -> str | None:
        """Posts the document to `channel`: its permalink ("" when Slack gave none), or None
        when the channel did not take it (logged)."""
        ...


@dataclass(frozen=True)
class Published:
    lessons: int
    posted: dict[str, str]  # channel → permalink, in the playbook's order
    failed: list[str]  # channels that did not take it; publishing again retries them


class LessonService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        authz: Authorizer,
        publisher: LessonPublisher,
    ) -> None:
        self.engine = engine
        self.playbook = playbook
        self.clock = clock
        self.authz = authz
        self.publisher = publisher
        self.settings = playbook.lessons

    # ---- capturing -----------------------------------------------------------------------
    def require_adder(self, user: str) -> None:
        self.authz.require(user, "lessons.add")

    def heading_for(self, text: str) -> tuple[LessonHeading, str, bool]:
        """(heading, the lesson's text, whether its author named the heading): a lesson that
        starts with a heading ("stability: …") goes there; else where its words fit best."""
        lead, colon, rest = text.partition(":")
        for heading in self.settings.headings:
            if colon and lead.strip().lower() in (heading.key, heading.title.lower()):
                return heading, rest.strip(), True
        words = set(_WORDS.findall(text.lower()))
        hits = [(sum(k.lower() in words for k in h.keywords), h) for h in self.settings.headings]
        best = max(hits, key=lambda hit: hit[0])  # the first of equals: the playbook's order
        default = self.settings.heading(self.settings.default_heading)
        assert default is not None  # the playbook's checks hold it to a heading
        return (best[1] if best[0] else default), text.strip(), False

    def add(
        self, user: str, text: str, *, author: str = "", link: str = "", source: str | None = None
    ) -> tuple[Lesson, bool]:
        """Returns (the lesson, whether it is new): a message already added is not added
        twice (`source`: its channel and ts)."""
        self.require_adder(user)
        heading, body, _ = self.heading_for(text)
        if not body:
            raise Refusal(
                "There is no text to add as a lesson.",
                "Try `/lesson stability: the regression tests missed the saga timeout`.",
            )
        if len(body) > TEXT_LIMIT:
            raise Refusal(f"A lesson is at most {TEXT_LIMIT:,} characters (this is {len(body):,}).")
        if source and (known := self._by_source(source)):
            return known, False
        now = self.clock.now()
        lesson = Lesson(
            heading=heading.key,
            text=body,
            author=author or user,
            added_by=user,
            link=link,
            source=source,
            created_at=now,
        )
        try:
            with session_scope(self.engine) as session:
                session.add(lesson)
                session.flush()
                decision_log.append_in(session, self._added(lesson), now)
                session.refresh(lesson)
        except IntegrityError:  # the same message, added at the same moment by another click
            known = self._by_source(source or "")
            if known is None:
                raise
            return known, False
        return lesson, True

    @staticmethod
    def _added(lesson: Lesson) -> Decision:
        return Decision(
            actor=lesson.added_by,
            action="lessons.add",
            subject=f"L{lesson.id}",
            after={"heading": lesson.heading, "author": lesson.author, "link": lesson.link},
            reason=lesson.text,
        )

    def _by_source(self, source: str) -> Lesson | None:
        with Session(self.engine) as session:
            return session.exec(select(Lesson).where(Lesson.source == source)).first()

    def move(self, user: str, ref: str, heading_key: str) -> Lesson:
        self.require_adder(user)
        heading = self._heading(heading_key)
        return self._change(user, ref, "lessons.move", {"heading": heading.key})

    def remove(self, user: str, ref: str) -> Lesson:
        self.require_adder(user)
        lesson = self.lesson(ref)
        if lesson.added_by != user and not self.authz.roles_of(user) & set(
            self.playbook.permissions.get(PUBLISH, [])
        ):
            raise Refusal(
                f"L{lesson.id} was added by someone else: only they, or a role that publishes "
                "the lessons, may remove it."
            )
        return self._change(user, ref, "lessons.remove", {"removed_at": self.clock.now()})

    def _change(self, user: str, ref: str, action: str, values: dict[str, Any]) -> Lesson:
        now = self.clock.now()
        with session_scope(self.engine) as session:
            lesson = self._find(session, ref)
            before = {k: getattr(lesson, k) for k in values}
            if before == values:
                raise Refusal(f"L{lesson.id} is already there; nothing changed.")
            for name, value in values.items():
                setattr(lesson, name, value)
            session.add(lesson)
            decision_log.append_in(
                session,
                Decision(
                    actor=user,
                    action=action,
                    subject=f"L{lesson.id}",
                    before={k: str(v) for k, v in before.items()},
                    after={k: str(v) for k, v in values.items()},
                ),
                now,
            )
            session.flush()
            session.refresh(lesson)
            return lesson

    # ---- reading -------------------------------------------------------------------------
    def lesson(self, ref: str) -> Lesson:
        with Session(self.engine) as session:
            return self._find(session, ref)

    @staticmethod
    def _find(session: Session, ref: str) -> Lesson:
        number = ref.strip().upper().removeprefix("L")
        lesson = session.get(Lesson, int(number)) if number.isdigit() else None
        if lesson is None or lesson.removed_at is not None:
            raise Refusal(f"There is no lesson `{ref}`.", "`/lesson list` shows them, numbered.")
        return lesson

    def _heading(self, key: str) -> LessonHeading:
        for heading in self.settings.headings:
            if key.strip().lower() in (heading.key, heading.title.lower()):
                return heading
        known = ", ".join(f"`{h.key}`" for h in self.settings.headings)
        raise Refusal(f"`{key}` is not a heading. Known: {known}.")

    def lessons(self) -> list[Lesson]:
        return current_lessons(self.engine)

    def document(self) -> Document:
        return build_document(self.engine, self.playbook)

    def last_publication(self) -> DecisionRecord | None:
        """The last time the document reached every channel."""
        doc = self.settings.document
        return decision_log.last_for(self.engine, PUBLISH, [doc], applied_only=True).get(doc)

    # ---- publishing ----------------------------------------------------------------------
    def publish(self, user: str) -> Published:
        self.authz.require(user, PUBLISH)
        doc = self.document()
        if not doc.count:
            raise Refusal(
                "There are no lessons to publish yet.",
                "Add one with `/lesson TEXT` or the message shortcut *Add to lessons learned*.",
            )
        row = self._claim(doc, user)
        text = markdown(doc, self.playbook.zone)
        before: dict[str, str] = dict(row.posted or {})
        posted: dict[str, str] = {}
        failed = []
        for key in self.settings.publish_to:
            channel = getattr(self.playbook.channels, key)
            if channel in before:  # an earlier, partial publication reached it
                posted[channel] = before[channel]
                continue
            permalink = self.publisher.publish(channel, doc, text)
            if permalink is None:
                failed.append(channel)
            else:
                posted[channel] = permalink
        self._settle(row, user, doc, posted, failed)
        return Published(doc.count, posted, failed)

    def _claim(self, doc: Document, user: str) -> LessonPublication:
        now = self.clock.now()
        try:
            with session_scope(self.engine) as session:
                row = LessonPublication(
                    digest=doc.digest,
                    lessons=doc.count,
                    posted={},
                    created_at=now,
                    created_by=user,
                    claimed_at=now,
                )
                session.add(row)
                session.flush()
                session.refresh(row)
                return row
        except IntegrityError:
            pass  # this content was published, or is being published
        table: Any = LessonPublication
        with session_scope(self.engine) as session:
            result = rows_changed(
                session,
                update(LessonPublication)
                .where(
                    table.digest == doc.digest,
                    or_(
                        table.status == PublicationStatus.PARTIAL,
                        and_(
                            table.status == PublicationStatus.POSTING,
                            table.claimed_at < now - STALE_CLAIM,
                        ),
                    ),
                )
                .values(status=PublicationStatus.POSTING, claimed_at=now),
            )
            claimed = bool(result)
            row = session.exec(
                select(LessonPublication).where(LessonPublication.digest == doc.digest)
            ).one()
        if claimed:
            return row
        if row.status == PublicationStatus.POSTED:
            raise Refusal(
                f"These {lessons_count(doc.count)} were already published "
                f"({row.claimed_at.astimezone(self.playbook.zone):%a %d %b %H:%M %Z}).",
                "Add, move or remove a lesson, then publish again.",
            )
        raise Refusal("The lessons are being published right now.", "Look in the channels.")

    def _settle(
        self,
        row: LessonPublication,
        user: str,
        doc: Document,
        posted: dict[str, str],
        failed: list[str],
    ) -> None:
        now = self.clock.now()
        with session_scope(self.engine) as session:
            stored = session.get(LessonPublication, row.id)
            assert stored is not None
            stored.posted = posted
            stored.status = PublicationStatus.PARTIAL if failed else PublicationStatus.POSTED
            session.add(stored)
            decision_log.append_in(
                session,
                Decision(
                    actor=user,
                    action=PUBLISH,
                    subject=self.settings.document,
                    after={"lessons": doc.count, "digest": doc.digest, "channels": list(posted)},
                    evidence={"permalinks": posted, "failed": failed},
                    outcome="partial" if failed else "applied",
                ),
                now,
            )
