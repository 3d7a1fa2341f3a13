"""Beta feedback: validated in, classified and routed as the seed says — critical issues
to the SRE/observability lead, product requests to the product lead, user questions to
customer success — and stored once (an idempotency key makes a retried POST a no-op)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.authz import Authorizer
from bot.clock import Clock
from bot.errors import Refusal
from bot.feedback_input import (
    ROUTE_OF_CATEGORY,
    Category,
    FeedbackFields,
    FeedbackIn,
    Route,
    TextTooLong,
)
from bot.observability import log_event
from bot.playbook import Playbook
from storage.batch import GroupCommitWriter
from storage.db import session_scope
from storage.models import FeedbackItem

log = logging.getLogger(__name__)
__all__ = [
    "Category",
    "FeedbackFields",
    "FeedbackIn",
    "FeedbackNotifier",
    "FeedbackService",
    "Route",
    "TextTooLong",
]


DIGEST_AFTER = 5  # more items than this waiting for one channel → one digest post
IDLE_PASS = 30.0  # seconds: the router looks for pending items at least this often


class FeedbackNotifier(Protocol):
    """Puts routed feedback in front of the roles that own it. Each returns the post's ts,
    or None when Slack did not take it (the items are then tried again)."""

    def item(self, channel: str, item: FeedbackItem, roles: Sequence[str]) -> str | None: ...

    def digest(
        self, channel: str, items: Sequence[FeedbackItem], roles: Sequence[str]
    ) -> str | None: ...


class FeedbackService:
    def __init__(
        self,
        engine: Engine,
        playbook: Playbook,
        clock: Clock,
        notifier: FeedbackNotifier,
        authz: Authorizer,
    ) -> None:
        self.engine = engine
        self.authz = authz
        self.playbook = playbook
        self.clock = clock
        self.notifier = notifier
        self._routing = threading.Lock()
        self._dirty = threading.Event()
        self._router: threading.Thread | None = None
        self._writer = GroupCommitWriter(self._write_batch, "feedback-writer")

    def rules(self) -> Mapping[str, Any]:
        """The validation context of `FeedbackFields`: the playbook's part of the rules."""
        return {
            "max_text_length": self.playbook.feedback.max_text_length,
            "flags": list(self.playbook.flags),
        }

    def classify(self, text: str, category: str | None) -> tuple[Category, Route, str]:
        """(category, route, by): from the form when given, else the playbook's keywords."""
        if category:
            return Category(category), ROUTE_OF_CATEGORY[Category(category)], "form"
        lowered = text.lower()
        words = self.playbook.feedback.keywords
        if any(k in lowered for k in words.critical):
            return Category.BUG, Route.CRITICAL, "rules"
        if any(k in lowered for k in words.question):
            return Category.QUESTION, Route.QUESTION, "rules"
        return Category.PRODUCT_REQUEST, Route.PRODUCT, "rules"

    def channel_for(self, route: str) -> str:
        channels = self.playbook.channels
        return {
            Route.CRITICAL: channels.war_room,
            Route.PRODUCT: channels.product,
            Route.QUESTION: channels.support,
        }[Route(route)]

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

    def require_filer(self, user: str) -> None:
        """Refuses (NotAuthorized) someone whose roles may not file feedback."""
        self.authz.require(user, "feedback.file")

    def file_form(self, filed_by: str, form: FeedbackFields) -> tuple[FeedbackItem, bool]:
        """The `/feedback` form, validated by the surface with `rules()`."""
        return self.file_from_slack(
            filed_by,
            "modal",
            filed_by,
            form.text,
            rating=form.rating,
            category=form.category,
            flag=form.flag,
        )

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
        self.require_filer(filed_by)
        if not text.strip():
            raise Refusal(
                "That message has no text to file.", "Put what matters into `/feedback` instead."
            )
        row = self._new_row(source, text[: self.playbook.feedback.max_text_length], category)
        row.rating, row.user_id, row.flag, row.link = rating, user, flag, link
        row.idempotency_key = f"slack:{link}"[:128] if link else None
        return self._stored(self._writer.write(row))

    def _new_row(self, source: str, text: str, category: str | None) -> FeedbackItem:
        kind, route, by = self.classify(text, category)
        return FeedbackItem(
            source=source,
            category=str(kind),
            route=str(route),
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
        token = uuid.uuid4().hex
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
                .values(routed_at=self.clock.now(), claimed_by=token)
            )
        with Session(self.engine) as session:
            return list(
                session.exec(
                    select(FeedbackItem)
                    .where(FeedbackItem.claimed_by == token)
                    .order_by(col(FeedbackItem.id))
                )
            )

    def _roles(self, rows: Sequence[FeedbackItem]) -> list[str]:
        """The roles that own these items, as the playbook's routing names them."""
        return sorted({getattr(self.playbook.feedback.routing, r.route) for r in rows})

    def _post_one(self, row: FeedbackItem) -> None:
        channel = self.channel_for(row.route)
        ts = self.notifier.item(channel, row, self._roles([row]))
        war_room = self.playbook.channels.war_room
        if ts and row.route == Route.CRITICAL and channel != war_room:
            self.notifier.item(war_room, row, self._roles([row]))
        self._routed([row], channel, ts)

    def _post_digest(self, channel: str, rows: list[FeedbackItem]) -> None:
        self._routed(rows, channel, self.notifier.digest(channel, rows, self._roles(rows)))

    def _routed(self, rows: list[FeedbackItem], channel: str, ts: str | None) -> None:
        """Records where the items were posted; when Slack did not take the post (after the
        client's retries) the claim is released, so the next pass tries again."""
        ids = [r.id for r in rows]
        with session_scope(self.engine) as session:
            session.execute(
                update(FeedbackItem)
                .where(col(FeedbackItem.id).in_(ids))
                .values(
                    {"channel": channel, "message_ts": ts, "claimed_by": ""}
                    if ts
                    else {"routed_at": None, "channel": "", "message_ts": "", "claimed_by": ""}
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
