"""The durable outbox every war-room post, update and file goes through.

A notifier's call stores a row and returns: nothing that changes a flag, runs a runbook
or answers Slack waits on Slack. A sender thread (bounded: a few workers, one channel's
rows in order on one worker) claims due rows with a lease, sends each once, records
Slack's `ts` and retries what failed with a growing delay until Slack takes it. Where no
sender runs (the tests, the local workspace) the caller's thread sends at once, so what it
posted is in Slack when the call returns.

Until Slack answers, a post is known by its handle `q:<id>`: the services keep it where
they keep a ts, and an update or a thread reply may name it. An update of a post not yet
sent rewrites the stored post, and updates not yet sent are merged into one: the last
state wins. A post whose answer was lost (a timeout, a 5xx, a crash) is looked up by the
metadata it carries before it is sent again, so it is never made twice."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from slack_sdk.models.blocks import Block
from sqlalchemy import update
from sqlmodel import col, select

from bot.clock import Clock
from bot.observability import log_event
from bot.replica import is_gone
from bot.slack_out.messages.common import as_dicts, cut
from bot.slack_out.poster import SendError, SlackTransport
from storage.claims import claim
from storage.db import read_scope, session_scope
from storage.models import OutboxMessage
from storage.status import OutboxKind, OutboxStatus
from storage.writes import rows_changed

log = logging.getLogger(__name__)

HANDLE = "q:"
LEASE = timedelta(seconds=60)  # longer than one send with the client's timeout and retries
BATCH = 50
IDLE_PASS = 1.0  # seconds between passes of an idle sender: retries and other replicas' rows
TEXT_LIMIT = 40_000  # chat.postMessage's `text`; blocks are cut by their builders
MAX_DELAY = 300.0


class NotReady(Exception):
    """The message this row threads under or updates has not been sent yet."""


def handle(row_id: int | None) -> str:
    return f"{HANDLE}{row_id}"


def is_handle(ts: str) -> bool:
    return ts.startswith(HANDLE)


def row_of(ts: str) -> int | None:
    return int(ts[len(HANDLE) :]) if ts.startswith(HANDLE) else None


class Outbox:
    def __init__(
        self, engine: Any, transport: SlackTransport, clock: Clock, owner: str, workers: int = 4
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.clock = clock
        self.owner = owner
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox")
        self._wake = threading.Event()
        self._inline = threading.Lock()
        self._sender: threading.Thread | None = None

    # ---- what the notifiers call ----------------------------------------------------------
    def post(
        self, channel: str, text: str, blocks: Sequence[Block], thread_ts: str | None = None
    ) -> str | None:
        """The message's ts once sent, else its handle."""
        posted = self.post_message(channel, text, blocks, thread_ts)
        return posted[1] if posted else None

    def post_message(
        self, channel: str, text: str, blocks: Sequence[Block], thread_ts: str | None = None
    ) -> tuple[str, str] | None:
        """As `post`, with the channel: Slack's ID once sent (the files API takes only IDs)."""
        row_id = self._add(
            kind=OutboxKind.POST, channel=channel, target=thread_ts or "", text=text, blocks=blocks
        )
        return self._sent_or_queued(row_id)

    def update(self, channel: str, ts: str, text: str, blocks: Sequence[Block]) -> bool:
        if not ts:
            return False
        if not self._rewrite_pending(channel, ts, text, blocks):
            self._add(kind=OutboxKind.UPDATE, channel=channel, target=ts, text=text, blocks=blocks)
        self.send_soon()
        return True

    def upload(
        self, channel_id: str, thread_ts: str | None, data: bytes, filename: str, title: str
    ) -> str | None:
        """The file's ID once shared, else the upload's handle."""
        row_id = self._add(
            kind=OutboxKind.UPLOAD,
            channel=channel_id,
            target=thread_ts or "",
            text=title,
            data=data,
            filename=filename,
        )
        sent = self._sent_or_queued(row_id)
        return sent[1] if sent else None

    def ts_of(self, ts: str) -> str:
        """Slack's ts for what the services hold: a ts as it is, a handle once sent, else ""."""
        target = row_of(ts)
        if target is None:
            return ts
        with read_scope(self.engine) as session:
            row = session.get(OutboxMessage, target, populate_existing=True)
        return row.ts if row is not None and row.status == OutboxStatus.SENT else ""

    def permalink(self, channel: str, ts: str) -> str:
        """A sent message's permalink; "" while it waits in the outbox or Slack gave none."""
        sent = self.ts_of(ts)
        if not sent:
            return ""
        try:
            return self.transport.permalink(channel, sent)
        except SendError:
            return ""  # logged by the transport

    # ---- storing ---------------------------------------------------------------------------
    def _add(self, blocks: Sequence[Block] = (), **fields: Any) -> int:
        fields["text"] = cut(str(fields.get("text") or ""), TEXT_LIMIT)
        now = self.clock.now()
        row = OutboxMessage(
            blocks=as_dicts(list(blocks)), next_attempt_at=now, created_at=now, **fields
        )
        with session_scope(self.engine) as session:
            session.add(row)
            session.flush()
            assert row.id is not None
            return row.id

    def _rewrite_pending(self, channel: str, ts: str, text: str, blocks: Sequence[Block]) -> bool:
        """Last state wins: a post not yet tried takes the new content, or else the one
        update of that message still waiting does."""
        values = {"text": cut(text, TEXT_LIMIT), "blocks": as_dicts(list(blocks))}
        waiting = [
            col(OutboxMessage.status) == OutboxStatus.PENDING,
            col(OutboxMessage.claimed_by) == "",
        ]
        target = row_of(ts)
        with session_scope(self.engine) as session:
            if target is not None:
                post = update(OutboxMessage).where(
                    col(OutboxMessage.id) == target, col(OutboxMessage.attempts) == 0, *waiting
                )
                if rows_changed(session, post.values(values)):
                    return True
            merge = update(OutboxMessage).where(
                col(OutboxMessage.kind) == OutboxKind.UPDATE,
                col(OutboxMessage.target) == ts,
                col(OutboxMessage.channel) == channel,
                *waiting,
            )
            return bool(rows_changed(session, merge.values(values)))

    def send_soon(self) -> None:
        """With a sender running, wake it; without, send what is due now, in this thread."""
        if self._sender is not None:
            self._wake.set()
            return
        with self._inline:
            while self.send_due():
                pass

    def _sent_or_queued(self, row_id: int) -> tuple[str, str] | None:
        self.send_soon()
        with read_scope(self.engine) as session:
            row = session.get(OutboxMessage, row_id, populate_existing=True)
            assert row is not None
            if row.status == OutboxStatus.SENT:
                return row.channel_id or row.channel, row.ts
            if row.status == OutboxStatus.FAILED:
                return None  # Slack refused it for good (the channel, the blocks): say so
            return row.channel, handle(row_id)

    # ---- sending ---------------------------------------------------------------------------
    def start(self, stopping: threading.Event) -> None:
        """The sender: woken by every new row, and once a second for retries and for rows
        another replica (or this one before a restart) left behind."""

        def run() -> None:
            while not stopping.is_set():
                self._wake.clear()
                try:
                    while self.send_due() and not stopping.is_set():
                        pass
                except Exception:  # noqa: BLE001 - the sender must outlive one bad pass
                    log.exception("outbox.sender")
                self._wake.wait(IDLE_PASS)

        self._sender = threading.Thread(target=run, name="outbox-sender", daemon=True)
        self._sender.start()

    def send_due(self) -> int:
        """Sends what is due, oldest first; one channel's rows in order. How many were
        claimed (0: nothing was due)."""
        rows = self._claim()
        by_channel: dict[str, list[OutboxMessage]] = {}
        for row in rows:
            by_channel.setdefault(row.channel, []).append(row)
        if len(by_channel) == 1:
            self._send_all(rows)
        else:
            list(self._pool.map(self._send_all, by_channel.values()))
        return len(rows)

    def _claim(self) -> list[OutboxMessage]:
        """Due rows, each claimed with a compare-and-set on who held it: free, a lease run
        out, or a process of this host that is gone (a restart takes its rows at once)."""
        now = self.clock.now()
        due = [
            col(OutboxMessage.status) == OutboxStatus.PENDING,
            col(OutboxMessage.next_attempt_at) <= now,
        ]
        with read_scope(self.engine) as session:
            found = session.exec(
                select(OutboxMessage.id, OutboxMessage.claimed_by, OutboxMessage.claimed_until)
                .where(*due)
                .order_by(col(OutboxMessage.id))
                .limit(BATCH)
            ).all()
        mine = [
            row_id
            for row_id, holder, until in found
            if (not holder or (until is not None and until < now) or is_gone(holder))
            and claim(
                self.engine,
                OutboxMessage,
                [col(OutboxMessage.id) == row_id, col(OutboxMessage.claimed_by) == holder, *due],
                {
                    "claimed_by": self.owner,
                    "claimed_until": now + LEASE,
                    "attempts": col(OutboxMessage.attempts) + 1,
                },
            )
        ]
        if not mine:
            return []
        with read_scope(self.engine) as session:
            rows = session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.id).in_(mine))
                .execution_options(populate_existing=True)
            )
            return sorted(rows.all(), key=lambda r: r.id or 0)

    def _send_all(self, rows: list[OutboxMessage]) -> None:
        for row in rows:
            self._send_one(row)

    def _send_one(self, row: OutboxMessage) -> None:
        try:
            if row.kind == OutboxKind.POST:
                channel_id, ts = self._send_post(row)
            elif row.kind == OutboxKind.UPDATE:
                channel_id, ts = self._send_update(row)
            else:
                channel_id, ts = self._send_upload(row)
        except NotReady:
            self._release(row, delay=IDLE_PASS, undo_attempt=True)
        except SendError as exc:
            if exc.permanent:
                self._finish(row, OutboxStatus.FAILED, last_error=exc.error[:64])
                log_event(log, "outbox.failed", logging.ERROR, row=row.id, error=exc.error)
            else:
                delay = max(exc.retry_after, min(MAX_DELAY, 2.0 ** min(row.attempts, 9)))
                self._release(row, delay=delay, error=exc.error)
        else:
            self._finish(row, OutboxStatus.SENT, ts=ts, channel_id=channel_id)

    def _resolve(self, ts: str) -> tuple[str, str] | None:
        """(channel ID, ts) of the message a handle names; a plain ts as it is; None when
        that post failed for good (a reply then goes to the channel)."""
        target = row_of(ts)
        if target is None:
            return "", ts
        with read_scope(self.engine) as session:
            parent = session.get(OutboxMessage, target, populate_existing=True)
        if parent is None or parent.status == OutboxStatus.FAILED:
            return None
        if parent.status != OutboxStatus.SENT:
            raise NotReady
        return parent.channel_id, parent.ts

    def _send_post(self, row: OutboxMessage) -> tuple[str, str]:
        assert row.id is not None
        parent = self._resolve(row.target) if row.target else None
        thread = parent[1] if parent else None
        if row.attempts > 1 and row.last_error != "ratelimited":
            found = self.transport.find(row.channel, row.id, thread)
            if found:
                return found
        return self.transport.post(row.channel, row.text, row.blocks or [], thread, row.id)

    def _send_update(self, row: OutboxMessage) -> tuple[str, str]:
        target = self._resolve(row.target)
        if target is None:
            raise SendError("message_not_found", permanent=True)
        channel = target[0] or row.channel
        self.transport.update(channel, target[1], row.text, row.blocks or [])
        return channel, target[1]

    def _send_upload(self, row: OutboxMessage) -> tuple[str, str]:
        thread = self._resolve(row.target) if row.target else ("", "")
        channel_id = (thread[0] if thread else "") or row.channel
        file_id = self.transport.upload(
            channel_id, thread[1] if thread else None, row.data or b"", row.filename, row.text
        )
        return channel_id, file_id

    def _finish(self, row: OutboxMessage, status: OutboxStatus, **values: Any) -> None:
        values.update(status=status, claimed_by="", claimed_until=None)
        if status == OutboxStatus.SENT:
            values["sent_at"] = self.clock.now()
        self._set(row, values)

    def _release(
        self, row: OutboxMessage, delay: float, error: str = "", undo_attempt: bool = False
    ) -> None:
        values: dict[str, Any] = {
            "claimed_by": "",
            "claimed_until": None,
            "next_attempt_at": self.clock.now() + timedelta(seconds=delay),
        }
        if error:
            values["last_error"] = error[:64]
        if undo_attempt:
            values["attempts"] = col(OutboxMessage.attempts) - 1
        self._set(row, values)

    def _set(self, row: OutboxMessage, values: dict[str, Any]) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == row.id, col(OutboxMessage.claimed_by) == self.owner)
                .values(values)
            )
