"""Beta feedback: validated in, classified and routed as the seed says — critical issues
to the SRE/observability lead, product requests to the product lead, user questions to
customer success — and stored once (an idempotency key makes a retried POST a no-op)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.authz import Authorizer
from bot.clock import Clock
from bot.errors import Refusal
from bot.observability import log_event
from bot.playbook import Playbook
from bot.slack_out.messages.schedule import mention
from bot.slack_out.poster import Poster
from storage.batch import GroupCommitWriter
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
DIGEST_AFTER = 5  # more items than this waiting for one channel → one digest post
IDLE_PASS = 30.0  # seconds: the router looks for pending items at least this often


class TextTooLong(ValueError):
    """The text is over the playbook's `feedback.max_text_length`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} characters")
        self.limit = limit


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
    def __init__(
        self, engine: Engine, playbook: Playbook, clock: Clock, poster: Poster, authz: Authorizer
    ) -> None:
        self.engine = engine
        self.authz = authz
        self.playbook = playbook
        self.clock = clock
        self.poster = poster
        self._routing = threading.Lock()
        self._dirty = threading.Event()
        self._router: threading.Thread | None = None
        self._writer = GroupCommitWriter(self._write_batch, "feedback-writer")

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
        """The widget and the survey. Returns the stored item and whether it is new (False:
        the idempotency key was seen before)."""
        return self._stored(self._writer.write(self._row_of(item)))

    async def submit_async(self, item: FeedbackIn) -> tuple[FeedbackItem, bool]:
        """`submit` for the event loop: waits for the commit without holding a thread."""
        return self._stored(await asyncio.wrap_future(self._writer.submit(self._row_of(item))))

    def _row_of(self, item: FeedbackIn) -> FeedbackItem:
        if len(item.text) > self.playbook.feedback.max_text_length:
            raise TextTooLong(self.playbook.feedback.max_text_length)
        row = self._new_row(item.source, item.text, item.category)
        row.rating, row.user_id, row.flag = item.rating, item.user_id, item.flag
        row.idempotency_key = item.idempotency_key
        return row

    def file_from_slack(
        self,
        filed_by: str,
        source: Literal["modal", "slack"],
        user: str,
        text: str,
        rating: int | None = None,
        category: str | None = None,
        flag: str = "",
        link: str = "",
    ) -> tuple[FeedbackItem, bool]:
        """The `/feedback` modal and the "Log as beta feedback" shortcut (which passes the
        message's author as `user` and its link: filing the same message twice stores it
        once). `filed_by` must hold a role allowed `feedback.file`."""
        self.authz.require(filed_by, "feedback.file")
        if not text.strip():
            raise Refusal(
                "That message has no text to file.", "Put what matters into `/feedback` instead."
            )
        row = self._new_row(source, text[: self.playbook.feedback.max_text_length], category)
        row.rating, row.user_id, row.flag, row.link = rating, user, flag, link
        row.idempotency_key = f"slack:{link}"[:128] if link else None
        return self._stored(self._writer.write(row))

    def _new_row(self, source: str, text: str, category: str | None) -> FeedbackItem:
        category, route, by = self.classify(text, category)
        return FeedbackItem(
            source=source,
            category=category,
            route=route,
            classified_by=by,
            text=text,
            created_at=self.clock.now(),
        )

    @staticmethod
    def _stored(result: tuple[FeedbackItem, bool]) -> tuple[FeedbackItem, bool]:
        """Every item is stored by the writer (many rows per commit under load:
        `storage.batch`) and posted later by `route_pending` (an outbox): a burst of
        feedback is taken at database speed, and nothing is lost while Slack is slow or down."""
        stored, created = result
        if created:
            log_event(log, "feedback.in", source=stored.source, route=stored.route, id=stored.id)
        return stored, created

    def _write_batch(self, rows: list[FeedbackItem]) -> list[tuple[FeedbackItem, bool]]:
        """One transaction for the batch. A key seen before (stored, or earlier in this
        batch) makes that row a duplicate; if a replica stores the same key between our
        check and our insert, the batch falls back to one row per transaction."""
        keys = {r.idempotency_key for r in rows if r.idempotency_key}
        try:
            with session_scope(self.engine) as session:
                known = (
                    {
                        r.idempotency_key: r
                        for r in session.exec(
                            select(FeedbackItem).where(col(FeedbackItem.idempotency_key).in_(keys))
                        )
                    }
                    if keys
                    else {}
                )
                results: list[tuple[FeedbackItem, bool]] = []
                fresh = []
                for row in rows:
                    if row.idempotency_key and row.idempotency_key in known:
                        results.append((known[row.idempotency_key], False))
                        continue
                    if row.idempotency_key:
                        known[row.idempotency_key] = row
                    results.append((row, True))
                    fresh.append(row)
                session.add_all(fresh)
                session.flush()  # ids for every new row
            return results
        except IntegrityError:
            if len(rows) == 1:
                with Session(self.engine) as session:
                    existing = session.exec(
                        select(FeedbackItem).where(
                            FeedbackItem.idempotency_key == rows[0].idempotency_key
                        )
                    ).one()
                return [(existing, False)]
            return [self._write_batch([row])[0] for row in rows]

    # ---- routing (the outbox) --------------------------------------------------------------
    def route_soon(self) -> None:
        """Have what is pending routed. With the router thread running (a serving bot) this
        only wakes it, so a burst of submissions costs one pass, not one pass each; without
        it (tests, the local workspace) the pass runs here, once at a time: a pass running
        already loops until nothing is left, so no item is left behind."""
        self._dirty.set()
        if self._router is not None:
            return
        while self._dirty.is_set() and self._routing.acquire(blocking=False):
            try:
                while self._dirty.is_set():
                    self._dirty.clear()
                    self.route_pending()
            finally:
                self._routing.release()

    @property
    def routes_in_background(self) -> bool:
        return self._router is not None

    def start_router(self, stopping: threading.Event, min_interval: float = 1.0) -> None:
        """A thread that routes when woken (or every `IDLE_PASS` seconds, for items left
        by a restart or a Slack outage), at most once per `min_interval`: under load the
        pending items gather into digests instead of a post each."""

        def run() -> None:
            while not stopping.is_set():
                self._dirty.wait(IDLE_PASS)
                if stopping.is_set():
                    return
                self._dirty.clear()
                started = time.monotonic()
                try:
                    with self._routing:
                        while self.route_pending():
                            pass
                except Exception:  # noqa: BLE001 - the router must outlive one bad pass
                    log.exception("feedback.router")
                stopping.wait(max(0.0, min_interval - (time.monotonic() - started)))

        self._router = threading.Thread(target=run, name="feedback-router", daemon=True)
        self._router.start()
        self._dirty.set()  # a first pass for what a previous run left pending

    def route_pending(self, limit: int = 500) -> int:
        """Posts pending items, oldest first. Each is claimed with a conditional UPDATE, so
        replicas never post one twice. When a channel has more than `DIGEST_AFTER` items
        waiting, they go out as one digest instead of a flood (Slack allows about one
        message per second per channel); critical ones go to the war room either way."""
        if not self.pending():
            return 0  # a read, not a write transaction, on every idle tick
        claimed = self._claim_batch(limit)
        by_channel: dict[str, list[FeedbackItem]] = {}
        for row in claimed:
            by_channel.setdefault(self.channel_for(row.route), []).append(row)
        for channel, rows in by_channel.items():
            if len(rows) <= DIGEST_AFTER:
                for row in rows:
                    self._post_one(row)
            else:
                self._post_digest(channel, rows)
        return len(claimed)

    def _claim_batch(self, limit: int) -> list[FeedbackItem]:
        """One conditional UPDATE claims up to `limit` pending items with a token of this
        pass; whatever another replica claimed first is not in the result."""
        token = f"claim:{uuid.uuid4().hex[:24]}"  # fits message_ts
        with session_scope(self.engine) as session:
            pending = (
                select(FeedbackItem.id)
                .where(col(FeedbackItem.routed_at).is_(None))
                .order_by(col(FeedbackItem.id))
                .limit(limit)
            )
            session.execute(
                update(FeedbackItem)
                .where(col(FeedbackItem.id).in_(pending), col(FeedbackItem.routed_at).is_(None))
                .values(routed_at=self.clock.now(), message_ts=token)
            )
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(FeedbackItem)
                    .where(FeedbackItem.message_ts == token)
                    .order_by(col(FeedbackItem.id))
                )
            )

    def _line(self, row: FeedbackItem) -> str:
        parts = [f"#{row.id} ({row.source}, {row.category})"]
        parts += [f"{row.rating}/5"] if row.rating else []
        parts += [f"on {row.flag}"] if row.flag else []
        parts += [f"(<{row.link}|message>)"] if row.link else []
        return " ".join(parts)

    def _post_one(self, row: FeedbackItem) -> None:
        role = getattr(self.playbook.feedback.routing, row.route)
        people = mention(self.playbook.roles.get(role, []))
        text = f":speech_balloon: Beta feedback {self._line(row)} for {people}:\n>{row.text[:500]}"
        channel = self.channel_for(row.route)
        ts = self.poster.post(channel, text, [])
        if ts and row.route == "critical" and channel != self.playbook.channels.war_room:
            self.poster.post(self.playbook.channels.war_room, text, [])
        self._routed([row], channel, ts)

    def _post_digest(self, channel: str, rows: list[FeedbackItem]) -> None:
        roles = {getattr(self.playbook.feedback.routing, r.route) for r in rows}
        people = mention([m for role in sorted(roles) for m in self.playbook.roles.get(role, [])])
        shown = "\n".join(f"• {self._line(r)}: {r.text[:120]}" for r in rows[:DIGEST_AFTER])
        more = f"\n…and {len(rows) - DIGEST_AFTER} more" if len(rows) > DIGEST_AFTER else ""
        text = (
            f":speech_balloon: {len(rows)} beta feedback items for {people} "
            f"(`warroom export feedback` has them all):\n{shown}{more}"
        )
        self._routed(rows, channel, self.poster.post(channel, text, []))

    def _routed(self, rows: list[FeedbackItem], channel: str, ts: str | None) -> None:
        """Records where the items were posted; when Slack did not take the post (after the
        client's retries) the claim is released, so the next pass tries again."""
        ids = [r.id for r in rows]
        with session_scope(self.engine) as session:
            session.execute(
                update(FeedbackItem)
                .where(col(FeedbackItem.id).in_(ids))
                .values(
                    {"channel": channel, "message_ts": ts}
                    if ts
                    else {"routed_at": None, "channel": "", "message_ts": ""}
                )
            )
        if not ts:
            log_event(log, "feedback.route", logging.WARNING, outcome="retry later", items=len(ids))

    def pending(self) -> int:
        with Session(self.engine) as session:
            return session.exec(
                select(func.count())
                .select_from(FeedbackItem)
                .where(col(FeedbackItem.routed_at).is_(None))
            ).one()

    def count(self) -> int:
        with Session(self.engine) as session:
            return session.exec(select(func.count()).select_from(FeedbackItem)).one()
